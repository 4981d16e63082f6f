// Browser tests of the Nuxt 2 front end (web/nuxt2) against latchkey and its dev identity
// provider, in Debian's Chromium driven by playwright-core.
//
//   node tests/e2e/run.mjs          (scripts/e2e.sh installs what it needs and runs this)
//
// Each run: picks three free ports on 127.0.0.1, builds the Nuxt app for them (the auth module
// bakes its URLs in at build time), starts the dev identity provider, latchkey (fresh SQLite
// database, access tokens of E2E_ACCESS_SECONDS) and `nuxt start`, runs the scenarios, and stops
// the servers by process group. Logs, the network log and screenshots go to target/e2e/.
//
// The app is server-rendered (universal mode, as the tutorial's): on a full page load the auth
// module's user fetch, the page's own fetch and any token refresh run on the Nuxt server, which
// forwards the browser's cookies to latchkey and writes new tokens back with Set-Cookie. The
// browser never sees those requests, so `nuxt start` is run with nuxt-server-requests.cjs
// preloaded, which logs the Nuxt server's own requests to target/e2e/nuxt-server-requests.log;
// the scenarios look for latchkey calls in both logs (apiLog()).
//
// Environment:
//   LATCHKEY_BIN        latchkey binary (default target/debug/latchkey)
//   CHROMIUM            browser (default /usr/bin/chromium)
//   E2E_ACCESS_SECONDS  access-token lifetime (default 4)
//   E2E_REFRESH_REUSE_GRACE  latchkey's grace window for reused refresh tokens (default 10s)
//   E2E_HEADED=1        show the browser (needs a display)

import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import {
  freePorts, killAllNow, runToCompletion, startServer, stopAll, tail, waitUntilAnswers
} from './servers.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const OUT = join(ROOT, 'target', 'e2e')
const WEB = join(ROOT, 'web', 'nuxt2')
const LATCHKEY_BIN = resolve(ROOT, process.env.LATCHKEY_BIN || 'target/debug/latchkey')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const ACCESS_SECONDS = Number(process.env.E2E_ACCESS_SECONDS || 4)
const CLIENT_ID = 'latchkey-e2e-client'
const CLIENT_SECRET = 'latchkey-e2e-secret'
const STEP_TIMEOUT = 15000
const SERVER_REQUEST_LOG = join(OUT, 'nuxt-server-requests.log')

