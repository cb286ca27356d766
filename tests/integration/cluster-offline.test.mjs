// An edge that loses the main and the database (issue 16 item 6, docs/internals/cluster.md
// "Offline edges"): a main and two edges on one real PostgreSQL. e1 runs the default
// --cluster-offline-admission deny, e2 runs local. A TS viewer the main sent to e2 keeps
// receiving bytes after the main is SIGKILLed and PostgreSQL is stopped; e1 answers a new start
// 503 once the main is stale; e2 admits new starts itself (newest wins on a max_connections 1
// line, by its own registry); when PostgreSQL and the main come back, e2's journal appears in
// cluster_sessions and e2 redirects starts to the main again. Skipped without PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { assertNoSanitizerReport, cliOk, freePort, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';
import { LAVFI_SMALL, tsCheck, tsViewer } from './lib/live.mjs';

const json = (body) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const PW = 'Pw.offline-1';
const MAIN_URL = 'http://127.0.0.1:9';

describe('cluster edges without the main (offline admission) on PostgreSQL', { skip: !pgAvailable() && 'no PostgreSQL server installed' }, () => {
  let pg, dirMain, dirE1, dirE2, main, e1, e2, chan, mainPort, e2id;
  const env = {};
  const ports = {};
  const viewers = [];
  const mainArgs = ['--cluster-role', 'main', '--public-url', MAIN_URL, '--channel-idle', '5'];

  const nodes = async () => {
    const r = await request(main.port, 'GET', '/api/v1/nodes');
    assert.equal(r.status, 200, r.text);
    return r.json().items;
  };
  const code = async () => {
    const r = await request(main.port, 'POST', '/api/v1/nodes/enrol-codes', json({}));
    assert.equal(r.status, 201, r.text);
    return r.json().code;
  };
  const metric = async (srv, re) => {
    const r = await get(srv.port, '/metrics');
    return r.status === 200 && re.exec(r.text);
  };
  const psql = (sql) =>
    new Promise((resolve, reject) =>
      execFile('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', pg.url, '-c', sql], { timeout: 30000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())));
  const watch = async (port, path, opts = {}) => {
    const v = await tsViewer(port, path, { keep: false, ...opts });
    viewers.push(v);
    return v;
  };
  /** Bytes keep arriving for at least ms (each poll a fresh growth), the viewer never ends. */
  const keepsPlaying = async (v, ms) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      const b = v.bytes;
      await pollUntil(() => v.ended || v.bytes > b, { timeoutMs: 20000, intervalMs: 100 });
      assert.ok(!v.ended, 'the viewer was cut');
    }
  };

  before(async () => {
    pg = await startPgCluster();
    env.XTREAMD_DATABASE = pg.url;
    dirMain = await makeDataDir('co-main');
    dirE1 = await makeDataDir('co-e1');
    dirE2 = await makeDataDir('co-e2');
    main = await startServer(dirMain, mainArgs, { env });
    mainPort = main.port;
    await cliOk(['line', 'add', 'viewer', PW, '--data', dirMain, '--max-connections', '0'], { env });
    await cliOk(['line', 'add', 'single', PW, '--data', dirMain, '--max-connections', '1'], { env });
    const r = await cliOk(['stream', 'add', 'Pattern', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', dirMain], { env });
    chan = Number(r.stdout.trim());
    for (const [name, dir] of [['e1', dirE1], ['e2', dirE2]]) {
      ports[name] = await freePort();
      const en = await runCli(['node', 'enrol', main.base, await code(), '--name', `edge-${name}`, '--public-url', `http://127.0.0.1:${ports[name]}`, '--data-dir', dir]);
      assert.equal(en.code, 0, en.stderr);
    }
    e1 = await startServer(dirE1, ['--channel-idle', '5'], { port: ports.e1 });
    e2 = await startServer(dirE2, ['--channel-idle', '5', '--cluster-offline-admission', 'local'], { port: ports.e2 });
    // the main and e1 take no viewers: every start the main admits goes to e2
    const all = await nodes();
    for (const n of all.filter((x) => x.role === 'main' || x.name === 'edge-e1')) {
      const d = await request(main.port, 'POST', `/api/v1/nodes/${n.id}/drain`);
      assert.equal(d.status, 200, d.text);
    }
    e2id = all.find((x) => x.name === 'edge-e2').id;
    await pollUntil(async () => (await nodes()).filter((n) => n.fresh).length === 3, { timeoutMs: 30000, intervalMs: 100 });
    await pollUntil(() => metric(main, /xtreamd_cluster_nodes\{fresh="yes"\} 3/), { timeoutMs: 30000, intervalMs: 100 });
  });

  after(async () => {
    for (const v of viewers) v.close();
    for (const srv of [e1, e2, main]) {
      if (!srv) continue;
      await srv.stop();
      assertNoSanitizerReport(srv.stderr);
    }
    for (const d of [dirMain, dirE1, dirE2]) if (d) await removeDir(d);
    if (pg) await pg.stop();
  });

  let a; // the viewer the main sent to e2 before it went away

  it('a TS viewer on an edge keeps playing after the main is SIGKILLed and PostgreSQL stopped; a deny edge answers 503', async () => {
    const r = await get(main.port, `/live/viewer/${PW}/${chan}.ts`);
    assert.equal(r.status, 302, r.text);
    const loc = new URL(r.headers.location);
    assert.equal(Number(loc.port), ports.e2, loc.href);
    a = await watch(ports.e2, loc.pathname);
    assert.equal(a.status, 200);
    await pollUntil(() => a.bytes > 0, { timeoutMs: 60000 });
    // online, both edges send a start to the main
    for (const port of [ports.e1, ports.e2]) {
      const s = await get(port, `/live/viewer/${PW}/${chan}.ts`);
      assert.equal(s.status, 302, s.text);
      assert.equal(s.headers.location, `${MAIN_URL}/live/viewer/${PW}/${chan}.ts`);
    }
    main.child.kill('SIGKILL');
    await main.waitExit();
    main = null;
    // e1 (deny) refuses once the main's heartbeat is stale (> 6 s)
    const { value: denied } = await pollUntil(async () => {
      const s = await get(ports.e1, `/live/viewer/${PW}/${chan}.ts`);
      assert.ok(s.status === 302 || s.status === 503, `${s.status} ${s.text}`);
      return s.status === 503 && s;
    }, { timeoutMs: 30000, intervalMs: 200 });
    assert.match(denied.text, /main cannot be reached/);
    assert.ok(Number(denied.headers['retry-after']) > 0, JSON.stringify(denied.headers));
    assert.ok(await metric(e1, /xtreamd_cluster_offline\{policy="deny"\} 1/));
    assert.ok(await metric(e1, /xtreamd_cluster_offline_denied_total [1-9]/));
    await keepsPlaying(a, 2000);
    await pg.kill();
    // the edge's own database connection is gone too: it stays offline, its viewer plays on
    await keepsPlaying(a, 6000);
    assert.ok(await metric(e2, /xtreamd_cluster_offline\{policy="local"\} 1/));
    assert.ok(await metric(e2, /xtreamd_cluster_view_failures_total [1-9]/));
  });

  it('policy local: new starts play at the edge, newest wins on a max_connections 1 line', async () => {
    const v = await watch(ports.e2, `/live/viewer/${PW}/${chan}.ts`);
    assert.equal(v.status, 200);
    await pollUntil(() => v.bytes > 0, { timeoutMs: 60000 });
    const s1 = await tsViewer(ports.e2, `/live/single/${PW}/${chan}.ts`);
    viewers.push(s1);
    assert.equal(s1.status, 200);
    await pollUntil(() => s1.bytes > 188 * 20, { timeoutMs: 60000 });
    const ts = tsCheck(s1.buffer());
    assert.ok(ts.packets > 0 && ts.badSync === 0 && ts.firstPid >= 0, JSON.stringify(ts));
    // another IP: the registry counts one player's reconnection from the same address once
    const s2 = await watch(ports.e2, `/live/single/${PW}/${chan}.ts`, { localAddress: '127.0.0.2' });
    assert.equal(s2.status, 200);
    await pollUntil(() => s1.ended, { timeoutMs: 15000, intervalMs: 50 });
    await pollUntil(() => s2.bytes > 0, { timeoutMs: 60000 });
    assert.ok(!s2.ended);
    assert.ok(await metric(e2, /xtreamd_cluster_offline_admitted_total 3\b/));
    assert.ok(await metric(e2, /xtreamd_cluster_offline_journal 3\b/));
    // HLS: the player refreshes the same playlist URL; one journalled session, not one a refresh
    for (let i = 0; i < 2; i++) {
      const h = await get(ports.e2, `/live/viewer/${PW}/${chan}.m3u8`);
      assert.equal(h.status, 200, h.text);
      assert.match(h.text, /^#EXTM3U/);
    }
    assert.ok(await metric(e2, /xtreamd_cluster_offline_admitted_total 4\b/));
    assert.ok(await metric(e2, /xtreamd_cluster_offline_journal 4\b/));
    assert.ok(!a.ended, 'the main-admitted viewer was cut');
  });

  it('when PostgreSQL and the main are back the journal reaches cluster_sessions and starts go to the main again', async () => {
    await pg.restart();
    main = await startServer(dirMain, mainArgs, { env, port: mainPort });
    const { value: rows } = await pollUntil(async () => {
      const out = await psql(`SELECT l.username, COALESCE(s.end_reason, 'active') FROM cluster_sessions s JOIN lines l ON l.id = s.line_id WHERE s.node_id = ${e2id} ORDER BY s.started_at, s.id`).catch(() => '');
      const list = out ? out.split('\n') : [];
      // the main-admitted session plus the four journalled ones
      return list.length >= 5 && list;
    }, { timeoutMs: 60000, intervalMs: 250 });
    const single = rows.filter((x) => x.startsWith('single|'));
    assert.deepEqual(single.map((x) => x.split('|')[1]).sort(), ['active', 'limit'], rows.join('\n'));
    // A (the main's) and the local TS viewer still play; the HLS one may be closed by then
    assert.ok(rows.filter((x) => x === 'viewer|active').length >= 2, rows.join('\n'));
    assert.equal(rows.length, 5, rows.join('\n'));
    await pollUntil(() => metric(e2, /xtreamd_cluster_offline_reconciled_total 4\b/), { timeoutMs: 30000, intervalMs: 200 });
    assert.ok(await metric(e2, /xtreamd_cluster_offline_journal 0\b/));
    // online again: both edges send starts to the main
    for (const port of [ports.e1, ports.e2]) {
      await pollUntil(async () => {
        const s = await get(port, `/live/viewer/${PW}/${chan}.ts`);
        return s.status === 302 && s.headers.location === `${MAIN_URL}/live/viewer/${PW}/${chan}.ts`;
      }, { timeoutMs: 30000, intervalMs: 200 });
    }
    assert.ok(!a.ended, 'the main-admitted viewer was cut');
  });
});
