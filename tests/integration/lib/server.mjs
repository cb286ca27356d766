// Harness for driving the real xtreamd binary: temp data dirs, CLI runs, and
// `xtreamd serve` processes on 127.0.0.1 that are always cleaned up.
//
// Every process started here is tracked; stopAll() (and a process 'exit' hook)
// kills whatever is still running, so a failing test never leaks a server.
import { execFile, spawn } from 'node:child_process';
import { createDatabase, dropDatabase } from './pg.mjs';
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';

export const HOST = '127.0.0.1';

/**
 * port -> the per-run admin token of that server (from <data>/serve.json).
 * lib/http.mjs sends it on /api/v1/ requests, as the CLI does.
 */
export const adminTokens = new Map();

export function binPath() {
  const bin = process.env.XTREAMD_BIN;
  if (!bin) throw new Error('XTREAMD_BIN is not set (absolute path of the xtreamd binary)');
  if (!path.isAbsolute(bin)) throw new Error(`XTREAMD_BIN must be absolute, got ${bin}`);
  return bin;
}

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

// Sanitizer builds keep going after a UBSan report unless told otherwise; the
// runner script sets these too, but the tests must also work when run by hand.
function childEnv(extra = {}) {
  return {
    ...process.env,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=0',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'halt_on_error=1:print_stacktrace=1',
    TZ: 'UTC',
    ...extra,
  };
}

// WARNING: ThreadSanitizer: a race (or lock-order inversion) in a build-tsan/ binary; with
// scripts/run-tsan.sh's halt_on_error=1 the process has also exited 66.
const SANITIZER_RE =
  /(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer|WARNING: ThreadSanitizer)/;

/** Throws if a sanitizer report appears in the given stderr text. */
export function assertNoSanitizerReport(stderr, what = 'xtreamd') {
  const m = SANITIZER_RE.exec(stderr);
  if (m) {
    const at = Math.max(0, m.index - 200);
    assert.fail(`${what}: sanitizer report in stderr:\n${stderr.slice(at, at + 4000)}`);
  }
}

// XTREAMD_TEST_PG (the admin URL of a cluster, scripts/run-integration-pg.sh): each data
// directory gets its own PostgreSQL database, passed to the commands and servers run on that
// directory as XTREAMD_DATABASE.
const pgDatabases = new Map(); // data dir -> database URL

function dbEnv(dataDir) {
  const url = pgDatabases.get(dataDir);
  return url ? { XTREAMD_DATABASE: url } : {};
}

/** The database of a data directory on PostgreSQL runs (undefined on SQLite). */
export function databaseOf(dataDir) {
  return pgDatabases.get(dataDir);
}

/** The environment that points a process at the database of dataDir (empty on SQLite). */
export function databaseEnv(dataDir) {
  return dbEnv(dataDir);
}

function exec(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 << 20, encoding: 'buffer' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout));
  });
}

/**
 * Runs one query (SQL both backends accept) on the database of dataDir, read-only: sqlite3 on
 * the file, psql on PostgreSQL. Returns the rows as text, one per line, columns joined by '|'.
 */
export async function sqlQuery(dataDir, sql) {
  const pg = databaseOf(dataDir);
  const out = pg
    ? await exec('psql', ['-X', '-q', '-At', '-F', '|', '-v', 'ON_ERROR_STOP=1', pg, '-c', `SET default_transaction_read_only = on; ${sql}`])
    : await exec('sqlite3', ['-readonly', path.join(dataDir, 'xtreamd.db'), sql]);
  return out.toString('utf8').trim();
}

/**
 * Makes the database of dataDir unreachable for new connections (SQLite: the file is moved
 * aside; PostgreSQL: ALLOW_CONNECTIONS false, which already open connections keep). Returns an
 * async function that puts it back.
 */
export async function databaseAway(dataDir) {
  const pg = databaseOf(dataDir);
  if (!pg) {
    const db = path.join(dataDir, 'xtreamd.db');
    await rename(db, `${db}.away`);
    return () => rename(`${db}.away`, db);
  }
  const name = new URL(pg.replace('postgresql:///', 'postgresql://x/')).pathname.slice(1);
  const admin = process.env.XTREAMD_TEST_PG;
  await exec('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', admin, '-c', `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`]);
  return () => exec('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', admin, '-c', `ALTER DATABASE ${name} ALLOW_CONNECTIONS true`]);
}