const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`
const log = (msg) => console.log(`[e2e ${elapsed()}] ${msg}`)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function assert (cond, message) {
  if (!cond) throw new Error(message)
}

// ---------------------------------------------------------------- setup

mkdirSync(OUT, { recursive: true })
for (const f of ['idp.log', 'latchkey.log', 'nuxt.log', 'nuxt-build.log', 'network.log', 'browser-console.log',
  'nuxt-server-requests.log', 'protected.png']) {
  rmSync(join(OUT, f), { force: true })
}
const workDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'))

let browserContext = null
let cleanedUp = false
async function cleanup () {
  if (cleanedUp) return
  cleanedUp = true
  if (browserContext) await browserContext.close().catch(() => {})
  await stopAll()
  try {
    rmSync(workDir, { recursive: true, force: true, maxRetries: 5 })
  } catch (e) {
    console.error(`[e2e] could not remove ${workDir}: ${e.message}`)
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    console.error(`\n[e2e] ${sig}: stopping the servers`)
    await cleanup()
    process.exit(130)
  })
}
process.on('exit', killAllNow)

// Only the servers started here, nothing else, should be contacted by the page.
const isLoopback = (url) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)

async function startStack () {
  assert(existsSync(LATCHKEY_BIN), `latchkey binary not found at ${LATCHKEY_BIN} (cargo build -p latchkey-server)`)
  assert(existsSync(CHROMIUM), `${CHROMIUM} not found (apt-get install -y chromium)`)
  assert(existsSync(join(WEB, 'node_modules', 'nuxt')), `web/nuxt2/node_modules missing (npm ci in web/nuxt2)`)

  const [idpPort, apiPort, webPort] = await freePorts(3)
  const idp = `http://127.0.0.1:${idpPort}`
  const api = `http://127.0.0.1:${apiPort}`
  const web = `http://127.0.0.1:${webPort}`
  log(`ports: dev identity provider ${idpPort}, latchkey ${apiPort}, nuxt ${webPort}`)

  // Nothing from the caller's LATCHKEY_* settings leaks into the servers.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LATCHKEY_')))
  const nuxtEnv = {
    ...baseEnv,
    NODE_ENV: 'development', // cookies without Secure: the pages are served over http
    API_SERVER_URL: `${api}/`,
    GOOGLE_SOCIAL_LOGIN_CLIENT_ID: CLIENT_ID,
    GOOGLE_AUTH_URL: `${idp}/o/oauth2/auth`,
    NUXT_BUILD_DIR: '.nuxt-e2e',
    NUXT_DIST_DIR: 'dist-e2e',
    NUXT_TELEMETRY_DISABLED: '1'
  }
  const nuxtBin = join(WEB, 'node_modules', 'nuxt', 'bin', 'nuxt.js')

  log('building the Nuxt app for these ports (nuxt build)')
  const buildStart = Date.now()
  await runToCompletion('nuxt build', process.execPath, [nuxtBin, 'build'], {
    env: nuxtEnv, cwd: WEB, log: join(OUT, 'nuxt-build.log'), timeoutMs: 300000
  })
  log(`nuxt build done in ${((Date.now() - buildStart) / 1000).toFixed(1)} s`)

  const idpServer = startServer('dev identity provider', LATCHKEY_BIN,
    ['dev-idp', '--listen', `127.0.0.1:${idpPort}`, '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET],
    { env: baseEnv, cwd: workDir, log: join(OUT, 'idp.log') })

  const apiServer = startServer('latchkey', LATCHKEY_BIN, ['serve'], {
    env: {
      ...baseEnv,
      LATCHKEY_LISTEN: `127.0.0.1:${apiPort}`,
      LATCHKEY_DATA_DIR: join(workDir, 'latchkey-data'),
      LATCHKEY_ISSUER: api,
      LATCHKEY_ACCESS_TOKEN_LIFETIME: `${ACCESS_SECONDS}s`,
      LATCHKEY_REFRESH_REUSE_GRACE: process.env.E2E_REFRESH_REUSE_GRACE || '10s',
      LATCHKEY_CORS_ORIGINS: web,
      LATCHKEY_REDIRECT_URIS: `${web}/login`,
      LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID: CLIENT_ID,
      LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET: CLIENT_SECRET,
      LATCHKEY_PROVIDERS__GOOGLE__DISCOVERY_URL: `${idp}/.well-known/openid-configuration`,
      LATCHKEY_LOG: 'info'
    },
    cwd: workDir,
    log: join(OUT, 'latchkey.log')
  })

  // Observe (only) the requests the Nuxt server makes while rendering: see the top of this file.
  const preload = join(dirname(fileURLToPath(import.meta.url)), 'nuxt-server-requests.cjs')
  const webServer = startServer('nuxt', process.execPath,
    [nuxtBin, 'start', '--hostname', '127.0.0.1', '--port', String(webPort)],
    {
      env: {
        ...nuxtEnv,
        NODE_OPTIONS: `${nuxtEnv.NODE_OPTIONS || ''} --require ${JSON.stringify(preload)}`.trim(),
        E2E_SERVER_REQUEST_LOG: SERVER_REQUEST_LOG
      },
      cwd: WEB,
      log: join(OUT, 'nuxt.log')
    })

  await waitUntilAnswers(idpServer, `${idp}/.well-known/openid-configuration`)
  await waitUntilAnswers(apiServer, `${api}/healthz`)
  await waitUntilAnswers(webServer, `${web}/login`)
  log('all three servers answer')
  return { idp, api, web, servers: [idpServer, apiServer, webServer] }
}

