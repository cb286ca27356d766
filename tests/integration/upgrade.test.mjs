// Graceful upgrade (issue 15, item 7): a second `xtreamd serve` on the same
// data folder and listen address takes over the running server's listening
// socket (fd hand-over over <data>/handover.sock, cli/handover.h). Checked:
// a loop of short requests, each on a new connection, runs across the
// hand-over with zero refused or failed connections; serve.json ends up
// describing the new server; the old one stops accepting but a live viewer
// on it keeps receiving; the old one exits once its last viewer leaves, or
// when stop-grace ends (the viewer is then cut, to reconnect to the new one).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';
import { Server, HOST, assertNoSanitizerReport, binPath, cliOk, databaseEnv, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';

const PW = 'Pw.upgrade-1';
const USER = 'upgrader';

/** `xtreamd serve` on an explicit port (the running server's), like startServer. */
function spawnOn(dataDir, port, extra = []) {
  const args = ['serve', '--data', dataDir, '--listen', `${HOST}:${port}`, '--login-free', '100000', ...extra];
  const child = spawn(binPath(), args, {
    env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1', TZ: 'UTC', ...databaseEnv(dataDir) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Server(child, port, dataDir);
}

/** One GET on a fresh connection: resolves { ok, status, error }. */
function oneRequest(port, target) {
  return new Promise((resolve) => {
    const req = http.request({ host: HOST, port, method: 'GET', path: target, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode }));
      res.on('error', (e) => resolve({ ok: false, error: e.code || e.message }));
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, error: e.code || e.message }));
    req.end();
  });
}

/** Workers sending requests back to back until stop(); counts results. */
function requestLoop(port, target, workers = 4) {
  const r = { sent: 0, ok: 0, failures: [], stopped: false };
  const run = async () => {
    while (!r.stopped) {
      r.sent++;
      const x = await oneRequest(port, target);
      if (x.ok) r.ok++;
      else r.failures.push(x);
    }
  };
  const all = Promise.all(Array.from({ length: workers }, run));
  r.stop = async () => {
    r.stopped = true;
    await all;
  };
  return r;
}

const logTime = (line) => Date.parse(line.slice(0, 24));

