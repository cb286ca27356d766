// Origin–edge (issue 16 item 3, docs/internals/live.md §Origin–edge): a channel placed on the
// main and on an edge whose parent is the main. A viewer of the edge plays (ffprobe) while the
// source — a test HTTP server counting its clients — was opened exactly once: the edge pulled
// the main's /cluster/origin/ID.ts, signed with its node key; an unsigned or badly signed pull
// is refused with 403. Then the edge is drained: an HLS client following the playlist URL is
// sent to the main at its next refresh (302) and continues with the next segment (no gap, no
// repeat, timestamps continuous); and fenced: a TS viewer's response ends on a keyframe
// boundary. Skipped when no PostgreSQL server is installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import HLS from 'hls-parser';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';
import { getHeadOnly, tsViewer } from './lib/live.mjs';
import { startTsSource } from './lib/tssource.mjs';

const execFileP = promisify(execFile);
const json = (body) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const PW = 'Pw.origin-1';

describe('origin–edge on PostgreSQL', { skip: !pgAvailable() && 'no PostgreSQL server installed' }, () => {
  let pg, source, dirMain, dirEdge, main, edge, chan, mainId, edgeId;
  const env = {};

  before(async () => {
    pg = await startPgCluster();
    env.XTREAMD_DATABASE = pg.url;
    source = await startTsSource({ gop: 10 });
    dirMain = await makeDataDir('or-main');
    dirEdge = await makeDataDir('or-edge');
    main = await startServer(dirMain, ['--cluster-role', 'main', '--public-url', 'http://127.0.0.1:1'], { env });
    // the main's real address (startServer picks the port): what edges dial for origin pulls
    await execFileP('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', pg.url, '-c', `UPDATE nodes SET public_url = '${main.base}' WHERE role = 'main'`]);
    await cliOk(['line', 'add', 'viewer', PW, '--data', dirMain, '--max-connections', '0'], { env });
    const r = await cliOk(['stream', 'add', 'Pulled Once', '--source', source.url, '--data', dirMain], { env });
    chan = Number(r.stdout.trim());
    const c = await request(main.port, 'POST', '/api/v1/nodes/enrol-codes', json({}));
    assert.equal(c.status, 201, c.text);
    const e = await runCli(['node', 'enrol', main.base, c.json().code, '--name', 'edge1', '--public-url', 'http://127.0.0.1:2', '--data', dirEdge]);
    assert.equal(e.code, 0, e.stderr);
    const nodes = (await request(main.port, 'GET', '/api/v1/nodes')).json().items;
    mainId = nodes.find((n) => n.role === 'main').id;
    edgeId = nodes.find((n) => n.name === 'edge1').id;
    // placed before the edge starts: its first catalogue already says where to pull from
    const p = await request(main.port, 'PUT', `/api/v1/streams/${chan}/placements`, json([{ node_id: mainId }, { node_id: edgeId, parent_node_id: mainId }]));
    assert.equal(p.status, 200, p.text);
    edge = await startServer(dirEdge);
    await execFileP('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', pg.url, '-c', `UPDATE nodes SET public_url = '${edge.base}' WHERE name = 'edge1'`]);
    // the main takes no viewers of its own (weight 0): admission sends them to the edge
    await weight(mainId, 0);
  });

  async function weight(id, w) {
    const r = await request(main.port, 'PATCH', `/api/v1/nodes/${id}`, json({ weight: w }));
    assert.equal(r.status, 200, r.text);
  }

  /** GET following redirects across the nodes: { port, path, res } of the final answer. */
  async function follow(port, target, opts = {}) {
    for (let hop = 0; hop < 6; hop++) {
      const res = await get(port, target, { timeoutMs: 40000, ...opts });
      if (res.status !== 302) return { port, path: target, res };
      const loc = new URL(res.headers.location);
      port = Number(loc.port);
      target = loc.pathname + loc.search;
    }
    return null; // a loop: the main's view of the drained node is up to 2 s old; retry
  }

  after(async () => {
    for (const srv of [edge, main]) if (srv) await srv.stop();
    for (const d of [dirMain, dirEdge]) if (d) await removeDir(d);
    if (source) await source.close();
    if (pg) await pg.stop();
  });

  it('an edge viewer plays while the source was opened once', async () => {
    const url = `${edge.base}/live/viewer/${PW}/${chan}.ts`;
    // until the edge's nodes view knows its parent, the start is refused (503, retry)
    await pollUntil(async () => (await request(edge.port, 'HEAD', `/live/viewer/${PW}/${chan}.ts`)).status === 200, { timeoutMs: 20000, intervalMs: 200 });
    // ...and until the main's view has its own weight 0: a start there is redirected to the edge
    // (before, the main could still choose itself and serve the viewer from the source directly)
    const answer = (port, p) =>
      new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
          resolve(res.statusCode);
          req.destroy();
        });
        req.on('error', () => resolve(0));
      });
    await pollUntil(async () => (await answer(main.port, `/live/viewer/${PW}/${chan}.ts`)) === 302, { timeoutMs: 20000, intervalMs: 200 });
    const { value: probe } = await pollUntil(async () => {
      try {
        const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', url], { timeout: 60000 });
        return JSON.parse(stdout);
      } catch {
        return false;
      }
    }, { timeoutMs: 90000, intervalMs: 500 });
    assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.equal(source.clients, 1, `the source was opened ${source.clients} times: ${source.paths.join(' ')}`);
    // the main served the pull, signed
    const m = await get(main.port, '/metrics');
    assert.match(m.text, /xtreamd_cluster_origin_pulls_total\{result="served"\} [1-9]/);
    // the edge's ffmpeg reads the main's origin URL, not the source
    const st = await request(edge.port, 'GET', `/api/v1/streams/${chan}/state`);
    assert.equal(st.status, 200, st.text);
    assert.match(JSON.stringify(st.json().sources), /\/cluster\/origin\//);
  });

  async function firstPts(name, raw) {
    const f = path.join(dirEdge, name);
    await writeFile(f, raw);
    const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', '-read_intervals', '%+#1', f], { timeout: 30000 });
    return Number(stdout.trim().split('\n')[0].split(',')[0]);
  }

  it('a drained edge sends its HLS viewer to the main: next segment, no gap, no repeat', async () => {
    const target = `/live/viewer/${PW}/${chan}.m3u8`;
    const played = []; // {n, port, uri, dur}
    let redirected = false;
    let drained = false;
    // the player's URL: the one it was finally given (the edge's token URL), refreshed as is
    let cur = { port: edge.port, path: target };
    const deadline = Date.now() + 120000;
    while (Date.now() < deadline) {
      const f = await follow(cur.port, cur.path);
      if (!f) {
        await sleep(500);
        continue;
      }
      if (drained && f.port === main.port) redirected = true;
      cur = { port: f.port, path: f.path };
      const r = f.res;
      const port = f.port;
      assert.equal(r.status, 200, r.text);
      const pl = HLS.parse(r.text);
      for (const [i, s] of pl.segments.entries()) {
        const n = pl.mediaSequenceBase + i;
        const last = played.length ? played[played.length - 1].n : null;
        if (last !== null && n <= last) continue;
        if (last !== null) assert.equal(n, last + 1, `after ${last} the client got ${n} (from ${port === main.port ? 'main' : 'edge'})`);
        played.push({ n, port, uri: s.uri, dur: s.duration });
      }
      const fromEdge = played.filter((p) => p.port === edge.port).length;
      const fromMain = played.filter((p) => p.port === main.port).length;
      if (!drained && fromEdge >= 2) {
        await weight(mainId, 100); // the main may take the viewer now
        const d = await request(main.port, 'POST', `/api/v1/nodes/${edgeId}/drain`);
        assert.equal(d.status, 200, d.text);
        drained = true;
      }
      if (redirected && fromMain >= 2) break;
      await sleep(700);
    }
    assert.ok(redirected, 'the drained edge answered 302');
    const k = played.findIndex((p) => p.port === main.port);
    assert.ok(k > 0 && played.length > k + 1, JSON.stringify(played));
    // timestamps continue: the first segment from the main starts where the edge's last ended
    const a = played[k - 1];
    const b = played[k];
    const [ra, rb] = await Promise.all([get(a.port, a.uri), get(b.port, b.uri)]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    const [pa, pb] = await Promise.all([firstPts(`m${a.n}.ts`, ra.raw), firstPts(`m${b.n}.ts`, rb.raw)]);
    assert.ok(Math.abs(pb - pa - a.dur * 90000) < 4500, `edge ${a.n} at ${pa} (+${a.dur}s), main ${b.n} at ${pb}`);
    const act = await request(main.port, 'POST', `/api/v1/nodes/${edgeId}/activate`);
    assert.equal(act.status, 200, act.text);
    await weight(mainId, 0);
  });

  it('a fenced edge ends its TS viewer on a keyframe boundary', async () => {
    await pollUntil(async () => (await request(edge.port, 'HEAD', `/live/viewer/${PW}/${chan}.ts`)).status === 200, { timeoutMs: 20000, intervalMs: 200 });
    // ...and until the main's view has its own weight 0: a start there is redirected to the edge
    // (before, the main could still choose itself and serve the viewer from the source directly)
    const answer = (port, p) =>
      new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
          resolve(res.statusCode);
          req.destroy();
        });
        req.on('error', () => resolve(0));
      });
    await pollUntil(async () => (await answer(main.port, `/live/viewer/${PW}/${chan}.ts`)) === 302, { timeoutMs: 20000, intervalMs: 200 });
    // admitted at the main, sent to the edge with a token
    // (until the main's view has its weight 0 again it may serve the viewer itself)
    const { value: hop } = await pollUntil(async () => {
      const h = await getHeadOnly(main.port, `/live/viewer/${PW}/${chan}.ts`, { bodyMs: 100 });
      return h.status === 302 && h;
    }, { timeoutMs: 20000, intervalMs: 300 });
    const loc = new URL(hop.headers.location);
    assert.equal(Number(loc.port), edge.port);
    const v = await tsViewer(edge.port, loc.pathname);
    await pollUntil(() => v.chunks.reduce((s, c) => s + c.length, 0) > 188 * 200, { timeoutMs: 30000 });
    const f = await request(main.port, 'POST', `/api/v1/nodes/${edgeId}/fence`);
    assert.equal(f.status, 200, f.text);
    await pollUntil(() => v.ended, { timeoutMs: 20000 });
    const buf = v.buffer();
    assert.equal(buf.length % 188, 0, 'whole packets');
    const file = path.join(dirEdge, 'fenced.ts');
    await writeFile(file, buf);
    // the source has a keyframe every 10 frames: a response that starts on a keyframe and ends
    // before the next one holds whole GOPs only
    const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', file], { timeout: 30000 });
    const pk = stdout.trim().split('\n').filter(Boolean);
    assert.ok(pk.length >= 10, `${pk.length} video packets`);
    assert.match(pk[0], /K/, 'starts on a keyframe');
    const keys = pk.map((f, i) => (/K/.test(f) ? i : -1)).filter((i) => i >= 0);
    assert.equal(pk.length - keys[keys.length - 1], 10, `the last GOP is whole: ${pk.length} packets, keyframes at ${keys.join(',')}`);
    assert.match((await get(edge.port, '/metrics')).text, /xtreamd_cluster_viewers_moved_total\{kind="ts_keyframe"\} 1/);
  });

  it('an origin pull without a valid node signature is refused', async () => {
    const base = `/cluster/origin/${chan}.ts`;
    assert.equal((await get(main.port, base)).status, 403);
    const now = String(Math.floor(Date.now() / 1000));
    const forged = { 'X-Xtreamd-Node': String(edgeId), 'X-Xtreamd-Time': now, 'X-Xtreamd-Signature': Buffer.alloc(64, 7).toString('base64') };
    assert.equal((await get(main.port, base, { headers: forged })).status, 403);
    assert.equal(source.clients, 1);
    const m = await get(main.port, '/metrics');
    assert.match(m.text, /xtreamd_cluster_origin_pulls_total\{result="refused"\} [2-9]/);
  });
});