// ---------------------------------------------------------------- browser helpers

const network = []
// Tokens and codes are shortened in the log file (the assertions see them whole).
const redact = (body) => body
  .replace(/\bey[\w-]{6}[\w-]*\.[\w-]+\.[\w-]+/g, (jwt) => `${jwt.slice(0, 12)}…`)
  .replace(/(^|&)code=([^&]{8})[^&]*/g, '$1code=$2…')
function recordNetwork (page) {
  page.on('response', async (res) => {
    const req = res.request()
    const entry = { at: Date.now(), method: req.method(), url: req.url(), status: res.status(), body: req.postData() || '' }
    network.push(entry)
    appendFileSync(join(OUT, 'network.log'),
      `${new Date(entry.at).toISOString()} ${entry.method} ${entry.url} -> ${entry.status}` +
        `${entry.body ? `  body: ${redact(entry.body)}` : ''}\n`)
  })
  page.on('requestfailed', (req) => {
    appendFileSync(join(OUT, 'network.log'),
      `${new Date().toISOString()} ${req.method()} ${req.url()} FAILED ${req.failure()?.errorText}\n`)
  })
  page.on('console', (msg) => appendFileSync(join(OUT, 'browser-console.log'), `[${msg.type()}] ${msg.text()}\n`))
  page.on('pageerror', (err) => appendFileSync(join(OUT, 'browser-console.log'), `[pageerror] ${err.message}\n`))
}

/**
 * Every request to any server seen so far, from the browser's network log (where: 'browser')
 * and from the Nuxt server's own requests during server-side rendering (where: 'nuxt server').
 */
function apiLog () {
  const fromServer = existsSync(SERVER_REQUEST_LOG)
    ? readFileSync(SERVER_REQUEST_LOG, 'utf8').split('\n').filter(Boolean).map((line) => ({ ...JSON.parse(line), where: 'nuxt server' }))
    : []
  return [...network.map((e) => ({ ...e, where: 'browser' })), ...fromServer]
}

const isRefresh = (e, api) => e.method === 'POST' && e.url === `${api}/social-login/google/` &&
  /(^|&)grant_type=refresh_token(&|$)/.test(e.body)
const isExchange = (e, api) => e.method === 'POST' && e.url === `${api}/social-login/google/` &&
  /(^|&)code=/.test(e.body)

/** Both token cookies hold a token, SameSite=Lax, not Secure (development build), path /. */
function assertTokenCookieAttributes (cookies) {
  for (const name of ['auth._token.google', 'auth._refresh_token.google']) {
    const c = cookies[name]
    assert(holdsValue(c), `cookie ${name} missing (cookies: ${Object.keys(cookies).join(', ')})`)
    assert(c.sameSite === 'Lax', `${name} SameSite=${c.sameSite}, expected Lax`)
    assert(c.secure === false, `${name} is Secure in development`)
    assert(c.path === '/', `${name} path ${c.path}`)
  }
}

/** The payload of a JWT (no signature check: the tests only compare claims). */
function jwtPayload (jwt) {
  const part = String(jwt).replace(/^Bearer\s+/, '').split('.')[1]
  assert(part, `not a JWT: ${String(jwt).slice(0, 20)}…`)
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
}

/** The tokens the browser holds now, whole and decoded. */
async function tokenCookies (context) {
  const cookies = await cookieMap(context)
  const access = decodeURIComponent(cookies['auth._token.google']?.value || '')
  const refresh = decodeURIComponent(cookies['auth._refresh_token.google']?.value || '')
  assert(access.startsWith('Bearer ey') && refresh.startsWith('ey'),
    `the browser holds no tokens (auth._token.google ${JSON.stringify(access.slice(0, 12))}, ` +
      `auth._refresh_token.google ${JSON.stringify(refresh.slice(0, 12))})`)
  return { access, refresh, accessClaims: jwtPayload(access), refreshClaims: jwtPayload(refresh) }
}

