// Origin–edge (issue 16 item 3, docs/internals/live.md §Origin–edge): a channel placed on the
// main and on an edge whose parent is the main. A viewer of the edge plays (ffprobe) while the
// source — a test HTTP server counting its clients — was opened exactly once: the edge pulled
// the main's /cluster/origin/ID.ts, signed with its node key; an unsigned or badly signed pull
// is refused with 403. Skipped when no PostgreSQL server is installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';
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
  });

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
