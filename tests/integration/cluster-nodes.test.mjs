// Nodes of a cluster (issue 16 item 2): a main (serve --cluster-role main) and two edges joined
// with `xtreamd node enrol` on one real PostgreSQL; the one-time code works once, a wrong code
// is refused; every node shows fresh heartbeats in GET /api/v1/nodes; drain and fence change
// the state and the edge hears the command (its /metrics); a SIGKILLed edge turns offline within
// 3 heartbeats (6 s) plus slack. Skipped when no PostgreSQL server is installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';

const json = (body) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('cluster nodes on PostgreSQL', { skip: !pgAvailable() && 'no PostgreSQL server installed' }, () => {
  let pg, dirMain, dirE1, dirE2, main, e1, e2, libDir;
  const env = {};

  const nodes = async () => {
    const r = await request(main.port, 'GET', '/api/v1/nodes');
    assert.equal(r.status, 200, r.text);
    return r.json().items;
  };
  const code = async (body = {}) => {
    const r = await request(main.port, 'POST', '/api/v1/nodes/enrol-codes', json(body));
    assert.equal(r.status, 201, r.text);
    return r.json().code;
  };
  const metric = async (srv, re) => {
    const r = await get(srv.port, '/metrics');
    return r.status === 200 && re.test(r.text);
  };

  before(async () => {
    pg = await startPgCluster();
    env.XTREAMD_DATABASE = pg.url;
    dirMain = await makeDataDir('cl-main');
    dirE1 = await makeDataDir('cl-e1');
    dirE2 = await makeDataDir('cl-e2');
    // startServer picks the listening port; the URLs nodes register are shown, not dialled here
    main = await startServer(dirMain, ['--cluster-role', 'main', '--public-url', 'http://main.test:8080'], { env });
  });

  after(async () => {
    for (const srv of [e1, main]) if (srv) await srv.stopClean(); // exit 0, no sanitizer report
    if (e2) await e2.stop();
    for (const d of [dirMain, dirE1, dirE2, libDir]) if (d) await removeDir(d);
    if (pg) await pg.stop();
  });

  it('a main is refused on SQLite, and without --public-url', async () => {
    const dir = await makeDataDir('cl-sqlite');
    try {
      const r = await runCli(['serve', '--data', dir, '--listen', '127.0.0.1:0', '--cluster-role', 'main', '--public-url', 'http://127.0.0.1:1'], { timeoutMs: 30000 });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /needs PostgreSQL/);
      const r2 = await runCli(['serve', '--data', dir, '--listen', '127.0.0.1:0', '--cluster-role', 'main'], { env, timeoutMs: 30000 });
      assert.notEqual(r2.code, 0);
      assert.match(r2.stderr, /needs --public-url/);
    } finally {
      await removeDir(dir);
    }
  });

  it('the main lists itself, fresh', async () => {
    const { value } = await pollUntil(async () => {
      const items = await nodes();
      return items.length === 1 && items[0].fresh && items[0];
    }, { timeoutMs: 15000 });
    assert.equal(value.role, 'main');
    assert.equal(value.state, 'active');
    assert.ok(value.heartbeats >= 1);
    const key = await stat(path.join(dirMain, 'node.key'));
    assert.equal(key.mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dirMain, 'token.key'))).mode & 0o777, 0o600);
    assert.ok(!main.logs().includes(await import('node:fs/promises').then((f) => f.readFile(path.join(dirMain, 'node.key'), 'utf8')).then((t) => t.trim())), 'the key is never logged');
  });

  it('enrolment works with a code once, not twice; a wrong code is refused', async () => {
    const c = await code();
    const r = await runCli(['node', 'enrol', main.base, c, '--name', 'edge1', '--public-url', `http://edge1.test:8080`, '--data-dir', dirE1]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Enrolled node \d+/);
    assert.equal((await stat(path.join(dirE1, 'node.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dirE1, 'node.json'))).mode & 0o777, 0o600);
    // the same code again, from another folder
    const again = await runCli(['node', 'enrol', main.base, c, '--name', 'edge9', '--public-url', 'http://127.0.0.1:9', '--data', await makeDataDir('cl-x')]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /403.*wrong, used or expired/);
    // a wrong code, straight at the API
    const bad = await request(main.port, 'POST', '/api/v1/nodes/enrol', { ...json({ code: 'f'.repeat(40), name: 'edge8', public_url: 'http://127.0.0.1:8', pubkey: Buffer.alloc(32, 1).toString('base64') }), adminToken: false });
    assert.equal(bad.status, 403, bad.text);
    // a code made for a name works only for that name
    const named = await code({ name: 'edge2' });
    const wrongName = await request(main.port, 'POST', '/api/v1/nodes/enrol', { ...json({ code: named, name: 'edge7', public_url: 'http://127.0.0.1:7', pubkey: Buffer.alloc(32, 2).toString('base64') }), adminToken: false });
    assert.equal(wrongName.status, 403, wrongName.text);
    // ... and the refusal used it up: the second edge gets a fresh code
    const r2 = await runCli(['node', 'enrol', main.base, await code({ name: 'edge2' }), '--name', 'edge2', '--public-url', `http://edge2.test:8080`, '--data', dirE2]);
    assert.equal(r2.code, 0, r2.stderr);
    // the edges run on the database node.json names (no --database)
    e1 = await startServer(dirE1);
    e2 = await startServer(dirE2);
  });

  it('every node appears with fresh heartbeats within seconds', async () => {
    const { elapsedMs, value } = await pollUntil(async () => {
      const items = await nodes();
      return items.length === 3 && items.every((n) => n.fresh && n.heartbeats >= 2) && items;
    }, { timeoutMs: 20000, intervalMs: 100 });
    assert.ok(elapsedMs < 20000);
    const names = value.map((n) => n.name).sort();
    assert.deepEqual(names, ['edge1', 'edge2', 'main']);
    for (const n of value) {
      assert.equal(typeof n.clock_skew_ms, 'number');
      assert.ok(Math.abs(n.clock_skew_ms) < 5000, `skew ${n.clock_skew_ms}`);
      assert.ok(n.last_seen_age_ms < 6000);
      assert.equal(n.health, 'fresh');
    }
    // the edges' own view is refreshed too
    await pollUntil(() => metric(e1, /xtreamd_cluster_nodes\{fresh="yes"\} 3/), { timeoutMs: 15000 });
  });

  // A movie download on edge1, paused after its first bytes so that it stays open: a viewer.
  const openViewer = async () => {
    const lib = await makeDataDir('cl-lib'); // a library root outside every data directory
    libDir = lib;
    const file = path.join(lib, 'Big (2020).mp4');
    const fh = await open(file, 'w');
    await fh.truncate(64 * 1024 * 1024); // larger than what loopback socket buffers absorb
    await fh.close();
    const m3u = path.join(dirMain, 'movies.m3u');
    await writeFile(m3u, `#EXTM3U\n#EXTINF:-1,Big\n${file}\n`);
    for (const args of [['vod', 'root', 'add', lib], ['import', 'm3u', '--kind', 'movie', m3u], ['line', 'add', 'cl.viewer', 'cl.Secret-1']]) {
      const r = await runCli([...args, '--data', dirMain], { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const movies = await request(main.port, 'GET', '/api/v1/movies?q=Big');
    const id = movies.json().items[0].id;
    const target = `/movie/cl.viewer/cl.Secret-1/${id}.mp4`;
    // A stream request goes to the main, which admits it and redirects it with a token
    // (cluster-admit.test.mjs): with the other nodes at weight 0, to edge1. The edges' public
    // URLs are names of this test, so the token path is sent to edge1's port by hand.
    for (const n of await nodes()) {
      if (n.name === 'edge1') continue;
      const r = await request(main.port, 'PATCH', `/api/v1/nodes/${n.id}`, json({ weight: 0 }));
      assert.equal(r.status, 200, r.text);
    }
    const tokenPath = async () => {
      const r = await request(main.port, 'GET', target);
      if (r.status !== 302) return null;
      const loc = new URL(r.headers.location);
      return loc.hostname === 'edge1.test' ? loc.pathname + loc.search : null;
    };
    // the main's view has the weights and the edge's catalogue the movie (LISTEN/NOTIFY); the
    // viewer's own token is taken once both hold (a view refresh may fall between two calls)
    let viewerPath = null;
    await pollUntil(async () => {
      const p = await tokenPath();
      if (p === null || (await request(e1.port, 'HEAD', p)).status !== 200) return false;
      viewerPath = await tokenPath();
      return viewerPath !== null;
    }, { timeoutMs: 15000 });
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: e1.port, path: viewerPath, agent: false }, (res) => {
        assert.equal(res.statusCode, 200);
        // Paused, the client reads nothing more (so it would not see a close either): once
        // the edge is fenced it reads on, and a cut connection ends short of the whole file.
        let received = 0;
        res.on('data', (d) => (received += d.length));
        res.on('error', () => {});
        const ended = new Promise((done) => res.socket.once('close', () => done(received)));
        res.once('data', () => {
          res.pause();
          resolve({ ended, res, size: Number(res.headers['content-length']) });
        });
      });
      req.on('error', reject);
    });
  };

  it('drain and fence change the state, the edge hears the command, activate restores it', async () => {
    const edge1 = (await nodes()).find((n) => n.name === 'edge1');
    const viewer = await openViewer();
    let r = await request(main.port, 'POST', `/api/v1/nodes/${edge1.id}/drain`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().state, 'draining');
    await pollUntil(() => metric(e1, /xtreamd_cluster_node_state\{state="draining"\} 1/), { timeoutMs: 5000, intervalMs: 50 });
    r = await request(main.port, 'POST', `/api/v1/nodes/${edge1.id}/fence`);
    assert.equal(r.json().state, 'fenced');
    await e1.waitForLog(/fenced: closed [1-9]\d* viewer/, { timeoutMs: 5000 });
    // the viewer was moved off: its connection was cut before the end of the file
    viewer.res.resume();
    const got = await Promise.race([viewer.ended, new Promise((_, rej) => setTimeout(() => rej(new Error('the viewer connection did not end')), 30000))]);
    assert.ok(got < viewer.size, `the fenced edge sent the whole file (${got} of ${viewer.size} bytes)`);
    // the CLI does the same
    const cli = await runCli(['node', 'activate', 'edge1', '--data', dirMain], { env });
    assert.equal(cli.code, 0, cli.stderr);
    await pollUntil(() => metric(e1, /xtreamd_cluster_node_state\{state="active"\} 1/), { timeoutMs: 5000, intervalMs: 50 });
    assert.equal((await nodes()).find((n) => n.name === 'edge1').state, 'active');
    for (const n of await nodes()) {
      if (n.name === 'edge1') continue;
      const w = await request(main.port, 'PATCH', `/api/v1/nodes/${n.id}`, json({ weight: 100 }));
      assert.equal(w.status, 200, w.text);
    }
    // audited
    const audit = await request(main.port, 'GET', '/api/v1/audit?entity=node');
    if (audit.status === 200) assert.match(audit.text, /"drain"|drain/);
    const list = await runCli(['node', 'list', '--json', '--data', dirE2]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(JSON.parse(list.stdout).length, 3);
  });

  it('PATCH sets caps; bad values are 422', async () => {
    const edge2 = (await nodes()).find((n) => n.name === 'edge2');
    let r = await request(main.port, 'PATCH', `/api/v1/nodes/${edge2.id}`, json({ max_sessions: 50, weight: 200, countries: 'FR,DE', geo_mode: 'strict' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().max_sessions, 50);
    assert.equal(r.json().countries, 'FR,DE');
    r = await request(main.port, 'PATCH', `/api/v1/nodes/${edge2.id}`, json({ geo_mode: 'nearby' }));
    assert.equal(r.status, 422, r.text);
  });

  it('a SIGKILLed edge shows offline within 6 s plus slack', async () => {
    e2.child.kill('SIGKILL');
    await e2.waitExit();
    const killedAt = Date.now();
    const { elapsedMs } = await pollUntil(async () => {
      const n = (await nodes()).find((x) => x.name === 'edge2');
      return n && !n.fresh && n.health === 'offline';
    }, { timeoutMs: 20000, intervalMs: 100 });
    assert.ok(Date.now() - killedAt <= 6000 + 4000, `offline after ${elapsedMs} ms`);
    assert.ok((await nodes()).find((x) => x.name === 'edge1').fresh);
    e2 = null;
  });
});