/**
 * A refresh really happened between `before` and `after` (tokenCookies() results): both token
 * cookies hold new tokens of the same session, the access token expiring later and the refresh
 * token of a later generation.
 */
function assertRotated (before, after) {
  assert(after.access !== before.access, 'auth._token.google still holds the access token from before')
  assert(after.refresh !== before.refresh, 'auth._refresh_token.google still holds the refresh token from before')
  assert(after.accessClaims.exp > before.accessClaims.exp,
    `new access token exp ${after.accessClaims.exp} is not later than the old ${before.accessClaims.exp}`)
  assert(after.refreshClaims.gen > before.refreshClaims.gen,
    `new refresh token gen ${after.refreshClaims.gen} is not higher than the old ${before.refreshClaims.gen}`)
  assert(after.refreshClaims.sid === before.refreshClaims.sid, 'the refresh token belongs to another session')
}

const describeCalls = (calls) => calls.map((e) => `${e.status} (${e.where})`).join(', ')

async function cookieMap (context) {
  return Object.fromEntries((await context.cookies()).map((c) => [c.name, c]))
}

/** A cookie holds a token: present and not the `false` auth-next writes when it forgets one. */
const holdsValue = (c) => Boolean(c) && c.value !== '' && c.value !== 'false'

async function waitPastAccessExpiry (context) {
  const cookies = await cookieMap(context)
  const exp = Number(cookies['auth._token_expiration.google']?.value)
  assert(Number.isFinite(exp) && exp > 0, `no access-token expiry cookie (got ${JSON.stringify(cookies['auth._token_expiration.google'])})`)
  const waitMs = exp - Date.now() + 1200
  if (waitMs > 0) {
    log(`waiting ${(waitMs / 1000).toFixed(1)} s for the access token to expire`)
    await sleep(waitMs)
  }
}

/** From the sign-in page (or any page with the sign-in button): through the dev IdP and back. */
async function signInThroughIdp (page, stack, { email, name }) {
  await page.locator('[data-testid=signin]').first().click()
  await page.waitForURL((u) => u.origin === stack.idp, { timeout: STEP_TIMEOUT })
  await page.fill('input[name=email]', email)
  await page.fill('input[name=name]', name)
  await page.click('button[value=approve]')
  // Back at /login?code=…, the module exchanges the code, then replaces the location.
  await page.waitForURL((u) => u.origin === stack.web && u.pathname !== '/login', { timeout: STEP_TIMEOUT })
}

async function shownEmail (page) {
  const el = page.locator('[data-testid=user-email]')
  await el.waitFor({ state: 'visible', timeout: STEP_TIMEOUT })
  return (await el.textContent()).trim()
}

// ---------------------------------------------------------------- scenarios

const results = []
const state = {}

