// The xtreamd command line: --help everywhere (exit 0), usage errors (exit 2,
// naming the argument), runtime failures (exit 1), line/bouquet/category
// round trips, demo idempotence, and the all-or-nothing M3U import.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { PW, seedDemo } from './lib/fixture.mjs';
import { genLiveM3U, genMalformedM3U, writeM3U } from './lib/gen.mjs';
import { api, getJson } from './lib/http.mjs';
import { assertNoSanitizerReport, cliOk, makeDataDir, removeDir, runCli, startServer } from './lib/server.mjs';

let dataDir;
before(async () => {
  dataDir = await makeDataDir('cli');
  await seedDemo(dataDir);
});
after(async () => {
  await removeDir(dataDir);
});

const D = () => ['--data', dataDir];

async function expectExit(args, code, { stderrRe, what } = {}) {
  const r = await runCli(args);
  assertNoSanitizerReport(r.stderr, `xtreamd ${args.join(' ')}`);
  assert.equal(r.code, code, `${what ?? `xtreamd ${args.join(' ')}`}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout.slice(0, 500)}\nstderr: ${r.stderr.slice(0, 1000)}`);
  if (stderrRe) assert.match(r.stderr, stderrRe, `xtreamd ${args.join(' ')}: stderr should name the problem`);
  return r;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    assert.fail(`${what}: stdout is not JSON (${e.message}): ${text.slice(0, 300)}`);
  }
}

describe('--help', () => {
  const COMMANDS = [
    [],
    ['serve'],
    ['demo'],
    ['import'],
    ['import', 'm3u'],
    ['line'],
    ['line', 'add'],
    ['line', 'set'],
    ['line', 'list'],
    ['line', 'show'],
    ['line', 'del'],
    ['bouquet'],
    ['bouquet', 'add'],
    ['bouquet', 'list'],
    ['bouquet', 'del'],
    ['category'],
    ['category', 'list'],
    ['line', 'extend'],
    ['plan'],
    ['plan', 'add'],
    ['plan', 'set'],
    ['plan', 'list'],
    ['plan', 'show'],
    ['plan', 'del'],
  ];
  for (const cmd of COMMANDS) {
    it(`xtreamd ${[...cmd, '--help'].join(' ')} → exit 0 with usage on stdout`, async () => {
      const r = await expectExit([...cmd, '--help'], 0);
      assert.ok(r.stdout.trim().length > 0, 'usage text on stdout');
      if (cmd.length) assert.ok(r.stdout.includes(cmd[cmd.length - 1]), `usage of ${cmd.join(' ')} mentions the command`);
    });
  }
  it('xtreamd help and xtreamd (no arguments)', async () => {
    await expectExit(['help'], 0);
    const r = await runCli([]);
    assert.ok(r.code === 2 || r.code === 0, `no arguments → usage (exit 2 or 0), got ${r.code}`);
  });
});

describe('usage errors → exit 2, naming the argument', () => {
  const CASES = [
    [['frobnicate'], /frobnicate/],
    [['line', 'frobnicate'], /frobnicate/],
    [['line', 'list', '--frobnicate'], /--frobnicate/],
    [['line', 'add', 'u.one', PW, '--max-connections', 'abc'], /--max-connections/],
    [['line', 'add', 'u.one', PW, '--max-connections', '-1'], /--max-connections/],
    [['line', 'add', 'u.one', PW, '--expires', '2024-13-45'], /--expires/],
    [['line', 'add', 'u.one', PW, '--expires', 'tomorrow'], /--expires/],
    [['line', 'add', 'u.one', PW, '--outputs', 'flv'], /--outputs/],
    [['line', 'add', 'u.one', PW, '--outputs', ''], /--outputs/],
    [['line', 'add', 'u.one', PW, '--max-connections'], /--max-connections/],
    [['line', 'add', 'bad user', PW], /username|bad user/i],
    [['line', 'add', 'bad/user', PW], /username|bad\/user/i],
    [['line', 'add', 'u.one', 'pa+ss'], /password/i],
    [['line', 'add', 'u.one', 'pa ss'], /password/i],
    [['line', 'add'], /username|USERNAME|missing|usage/i],
    [['line', 'set', 'demo', '--password', 'a b'], /password/i],
    [['serve', '--listen', 'nonsense'], /--listen/],
    [['serve', '--listen', '127.0.0.1:99999'], /--listen/],
    [['serve', '--header-timeout', '-5'], /--header-timeout/],
    [['serve', '--idle-timeout', 'x'], /--idle-timeout/],
    [['serve', '--public-url', 'not a url'], /--public-url/],
    [['import', 'm3u', 'x.m3u', '--kind', 'bogus'], /--kind/],
    [['import', 'frobnicate', 'x'], /frobnicate/],
    [['import', 'm3u'], /FILE|file|missing|usage/i],
    [['category', 'list', '--kind', 'bogus'], /--kind/],
    [['bouquet', 'add'], /NAME|name|missing|usage/i],
  ];
  for (const [args, re] of CASES) {
    it(`xtreamd ${args.join(' ')}`, async () => {
      await expectExit([...args, ...D()], 2, { stderrRe: re });
    });
  }
  it('--data without a value', async () => {
    await expectExit(['line', 'list', '--data'], 2, { stderrRe: /--data/ });
  });
});

