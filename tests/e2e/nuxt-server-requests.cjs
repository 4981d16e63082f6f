// Preloaded into `nuxt start` by the browser tests (NODE_OPTIONS=--require …): logs every HTTP
// request the Nuxt server itself makes — under server-side rendering the auth module's user
// fetch and token refresh run there, with the browser's cookies forwarded — one JSON object a
// line, written when the response arrives (as the browser's network log is):
//
//   {"at":…,"method":"POST","url":"http://127.0.0.1:…/social-login/google/","status":200,
//    "body":"refresh_token=eyJhbGciOi…&…","authCookiesForwarded":true}
//
// The file is E2E_SERVER_REQUEST_LOG. Tokens in bodies are shortened, as in network.log.
// Nothing about the app changes: the requests are only observed.

'use strict'

const http = require('node:http')
const https = require('node:https')
const { appendFileSync } = require('node:fs')

const LOG = process.env.E2E_SERVER_REQUEST_LOG

const redact = (body) => body
  .replace(/\bey[\w-]{6}[\w-]*\.[\w-]+\.[\w-]+/g, (jwt) => `${jwt.slice(0, 12)}…`)
  .replace(/(^|&)code=([^&]{8})[^&]*/g, '$1code=$2…')

function write (entry) {
  try {
    appendFileSync(LOG, `${JSON.stringify(entry)}\n`)
  } catch (e) {
    // Never break the app over a log line.
  }
}

function observe (req) {
  const chunks = []
  const origWrite = req.write
  const origEnd = req.end
  const keep = (chunk, encoding) => {
    if (chunk == null || typeof chunk === 'function') return
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof encoding === 'string' ? encoding : 'utf8'))
  }
  req.write = function (chunk, encoding, ...rest) {
    keep(chunk, encoding)
    return origWrite.call(this, chunk, encoding, ...rest)
  }
  req.end = function (chunk, encoding, ...rest) {
    keep(chunk, encoding)
    return origEnd.call(this, chunk, encoding, ...rest)
  }
  const describe = () => {
    const cookie = String(req.getHeader('cookie') || '')
    return {
      method: req.method,
      url: `${req.protocol}//${req.getHeader('host') || req.host}${req.path}`,
      body: redact(Buffer.concat(chunks).toString('utf8')),
      authCookiesForwarded: /(^|;\s*)auth\._refresh_token\.google=/.test(cookie)
    }
  }
  req.on('response', (res) => write({ at: Date.now(), ...describe(), status: res.statusCode }))
  req.on('error', (err) => write({ at: Date.now(), ...describe(), status: 0, error: err.message }))
  return req
}

if (LOG) {
  for (const mod of [http, https]) {
    const origRequest = mod.request
    const origGet = mod.get
    mod.request = function (...args) {
      return observe(origRequest.apply(this, args))
    }
    // http.get calls the module's own request(), not the export: wrap it too.
    mod.get = function (...args) {
      return observe(origGet.apply(this, args))
    }
  }
}
