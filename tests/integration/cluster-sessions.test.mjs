// The life of a cluster's viewer sessions (issue 16, docs/internals/cluster.md "Admission and
// tokens", "Reports and sweep"): a main and one edge on one real PostgreSQL. The serving node
// reports a session's end when its connection closes (end_reason 'closed'), an HLS viewer's
// playlist and segment requests keep its lease (last_seen_at) past the HLS ttl and its session
// is ended ('expired') once it stops, and a viewer the main serves itself is admitted like an
// edge's: counted with the line's viewers on every node, and cut by newest wins.
// Skipped when no PostgreSQL server is installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cliOk, freePort, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';

const json = (body) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const PW = 'Pw.sessions-1';
const HLS_TTL = 10; // --cluster-hls-ttl (its minimum: two report periods)

/** The session id a /c/ URL's token carries (its payload is base64url JSON). */
const sidOf = (loc) => JSON.parse(Buffer.from(loc.pathname.split('/')[2].split('.')[1], 'base64url').toString()).sid;

describe('cluster sessions on PostgreSQL', { skip: !pgAvailable() && 'no PostgreSQL server installed' }, () => {
  let pg, dirMain, dirE1, main, e1, chan, mainId, edgeId;
  const env = {};

  const sql = (q) => new Promise((resolve, reject) =>
    execFile('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', pg.url, '-c', q], { timeout: 30000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())));
  /** A session's row: { ended, reason, node, lastSeen }. */
  const row = async (sid) => {
    const out = await sql(`SELECT coalesce(ended_at, 0), coalesce(end_reason, ''), node_id, coalesce(last_seen_at, 0) FROM cluster_sessions WHERE id = '${sid}'`);
    assert.ok(out, `no row for session ${sid}`);
    const [ended, reason, node, lastSeen] = out.split('|');
    return { ended: Number(ended), reason, node: Number(node), lastSeen: Number(lastSeen) };
  };
  /** The line's active (not ended) sessions, oldest first: [{ id, node }]. */
  const active = async (user) => {
    const out = await sql(`SELECT s.id, s.node_id FROM cluster_sessions s JOIN lines l ON l.id = s.line_id WHERE l.username = '${user}' AND s.ended_at IS NULL ORDER BY s.started_at, s.id`);
    return out ? out.split('\n').map((l) => ({ id: l.split('|')[0], node: Number(l.split('|')[1]) })) : [];
  };
  /** The admin API's view of a node's active sessions of one line: their ids, and the node's count. */
  const nodeSessions = async (node, user) => {
    const lineId = Number(await sql(`SELECT id FROM lines WHERE username = '${user}'`));
    const r = await request(main.port, 'GET', `/api/v1/nodes/${node}/sessions?line_id=${lineId}`);
    assert.equal(r.status, 200, r.text);
    const body = r.json();
    assert.equal(body.truncated, false);
    assert.ok(body.items.every((s) => s.line_id === lineId && typeof s.started_at === 'string'), r.text);
    const n = await request(main.port, 'GET', `/api/v1/nodes/${node}`);
    assert.equal(n.status, 200, n.text);
    return { ids: body.items.map((s) => s.id).sort(), count: n.json().sessions };
  };
  const nodeCmd = async (id, cmd) => {
    const r = await request(main.port, 'POST', `/api/v1/nodes/${id}/${cmd}`);
    assert.equal(r.status, 200, r.text);
  };
  const metric = async (srv, re) => {
    const r = await get(srv.port, '/metrics');
    return r.status === 200 && re.exec(r.text);
  };
  /** The main's redirect of a stream start (not followed). */
  const start = async (user, ext = 'ts') => {
    const r = await get(main.port, `/live/${user}/${PW}/${chan}.${ext}`);
    assert.equal(r.status, 302, r.text);
    const loc = new URL(r.headers.location);
    assert.equal(Number(loc.port), e1.port, loc.href);
    return loc;
  };
  /** Waits until the main's view sends starts of the unlimited line where wanted: 'edge' (302) or 'main' (200). */
  const settle = async (where) => {
    await pollUntil(async () => {
      const v = await tsViewer(main.port, `/live/viewer/${PW}/${chan}.ts`);
      v.close();
      return where === 'edge' ? v.status === 302 : v.status === 200;
    }, { timeoutMs: 30000, intervalMs: 300 });
  };

  before(async () => {
    pg = await startPgCluster();
    env.XTREAMD_DATABASE = pg.url;
    dirMain = await makeDataDir('cs-main');
    dirE1 = await makeDataDir('cs-e1');
    const mainPort = await freePort();
    main = await startServer(dirMain, ['--cluster-role', 'main', '--public-url', `http://127.0.0.1:${mainPort}`,
      '--cluster-hls-ttl', String(HLS_TTL), '--channel-idle', '5'], { env, port: mainPort });
    await cliOk(['line', 'add', 'viewer', PW, '--data', dirMain, '--max-connections', '0'], { env });
    await cliOk(['line', 'add', 'watcher', PW, '--data', dirMain, '--max-connections', '0'], { env });
    await cliOk(['line', 'add', 'duo', PW, '--data', dirMain, '--max-connections', '2'], { env });
    await cliOk(['line', 'add', 'solo', PW, '--data', dirMain, '--max-connections', '1'], { env });
    const r = await cliOk(['stream', 'add', 'Pattern', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', dirMain], { env });
    chan = Number(r.stdout.trim());
    const code = await request(main.port, 'POST', '/api/v1/nodes/enrol-codes', json({}));
    assert.equal(code.status, 201, code.text);
    const e1Port = await freePort();
    const en = await runCli(['node', 'enrol', main.base, code.json().code, '--name', 'edge-s1', '--public-url', `http://127.0.0.1:${e1Port}`, '--data-dir', dirE1]);
    assert.equal(en.code, 0, en.stderr);
    e1 = await startServer(dirE1, ['--channel-idle', '5'], { port: e1Port });
    const nodes = async () => (await request(main.port, 'GET', '/api/v1/nodes')).json().items;
    await pollUntil(async () => (await nodes()).filter((n) => n.fresh).length === 2, { timeoutMs: 30000, intervalMs: 100 });
    const all = await nodes();
    mainId = all.find((n) => n.role === 'main').id;
    edgeId = all.find((n) => n.role === 'edge').id;
    // the first tests watch at the edge: the main takes no viewers itself
    await nodeCmd(mainId, 'drain');
    await settle('edge');
  });

  after(async () => {
    for (const srv of [e1, main]) if (srv) await srv.stop();
    for (const d of [dirMain, dirE1]) if (d) await removeDir(d);
    if (pg) await pg.stop();
  });

  it('a TS viewer leaving an edge ends its session (closed) within seconds; the line counts one less', async () => {
    const la = await start('watcher');
    const lb = await start('watcher');
    const a = await tsViewer(e1.port, la.pathname);
    const b = await tsViewer(e1.port, lb.pathname);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    await pollUntil(() => a.bytes > 0 && b.bytes > 0, { timeoutMs: 60000 });
    assert.deepEqual((await active('watcher')).map((s) => s.id).sort(), [sidOf(la), sidOf(lb)].sort());
    const seen = await nodeSessions(edgeId, 'watcher');
    assert.deepEqual(seen.ids, [sidOf(la), sidOf(lb)].sort());
    assert.ok(seen.count >= 2, JSON.stringify(seen));
    const closedAt = Date.now();
    a.close();
    // reported in the edge's next batch (every 5 s)
    await pollUntil(async () => (await row(sidOf(la))).ended > 0, { timeoutMs: 30000, intervalMs: 200 });
    const ms = Date.now() - closedAt;
    assert.ok(ms < 15000, `ended ${ms} ms after the viewer left`);
    const ra = await row(sidOf(la));
    assert.equal(ra.reason, 'closed');
    assert.equal(ra.node, edgeId);
    // the other viewer of the line still watches and is still counted
    assert.deepEqual((await active('watcher')).map((s) => s.id), [sidOf(lb)]);
    assert.deepEqual((await nodeSessions(edgeId, 'watcher')).ids, [sidOf(lb)]);
    assert.ok(!b.ended);
    b.close();
    await pollUntil(async () => (await active('watcher')).length === 0, { timeoutMs: 30000, intervalMs: 200 });
    assert.ok(await metric(e1, /xtreamd_cluster_session_reports_total [1-9]/));
  });

  it('an HLS viewer refreshing at an edge stays counted past the HLS ttl, and is ended once it stops', async () => {
    const loc = await start('watcher', 'm3u8');
    const sid = sidOf(loc);
    const path = loc.pathname;
    let segments = 0;
    const refresh = async () => {
      const p = await get(e1.port, path);
      assert.equal(p.status, 200, p.text);
      const seg = p.text.split('\n').filter((l) => l.startsWith('/hls/')).pop();
      if (seg) {
        const s = await get(e1.port, seg);
        if (s.status === 200) segments++;
      }
    };
    // refreshes for longer than the ttl plus a sweep (every 5 s) and a report period, and past
    // the token's life (exp + skew: 60 s after the 302): a player keeps refreshing the /c/ URL
    // it was redirected to, which must stay open while its session lives
    const until = Date.now() + Math.max(HLS_TTL + 12, 66) * 1000;
    while (Date.now() < until) {
      await refresh();
      await new Promise((r) => setTimeout(r, 1000)); // the player's refresh pace, not a synchronisation
    }
    assert.ok(segments > 0, 'no segment served');
    assert.ok(await metric(e1, /xtreamd_cluster_hls_lease_renewals_total [1-9]/), 'no refresh past the token');
    const r1 = await row(sid);
    assert.equal(r1.ended, 0, `ended (${r1.reason}) while the viewer refreshed`);
    assert.ok(r1.lastSeen > 0);
    // the viewer stops: the main's sweep ends the lease after the ttl
    const stoppedAt = Date.now();
    await pollUntil(async () => (await row(sid)).ended > 0, { timeoutMs: (HLS_TTL + 30) * 1000, intervalMs: 500 });
    const r2 = await row(sid);
    assert.equal(r2.reason, 'expired');
    assert.ok(Date.now() - stoppedAt >= (HLS_TTL - 6) * 1000, 'ended before its ttl');
  });

  it('max_connections 2: a viewer the main serves itself and one at an edge both count; a third start cuts the oldest', async () => {
    // the main serves the first viewer itself (the edge drained: the main is the only choice)
    await nodeCmd(mainId, 'activate');
    await nodeCmd(edgeId, 'drain');
    await settle('main');
    const a = await tsViewer(main.port, `/live/duo/${PW}/${chan}.ts`);
    assert.equal(a.status, 200);
    await pollUntil(() => a.bytes > 0, { timeoutMs: 60000 });
    const first = await active('duo');
    assert.equal(first.length, 1, JSON.stringify(first));
    assert.equal(first[0].node, mainId);
    assert.deepEqual((await nodeSessions(mainId, 'duo')).ids, [first[0].id]);
    assert.ok(await metric(main, /xtreamd_cluster_served_local_total [1-9]/));
    // the second at the edge
    await nodeCmd(edgeId, 'activate');
    await nodeCmd(mainId, 'drain');
    await settle('edge');
    const lb = await start('duo');
    const b = await tsViewer(e1.port, lb.pathname);
    assert.equal(b.status, 200);
    await pollUntil(() => b.bytes > 0, { timeoutMs: 60000 });
    assert.deepEqual((await active('duo')).map((s) => s.node), [mainId, edgeId]);
    assert.ok(!a.ended);
    // a third start: the main's own viewer is the oldest and is cut
    const t0 = Date.now();
    const lc = await start('duo');
    await pollUntil(() => a.ended, { timeoutMs: 10000, intervalMs: 20 });
    const cutMs = Date.now() - t0;
    assert.ok(cutMs < 3000, `cut after ${cutMs} ms`); // target < 1 s; slack for a loaded ASan run
    assert.equal((await row(first[0].id)).reason, 'limit');
    assert.deepEqual((await active('duo')).map((s) => s.id).sort(), [sidOf(lb), sidOf(lc)].sort());
    assert.ok(!b.ended);
    b.close();
  });

  it('an HLS viewer the main serves itself refreshes its one session (max_connections 1): no new admission per playlist', async () => {
    await nodeCmd(mainId, 'activate');
    await nodeCmd(edgeId, 'drain');
    await settle('main');
    const url = `/live/solo/${PW}/${chan}.m3u8`;
    let segments = 0;
    for (let i = 0; i < 6; i++) {
      const p = await get(main.port, url);
      assert.equal(p.status, 200, p.text);
      const seg = p.text.split('\n').filter((l) => l.startsWith('/hls/')).pop();
      if (seg) {
        // the segments the previous playlists listed stay valid: the session was not cut
        const sr = await get(main.port, seg);
        assert.equal(sr.status, 200, `refresh ${i}: ${sr.status} ${sr.text}`);
        segments++;
      }
      await new Promise((r) => setTimeout(r, 700)); // the player's refresh pace, not a synchronisation
    }
    assert.ok(segments > 0, 'no segment listed');
    const rows = await active('solo');
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].node, mainId);
    const all = await sql(`SELECT count(*) FROM cluster_sessions s JOIN lines l ON l.id = s.line_id WHERE l.username = 'solo'`);
    assert.equal(Number(all), 1, 'one admission for the whole viewing');
  });
});