describe('runtime failures → exit 1', () => {
  it('line del / line show / line set of an unknown user', async () => {
    await expectExit(['line', 'del', 'no.such.user', ...D()], 1, { stderrRe: /no\.such\.user/ });
    await expectExit(['line', 'show', 'no.such.user', ...D()], 1, { stderrRe: /no\.such\.user/ });
    await expectExit(['line', 'set', 'no.such.user', '--max-connections', '3', ...D()], 1, { stderrRe: /no\.such\.user/ });
  });
  it('line add of an existing username', async () => {
    await cliOk(['line', 'add', 'dup.user', PW, ...D()]);
    await expectExit(['line', 'add', 'dup.user', PW, ...D()], 1, { stderrRe: /dup\.user/ });
  });
  it('line add with an unknown bouquet', async () => {
    await expectExit(['line', 'add', 'bq.missing', PW, '--bouquet', 'No Such Bouquet', ...D()], 1, { stderrRe: /No Such Bouquet/ });
    await expectExit(['line', 'show', 'bq.missing', ...D()], 1); // nothing half-created
  });
  it('bouquet del / bouquet add --category of unknown names', async () => {
    await expectExit(['bouquet', 'del', 'No Such Bouquet', ...D()], 1, { stderrRe: /No Such Bouquet/ });
    await expectExit(['bouquet', 'add', 'Bq-X', '--category', 'No Such Category', ...D()], 1, { stderrRe: /No Such Category/ });
  });
  it('import of a missing file', async () => {
    await expectExit(['import', 'm3u', path.join(dataDir, 'does-not-exist.m3u'), ...D()], 1, { stderrRe: /does-not-exist\.m3u/ });
  });
});

