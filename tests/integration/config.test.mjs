// The configuration file, the XTREAMD_* environment and the flags
// (docs/configuration.md): precedence flags > environment > file > defaults,
// each seen in `xtreamd config show` and in what the server really does (the
// port it listens on, the header timeout it enforces); `config check` naming
// FILE:LINE and the key; nothing starts with a bad or missing file; SIGHUP
// applies the reloadable keys and keeps everything on a bad file; the
// packaged example file is the generated one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  HOST,
  Server,
  assertNoSanitizerReport,
  binPath,
  freePort,
  makeDataDir,
  pollUntil,
  removeDir,
  runCli,
} from './lib/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir;
const servers = [];

before(async () => {
  dir = await makeDataDir('config');
});

after(async () => {
  for (const s of servers) await s.stop();
  await removeDir(dir);
});

/** The environment without any XTREAMD_* setting of the caller's, plus extra. */
function env(extra = {}) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('XTREAMD_') || k === 'XTREAMD_BIN') e[k] = v;
  return {
    ...e,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=0',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'halt_on_error=1:print_stacktrace=1',
    ...extra,
  };
}

async function conf(name, text) {
  const p = path.join(dir, name);
  await writeFile(p, text);
  return p;
}

async function cli(args, extraEnv = {}) {
  const r = await runCli(args, { env: env(extraEnv) });
  assertNoSanitizerReport(r.stderr, `xtreamd ${args.join(' ')}`);
  return r;
}

/** `config show --json` as a map key -> {value, source, ...}. */
async function show(args, extraEnv = {}) {
  const r = await cli(['config', 'show', '--json', ...args], extraEnv);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const m = new Map();
  for (const s of doc.settings) if (!m.has(s.key)) m.set(s.key, s);
  return { doc, m };
}

/** Starts `xtreamd serve ARGS` with ENV (no --listen of its own) and waits for its listening line. */
async function serve(args, extraEnv = {}) {
  const child = spawn(binPath(), ['serve', ...args], { env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = new Server(child, 0, null);
  servers.push(srv);
  const m = await srv.waitForLog(/listening on ([0-9.]+):(\d+)/, { timeoutMs: 30000 });
  srv.port = Number(m[2]);
  srv.base = `http://${HOST}:${srv.port}`;
  return srv;
}

/** Milliseconds until the server closes a connection that sends nothing (the header timeout). */
function silentCloseMs(port) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect(port, HOST);
    const guard = setTimeout(() => {
      s.destroy();
      reject(new Error('connection not closed within 30 s'));
    }, 30000);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(guard);
      resolve(Date.now() - t0);
    });
    s.resume();
  });
}

