// Admission and redirects of a cluster (issue 16 items 4 and 6, docs/internals/cluster.md
// "Admission and tokens"): a main and two edges on one real PostgreSQL, joined with
// `xtreamd node enrol`. A live request at the main answers 302 to an edge's /c/<token>/ URL and
// the redirected stream plays (ffprobe follows the redirect and counts frames); a token shown
// to another node, or tampered with, is 403; a line with max_connections 1 watching on one node
// and starting again is cut within about a second (newest wins across nodes); a SIGKILLed edge
// gets no new viewers within 6 s and its sessions are released after --cluster-orphan-ttl.
// Skipped when no PostgreSQL server is installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cliOk, freePort, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';

const json = (body) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const PW = 'Pw.cluster-1';

describe('cluster admission on PostgreSQL', { skip: !pgAvailable() && 'no PostgreSQL server installed' }, () => {
  let pg, dirMain, dirE1, dirE2, main, e1, e2, chan;
  const env = {};
  const ports = {};

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
  /** The main's answer to a stream start, not followed. */
  const start = async (user, id = chan, ext = 'ts') => {
    const r = await get(main.port, `/live/${user}/${PW}/${id}.${ext}`);
    assert.equal(r.status, 302, r.text);
    const loc = new URL(r.headers.location);
    assert.match(loc.pathname, new RegExp(`^/c/v1\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+/${id}\\.${ext}$`));
    return loc;
  };
  const edgeOf = (loc) => (Number(loc.port) === ports.e1 ? 'e1' : Number(loc.port) === ports.e2 ? 'e2' : 'other');

  before(async () => {
    pg = await startPgCluster();
    env.XTREAMD_DATABASE = pg.url;
    dirMain = await makeDataDir('ca-main');
    dirE1 = await makeDataDir('ca-e1');
    dirE2 = await makeDataDir('ca-e2');
    main = await startServer(dirMain, ['--cluster-role', 'main', '--public-url', 'http://127.0.0.1:9', '--cluster-orphan-ttl', '4', '--channel-idle', '5'], { env });
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
    e2 = await startServer(dirE2, ['--channel-idle', '5'], { port: ports.e2 });
    // the main takes no viewers itself here: every start is a redirect
    const self = (await nodes()).find((n) => n.role === 'main');
    const d = await request(main.port, 'POST', `/api/v1/nodes/${self.id}/drain`);
    assert.equal(d.status, 200, d.text);
    await pollUntil(async () => (await nodes()).filter((n) => n.fresh).length === 3, { timeoutMs: 30000, intervalMs: 100 });
    // the main's view (refreshed every 2 s) has both edges fresh
    await pollUntil(() => metric(main, /xtreamd_cluster_nodes\{fresh="yes"\} 3/), { timeoutMs: 30000, intervalMs: 100 });
  });

  after(async () => {
    for (const srv of [e1, e2, main]) if (srv) await srv.stop();
    for (const d of [dirMain, dirE1, dirE2]) if (d) await removeDir(d);
    if (pg) await pg.stop();
  });

  it('a live request at the main is redirected to an edge and plays there', async () => {
    const loc = await start('viewer');
    assert.notEqual(edgeOf(loc), 'other', loc.href);
    // ffprobe follows the main's 302 itself and decodes frames from the edge
    const url = `http://127.0.0.1:${main.port}/live/viewer/${PW}/${chan}.ts`;
    const out = await new Promise((resolve, reject) =>
      execFile('ffprobe', ['-v', 'error', '-rw_timeout', '30000000', '-select_streams', 'v:0', '-count_frames', '-read_intervals', '%+2',
        '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', url], { timeout: 90000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))));
    assert.ok(out.streams.length === 1 && Number(out.streams[0].nb_read_frames) > 0, JSON.stringify(out));
    assert.ok(await metric(main, /xtreamd_cluster_redirects_total [1-9]/));
  });

  it('a token shown to another node, or tampered with, is 403', async () => {
    const loc = await start('viewer');
    const other = edgeOf(loc) === 'e1' ? ports.e2 : ports.e1;
    let r = await get(other, loc.pathname);
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /node/);
    const token = loc.pathname.split('/')[2];
    const bad = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    r = await get(Number(loc.port), `/c/${bad}/${chan}.ts`);
    assert.equal(r.status, 403, r.text);
    r = await get(Number(loc.port), `/c/${token}/${chan + 1}.ts`);
    assert.equal(r.status, 403, r.text);
    assert.ok(await metric(edgeOf(loc) === 'e1' ? e2 : e1, /xtreamd_cluster_token_refused_total\{reason="node"\} [1-9]/));
    // a live start asked of an edge directly goes to the main's same URL
    r = await get(ports.e2, `/live/viewer/${PW}/${chan}.ts`);
    assert.equal(r.status, 302, r.text);
    assert.equal(r.headers.location, `http://127.0.0.1:9/live/viewer/${PW}/${chan}.ts`);
  });

  it('newest wins across nodes: a line with max_connections 1 starting again is cut within about a second', async () => {
    const la = await start('single');
    const a = await tsViewer(Number(la.port), la.pathname);
    assert.equal(a.status, 200);
    await pollUntil(() => a.bytes > 0, { timeoutMs: 60000 });
    // the second start (admitted at the main, maybe for the other edge) ends the first session
    const t0 = Date.now();
    const lb = await start('single');
    await pollUntil(() => a.ended, { timeoutMs: 10000, intervalMs: 20 });
    const cutMs = Date.now() - t0;
    assert.ok(cutMs < 3000, `cut after ${cutMs} ms`); // target < 1 s; slack for a loaded ASan run
    const b = await tsViewer(Number(lb.port), lb.pathname);
    assert.equal(b.status, 200);
    await pollUntil(() => b.bytes > 0, { timeoutMs: 60000 });
    assert.ok(!b.ended);
    // the first token is revoked on its node
    const again = await get(Number(la.port), la.pathname);
    assert.equal(again.status, 403, again.text);
    b.close();
  });

  it('the least loaded edge is chosen: viewers loading one edge send the next ones to the other', async () => {
    // a session cap makes the viewer count part of the load (0 = no cap: CPU and bandwidth only)
    for (const n of (await nodes()).filter((x) => x.role === 'edge')) {
      const r = await request(main.port, 'PATCH', `/api/v1/nodes/${n.id}`, json({ max_sessions: 4 }));
      assert.equal(r.status, 200, r.text);
    }
    // the main's view (refreshed every 2 s) was read after the caps were set
    const patched = Date.now();
    await pollUntil(async () => {
      const m = await metric(main, /xtreamd_cluster_view_age_seconds ([0-9.]+)/);
      return m && Date.now() - Number(m[1]) * 1000 > patched + 200;
    }, { timeoutMs: 15000, intervalMs: 100 });
    const viewers = [];
    try {
      // X = the edge the main prefers now; viewers on it until a start goes to the other one
      const first = await start('viewer');
      const x = edgeOf(first);
      let loc = first, other = null;
      for (let i = 0; i < 4 && !other; i++) {
        const v = await tsViewer(Number(loc.port), loc.pathname);
        assert.equal(v.status, 200);
        viewers.push(v);
        await pollUntil(() => v.bytes > 0, { timeoutMs: 60000 });
        loc = await start('viewer');
        if (edgeOf(loc) !== x) other = loc;
      }
      // at most 4 viewers (its cap) on X before the other edge is chosen
      assert.ok(other, `every start went to ${x}`);
      assert.notEqual(edgeOf(other), 'other');
    } finally {
      for (const v of viewers) v.close();
      for (const n of (await nodes()).filter((x) => x.role === 'edge'))
        await request(main.port, 'PATCH', `/api/v1/nodes/${n.id}`, json({ max_sessions: 0 }));
    }
  });

  it('a SIGKILLed edge gets no new viewers within 6 s; its sessions are released after the orphan ttl', async () => {
    // the edge the main prefers now (it holds the sessions just admitted) is killed
    const loc = await start('viewer');
    const victim = edgeOf(loc), survivor = victim === 'e1' ? 'e2' : 'e1';
    const srv = victim === 'e1' ? e1 : e2;
    srv.child.kill('SIGKILL');
    await srv.waitExit();
    if (victim === 'e1') e1 = null;
    else e2 = null;
    const killedAt = Date.now();
    // from some moment on, ten starts in a row all go to the other edge
    await pollUntil(async () => {
      for (let i = 0; i < 10; i++) if (edgeOf(await start('viewer')) !== survivor) return false;
      return true;
    }, { timeoutMs: 30000, intervalMs: 100 });
    const ms = Date.now() - killedAt;
    assert.ok(ms <= 6000 + 4000, `still redirected to the dead edge ${ms} ms after the kill`);
    await pollUntil(() => metric(main, /xtreamd_cluster_sessions_released_total [1-9]/), { timeoutMs: 30000, intervalMs: 200 });
  });
});
