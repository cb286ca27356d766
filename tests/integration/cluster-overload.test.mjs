// Overload (issue 16 items 4-5, docs/internals/cluster.md "Overload"): a main (drained: it
// places viewers, serves none) and two edges A and B reading one live source, on one real
// PostgreSQL. Three HLS viewers (distinct User-Agents: three sessions) watch on A, B taking no one
// (weight 0) but running the channel (an 'always' placement). Then B takes viewers again and an
// admin lowers A's max_sessions to 1: A is overloaded by exactly two viewers, and sends the two
// newest to the main at their next playlist refresh; the main places them on B. Each viewer
// plays every segment once — no gap, no repeat, every listed segment served, timestamps
// continuous across the move — the oldest viewer stays on A, and nobody moves back in the
// refreshes that follow (A stays overloaded at its cap without shedding more: hysteresis).
// When moving HLS sessions is not enough, the newest TS viewer's response ends after whole GOPs
// (the older one keeps playing) and its reconnect is sent to B.
// Skipped when no PostgreSQL server is installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import HLS from 'hls-parser';
import { cliOk, freePort, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';
import { getHeadOnly, tsViewer } from './lib/live.mjs';
import { startTsSource } from './lib/tssource.mjs';

const execFileP = promisify(execFile);
const json = (body) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const PW = 'Pw.overload-1';

describe('overloaded node on PostgreSQL', { skip: !pgAvailable() && 'no PostgreSQL server installed' }, () => {
  let pg, source, dirMain, dirA, dirB, main, a, b, chan, idA, idB;
  const env = {};
  const ports = {};

  const patch = async (id, body) => {
    const r = await request(main.port, 'PATCH', `/api/v1/nodes/${id}`, json(body));
    assert.equal(r.status, 200, r.text);
  };
  const metric = async (srv, re) => {
    const r = await get(srv.port, '/metrics');
    return r.status === 200 && re.exec(r.text);
  };
  const nameOf = (port) => (port === ports.a ? 'A' : port === ports.b ? 'B' : port === ports.main ? 'main' : String(port));

  before(async () => {
    pg = await startPgCluster();
    env.XTREAMD_DATABASE = pg.url;
    source = await startTsSource({ gop: 10 });
    dirMain = await makeDataDir('ov-main');
    dirA = await makeDataDir('ov-a');
    dirB = await makeDataDir('ov-b');
    for (const k of ['main', 'a', 'b']) ports[k] = await freePort();
    const live = ['--live', 'hls-segment=2'];
    main = await startServer(dirMain, ['--cluster-role', 'main', '--public-url', `http://127.0.0.1:${ports.main}`, ...live], { env, port: ports.main });
    await cliOk(['line', 'add', 'viewer', PW, '--data', dirMain, '--max-connections', '0'], { env });
    const r = await cliOk(['stream', 'add', 'Busy', '--source', source.url, '--data', dirMain], { env });
    chan = Number(r.stdout.trim());
    for (const [name, dir] of [['a', dirA], ['b', dirB]]) {
      const c = await request(main.port, 'POST', '/api/v1/nodes/enrol-codes', json({}));
      assert.equal(c.status, 201, c.text);
      const en = await runCli(['node', 'enrol', main.base, c.json().code, '--name', `edge-${name}`, '--public-url', `http://127.0.0.1:${ports[name]}`, '--data-dir', dir]);
      assert.equal(en.code, 0, en.stderr);
    }
    const items = (await request(main.port, 'GET', '/api/v1/nodes')).json().items;
    const mainId = items.find((n) => n.role === 'main').id;
    idA = items.find((n) => n.name === 'edge-a').id;
    idB = items.find((n) => n.name === 'edge-b').id;
    // caps generous on both; B takes nobody yet, but keeps the channel running (its ring warm,
    // as a node already serving the channel would be)
    await patch(idA, { max_sessions: 50 });
    await patch(idB, { max_sessions: 50, weight: 0 });
    const p = await request(main.port, 'PUT', `/api/v1/streams/${chan}/placements`, json([{ node_id: idA }, { node_id: idB, mode: 'always' }]));
    assert.equal(p.status, 200, p.text);
    a = await startServer(dirA, live, { port: ports.a });
    b = await startServer(dirB, live, { port: ports.b });
    const d = await request(main.port, 'POST', `/api/v1/nodes/${mainId}/drain`);
    assert.equal(d.status, 200, d.text);
    await pollUntil(() => metric(main, /xtreamd_cluster_nodes\{fresh="yes"\} 3/), { timeoutMs: 30000, intervalMs: 100 });
  });

  after(async () => {
    for (const srv of [a, b, main]) if (srv) await srv.stop();
    for (const dir of [dirMain, dirA, dirB]) if (dir) await removeDir(dir);
    if (source) await source.close();
    if (pg) await pg.stop();
  });

  /** GET following redirects across the nodes: { port, path, res } of the final answer. */
  async function follow(port, target, opts) {
    for (let hop = 0; hop < 6; hop++) {
      const res = await get(port, target, { timeoutMs: 40000, ...opts });
      if (res.status !== 302) return { port, path: target, res };
      const loc = new URL(res.headers.location);
      port = Number(loc.port);
      target = loc.pathname + loc.search;
    }
    return null;
  }

  async function firstPts(name, raw) {
    const f = path.join(dirMain, name);
    await writeFile(f, raw);
    const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', '-read_intervals', '%+#1', f], { timeout: 30000 });
    return Number(stdout.trim().split('\n')[0].split(',')[0]);
  }

  /** An HLS player: refreshes the URL it was last given, plays (fetches) every new segment. */
  function viewer(ua) {
    return {
      ua,
      cur: null,
      played: [], // {n, port, dur, raw}
      refreshes: [], // the node that answered each refresh
      async refresh() {
        const from = this.cur ?? { port: main.port, path: `/live/viewer/${PW}/${chan}.m3u8` };
        const f = await follow(from.port, from.path, { headers: { 'User-Agent': this.ua } });
        if (!f || f.res.status === 503) return; // a placement race (views ≤ 2 s old): next refresh
        assert.equal(f.res.status, 200, `${this.ua}: ${f.res.text}`);
        this.cur = { port: f.port, path: f.path };
        this.refreshes.push(f.port);
        const pl = HLS.parse(f.res.text);
        for (const [i, s] of pl.segments.entries()) {
          const n = pl.mediaSequenceBase + i;
          const last = this.played.length ? this.played[this.played.length - 1] : null;
          if (last && n <= last.n) continue;
          if (last) assert.equal(n, last.n + 1, `${this.ua}: after ${last.n} (from ${nameOf(last.port)}) the player got ${n} (from ${nameOf(f.port)})`);
          const seg = await get(f.port, new URL(s.uri, `http://127.0.0.1:${f.port}${f.path}`).pathname, { timeoutMs: 40000 });
          assert.equal(seg.status, 200, `${this.ua}: segment ${n} from ${nameOf(f.port)}: ${seg.text}`);
          const keep = !!last && last.port !== f.port; // a move's boundary: checked with ffprobe
          if (keep) last.keep = true;
          this.played.push({ n, port: f.port, dur: s.duration, raw: seg.raw, keep });
          // the bytes of the last two segments and of the boundaries only
          const old = this.played[this.played.length - 3];
          if (old && !old.keep) old.raw = null;
        }
      },
      on(port) {
        return this.played.filter((p) => p.port === port).length;
      },
    };
  }

  it('an overloaded edge moves exactly its excess, newest first, without a gap', async () => {
    const v = [viewer('player-1'), viewer('player-2'), viewer('player-3')];
    // one after the other: player-1 is the oldest session on A
    for (const x of v) {
      await pollUntil(async () => {
        await x.refresh();
        return x.played.length >= 1;
      }, { timeoutMs: 60000, intervalMs: 500 });
      assert.equal(x.cur.port, ports.a, `${x.ua} was placed on ${nameOf(x.cur.port)}`);
    }
    const round = async () => {
      for (const x of v) await x.refresh();
    };
    let deadline = Date.now() + 60000;
    while (v.some((x) => x.played.length < 3) && Date.now() < deadline) {
      await round();
      await sleep(700); // the players' refresh pace (a third of the 2 s segment)
    }
    assert.ok(v.every((x) => x.on(ports.a) >= 3), 'three viewers play on A');
    assert.match((await get(a.port, '/metrics')).text, /xtreamd_cluster_overloaded 0/);

    // B takes viewers again; once the main's view knows it (a start it sends to B), A's cap falls
    await patch(idB, { weight: 100 });
    await pollUntil(async () => {
      const r = await get(main.port, `/live/viewer/${PW}/${chan}.m3u8`, { headers: { 'User-Agent': 'probe' } });
      return r.status === 302 && Number(new URL(r.headers.location).port) === ports.b;
    }, { timeoutMs: 30000, intervalMs: 300 });
    await patch(idA, { max_sessions: 1 });

    deadline = Date.now() + 30000; // within the tokens' 60 s life (the stayer keeps its first)
    const moved = () => v[1].on(ports.b) >= 2 && v[2].on(ports.b) >= 2;
    while (!moved() && Date.now() < deadline) {
      await round();
      await sleep(700);
    }
    const where = () => v.map((x) => `${x.ua}: ${x.refreshes.map(nameOf).join(' ')}`).join('; ');
    assert.ok(moved(), `the two newest viewers play on B: ${where()}`);
    // the next refreshes: nobody moves back, nobody else moves
    for (let i = 0; i < 4; i++) {
      await round();
      await sleep(700);
    }
    assert.equal(v[0].on(ports.b), 0, `the oldest viewer stays on A: ${where()}`);
    assert.equal(v[0].cur.port, ports.a);
    for (const x of v.slice(1)) {
      assert.equal(x.cur.port, ports.b, `${x.ua} stays on B: ${where()}`);
      // one move: A's segments, then B's
      const k = x.played.findIndex((p) => p.port === ports.b);
      assert.ok(k > 0 && x.played.slice(k).every((p) => p.port === ports.b), where());
      // continuous timestamps: the first segment from B starts where the last one from A ended
      const [pa, pb] = [x.played[k - 1], x.played[k]];
      if (pa.raw && pb.raw) {
        const [ta, tb] = await Promise.all([firstPts(`${x.ua}-a${pa.n}.ts`, pa.raw), firstPts(`${x.ua}-b${pb.n}.ts`, pb.raw)]);
        assert.ok(Math.abs(tb - ta - pa.dur * 90000) < 4500, `${x.ua}: A ${pa.n} at ${ta} (+${pa.dur}s), B ${pb.n} at ${tb}`);
      } else {
        assert.fail(`${x.ua}: the boundary segments were not kept (${k} of ${x.played.length})`);
      }
    }
    // A counted the moves, stays overloaded at its cap (hysteresis) and has nothing more to move
    const m = (await get(a.port, '/metrics')).text;
    const n = Number(/xtreamd_cluster_moved_total\{kind="hls",reason="overload"\} (\d+)/.exec(m)?.[1]);
    assert.ok(n >= 2, m);
    assert.match(m, /xtreamd_cluster_moved_total\{kind="ts",reason="overload"\} 0/);
    assert.match(m, /xtreamd_cluster_overload_excess 0/);
    assert.match(m, /xtreamd_cluster_overloaded 1/);
    assert.match(m, /xtreamd_cluster_load_percent 100\n/);
  });

  /** A live TS start at the main, answered 302 to the node the main chose: its Location. */
  const tsStart = async () => {
    const h = await getHeadOnly(main.port, `/live/viewer/${PW}/${chan}.ts`, { bodyMs: 100 });
    return h.status === 302 && new URL(h.headers.location);
  };

  it('when HLS is not enough, the newest TS viewer is closed at a keyframe and restarts elsewhere', async () => {
    // A takes viewers again, B none
    await patch(idA, { max_sessions: 50 });
    await patch(idB, { weight: 0 });
    const ts = [];
    for (let i = 0; i < 2; i++) {
      const { value: loc } = await pollUntil(async () => {
        const l = await tsStart();
        return l && Number(l.port) === ports.a && l;
      }, { timeoutMs: 30000, intervalMs: 300 });
      const t = await tsViewer(ports.a, loc.pathname);
      assert.equal(t.status, 200);
      await pollUntil(() => t.bytes > 188 * 200, { timeoutMs: 30000 });
      ts.push(t);
    }
    const before = (await get(a.port, '/metrics')).text;
    const hlsBefore = Number(/xtreamd_cluster_moved_total\{kind="hls",reason="overload"\} (\d+)/.exec(before)[1]);
    // one session over the cap: whatever HLS session A still holds (the first test's oldest
    // player, no longer refreshing) goes first, then the newest TS viewer
    await patch(idB, { weight: 100 });
    await patch(idA, { max_sessions: 1 });
    await pollUntil(() => ts[1].ended, { timeoutMs: 30000 });
    assert.equal(ts[0].ended, false, 'the older TS viewer stays');
    const buf = ts[1].buffer();
    assert.equal(buf.length % 188, 0, 'whole packets');
    const file = path.join(dirMain, 'shed.ts');
    await writeFile(file, buf);
    // the source has a keyframe every 10 frames: a response that starts on a keyframe and ends
    // before the next one holds whole GOPs only
    const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', file], { timeout: 30000 });
    const pk = stdout.trim().split('\n').filter(Boolean);
    assert.ok(pk.length >= 10, `${pk.length} video packets`);
    assert.match(pk[0], /K/, 'starts on a keyframe');
    const keys = pk.map((f, i) => (/K/.test(f) ? i : -1)).filter((i) => i >= 0);
    assert.equal(pk.length - keys[keys.length - 1], 10, `the last GOP is whole: ${pk.length} packets, keyframes at ${keys.join(',')}`);
    // the older viewer keeps receiving
    const got = ts[0].bytes;
    await pollUntil(() => ts[0].bytes > got + 188 * 100, { timeoutMs: 30000 });
    assert.equal(ts[0].ended, false);
    // the player's reconnect goes through the main, which sends it to B (A is at its cap)
    const { value: again } = await pollUntil(async () => {
      const l = await tsStart();
      return l && Number(l.port) === ports.b && l;
    }, { timeoutMs: 30000, intervalMs: 300 });
    const t = await tsViewer(ports.b, again.pathname);
    await pollUntil(() => t.bytes > 188 * 100, { timeoutMs: 30000 });
    t.close();
    const m = (await get(a.port, '/metrics')).text;
    assert.match(m, /xtreamd_cluster_moved_total\{kind="ts",reason="overload"\} 1\n/);
    const hlsAfter = Number(/xtreamd_cluster_moved_total\{kind="hls",reason="overload"\} (\d+)/.exec(m)[1]);
    assert.equal(hlsAfter, hlsBefore, 'no HLS refresh came: only the TS viewer moved');
    assert.equal(ts[0].ended, false, 'the older TS viewer still stays');
    ts[0].close();
  });
});
