// An (empty) Vuex store: @nuxtjs/auth-next keeps its state in it and, without one, its
// redirects after sign-in and sign-out do not happen.
export const state = () => ({})