/**
 * Everything the database of dataDir stores, as bytes to search (a secret must not be in
 * them): the SQLite file and its WAL, or a pg_dump of the PostgreSQL database.
 */
export async function databaseBytes(dataDir) {
  const pg = databaseOf(dataDir);
  if (pg) return exec('pg_dump', ['--no-owner', pg]);
  const parts = [];
  for (const f of await readdir(dataDir)) if (f.startsWith('xtreamd.db')) parts.push(await readFile(path.join(dataDir, f)));
  return Buffer.concat(parts);
}

/** A fresh data directory under os.tmpdir(); remove it with cleanup(). */
export async function makeDataDir(tag = 'it') {
  const dir = await mkdtemp(path.join(os.tmpdir(), `xtreamd-${tag}-`));
  if (process.env.XTREAMD_TEST_PG) pgDatabases.set(dir, await createDatabase(process.env.XTREAMD_TEST_PG));
  return dir;
}

export async function removeDir(dir) {
  if (pgDatabases.has(dir)) {
    await dropDatabase(process.env.XTREAMD_TEST_PG, pgDatabases.get(dir));
    pgDatabases.delete(dir);
  }
  if (dir && dir.startsWith(os.tmpdir())) await rm(dir, { recursive: true, force: true });
}

/**
 * Runs `xtreamd ...args` to completion (bounded by timeoutMs) and returns
 * { code, signal, stdout, stderr }. Never throws on a non-zero exit.
 */
export function runCli(args, { timeoutMs = 60000, input, env } = {}) {
  return new Promise((resolve, reject) => {
    const data = args.indexOf('--data');
    const dbenv = data >= 0 ? dbEnv(args[data + 1]) : {};
    const child = spawn(binPath(), args, { env: childEnv({ ...dbenv, ...env }), stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (signal === 'SIGKILL' && code === null) {
        reject(new Error(`xtreamd ${args.join(' ')} timed out after ${timeoutMs} ms\n${stderr}`));
        return;
      }
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** runCli that asserts exit 0 and no sanitizer report; returns the result. */
export async function cliOk(args, opts) {
  const r = await runCli(args, opts);
  assertNoSanitizerReport(r.stderr, `xtreamd ${args.join(' ')}`);
  assert.equal(r.code, 0, `xtreamd ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** A currently free TCP port on 127.0.0.1 (bind to 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

/**
 * A running `xtreamd serve`. Fields: port, base ("http://127.0.0.1:PORT"),
 * child, dataDir. Methods: logs(), waitForLog(re), stop(signal), kill().
 */
export class Server {
  constructor(child, port, dataDir) {
    this.child = child;
    this.port = port;
    this.base = `http://${HOST}:${port}`;
    this.dataDir = dataDir;
    this.stderr = '';
    this.stdout = '';
    this.exited = null; // { code, signal } once the process is gone
    this._exitWaiters = [];
    child.stderr.setEncoding('utf8').on('data', (d) => (this.stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d) => (this.stdout += d));
    child.on('close', (code, signal) => {
      live.delete(child);
      this.exited = { code, signal };
      for (const w of this._exitWaiters) w(this.exited);
      this._exitWaiters = [];
    });
  }

  logs() {
    return this.stderr;
  }

  alive() {
    return this.exited === null;
  }

  /** Resolves with { code, signal } when the process has exited (bounded). */
  waitExit(timeoutMs = 15000) {
    if (this.exited) return Promise.resolve(this.exited);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`xtreamd did not exit within ${timeoutMs} ms`)), timeoutMs);
      this._exitWaiters.push((e) => {
        clearTimeout(t);
        resolve(e);
      });
    });
  }

  /** Waits until stderr matches re (starting at offset `from`); returns the match. */
  async waitForLog(re, { timeoutMs = 5000, from = 0 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.stderr.slice(from));
      if (m) return m;
      if (Date.now() > deadline) {
        throw new Error(`log line ${re} not seen within ${timeoutMs} ms; stderr tail:\n${this.stderr.slice(-3000)}`);
      }
      if (this.exited) throw new Error(`xtreamd exited (${JSON.stringify(this.exited)}) while waiting for ${re}\n${this.stderr.slice(-3000)}`);
      await sleep(25);
    }
  }

  /**
   * Graceful stop: SIGTERM, wait for exit (SIGKILL after timeoutMs). Returns
   * { code, signal }. Safe to call twice.
   */
  async stop({ signal = 'SIGTERM', timeoutMs = 15000 } = {}) {
    if (this.exited) return this.exited;
    this.child.kill(signal);
    try {
      return await this.waitExit(timeoutMs);
    } catch {
      this.child.kill('SIGKILL');
      await this.waitExit(5000).catch(() => {});
      return { code: null, signal: 'SIGKILL', timedOut: true };
    }
  }

  /** Stops the server and asserts a clean exit (code 0, no sanitizer report). */
  async stopClean() {
    const r = await this.stop();
    assertNoSanitizerReport(this.stderr);
    assert.equal(r.code, 0, `xtreamd serve exited with ${JSON.stringify(r)}; stderr tail:\n${this.stderr.slice(-3000)}`);
    return r;
  }
}

