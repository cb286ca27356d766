// systemd integration (issue 15): the sd_notify datagrams xtreamd sends to
// $NOTIFY_SOCKET, captured by a fake manager (a unix datagram socket this
// test owns; node has no AF_UNIX datagrams, so a few lines of python3 read
// it and print each datagram as one JSON line): READY=1 only once the port
// accepts, STATUS= with viewers and channels, WATCHDOG=1 pings at half of
// $WATCHDOG_USEC from the event loop, RELOADING=1 + MONOTONIC_USEC then READY=1
// on SIGHUP, STOPPING=1 on SIGTERM; the log levels changed at run time
// through the admin API and `xtreamd log level`, seen in the output; the log
// file (log-file) reopened after a rename on SIGUSR1 and SIGHUP, and the JSON
// lines format (log-format json) parsed line by line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rename, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { get, request } from './lib/http.mjs';
import { assertNoSanitizerReport, cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';

const RECEIVER = `
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"ready": True}), flush=True)
while True:
    d = s.recv(65536)
    print(json.dumps({"t": time.monotonic(), "msg": d.decode("utf-8", "replace")}), flush=True)
`;

/** A fake service manager: .messages [{t, msg}], waitFor(re, from). */
async function fakeManager(sockPath) {
  const child = spawn('python3', ['-c', RECEIVER, sockPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const mgr = { child, messages: [], ready: false };
  createInterface({ input: child.stdout }).on('line', (l) => {
    const j = JSON.parse(l);
    if (j.ready) mgr.ready = true;
    else mgr.messages.push(j);
  });
  await pollUntil(() => mgr.ready, { timeoutMs: 10000 });
  mgr.waitFor = async (re, { from = 0, timeoutMs = 15000 } = {}) => {
    const { value } = await pollUntil(() => mgr.messages.slice(from).find((m) => re.test(m.msg)), { timeoutMs, intervalMs: 20 });
    return value;
  };
  mgr.stop = () => child.kill('SIGKILL');
  return mgr;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

let dataDir;
before(async () => {
  dataDir = await makeDataDir('systemd'); // an empty catalogue is enough here
});
after(async () => {
  await removeDir(dataDir);
});

describe('sd_notify', () => {
  let mgr;
  let srv;
  after(async () => {
    if (srv) await srv.stop();
    if (mgr) mgr.stop();
  });

  it('READY once listening, STATUS with viewers and channels, WATCHDOG pings, RELOADING, STOPPING', async () => {
    const sock = path.join(dataDir, 'notify.sock');
    mgr = await fakeManager(sock);
    srv = await startServer(dataDir, [], { env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' } });
    const ready = await mgr.waitFor(/^READY=1$/m);
    // READY is sent after listen(): the port accepts by then.
    assert.ok(await canConnect(srv.port));
    const readyIdx = mgr.messages.indexOf(ready);
    assert.equal(readyIdx, 0, `READY must be the first datagram: ${JSON.stringify(mgr.messages.slice(0, 3))}`);

    const status = await mgr.waitFor(/^STATUS=/m);
    assert.match(status.msg, /^STATUS=serving: \d+ viewers, \d+ HLS sessions, \d+ channels running/m);

    // WATCHDOG_USEC=1 s: a ping every 0.5 s from the loop.
    const first = await mgr.waitFor(/^WATCHDOG=1$/m, { from: readyIdx });
    const n0 = mgr.messages.indexOf(first);
    await pollUntil(() => mgr.messages.slice(n0).filter((m) => m.msg === 'WATCHDOG=1').length >= 5, { timeoutMs: 15000 });
    // The first ping goes with READY; the timer's follow.
    const pings = mgr.messages.slice(n0).filter((m) => m.msg === 'WATCHDOG=1').slice(1);
    const gaps = pings.slice(1).map((p, i) => p.t - pings[i].t);
    // Never faster than asked (a slow machine only delays them).
    assert.ok(Math.min(...gaps) > 0.3, `ping gaps ${gaps}`);
    assert.match(srv.logs(), /systemd watchdog: a ping every 500 ms/);

    // systemctl reload = SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1.
    const before = mgr.messages.length;
    srv.child.kill('SIGHUP');
    const reloading = await mgr.waitFor(/^RELOADING=1$/m, { from: before });
    assert.match(reloading.msg, /^MONOTONIC_USEC=\d+$/m);
    const at = mgr.messages.indexOf(reloading);
    await mgr.waitFor(/^READY=1$/m, { from: at + 1 });
    assert.ok(srv.alive());

    // The counters are on /metrics.
    const m = await get(srv.port, '/metrics');
    assert.match(m.text, /^xtreamd_systemd_notify_total\{result="sent"\} [1-9]\d*$/m);

    const beforeStop = mgr.messages.length;
    const stopped = srv.stop();
    await mgr.waitFor(/^STOPPING=1$/m, { from: beforeStop });
    const r = await stopped;
    assertNoSanitizerReport(srv.logs());
    assert.equal(r.code, 0);
  });

  it('without NOTIFY_SOCKET nothing is sent and the server runs as before', async () => {
    const s2 = await startServer(dataDir);
    try {
      const m = await get(s2.port, '/metrics');
      assert.match(m.text, /^xtreamd_systemd_notify_total\{result="sent"\} 0$/m);
      assert.doesNotMatch(s2.logs(), /systemd watchdog/);
    } finally {
      await s2.stopClean();
    }
  });
});

describe('log levels at run time', () => {
  it('through the admin API and `xtreamd log level`, seen in the output', async () => {
    const srv = await startServer(dataDir);
    try {
      // Access log lines are info under the tag http.
      let from = srv.logs().length;
      await get(srv.port, '/probe-1');
      await srv.waitForLog(/ info http: 127\.0\.0\.1 "GET \/probe-1" /, { from });

      const put = await request(srv.port, 'PUT', '/api/v1/system/log-levels', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ default: 'info', tags: { http: 'warn' } }),
      });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json(), { default: 'info', tags: { http: 'warn' } });
      const got = (await get(srv.port, "/api/v1/system/log-levels")).json();
      assert.deepEqual(got, { default: 'info', tags: { http: 'warn' } });
      await srv.waitForLog(/ warn admin: log levels changed by local: /);
      from = srv.logs().length;
      await get(srv.port, '/probe-2');
      // A line logged after it (the level change of the CLI below) proves the
      // access line was not merely late.
      const cli = await cliOk(['log', 'level', 'http', 'debug', '--data', dataDir]);
      assert.match(cli.stdout, /^http\s+debug$/m);
      await srv.waitForLog(/log levels changed by local: \{"default":"info","tags":\{"http":"debug"\}\}/, { from });
      assert.doesNotMatch(srv.logs().slice(from), /probe-2/);

      from = srv.logs().length;
      await get(srv.port, '/probe-3');
      await srv.waitForLog(/ info http: 127\.0\.0\.1 "GET \/probe-3" /, { from });

      // Bad input: a 422 naming the field, and the CLI's usage errors.
      const bad = await request(srv.port, 'PUT', '/api/v1/system/log-levels', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ default: 'loud', tags: { 'Bad Tag': 'info' } }),
      });
      assert.equal(bad.status, 422);
      const fields = bad.json().errors.map((e) => e.field).sort();
      assert.deepEqual(fields, ['default', 'tags.Bad Tag']);
      const r = await runCli(['log', 'level', 'http', 'chatty', '--data', dataDir]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /want debug, info, warn or error/);

      // The default level: warn hides info lines of every tag without an override.
      await cliOk(['log', 'level', 'http', 'default', '--data', dataDir]);
      const shown = await cliOk(['log', 'level', 'warn', '--data', dataDir, '--json']);
      assert.deepEqual(JSON.parse(shown.stdout), { default: 'warn', tags: {} });
      from = srv.logs().length;
      await get(srv.port, '/probe-4');
      await cliOk(['log', 'level', 'info', '--data', dataDir]);
      await srv.waitForLog(/"default":"info"/, { from });
      assert.doesNotMatch(srv.logs().slice(from), /probe-4/);
    } finally {
      await srv.stopClean();
    }
  });
});