describe('graceful upgrade: listener hand-over', () => {
  let dataDir, a, b, c, chan;
  const servers = () => [a, b, c].filter(Boolean);
  before(async () => {
    dataDir = await makeDataDir('upgrade');
    await cliOk(['line', 'add', USER, PW, '--data', dataDir, '--max-connections', '0']);
    const r = await cliOk(['stream', 'add', 'Upgrade Pattern', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', dataDir]);
    chan = Number(r.stdout.trim());
    a = await startServer(dataDir, ['--stop-grace', '120']);
  });
  after(async () => {
    try {
      for (const s of servers()) await s.stop();
    } finally {
      await removeDir(dataDir);
    }
  });

  const liveUrl = () => `/live/${USER}/${PW}/${chan}.ts`;
  const apiUrl = `/player_api.php?username=${USER}&password=${PW}`;

  it('a second server takes over during a request loop: zero refused connections; the old one drains its viewer', async () => {
    const port = a.port;
    const v1 = await tsViewer(port, liveUrl(), { keep: false });
    assert.equal(v1.status, 200);
    await pollUntil(() => v1.bytes > 50000, { timeoutMs: 60000 });

    const loop = requestLoop(port, apiUrl);
    await pollUntil(() => loop.ok >= 50, { timeoutMs: 60000 });
    b = spawnOn(dataDir, port, ['--stop-grace', '8']);
    await b.waitForLog(/info serve: took over the listener of pid (\d+)/, { timeoutMs: 60000 });
    await a.waitForLog(/info serve: handed over to a new server: no longer accepting/, { timeoutMs: 30000 });
    await b.waitForLog(new RegExp(`listening on ${HOST}:${port}`), { timeoutMs: 30000 });
    // The loop goes on against the new server alone for a while.
    const okAtHandover = loop.ok;
    await pollUntil(() => (b.logs().match(/"GET \/player_api\.php\?[^"]*" 200/g) || []).length >= 50 && loop.ok >= okAtHandover + 50, { timeoutMs: 60000 });
    await loop.stop();
    assert.deepEqual(loop.failures, [], `failed requests out of ${loop.sent}`);
    assert.ok(loop.ok >= 100);
    // Both servers answered requests of the loop.
    assert.ok(/"GET \/player_api\.php\?[^"]*" 200/.test(a.logs()), 'the old server answered part of the loop');

    // serve.json describes the new server.
    const state = JSON.parse(await readFile(path.join(dataDir, 'serve.json'), 'utf8'));
    assert.equal(state.pid, b.child.pid);
    assert.equal(state.port, port);

    // The old server no longer accepts but its viewer keeps receiving.
    const bytes0 = v1.bytes;
    await pollUntil(() => v1.bytes > bytes0 + 50000, { timeoutMs: 60000 });
    assert.ok(a.alive(), 'the old server runs while its viewer watches');
    assert.ok(!v1.ended);
    // ... and exits once the viewer leaves, long before its 120 s grace.
    v1.close();
    const t0 = Date.now();
    const r = await a.waitExit(60000);
    assert.ok(Date.now() - t0 < 60000);
    assertNoSanitizerReport(a.logs(), 'old server');
    assert.equal(r.code, 0, a.logs().slice(-2000));
    assert.match(a.logs(), /info serve: stopped/);
    a = null;
  });

  it('a viewer on the old server keeps receiving until stop-grace ends, then the old one exits', async () => {
    const port = b.port;
    const v2 = await tsViewer(port, liveUrl(), { keep: false });
    assert.equal(v2.status, 200);
    await pollUntil(() => v2.bytes > 50000, { timeoutMs: 60000 });
    c = spawnOn(dataDir, port);
    await c.waitForLog(/info serve: took over the listener of pid/, { timeoutMs: 60000 });
    const m = await b.waitForLog(/^.*info serve: handed over to a new server.*$/m, { timeoutMs: 30000 });
    const bytes0 = v2.bytes;
    await pollUntil(() => v2.bytes > bytes0 + 20000, { timeoutMs: 60000 });
    // stop-grace (8 s) ends: the viewer is cut and the old server exits.
    const r = await b.waitExit(60000);
    assertNoSanitizerReport(b.logs(), 'old server');
    assert.equal(r.code, 0, b.logs().slice(-2000));
    await pollUntil(() => v2.ended, { timeoutMs: 30000 });
    const stopped = /^.*info serve: stopped$/m.exec(b.logs());
    assert.ok(stopped, 'stopped line');
    assert.ok(logTime(stopped[0]) - logTime(m[0]) >= 7900, `drained for ${logTime(stopped[0]) - logTime(m[0])} ms (grace 8000)`);
    assert.match(b.logs(), /stop: closing 1 connections after the grace period/);
    b = null;
    // The viewer reconnects: to the new server.
    const v3 = await tsViewer(port, liveUrl(), { keep: false });
    assert.equal(v3.status, 200);
    await pollUntil(() => v3.bytes > 10000, { timeoutMs: 60000 });
    v3.close();
    const state = JSON.parse(await readFile(path.join(dataDir, 'serve.json'), 'utf8'));
    assert.equal(state.pid, c.child.pid);
    await c.stopClean();
    c = null;
  });

  it('a server on another address does not take over, and leaves the hand-over socket to the running one', async () => {
    if (a) await a.stop(); // only when an earlier case failed half-way
    a = await startServer(dataDir, ['--stop-grace', '5']);
    const other = await startServer(dataDir);
    b = other;
    await other.waitForLog(/not taking over/, { timeoutMs: 30000 });
    await other.waitForLog(/another server runs on/, { timeoutMs: 30000 });
    let state = JSON.parse(await readFile(path.join(dataDir, 'serve.json'), 'utf8'));
    assert.equal(state.pid, a.child.pid, 'serve.json still names the first server');
    assert.ok(a.alive() && other.alive());
    assert.doesNotMatch(a.logs(), /handed over/);
    // An upgrade of the first one still reaches it (not the second).
    c = spawnOn(dataDir, a.port);
    await c.waitForLog(new RegExp(`took over the listener of pid ${a.child.pid}`), { timeoutMs: 60000 });
    const r = await a.waitExit(60000);
    assert.equal(r.code, 0, a.logs().slice(-2000));
    assertNoSanitizerReport(a.logs(), 'first server');
    a = null;
    state = JSON.parse(await readFile(path.join(dataDir, 'serve.json'), 'utf8'));
    assert.equal(state.pid, c.child.pid);
    await other.stopClean();
    b = null;
    await c.stopClean();
    c = null;
  });

  it('junk on the hand-over socket is refused and changes nothing', async () => {
    if (a) await a.stop();
    a = await startServer(dataDir);
    const sock = path.join(dataDir, 'handover.sock');
    const exchange = (data) =>
      new Promise((resolve, reject) => {
        const cl = net.connect(sock);
        let got = '';
        const t = setTimeout(() => reject(new Error('hand-over socket did not close')), 30000);
        cl.on('connect', () => cl.write(data));
        cl.setEncoding('utf8').on('data', (d) => (got += d));
        cl.on('error', () => {});
        cl.on('close', () => {
          clearTimeout(t);
          resolve(got);
        });
      });
    assert.equal(await exchange('HELLO\n'), '');
    await a.waitForLog(/unknown request on the hand-over socket: closed/);
    assert.equal(await exchange('x'.repeat(5000)), '');
    await a.waitForLog(/request line over 2048 bytes: closed/);
    // STOP without a TAKE first would leave nobody accepting: refused.
    assert.equal(await exchange('STOP\n'), '');
    await a.waitForLog(/STOP before TAKE on the hand-over socket: refused/);
    assert.doesNotMatch(a.logs(), /handed over/);
    // The server still serves and can still be taken over.
    const res = await oneRequest(a.port, apiUrl);
    assert.ok(res.ok, JSON.stringify(res));
    c = spawnOn(dataDir, a.port);
    await c.waitForLog(new RegExp(`took over the listener of pid ${a.child.pid}`), { timeoutMs: 60000 });
    assert.equal((await a.waitExit(60000)).code, 0);
    a = null;
    await c.stopClean();
    c = null;
  });

  it('stop-grace bounds the SIGTERM drain (systemctl stop)', async () => {
    if (a) await a.stop();
    a = await startServer(dataDir, ['--stop-grace', '2']);
    // A connection whose request has not arrived yet counts as in flight: the
    // drain waits for it — until stop-grace, well before the 10 s header
    // timeout. A request on a second connection, answered, proves the first
    // was accepted (the accept queue is first in, first out).
    const cl = net.connect({ host: HOST, port: a.port });
    await new Promise((resolve, reject) => {
      cl.on('connect', resolve);
      cl.on('error', reject);
    });
    cl.on('error', () => {});
    assert.ok((await oneRequest(a.port, apiUrl)).ok);
    const r = await a.stop({ timeoutMs: 60000 });
    cl.destroy();
    assertNoSanitizerReport(a.logs());
    assert.equal(r.code, 0, a.logs().slice(-2000));
    const sig = /^.*SIGTERM: finishing in-flight requests \(up to 2000 ms\)$/m.exec(a.logs());
    const stopped = /^.*info serve: stopped$/m.exec(a.logs());
    assert.ok(sig && stopped, a.logs().slice(-2000));
    const ms = logTime(stopped[0]) - logTime(sig[0]);
    assert.ok(ms >= 1900 && ms < 9000, `drain took ${ms} ms with stop-grace 2 s`);
    a = null;
  });
});

// With an HTTPS listener, both listening sockets are handed over: an HTTPS
// request loop (a full handshake per request) crosses the hand-over with
// zero failures, and the new server answers on the same TLS port.
describe('graceful upgrade with HTTPS', () => {
  let dataDir, certDir, a, c;
  before(async () => {
    dataDir = await makeDataDir('upgrade-tls');
    certDir = await makeDataDir('upgrade-tls-cert');
    await cliOk(['line', 'add', USER, PW, '--data', dataDir]);
    await new Promise((resolve, reject) =>
      execFile('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', path.join(certDir, 'k.pem'), '-out', path.join(certDir, 'c.pem'), '-days', '2', '-subj', '/CN=localhost'],
      (err) => (err ? reject(err) : resolve())));
  });
  after(async () => {
    for (const s of [a, c].filter(Boolean)) await s.stopClean().catch(() => {});
    await removeDir(dataDir);
    await removeDir(certDir);
  });

  const httpsOnce = (port) =>
    new Promise((resolve) => {
      const req = https.request({ host: HOST, port, path: `/player_api.php?username=${USER}&password=${PW}`,
        rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode }));
        res.on('error', (e) => resolve({ ok: false, error: e.code || e.message }));
      });
      req.setTimeout(30000, () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ ok: false, error: e.code || e.message }));
      req.end();
    });

  it('hands over the TLS listener too, with no failed HTTPS request', { timeout: 240000 }, async () => {
    const tlsArgs = (port) => ['--listen-tls', `${HOST}:${port}`, '--tls-cert', path.join(certDir, 'c.pem'),
      '--tls-key', path.join(certDir, 'k.pem')];
    a = await startServer(dataDir, [...tlsArgs(0), '--stop-grace', '5']);
    const m = await a.waitForLog(/listening on \S+:(\d+) \(https\)/, { timeoutMs: 30000 });
    const tport = Number(m[1]);
    assert.ok((await httpsOnce(tport)).ok);
    const loop = { sent: 0, failures: [], stopped: false };
    const worker = async () => {
      while (!loop.stopped) {
        loop.sent++;
        const r = await httpsOnce(tport);
        if (!r.ok) loop.failures.push(r);
      }
    };
    const workers = Promise.all([worker(), worker()]);
    await pollUntil(() => loop.sent >= 10, { timeoutMs: 60000 });
    c = spawnOn(dataDir, a.port, [...tlsArgs(tport), '--stop-grace', '5']);
    await c.waitForLog(new RegExp(`took over the listener of pid ${a.child.pid}`), { timeoutMs: 60000 });
    const exited = await a.waitExit(60000);
    assert.equal(exited.code, 0, a.logs().slice(-2000));
    a = null;
    const after = loop.sent;
    await pollUntil(() => loop.sent >= after + 10, { timeoutMs: 60000 });
    loop.stopped = true;
    await workers;
    assert.deepEqual(loop.failures, [], `${loop.failures.length} of ${loop.sent} HTTPS requests failed`);
    assert.match(c.logs(), new RegExp(`listening on \\S+:${tport} \\(https\\)`));
    await c.stopClean();
    c = null;
  });
});
