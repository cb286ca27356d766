// serve --loops defaults to the online CPUs (sysconf(_SC_NPROCESSORS_ONLN), at most 16, at
// least 1; docs/internals/core.md "Several I/O loops"): `--loops auto` means the same,
// `config show` prints the resolved number, a default server runs that many loops
// (xtreamd_loops and xtreamd_loop_viewers{loop} in /metrics) and `--loops 1` still gives one.
// getconf reads the same sysconf value the server does.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { makeDataDir, removeDir, runCli, startServer } from './lib/server.mjs';
import { get } from './lib/http.mjs';

const online = Number(execFileSync('getconf', ['_NPROCESSORS_ONLN'], { encoding: 'utf8' }).trim());
const CPUS = Math.min(16, Math.max(1, online));
// A loops setting from the environment or a configuration file would hide the default.
const ENV = { XTREAMD_LOOPS: undefined, XTREAMD_CONFIG: '/dev/null' };

let dataDir;
before(async () => {
  dataDir = await makeDataDir('loops-default');
});
after(async () => {
  await removeDir(dataDir);
});

/** The `loops` item of `xtreamd config show --json ...args`. */
async function shownLoops(args) {
  const r = await runCli(['config', 'show', '--json', '--data', dataDir, ...args], { env: ENV });
  assert.equal(r.code, 0, `config show ${args.join(' ')}: ${r.stderr}`);
  const item = JSON.parse(r.stdout).settings.find((s) => s.key === 'loops');
  assert.ok(item, 'loops in config show');
  return item;
}

/** The loops a running server reports in /metrics: { n, perLoop: [loop indices listed] }. */
async function metricsLoops(srv) {
  const m = await get(srv.port, '/metrics', { timeoutMs: 30000 });
  assert.equal(m.status, 200);
  const n = /^xtreamd_loops (\d+)$/m.exec(m.text);
  assert.ok(n, 'xtreamd_loops in /metrics');
  const perLoop = [...m.text.matchAll(/^xtreamd_loop_viewers\{loop="(\d+)"\} \d+$/gm)].map((x) => Number(x[1]));
  return { n: Number(n[1]), perLoop };
}

describe('serve --loops default', () => {
  it('config show resolves the default and auto to the online CPUs, and keeps --loops 1', async () => {
    assert.ok(online >= 1, `getconf _NPROCESSORS_ONLN gave ${online}`);
    const def = await shownLoops([]);
    assert.equal(def.value, String(CPUS));
    assert.equal(def.source, 'default');
    assert.equal((await shownLoops(['--loops', 'auto'])).value, String(CPUS));
    assert.equal((await shownLoops(['--loops', '1'])).value, '1');
    assert.equal((await shownLoops(['--loops', '16'])).value, '16');
  });

  it('refuses loop counts outside 1..16 and words other than auto', async () => {
    for (const bad of ['0', '17', 'Auto', 'auto2', '']) {
      const r = await runCli(['config', 'show', '--data', dataDir, '--loops', bad], { env: ENV });
      assert.notEqual(r.code, 0, `--loops "${bad}" accepted: ${r.stdout}`);
      assert.match(r.stderr, /loops/, `--loops "${bad}": the error names the setting`);
    }
  });

  it('a default serve runs one loop per online CPU', async () => {
    const srv = await startServer(dataDir, [], { env: ENV });
    try {
      const { n, perLoop } = await metricsLoops(srv);
      assert.equal(n, CPUS, `xtreamd_loops on a ${online}-CPU machine`);
      assert.deepEqual(
        perLoop,
        Array.from({ length: CPUS }, (_, k) => k),
      );
    } finally {
      await srv.stopClean();
    }
  });

  it('serve --loops 1 runs one loop', async () => {
    const srv = await startServer(dataDir, ['--loops', '1'], { env: ENV });
    try {
      const { n, perLoop } = await metricsLoops(srv);
      assert.equal(n, 1);
      assert.deepEqual(perLoop, [0]);
    } finally {
      await srv.stopClean();
    }
  });
});