describe('log file and format', () => {
  it('log-file: SIGUSR1 and SIGHUP reopen it after a rename (logrotate); log-format json lines', async () => {
    const file = path.join(dataDir, 'xtreamd.log');
    const srv = await startServer(dataDir, ['--log-file', file, '--log-format', 'json', '--log-level', 'http=debug'], { logFile: file });
    try {
      assert.doesNotMatch(srv.logs(), /listening on/, 'the log goes to the file, not stderr');
      assert.equal((await stat(file)).mode & 0o777, 0o600); // usernames and addresses: owner-only
      const lines = async (f) => (await readFile(f, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      let all = await lines(file);
      for (const j of all) {
        assert.deepEqual(Object.keys(j), ['time', 'level', 'tag', 'message']);
        assert.match(j.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      assert.ok(all.some((j) => j.tag === 'serve' && j.level === 'info' && j.message.startsWith('listening on 127.0.0.1:')));

      // A hostile request target: one JSON line whose message carries the escapes.
      await request(srv.port, 'GET', '/evil%0d%0a%22quote%5c');
      await pollUntil(async () => (await lines(file)).some((j) => j.tag === 'http' && j.message.includes('/evil')));
      const evil = (await lines(file)).find((j) => j.tag === 'http' && j.message.includes('/evil'));
      assert.doesNotMatch(evil.message, /[\r\n]/);

      // logrotate: rename, then SIGUSR1; the next lines go to a new file at the old name.
      const rotated = `${file}.1`;
      await rename(file, rotated);
      srv.child.kill('SIGUSR1');
      await pollUntil(async () => (await lines(file).catch(() => [])).some((j) => j.message === 'SIGUSR1: log file reopened'), { timeoutMs: 10000 });
      await request(srv.port, 'GET', '/after-usr1');
      await pollUntil(async () => (await lines(file)).some((j) => j.message.includes('/after-usr1')));
      assert.ok(!(await lines(rotated)).some((j) => j.message.includes('/after-usr1')));

      // SIGHUP (systemctl reload) reopens it too.
      await rename(file, `${file}.2`);
      srv.child.kill('SIGHUP');
      await pollUntil(async () => (await lines(file).catch(() => [])).some((j) => j.message === 'reload done'), { timeoutMs: 10000 });
      await request(srv.port, 'GET', '/after-hup');
      await pollUntil(async () => (await lines(file)).some((j) => j.message.includes('/after-hup')));
      const m = await get(srv.port, '/metrics');
      assert.match(m.text, /^xtreamd_log_reopens_total\{result="ok"\} 2$/m);
      assert.match(m.text, /^xtreamd_log_write_errors_total 0$/m);
      all = await lines(file);
      assert.ok(all.length > 0);
    } finally {
      await srv.stopClean();
    }
  });

  it('bad log settings are usage errors naming the setting', async () => {
    for (const [flag, value] of [['--log-format', 'xml'], ['--log-level', 'http=chatty'], ['--log-level', 'Bad=info']]) {
      const r = await runCli(['serve', '--data', dataDir, '--listen', '127.0.0.1:0', flag, value]);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(flag.slice(2)));
    }
    const r = await runCli(['serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--log-file', path.join(dataDir, 'no/such/dir/x.log')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot open the log file/);
    // No server running on this data folder: `log level` fails (1), saying why.
    const none = await runCli(['log', 'level', '--data', dataDir]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no running server found/);
  });
});
