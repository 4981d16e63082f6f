// $signOut(): end the session at latchkey, then locally.
//
// auth-next's logout() only forgets the tokens in this browser (the google strategy has no logout
// endpoint), so the refresh token would stay valid until it expires. POST /auth/logout/ with it
// first, so latchkey revokes the session (its access tokens stop working too).
export default (context, inject) => {
  inject('signOut', async () => {
    const { $auth, $axios } = context
    const refresh = $auth.strategy.refreshToken.get()
    if (refresh) {
      try {
        await $axios.post(`${process.env.API_SERVER_URL}auth/logout/`, { refresh })
      } catch (e) {
        // Still sign out locally; the session will expire on its own.
        // eslint-disable-next-line no-console
        console.warn('[signout] latchkey did not revoke the session:', e.message)
      }
    }
    await $auth.logout()
  })
}