async function scenario (name, fn, { needs = [] } = {}) {
  const t0 = Date.now()
  const missing = needs.filter((k) => !state[k])
  if (missing.length) {
    results.push({ name, ok: false })
    console.log(`FAIL  ${name}\n      not run: needs ${missing.join(', ')} from an earlier scenario`)
    return
  }
  try {
    await fn()
    results.push({ name, ok: true })
    console.log(`ok    ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  } catch (e) {
    results.push({ name, ok: false })
    const shot = join(OUT, `failure-${results.length}.png`)
    if (state.page) await state.page.screenshot({ path: shot, fullPage: true }).catch(() => {})
    console.log(`FAIL  ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n      ${String(e.message).split('\n').join('\n      ')}` +
      `\n      page: ${state.page?.url()}  screenshot: ${shot}`)
  }
}

async function main () {
  let stack
  try {
    stack = await startStack()
  } catch (e) {
    console.error(`[e2e] could not start the servers: ${e.message}`)
    console.log('0 passed, 8 failed')
    await cleanup()
    process.exit(1)
  }
  const { api, web } = stack
  const ann = { email: 'ann.lee@example.com', name: 'Ann Lee' }
  const bob = { email: 'bob.stone@example.com', name: 'Bob Stone' }

  const profileDir = join(workDir, 'chromium-profile')
  mkdirSync(profileDir)
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: process.env.E2E_HEADED !== '1',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
    // Our own signal handlers close the browser, stop the servers and remove the temp dir.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false
  })
  browserContext = context
  const external = []
  await context.route((url) => !isLoopback(url), (route) => {
    external.push(route.request().url())
    return route.abort('blockedbyclient')
  })
  const page = context.pages()[0] || await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT)
  recordNetwork(page)
  state.page = page

  await scenario('1. /protected while signed out sends to sign-in', async () => {
    await page.goto(`${web}/protected`)
    await page.waitForURL((u) => u.pathname === '/login', { timeout: STEP_TIMEOUT })
    await page.locator('[data-testid=signin]').waitFor({ state: 'visible' })
    await page.locator('[data-testid=login-required]').waitFor({ state: 'visible' })
    state.signedOutRedirect = true
  })

  await scenario('2. sign in through the dev identity provider; /protected shows the e-mail from /auth/user/', async () => {
    if (new URL(page.url()).pathname !== '/login') await page.goto(`${web}/login`)
    const mark = Date.now()
    await signInThroughIdp(page, stack, ann)
    const exchange = network.find((e) => e.at >= mark && isExchange(e, api))
    assert(exchange, 'no code-exchange POST to /social-login/google/ in the network log')
    assert(exchange.status === 200, `code exchange answered ${exchange.status}`)
    // rewriteRedirects: back to the page that asked for sign-in.
    if (new URL(page.url()).pathname !== '/protected') await page.goto(`${web}/protected`)
    const email = await shownEmail(page)
    assert(email === ann.email, `/protected shows ${JSON.stringify(email)}, expected ${ann.email}`)
    // After the exchange the module reloads the page: the user fetch runs on the Nuxt server.
    const userGet = apiLog().find((e) => e.at >= mark && e.method === 'GET' && e.url === `${api}/auth/user/` && e.status === 200)
    assert(userGet, 'no GET /auth/user/ answered 200 in the network log or the Nuxt server\'s requests')
    const exp = Number((await cookieMap(context))['auth._token_expiration.google']?.value)
    const status = (await page.locator('[data-testid=token-status]').textContent()).trim()
    if (exp - Date.now() > 1500) {
      assert(/^valid for \d+ s$/.test(status), `token status with ${exp - Date.now()} ms left: ${JSON.stringify(status)}`)
    }
    state.annPk = (await page.locator('[data-testid=user-pk]').textContent()).trim()
    assert(/^\d+$/.test(state.annPk), `pk shown is ${JSON.stringify(state.annPk)}`)
    state.signedIn = true
  })

  await scenario('3. token cookies are SameSite=Lax, not Secure; localStorage holds no token', async () => {
    const cookies = await cookieMap(context)
    assertTokenCookieAttributes(cookies)
    assert(decodeURIComponent(cookies['auth._token.google'].value).startsWith('Bearer ey'),
      'auth._token.google does not hold "Bearer <JWT>"')
    const storage = await page.evaluate(() => Object.entries(window.localStorage))
    const access = decodeURIComponent(cookies['auth._token.google'].value).replace(/^Bearer /, '')
    const refresh = decodeURIComponent(cookies['auth._refresh_token.google'].value)
    const leaks = storage.filter(([k, v]) => k.startsWith('auth.') || v.includes(access) || v.includes(refresh) || /\bey[\w-]+\.[\w-]+\./.test(v))
    assert(leaks.length === 0, `localStorage holds tokens: ${leaks.map(([k]) => k).join(', ')}`)
  }, { needs: ['signedIn'] })

  await scenario('4. after the access lifetime a reload still shows the user, via a refresh answered 200', async () => {
    await waitPastAccessExpiry(context)
    const before = await tokenCookies(context)
    const mark = Date.now()
    await page.reload()
    const email = await shownEmail(page)
    assert(email === ann.email, `after reload /protected shows ${JSON.stringify(email)}`)
    // The refresh may run in the browser or, rendering the page, on the Nuxt server.
    const refreshes = apiLog().filter((e) => e.at >= mark && isRefresh(e, api))
    assert(refreshes.length >= 1,
      'no refresh POST (grant_type=refresh_token) to latchkey in the network log or the Nuxt server\'s requests')
    assert(refreshes.every((e) => e.status === 200), `refresh answered ${describeCalls(refreshes)}`)
    const fromServer = refreshes.filter((e) => e.where === 'nuxt server')
    assert(fromServer.every((e) => e.authCookiesForwarded),
      'the Nuxt server refreshed without the browser\'s auth cookies in its request')
    // ...and the browser now holds the new tokens (from Set-Cookie, when the server refreshed),
    // in cookies with the same attributes as those the browser wrote at sign-in (scenario 3).
    assertRotated(before, await tokenCookies(context))
    assertTokenCookieAttributes(await cookieMap(context))
    log(`scenario 4: ${refreshes.length} refresh POST(s), answered ${describeCalls(refreshes)}`)
  }, { needs: ['signedIn'] })

  await scenario('5. five concurrent calls with an expired token all succeed; still signed in', async () => {
    await waitPastAccessExpiry(context)
    const mark = Date.now()
    await page.click('[data-testid=five-calls]')
    const result = page.locator('[data-testid=five-result]')
    await result.waitFor({ state: 'visible' })
    const text = (await result.textContent()).trim()
    const refreshes = network.filter((e) => e.at >= mark && isRefresh(e, api))
    log(`scenario 5: "${text}"; ${refreshes.length} refresh POST(s) answered ${refreshes.map((e) => e.status).join(', ')}`)
    assert(text === '5 of 5 succeeded', `five-calls result: ${text}`)
    const calls = network.filter((e) => e.at >= mark && e.method === 'GET' && e.url === `${api}/auth/user/`)
    assert(calls.length === 5 && calls.every((e) => e.status === 200),
      `GET /auth/user/ answers: ${calls.map((e) => e.status).join(', ')}`)
    assert(refreshes.length >= 1 && refreshes.every((e) => e.status === 200),
      `refresh answers: ${refreshes.map((e) => e.status).join(', ') || 'none'}`)
    await page.locator('[data-testid=header-user]').waitFor({ state: 'visible' })
    // The refresh token kept after the burst must still work: once more past the lifetime.
    await waitPastAccessExpiry(context)
    const before = await tokenCookies(context)
    const mark2 = Date.now()
    await page.reload()
    const email = await shownEmail(page)
    assert(email === ann.email, `after the burst and another expiry /protected shows ${JSON.stringify(email)}`)
    // A reload: the refresh may run on the Nuxt server (see scenario 4).
    const later = apiLog().filter((e) => e.at >= mark2 && isRefresh(e, api))
    assert(later.length >= 1 && later.every((e) => e.status === 200),
      `the refresh after the burst answered ${describeCalls(later) || 'nothing'}`)
    assertRotated(before, await tokenCookies(context))
    log(`scenario 5: the refresh after the burst answered ${describeCalls(later)}`)
  }, { needs: ['signedIn'] })

  await scenario('6. logout clears the cookies, revokes the session; /protected sends to sign-in again', async () => {
    if (new URL(page.url()).pathname !== '/protected') await page.goto(`${web}/protected`)
    await shownEmail(page)
    const before = await cookieMap(context)
    const refreshToken = decodeURIComponent(before['auth._refresh_token.google']?.value || '')
    assert(refreshToken, 'no refresh token before logout')
    const mark = Date.now()
    await page.click('[data-testid=logout]')
    await page.waitForURL((u) => u.pathname === '/', { timeout: STEP_TIMEOUT })
    await page.locator('[data-testid=home-signed-out]').waitFor({ state: 'visible' })
    const logoutCall = network.find((e) => e.at >= mark && e.method === 'POST' && e.url === `${api}/auth/logout/`)
    assert(logoutCall, 'no POST /auth/logout/ in the network log')
    assert(logoutCall.status === 200, `POST /auth/logout/ answered ${logoutCall.status}`)
    const after = await cookieMap(context)
    for (const name of ['auth._token.google', 'auth._refresh_token.google']) {
      assert(!holdsValue(after[name]), `${name} still holds a token after logout: ${after[name]?.value.slice(0, 20)}…`)
    }
    // The session is over at latchkey too: the old refresh token no longer refreshes.
    const res = await fetch(`${api}/social-login/google/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ refresh_token: refreshToken, grant_type: 'refresh_token' })
    })
    assert(res.status === 401, `the logged-out refresh token still refreshes: HTTP ${res.status} ${await res.text()}`)
    await page.goto(`${web}/protected`)
    await page.waitForURL((u) => u.pathname === '/login', { timeout: STEP_TIMEOUT })
    await page.locator('[data-testid=signin]').waitFor({ state: 'visible' })
  }, { needs: ['signedIn'] })

  await scenario('7. a second user signs in and gets a different pk', async () => {
    if (new URL(page.url()).pathname !== '/login') await page.goto(`${web}/login`)
    await signInThroughIdp(page, stack, bob)
    if (new URL(page.url()).pathname !== '/protected') await page.goto(`${web}/protected`)
    const email = await shownEmail(page)
    assert(email === bob.email, `/protected shows ${JSON.stringify(email)}, expected ${bob.email}`)
    const pk = (await page.locator('[data-testid=user-pk]').textContent()).trim()
    assert(/^\d+$/.test(pk), `pk shown is ${JSON.stringify(pk)}`)
    assert(pk !== state.annPk, `second user has the first user's pk ${pk}`)
    const name = (await page.locator('[data-testid=user-name]').textContent()).trim()
    assert(name === bob.name, `name shown is ${JSON.stringify(name)}`)
    state.secondUser = true
  }, { needs: ['annPk'] })

  await scenario('8. screenshot of /protected saved under target/e2e/', async () => {
    if (new URL(page.url()).pathname !== '/protected') await page.goto(`${web}/protected`)
    await shownEmail(page)
    await page.click('[data-testid=five-calls]')
    await page.locator('[data-testid=five-result]').waitFor({ state: 'visible' })
    // The avatar comes from the dev identity provider; wait until it has loaded.
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid=user-picture]')
      return img && img.complete && img.naturalWidth > 0
    }, null, { timeout: STEP_TIMEOUT })
    const file = join(OUT, 'protected.png')
    await page.screenshot({ path: file, fullPage: true })
    assert(statSync(file).size > 10000, `screenshot ${file} is suspiciously small`)
    log(`screenshot: ${file}`)
  }, { needs: ['signedIn'] })

  if (external.length) {
    results.push({ name: 'no request left the loopback interface', ok: false })
    console.log(`FAIL  the page tried to reach beyond loopback (blocked): ${[...new Set(external)].join(', ')}`)
  }

  const failed = results.filter((r) => !r.ok).length
  if (failed) {
    for (const s of stack.servers) {
      console.log(`\n---- last lines of ${s.log} (${s.name})\n${tail(s.log, 30)}`)
    }
  }
  await cleanup()
  console.log(`\n[e2e] done in ${elapsed()}; logs, network log and screenshots in ${OUT}`)
  console.log(`${results.length - failed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}

main().catch(async (e) => {
  console.error(`[e2e] ${e.stack || e.message}`)
  await cleanup()
  const passed = results.filter((r) => r.ok).length
  console.log(`${passed} passed, ${Math.max(1, 8 - passed)} failed`)
  process.exit(1)
})