describe('precedence: defaults < file < environment < flags', () => {
  it('the file sets the port and the header timeout; show names file:LINE', async () => {
    const p1 = await freePort();
    const f = await conf('file.conf', `# a comment\nlisten = "${HOST}:${p1}";\nheader-timeout = 1;\nlogin-free = 100000;\n`);
    const { doc, m } = await show(['--config', f]);
    assert.equal(doc.config, f);
    assert.deepEqual([m.get('listen').value, m.get('listen').source, m.get('listen').line], [`${HOST}:${p1}`, 'file', 2]);
    assert.equal(m.get('listen').file, f);
    assert.deepEqual([m.get('header-timeout').value, m.get('header-timeout').line], ['1', 3]);
    assert.equal(m.get('idle-timeout').source, 'default');
    const srv = await serve(['--config', f, '--data', path.join(dir, 'd1')]);
    assert.equal(srv.port, p1, 'listens on the port of the file');
    const ms = await silentCloseMs(srv.port);
    assert.ok(ms < 8000, `a silent connection is closed by the file's 1 s header timeout (default 10 s), took ${ms} ms`);
    await srv.stopClean();
  });

  it('the environment overrides the file; show names the variable', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const f = await conf('env.conf', `listen = "${HOST}:${p1}";\nlogin-free = 100000;\n`);
    const e = { XTREAMD_LISTEN: `${HOST}:${p2}`, XTREAMD_LIVE: 'watchdog=5, ring-mb=64' };
    const { m } = await show(['--config', f], e);
    assert.deepEqual([m.get('listen').value, m.get('listen').source, m.get('listen').name], [`${HOST}:${p2}`, 'env', 'XTREAMD_LISTEN']);
    assert.deepEqual([m.get('live.watchdog').value, m.get('live.watchdog').source], ['5', 'env']);
    assert.deepEqual([m.get('live.ring-mb').value, m.get('live.ring-mb').source], ['64', 'env']);
    assert.equal(m.get('live.slow-lag').source, 'default');
    const srv = await serve(['--config', f, '--data', path.join(dir, 'd2')], e);
    assert.equal(srv.port, p2, 'listens on the port of XTREAMD_LISTEN, not the file');
    await srv.stopClean();
  });

  it('a flag overrides the environment and the file; show names the flag', async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const f = await conf('flag.conf', `listen = "${HOST}:${p1}";\nlogin-free = 100000;\nheader-timeout = 30;\n`);
    const e = { XTREAMD_LISTEN: `${HOST}:${p2}`, XTREAMD_HEADER_TIMEOUT: '20' };
    const { m } = await show(['--config', f, '--listen', `${HOST}:${p3}`, '--header-timeout', '1'], e);
    assert.deepEqual([m.get('listen').value, m.get('listen').source, m.get('listen').name], [`${HOST}:${p3}`, 'flag', '--listen']);
    assert.deepEqual([m.get('header-timeout').value, m.get('header-timeout').source], ['1', 'flag']);
    const srv = await serve(['--config', f, '--data', path.join(dir, 'd3'), '--listen', `${HOST}:${p3}`, '--header-timeout', '1'], e);
    assert.equal(srv.port, p3, 'listens on the port of --listen');
    const ms = await silentCloseMs(srv.port);
    assert.ok(ms < 8000, `the flag's 1 s header timeout wins over 20 s (env) and 30 s (file), took ${ms} ms`);
    await srv.stopClean();
  });

  it('XTREAMD_CONFIG names the file when --config is absent; --config wins over it', async () => {
    const a = await conf('a.conf', 'login-free = 7;\n');
    const b = await conf('b.conf', 'login-free = 8;\n');
    let r = await show([], { XTREAMD_CONFIG: a });
    assert.deepEqual([r.doc.config, r.m.get('login-free').value], [a, '7']);
    r = await show(['--config', b], { XTREAMD_CONFIG: a });
    assert.deepEqual([r.doc.config, r.m.get('login-free').value], [b, '8']);
  });

  it('lists and the live group: allow-host as a list, live as a group, both in show', async () => {
    const f = await conf('lists.conf', 'allow-host = ["media.lan", "10.0.0.9"];\nlive: {\n  watchdog = 5;\n  ring-mb = 64;\n};\n');
    const r = await cli(['config', 'show', '--json', '--config', f]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout).settings;
    assert.deepEqual(s.filter((x) => x.key === 'allow-host').map((x) => [x.value, x.line]), [['media.lan', 1], ['10.0.0.9', 1]]);
    const w = s.find((x) => x.key === 'live.watchdog');
    assert.deepEqual([w.value, w.source, w.line], ['5', 'file', 3]);
    assert.deepEqual([s.find((x) => x.key === 'live.ring-mb').line], [4]);
    const text = await cli(['config', 'show', '--config', f]);
    assert.match(text.stdout, /^live\.watchdog\s+5\s+file .*lists\.conf:3$/m);
  });
});