describe('line round trip', () => {
  it('add → show --json → list --json → set → del', async () => {
    await cliOk(['line', 'add', 'rt.user', PW, '--max-connections', '3', '--expires', '2099-01-31', '--trial', '--outputs', 'ts', '--message', 'hi there', ...D()]);
    const show = parseJson((await cliOk(['line', 'show', 'rt.user', '--json', ...D()])).stdout, 'line show --json');
    const s = JSON.stringify(show);
    assert.ok(s.includes('"rt.user"'), s);
    assert.ok(s.includes('hi there'), s);
    const list = parseJson((await cliOk(['line', 'list', '--json', ...D()])).stdout, 'line list --json');
    assert.ok(Array.isArray(list) || typeof list === 'object');
    const ls = JSON.stringify(list);
    assert.ok(ls.includes('"rt.user"') && ls.includes('"demo"'), 'list has rt.user and the demo line');
    await cliOk(['line', 'set', 'rt.user', '--max-connections', '9', '--no-trial', ...D()]);
    const show2 = JSON.stringify(parseJson((await cliOk(['line', 'show', 'rt.user', '--json', ...D()])).stdout, 'line show --json'));
    assert.match(show2, /"max_connections"\s*:\s*"?9"?/, show2);
    const human = (await cliOk(['line', 'show', 'rt.user', ...D()])).stdout;
    assert.ok(human.includes('rt.user'));
    await cliOk(['line', 'del', 'rt.user', ...D()]);
    await expectExit(['line', 'show', 'rt.user', ...D()], 1);
  });

  it('plan add → line add --plan → line show --json (the admin API shape) → plan set/list/del', async () => {
    await cliOk(['plan', 'add', 'Cli Gold', '--days', '30', '--max-connections', '4', '--outputs', 'hls', '--bouquet', 'Demo', ...D()]);
    // Usage and rule errors name the option.
    await expectExit(['plan', 'add', 'Cli Bad', '--days', '0', ...D()], 2, { stderrRe: /--days/ });
    await expectExit(['plan', 'add', 'Cli Bad', '--days', '1', '--months', '1', ...D()], 2, { stderrRe: /--months/ });
    await expectExit(['plan', 'add', 'Cli Bad', '--trial-hours', '5', ...D()], 2, { stderrRe: /--trial-hours/ });
    await expectExit(['plan', 'add', 'Cli Gold', ...D()], 1, { stderrRe: /Cli Gold/ });
    await expectExit(['line', 'add', 'pl.none', PW, '--plan', 'No Such Plan', ...D()], 1, { stderrRe: /--plan/ });
    const t0 = Math.floor(Date.now() / 1000);
    await cliOk(['line', 'add', 'pl.user', PW, '--plan', 'Cli Gold', '--notes', 'room 12', ...D()]);
    const l = parseJson((await cliOk(['line', 'show', 'pl.user', '--json', ...D()])).stdout, 'line show --json');
    assert.equal(l.max_connections, 4);
    assert.deepEqual(l.allowed_outputs, ['m3u8']);
    assert.deepEqual(l.bouquets.map((b) => b.name), ['Demo']);
    assert.equal(l.notes, 'room 12');
    assert.equal(l.status, 'Active');
    assert.ok(l.exp_date_epoch >= t0 + 30 * 86400 - 5 && l.exp_date_epoch <= Math.floor(Date.now() / 1000) + 30 * 86400 + 5, JSON.stringify(l));
    assert.equal(new Date(l.exp_date).getTime() / 1000, l.exp_date_epoch);
    await cliOk(['plan', 'set', 'Cli Gold', '--name', 'Cli Gold 2', '--no-duration', ...D()]);
    const plans = parseJson((await cliOk(['plan', 'list', '--json', ...D()])).stdout, 'plan list --json');
    const p = plans.find((x) => x.name === 'Cli Gold 2');
    assert.ok(p, JSON.stringify(plans));
    assert.equal(p.duration_days, null);
    assert.equal(p.max_connections, 4);
    const shown = (await cliOk(['plan', 'show', 'Cli Gold 2', ...D()])).stdout;
    assert.match(shown, /never expires/);
    await cliOk(['plan', 'del', 'Cli Gold 2', ...D()]);
    await expectExit(['plan', 'show', 'Cli Gold 2', ...D()], 1, { stderrRe: /Cli Gold 2/ });
    // The line keeps what it got from the deleted plan.
    const l2 = parseJson((await cliOk(['line', 'show', 'pl.user', '--json', ...D()])).stdout, 'line show --json');
    assert.equal(l2.max_connections, 4);
    await cliOk(['line', 'del', 'pl.user', ...D()]);
  });

  it('line extend: from the expiry, calendar months, until; refusals name the option', async () => {
    await cliOk(['line', 'add', 'ext.user', PW, '--expires', '2031-01-31', ...D()]);
    assert.match((await cliOk(['line', 'extend', 'ext.user', '--months', '1', ...D()])).stdout, /until 2031-02-28/);
    assert.match((await cliOk(['line', 'extend', 'ext.user', '--days', '2', ...D()])).stdout, /until 2031-03-02/);
    await cliOk(['line', 'extend', 'ext.user', '--until', '2031-06-01', ...D()]);
    const l = parseJson((await cliOk(['line', 'show', 'ext.user', '--json', ...D()])).stdout, 'line show --json');
    assert.equal(l.exp_date, '2031-06-01T00:00:00Z');
    await expectExit(['line', 'extend', 'ext.user', '--days', '0', ...D()], 2, { stderrRe: /--days/ });
    await expectExit(['line', 'extend', 'ext.user', '--days', '1', '--months', '1', ...D()], 2, { stderrRe: /--months/ });
    await expectExit(['line', 'extend', 'ext.user', '--until', '2031-05-01', ...D()], 2, { stderrRe: /--until/ });
    await expectExit(['line', 'extend', 'ext.user', ...D()], 2, { stderrRe: /--days/ });
    await expectExit(['line', 'extend', 'demo', '--days', '1', ...D()], 1, { stderrRe: /never expires/ });
    await expectExit(['line', 'extend', 'no.such.user', '--days', '1', ...D()], 1, { stderrRe: /no\.such\.user/ });
    await cliOk(['line', 'del', 'ext.user', ...D()]);
  });

  it('bouquet add/list/del and category list --json', async () => {
    await cliOk(['bouquet', 'add', 'Cli-Bq', '--category', 'Demo News', '--category', 'Demo Movies', ...D()]);
    const bl = JSON.stringify(parseJson((await cliOk(['bouquet', 'list', '--json', ...D()])).stdout, 'bouquet list --json'));
    assert.ok(bl.includes('Cli-Bq') && bl.includes('"Demo"'), bl.slice(0, 500));
    await cliOk(['bouquet', 'del', 'Cli-Bq', ...D()]);
    const bl2 = JSON.stringify(parseJson((await cliOk(['bouquet', 'list', '--json', ...D()])).stdout, 'bouquet list --json'));
    assert.ok(!bl2.includes('Cli-Bq'));
    const cl = JSON.stringify(parseJson((await cliOk(['category', 'list', '--json', ...D()])).stdout, 'category list --json'));
    for (const n of ['Demo News', 'Demo Sports', 'Demo Music', 'Demo Movies', 'Demo Series']) assert.ok(cl.includes(n), n);
    const live = JSON.stringify(parseJson((await cliOk(['category', 'list', '--kind', 'live', '--json', ...D()])).stdout, 'category list --kind live'));
    assert.ok(live.includes('Demo News') && !live.includes('Demo Movies'));
    const human = (await cliOk(['category', 'list', ...D()])).stdout;
    assert.ok(human.includes('Demo News'));
  });
});