/**
 * Starts `xtreamd serve --data DIR --listen 127.0.0.1:PORT [--login-free 100000] [...extra]` and waits
 * until it accepts connections (and has logged `listening on 127.0.0.1:PORT`, on stderr or in
 * logFile). env: extra environment variables.
 */
export async function startServer(dataDir, extra = [], { startTimeoutMs = 20000, env, logFile, port: fixedPort } = {}) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    // port: a node whose URL was registered before it started (cluster tests)
    const port = fixedPort ?? (await freePort());
    // Suites send wrong credentials on purpose from one IP, far more than the
    // brute-force brake lets through (5 per window): unless a test sets
    // --login-free itself (security.test.mjs), the brake starts late.
    const brake = extra.includes('--login-free') ? [] : ['--login-free', '100000'];
    // Likewise the bans after failed logins (access control): off unless the
    // test sets ban-after itself (access.test.mjs).
    if (!extra.some((a) => String(a).startsWith('ban-after='))) brake.push('--access', 'ban-after=0');
    const args = ['serve', '--data', dataDir, '--listen', `${HOST}:${port}`, ...brake, ...extra];
    const child = spawn(binPath(), args, { env: childEnv({ ...dbEnv(dataDir), ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const srv = new Server(child, port, dataDir);
    // With --log-file the "listening" line goes to that file, not stderr.
    const logText = async () => (logFile ? readFile(logFile, 'utf8').catch(() => '') : srv.stderr);
    const deadline = Date.now() + startTimeoutMs;
    let ok = false;
    while (Date.now() < deadline) {
      if (srv.exited) break;
      if ((await logText()).includes(`listening on ${HOST}:${port}`) && (await canConnect(port))) {
        ok = true;
        break;
      }
      await sleep(50);
    }
    if (ok) {
      try {
        const state = JSON.parse(await readFile(path.join(dataDir, 'serve.json'), 'utf8'));
        if (state.port === port && state.token) {
          srv.token = state.token;
          adminTokens.set(port, state.token);
        }
      } catch {
        /* another server owns serve.json of this directory: no token */
      }
      return srv;
    }
    const portReady = !srv.exited && (await canConnect(port));
    lastErr = new Error(
      `xtreamd serve did not become ready on ${HOST}:${port} (` +
        (srv.exited ? `exited ${JSON.stringify(srv.exited)}` : portReady ? 'port accepts but no "listening on" log line' : 'timeout') +
        `); stderr:\n${srv.stderr.slice(-3000)}`,
    );
    await srv.stop({ timeoutMs: 3000 });
    // Only a lost race for the port is worth retrying.
    if (!/address already in use|EADDRINUSE/i.test(srv.stderr)) break;
  }
  throw lastErr;
}

/**
 * Polls fn() every intervalMs until it returns a truthy value; returns
 * { value, elapsedMs }. Throws after timeoutMs with the last value/error.
 */
export async function pollUntil(fn, { timeoutMs = 5000, intervalMs = 50 } = {}) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return { value: last, elapsedMs: Date.now() - t0 };
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`condition not met within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}