describe('config check and bad files', () => {
  const cases = [
    ['an unknown key', 'listen = "127.0.0.1:0";\n\nwatchdgo = 5;\n', /:3: unknown key "watchdgo"/],
    ['a bad value', 'data = "./x";\nheader-timeout = -4;\n', /:2: invalid header-timeout "-4" \(want seconds/],
    ['a syntax error', 'data = "./x";\nlisten = 127.0.0.1:80;\n', /:2: syntax error/],
    ['an unterminated string', 'data = "./x";\nlisten = "abc\n', /:3: syntax error/],
    ['a wrong type (a list for a single value)', 'listen = ["127.0.0.1:1", "127.0.0.1:2"];\n', /:1: listen: takes one value, not a list/],
    ['a bad live tunable', 'live: {\n  watchdog = 5;\n  ring-mb = 5000;\n};\n', /:3: invalid live "ring-mb=5000"/],
    ['an unknown live tunable', 'live: { nope = 1; };\n', /:1: invalid live "nope=1"/],
  ];
  for (const [what, text, re] of cases) {
    it(`check names FILE:LINE and the key for ${what}; serve refuses to start`, async () => {
      const f = await conf(`bad-${what.replace(/\W+/g, '-')}.conf`, text);
      const r = await cli(['config', 'check', '--config', f]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.ok(r.stderr.includes(f), r.stderr);
      assert.match(r.stderr, re);
      const s = await cli(['serve', '--config', f, '--data', path.join(dir, 'never'), '--listen', `${HOST}:0`]);
      assert.equal(s.code, 1, s.stderr);
      assert.match(s.stderr, re);
      assert.doesNotMatch(s.stderr, /listening on/);
    });
  }

  it('a good file: "FILE: ok", exit 0', async () => {
    const f = await conf('good.conf', 'listen = "127.0.0.1:8080";\nlive: { watchdog = 4.5; };\n');
    const r = await cli(['config', 'check', '--config', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${f}: ok\n`);
  });

  it('a bad environment value is refused, naming the variable', async () => {
    const r = await cli(['config', 'check', '--config', await conf('empty.conf', '')], { XTREAMD_IDLE_TIMEOUT: 'soon' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid XTREAMD_IDLE_TIMEOUT "soon"/);
  });

  it('an explicit file that is missing is an error (--config and XTREAMD_CONFIG)', async () => {
    const missing = path.join(dir, 'no-such.conf');
    for (const [args, e] of [
      [['--config', missing], {}],
      [[], { XTREAMD_CONFIG: missing }],
    ]) {
      const r = await cli(['config', 'check', ...args], e);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no-such\.conf: No such file or directory/);
      const s = await cli(['serve', ...args, '--data', path.join(dir, 'never'), '--listen', `${HOST}:0`], e);
      assert.equal(s.code, 1);
      assert.match(s.stderr, /no-such\.conf: No such file or directory/);
    }
  });
});

describe('reload on SIGHUP', () => {
  it('applies a changed reloadable key, logs keys needing a restart, and keeps everything on a bad file', async () => {
    const port = await freePort();
    const f = await conf('reload.conf', `listen = "${HOST}:${port}";\nheader-timeout = 30;\nlogin-free = 100000;\nidle-timeout = 50;\n`);
    // --idle-timeout is a flag: a reload reads the file again but the flag still wins.
    const srv = await serve(['--config', f, '--data', path.join(dir, 'd4'), '--idle-timeout', '45']);
    // Before: the 30 s header timeout holds a silent connection well past 3 s.
    const early = silentCloseMs(srv.port);
    const first = await Promise.race([early, new Promise((r) => setTimeout(() => r('open'), 3000))]);
    assert.equal(first, 'open', 'a silent connection stays open under the 30 s header timeout');

    await writeFile(f, `listen = "${HOST}:1";\nheader-timeout = 1;\nlogin-free = 100000;\nidle-timeout = 55;\nlive: { watchdog = 5; };\n`);
    let from = srv.logs().length;
    srv.child.kill('SIGHUP');
    await srv.waitForLog(/config: reloaded /, { from, timeoutMs: 15000 });
    const log = srv.logs().slice(from);
    assert.match(log, /header-timeout changed: 30 -> 1/);
    assert.match(log, /live\.watchdog changed: 3 -> 5/);
    assert.match(log, /listen changed: needs a restart/);
    assert.doesNotMatch(log, /login-free changed/);
    assert.doesNotMatch(log, /idle-timeout changed/, 'the --idle-timeout flag still wins over the file');
    const ms = await silentCloseMs(srv.port);
    assert.ok(ms < 8000, `after the reload a silent connection is closed by the 1 s header timeout, took ${ms} ms`);
    assert.equal(srv.port, port, 'still on the first port');

    // A bad file: the error with its line, nothing changed.
    await writeFile(f, `header-timeout = 30;\nlisten = "${HOST}:${port}";\nbogus = 1;\n`);
    from = srv.logs().length;
    srv.child.kill('SIGHUP');
    await srv.waitForLog(/reload failed, keeping the running configuration: .*reload\.conf:3: unknown key "bogus"/, {
      from,
      timeoutMs: 15000,
    });
    assert.doesNotMatch(srv.logs().slice(from), /changed/);
    const ms2 = await silentCloseMs(srv.port);
    assert.ok(ms2 < 8000, `the bad file's 30 s was not applied: still closed after ~1 s, took ${ms2} ms`);
    await pollUntil(async () => srv.alive());
    await srv.stopClean();
  });
});

describe('the example file', () => {
  it('packaging/xtreamd.conf is `xtreamd config example` (regenerate it with that command)', async () => {
    const r = await cli(['config', 'example']);
    assert.equal(r.code, 0, r.stderr);
    const packaged = await readFile(path.join(ROOT, 'packaging/xtreamd.conf'), 'utf8');
    assert.equal(packaged, r.stdout, 'packaging/xtreamd.conf drifted: run build/xtreamd config example > packaging/xtreamd.conf');
  });

  it('passes check as shipped, and with every key uncommented (the defaults are valid values)', async () => {
    const shipped = path.join(ROOT, 'packaging/xtreamd.conf');
    let r = await cli(['config', 'check', '--config', shipped]);
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(shipped, 'utf8');
    const on = await conf('uncommented.conf', text.replace(/^#/gm, ''));
    r = await cli(['config', 'check', '--config', on]);
    assert.equal(r.code, 0, r.stderr);
    const s = await show(['--config', on]);
    assert.equal(s.m.get('listen').source, 'file');
    assert.equal(s.m.get('live.watchdog').source, 'file');
  });
});