describe('demo', () => {
  it('is idempotent', async () => {
    const before1 = (await cliOk(['category', 'list', '--json', ...D()])).stdout;
    const lines1 = (await cliOk(['line', 'list', '--json', ...D()])).stdout;
    const bq1 = (await cliOk(['bouquet', 'list', '--json', ...D()])).stdout;
    await cliOk(['demo', ...D()]);
    await cliOk(['demo', ...D()]);
    assert.deepEqual(parseJson((await cliOk(['category', 'list', '--json', ...D()])).stdout), parseJson(before1));
    assert.deepEqual(parseJson((await cliOk(['line', 'list', '--json', ...D()])).stdout), parseJson(lines1));
    assert.deepEqual(parseJson((await cliOk(['bouquet', 'list', '--json', ...D()])).stdout), parseJson(bq1));
  });
});

describe('import m3u', () => {
  it('malformed file: exit 1, every bad line number reported, previous catalogue intact', async () => {
    const dir = await makeDataDir('cli-imp');
    let srv;
    try {
      await seedDemo(dir);
      await cliOk(['line', 'add', 'imp.user', PW, '--data', dir]);
      const good = genLiveM3U({ channels: 20, groups: 2, prefix: 'Good' });
      await cliOk(['import', 'm3u', '--data', dir, await writeM3U(dir, 'good.m3u', good.text)]);
      const catsBefore = (await cliOk(['category', 'list', '--json', '--data', dir])).stdout;

      const bad = genMalformedM3U({ prefix: 'Broken' });
      const r = await runCli(['import', 'm3u', '--data', dir, await writeM3U(dir, 'bad.m3u', bad.text)]);
      assertNoSanitizerReport(r.stderr);
      assert.equal(r.code, 1, `malformed import exit ${r.code}; stderr: ${r.stderr}`);
      const reported = [...r.stderr.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
      for (const g of bad.badGroups) {
        assert.ok(g.some((l) => reported.includes(l)), `line ${g.join(' or ')} not reported; stderr:\n${r.stderr}`);
      }
      const allowed = new Set([...bad.badGroups.flat(), ...bad.maybeLines]);
      for (const l of reported) assert.ok(allowed.has(l), `line ${l} reported but it is fine; stderr:\n${r.stderr}`);

      const catsAfter = (await cliOk(['category', 'list', '--json', '--data', dir])).stdout;
      assert.deepEqual(parseJson(catsAfter), parseJson(catsBefore), 'categories unchanged after a rejected import');
      assert.ok(!catsAfter.includes('Broken Group'));

      srv = await startServer(dir);
      const live = await getJson(srv.port, api('imp.user', PW, 'get_live_streams'));
      assert.equal(live.filter((s) => s.name.startsWith('Good Channel')).length, 20);
      assert.equal(live.filter((s) => s.name.startsWith('Broken')).length, 0, 'nothing of the rejected file was imported');
    } finally {
      try {
        if (srv) await srv.stopClean();
      } finally {
        await removeDir(dir);
      }
    }
  });

  it('a file that is not an M3U at all → exit 1', async () => {
    const p = path.join(dataDir, 'not.m3u');
    await writeFile(p, 'just some text\nwithout a header\n');
    await expectExit(['import', 'm3u', p, ...D()], 1);
  });

  it('an empty file → exit 1 (nothing to import is an error) or 0 with nothing imported', async () => {
    const p = path.join(dataDir, 'empty.m3u');
    await writeFile(p, '');
    const before1 = (await cliOk(['category', 'list', '--json', ...D()])).stdout;
    const r = await runCli(['import', 'm3u', p, ...D()]);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}`);
    assert.equal((await cliOk(['category', 'list', '--json', ...D()])).stdout, before1);
  });

  it('--kind movie --category NAME creates that movie category', async () => {
    const m = '#EXTM3U\r\n#EXTINF:-1 tvg-name="Cli Film A" group-title="Ignored Group",Cli Film A\r\nhttp://127.0.0.1:9/cli/a.mp4\r\n#EXTINF:-1,Cli Film B\r\nhttp://127.0.0.1:9/cli/b.mkv\r\n';
    await cliOk(['import', 'm3u', '--kind', 'movie', '--category', 'Cli Movies', ...D(), await writeM3U(dataDir, 'cli-movies.m3u', m)]);
    const cl = JSON.stringify(parseJson((await cliOk(['category', 'list', '--kind', 'movie', '--json', ...D()])).stdout));
    assert.ok(cl.includes('Cli Movies'), cl);
  });
});
