// The tutorial's front end ("How to Build Google Social Login in Django Rest Framework and Nuxt
// Auth and Refresh its JWT token"), pointed at latchkey instead of Django.
//
// A universal (server-rendered) app, Nuxt's default, as the tutorial's: the sign-in redirect and
// the code exchange happen in the browser, but on every full page load the user fetch, the
// pages' own API calls and any token refresh run on the Nuxt server (`nuxt start`), which
// forwards the browser's auth cookies to latchkey and writes new tokens back with Set-Cookie.
// Calls made after the page has loaded (buttons, client-side navigation) come from the browser.
//
// Everything below is read when `nuxt build` runs: the auth module bakes its options into the
// bundle. Set the variables for the build (and the same ones for `nuxt start`):
//
//   API_SERVER_URL                 latchkey's URL, WITH the trailing slash (http://localhost:8000/)
//   GOOGLE_SOCIAL_LOGIN_CLIENT_ID  the OAuth client id (Google's, or the dev identity provider's)
//   GOOGLE_AUTH_URL                the authorization page (default: Google's); the dev identity
//                                  provider's is http://127.0.0.1:9099/o/oauth2/auth
//   NODE_ENV                       "production" makes the auth cookies Secure (HTTPS only).
//                                  `nuxt build` defaults it to production: build with
//                                  NODE_ENV=development for plain-http local use.
//   NUXT_BUILD_DIR, NUXT_DIST_DIR  where the build goes (default .nuxt and dist), so that the
//                                  browser tests' build does not overwrite the demo's

// Same expression as the tutorial's `${process.env.API_SERVER_URL}…`, with a default and the
// trailing slash made certain.
const API_SERVER_URL = (process.env.API_SERVER_URL || 'http://localhost:8000/').replace(/\/*$/, '/')
const GOOGLE_AUTH_URL = process.env.GOOGLE_AUTH_URL || 'https://accounts.google.com/o/oauth2/auth'

export default {
  buildDir: process.env.NUXT_BUILD_DIR || '.nuxt',
  generate: { dir: process.env.NUXT_DIST_DIR || 'dist' },

  head: {
    title: 'Acme Workspace',
    htmlAttrs: { lang: 'en' },
    meta: [
      { charset: 'utf-8' },
      { name: 'viewport', content: 'width=device-width, initial-scale=1' },
      { hid: 'description', name: 'description', content: 'Sign in with Google, served by latchkey' }
    ],
    link: [{ rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }]
  },

  css: ['~/assets/main.css'],

  plugins: ['~/plugins/signout.js'],

  components: true,

  // Nothing leaves the machine at build time or at run time.
  telemetry: false,

  modules: ['@nuxtjs/axios', '@nuxtjs/auth-next'],

  axios: {},

  // Available to the pages as process.env.API_SERVER_URL (inlined at build time, like the
  // auth module's options).
  env: {
    API_SERVER_URL
  },

  auth: {
    strategies: {
      google: {
        clientId: process.env.GOOGLE_SOCIAL_LOGIN_CLIENT_ID,
        codeChallengeMethod: '',
        responseType: 'code',
        endpoints: {
          authorization: GOOGLE_AUTH_URL,
          token: `${API_SERVER_URL}social-login/google/`,
          userInfo: `${API_SERVER_URL}auth/user/`
        }
      }
    },
    cookie: {
      options: {
        secure: process.env.NODE_ENV === 'production', // Enable in Prod only!
        sameSite: 'lax'
      }
    },
    localStorage: false
  },

  build: {
    // No progress bars in logs.
    quiet: true
  }
}
