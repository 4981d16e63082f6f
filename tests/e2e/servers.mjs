// Process plumbing for the browser tests: free ports, servers in their own process groups with
// their output in log files, bounded readiness waits, and stopping by process id.

import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** `count` distinct free ports. */
export async function freePorts (count) {
  const ports = new Set()
  while (ports.size < count) {
    ports.add(await freePort())
  }
  return [...ports]
}

/** The last `lines` lines of a file, or a note that it cannot be read. */
export function tail (path, lines = 40) {
  try {
    const text = readFileSync(path, 'utf8').trimEnd()
    return text.split('\n').slice(-lines).join('\n')
  } catch (e) {
    return `(cannot read ${path}: ${e.message})`
  }
}

const running = new Set()

/**
 * Start `cmd args` as the leader of a new process group (so that stopping it also stops its
 * children, e.g. the workers of `nuxt start`), stdout and stderr appended to `log`.
 */
export function startServer (name, cmd, args, { env, cwd, log }) {
  const fd = openSync(log, 'w')
  const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  const server = { name, pid: child.pid, log, child, exit: null }
  server.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      server.exit = { code, signal }
      running.delete(server)
      resolve(server.exit)
    })
    child.on('error', (err) => {
      server.exit = { code: null, signal: null, error: err.message }
      running.delete(server)
      resolve(server.exit)
    })
  })
  running.add(server)
  return server
}

function killGroup (pid, signal) {
  try {
    process.kill(-pid, signal)
  } catch (e) {
    if (e.code !== 'ESRCH') throw e
  }
}

/** SIGTERM to the server's process group, SIGKILL after `graceMs`. */
export async function stopServer (server, graceMs = 5000) {
  if (server.exit) {
    killGroup(server.pid, 'SIGKILL') // stray children of a leader that already exited
    return
  }
  killGroup(server.pid, 'SIGTERM')
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), graceMs))
  if ((await Promise.race([server.exited, timer])) === 'timeout') {
    killGroup(server.pid, 'SIGKILL')
    await server.exited
  }
  killGroup(server.pid, 'SIGKILL')
}

/** Stop every server started here, newest first. */
export async function stopAll () {
  for (const server of [...running].reverse()) {
    await stopServer(server)
  }
}

/** Synchronous last resort (process 'exit' handler): SIGKILL every group still running. */
export function killAllNow () {
  for (const server of running) {
    killGroup(server.pid, 'SIGKILL')
  }
}

/**
 * Poll `url` until it answers with a status `ok(status)` accepts; fail early if the server
 * exits, or after `timeoutMs` with a message naming the server and its log.
 */
export async function waitUntilAnswers (server, url, { timeoutMs = 60000, ok = (s) => s === 200 } = {}) {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  while (Date.now() < deadline) {
    if (server.exit) {
      throw new Error(
        `${server.name} exited (${JSON.stringify(server.exit)}) before answering ${url}; ` +
          `last lines of ${server.log}:\n${tail(server.log)}`
      )
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' })
      await res.arrayBuffer()
      if (ok(res.status)) return
      last = `HTTP ${res.status}`
    } catch (e) {
      last = e.cause ? e.cause.code || e.cause.message : e.message
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${server.name} at ${url} (last: ${last}); ` +
      `last lines of ${server.log}:\n${tail(server.log)}`
  )
}

/** Run a command to completion, output to `log`, failing after `timeoutMs`. */
export function runToCompletion (name, cmd, args, { env, cwd, log, timeoutMs }) {
  const server = startServer(name, cmd, args, { env, cwd, log })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(async () => {
      await stopServer(server)
      reject(new Error(`${name} did not finish within ${timeoutMs / 1000} s; last lines of ${log}:\n${tail(log)}`))
    }, timeoutMs)
    server.exited.then((exit) => {
      clearTimeout(timer)
      if (exit.code === 0) resolve()
      else reject(new Error(`${name} failed (${JSON.stringify(exit)}); last lines of ${log}:\n${tail(log)}`))
    })
  })
}
