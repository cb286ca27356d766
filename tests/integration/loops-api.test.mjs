// serve --loops 2, request handling on every loop (docs/internals/core.md, "Requests on
// every loop"): loop 1 accepts on a descriptor of the listener and answers the catalogue
// API itself (player_api.php, panel_api.php, get.php and their path forms) under the
// application lock; any other request moves its connection, with every byte it sent, to
// loop 0, which keeps it. It is the default with two loops and more (XTREAMD_LOOPS_ANSWER=0
// turns it off; the last case checks both); XTREAMD_TEST_ACCEPT_ON_WORKERS leaves every
// accept to loop 1, so each counter below moves by an exact amount.
//
// What a player sees is checked, not only the counters: loop 1's lists are byte for byte
// loop 0's, a stream asked for on loop 1 plays (continuous TS, ffprobe frames), a
// keep-alive connection that asks for a list and then a stream gets both in order, and
// uncached renders started on loop 1 are shared by its requests (single flight). The
// server stops with no sanitizer report (this file is in the TSan pass).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { assertNoSanitizerReport, cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { RawClient, api, get, parseResponses, qs } from './lib/http.mjs';
import { genLiveM3U, writeM3U } from './lib/gen.mjs';
import { LAVFI_SMALL, tsCheck, tsViewer } from './lib/live.mjs';
import { parseExposition, samples } from './lib/prom.mjs';

const CHANNELS = 4000;
const USER = 'every';
const PW = 'Pw.every-loop1';
let dataDir;
let srv;
let chan;

before(async () => {
  dataDir = await makeDataDir('loops-api');
  await cliOk(['line', 'add', USER, PW, '--data', dataDir, '--max-connections', '0']);
  const r = await cliOk(['stream', 'add', 'Every Loop', '--source', LAVFI_SMALL, '--category', 'Loops', '--data', dataDir]);
  chan = Number(r.stdout.trim());
  // Big enough that a render of the list spans the arrival of six requests (vod-loops' size).
  const m3u = await writeM3U(dataDir, 'live.m3u', genLiveM3U({ channels: CHANNELS, groups: 4, prefix: 'Quiet' }).text);
  await cliOk(['import', 'm3u', '--data', dataDir, m3u], { timeoutMs: 120000 });
  srv = await startServer(dataDir, ['--loops', '2', '--channel-idle', '30'], { env: { XTREAMD_LOOPS_ANSWER: '1', XTREAMD_TEST_ACCEPT_ON_WORKERS: '1' } });
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

async function metrics() {
  const m = await get(srv.port, '/metrics', { timeoutMs: 30000 });
  assert.equal(m.status, 200);
  return parseExposition(m.text);
}

function value(fams, name, match = {}) {
  const s = samples(fams, name, match);
  assert.equal(s.length, 1, `${name} ${JSON.stringify(match)} in /metrics`);
  return s[0].value;
}

/** The loop counters now: answered by loop 1, moved to loop 0, renders started/joined. */
async function counters() {
  const f = await metrics();
  return {
    here: value(f, 'xtreamd_http_loop_answers_total'),
    moved: value(f, 'xtreamd_http_loop_moves_total'),
    started: value(f, 'xtreamd_api_renders_total', { result: 'started' }),
    joined: value(f, 'xtreamd_api_renders_total', { result: 'joined' }),
    viewers: [0, 1].map((k) => value(f, 'xtreamd_loop_viewers', { loop: String(k) })),
  };
}

const LISTS = [
  api(USER, PW, 'get_live_categories'),
  api(USER, PW, 'get_live_streams'),
  api(USER, PW, 'get_live_streams', { category_id: '2' }),
  `/player_api/${USER}/${PW}/get_live_categories`,
  `/get.php?${qs({ username: USER, password: PW, type: 'm3u_plus', output: 'ts' })}`,
  `/playlist/${USER}/${PW}/m3u_plus`,
];

const reqText = (target, close = false) => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

describe('requests on every loop', () => {
  it('loop 1 answers the catalogue lists itself, each byte for byte what loop 0 answers', async () => {
    // The metrics requests are loop 0's: each moves one connection there.
    const c0 = await counters();
    const onLoop1 = [];
    for (const t of LISTS) {
      const r = await get(srv.port, t, { headers: { Connection: 'close' } });
      assert.equal(r.status, 200, `${t}: ${r.text.slice(0, 200)}`);
      onLoop1.push(r);
    }
    const c1 = await counters();
    assert.equal(c1.here - c0.here, LISTS.length, 'every list answered by the loop that accepted it');
    assert.equal(c1.moved - c0.moved, 1, 'only the /metrics request moved to loop 0');
    const live = JSON.parse(onLoop1[1].text);
    assert.equal(live.length, CHANNELS + 1);
    assert.ok(live.some((s) => s.stream_id === chan && s.name === 'Every Loop'));
    assert.match(onLoop1[4].text, /^#EXTM3U/);

    // One connection: a request only loop 0 answers (a 404) moves it there; the lists
    // asked next on it are loop 0's answers.
    const c = await RawClient.open(srv.port);
    try {
      await c.write(reqText('/no/such/path'));
      await c.waitResponses(1);
      await c.write(LISTS.map((t, i) => reqText(t, i === LISTS.length - 1)).join(''));
      const rs = await c.waitResponses(1 + LISTS.length, 15000);
      assert.equal(rs[0].status, 404);
      for (let i = 0; i < LISTS.length; i++) {
        assert.equal(rs[1 + i].status, 200, LISTS[i]);
        assert.ok(rs[1 + i].body.equals(onLoop1[i].raw), `${LISTS[i]}: loop 0's body equals loop 1's (${rs[1 + i].body.length} vs ${onLoop1[i].raw.length} bytes)`);
      }
    } finally {
      c.destroy();
    }
    const c2 = await counters();
    assert.equal(c2.here - c1.here, 0, 'the moved connection is loop 0\'s for good');
    assert.equal(c2.moved - c1.moved, 2, 'the raw connection and the /metrics request moved');
  });

  it('requests of both loops for one uncached list share one render', async () => {
    // Three connections moved to loop 0 (a 404 first) and three on loop 1, idle.
    const conns = [];
    try {
      for (let i = 0; i < 6; i++) {
        const c = await RawClient.open(srv.port);
        conns.push(c);
        if (i < 3) {
          await c.write(reqText('/no/such/path'));
          await c.waitResponses(1);
        }
      }
      // A new channel: a new catalogue snapshot, so the lists are uncached again.
      await cliOk(['stream', 'add', 'Fresh', '--source', 'http://127.0.0.1:9/fresh.ts', '--category', 'Loops', '--data', dataDir]);
      await pollUntil(async () => (await get(srv.port, api(USER, PW, 'get_live_categories'), { headers: { Connection: 'close' } })).text.includes('Loops') &&
        (await get(srv.port, api(USER, PW, 'get_live_streams', { category_id: '1' }), { headers: { Connection: 'close' } })).text.includes('Fresh'), { timeoutMs: 20000, intervalMs: 200 });
      const c0 = await counters();
      const target = `/get.php?${qs({ username: USER, password: PW, type: 'm3u_plus', output: 'ts' })}`;
      await Promise.all(conns.map((c) => c.write(reqText(target, true))));
      const bodies = [];
      for (const [i, c] of conns.entries()) {
        const rs = await c.waitResponses(i < 3 ? 2 : 1, 60000);
        const r = rs[rs.length - 1];
        assert.equal(r.status, 200, `connection ${i}`);
        bodies.push(r.body);
      }
      for (const b of bodies) assert.ok(b.equals(bodies[0]), 'every waiter gets the same playlist');
      assert.equal((bodies[0].toString().match(/^#EXTINF/gm) || []).length, CHANNELS + 2);
      const c1 = await counters();
      assert.equal(c1.started - c0.started, 1, 'one render for the six requests of both loops');
      assert.equal(c1.joined - c0.joined, 5, 'the five others joined it');
      assert.equal(c1.here - c0.here, 3, 'three were loop 1\'s');
      // Cached now: no further render, on either loop.
      const again = await get(srv.port, target, { headers: { Connection: 'close' } });
      assert.ok(again.raw.equals(bodies[0]));
      const c2 = await counters();
      assert.equal(c2.started, c1.started);
    } finally {
      for (const c of conns) c.destroy();
    }
  });

  it('a stream asked for on loop 1 moves to loop 0 and plays', async (t) => {
    const c0 = await counters();
    const v = await tsViewer(srv.port, `/live/${USER}/${PW}/${chan}.ts`);
    try {
      assert.equal(v.status, 200);
      await pollUntil(() => v.bytes >= 400_000, { timeoutMs: 30000, intervalMs: 100 });
      const c1 = await counters();
      assert.equal(c1.moved - c0.moved, 2, 'the viewer and the /metrics request moved to loop 0');
      assert.equal(c1.viewers[0] + c1.viewers[1], 1, 'the viewer is on a loop');
      const buf = v.buffer();
      const ts = tsCheck(buf);
      assert.equal(ts.firstPid, 0, 'starts with the PAT');
      assert.equal(ts.badSync, 0);
      assert.equal(ts.ccErrors, 0, 'continuous TS');
      const file = path.join(dataDir, 'loop-move.ts');
      await writeFile(file, buf);
      const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { timeout: 60000 });
      const frames = Number(stdout.trim().split(/\s+/)[0]); // the stream's count (a program section repeats it)
      t.diagnostic(`${buf.length} bytes, ${frames} video frames`);
      assert.ok(frames >= 25, `ffprobe decoded ${frames} video frames`);
    } finally {
      v.close();
    }
  });

  it('a keep-alive connection gets a list from loop 1, then a stream from loop 0, in order', async () => {
    const c0 = await counters();
    const c = await RawClient.open(srv.port);
    try {
      // Pipelined: the stream request is already in loop 1's buffer when the list is answered.
      await c.write(reqText(LISTS[0]) + reqText(`/live/${USER}/${PW}/${chan}.ts`));
      await c.waitFor((cl) => {
        const p = parseResponses(cl.buf).responses;
        return p.length >= 2 && p[1].body.length >= 188 * 100;
      }, 30000, 'the list and 100 TS packets');
      const [list, stream] = parseResponses(c.buf).responses;
      assert.equal(list.status, 200);
      assert.deepEqual(JSON.parse(list.body.toString()).map((x) => x.category_name).sort(), ['Loops', 'Quiet Group 001', 'Quiet Group 002', 'Quiet Group 003', 'Quiet Group 004']);
      assert.equal(stream.status, 200);
      assert.match(stream.headers['content-type'], /video\/mp2t/);
      assert.equal(stream.body[0], 0x47, 'the stream starts on a TS sync byte');
      assert.equal(tsCheck(stream.body).ccErrors, 0);
    } finally {
      c.destroy();
    }
    const c1 = await counters();
    assert.equal(c1.here - c0.here, 1, 'the list was loop 1\'s');
    assert.equal(c1.moved - c0.moved, 2, 'the stream (and /metrics) moved');
  });

  it('on by default with --loops 2; XTREAMD_LOOPS_ANSWER=0 keeps every request on loop 0', async () => {
    const answers = async (s) => {
      const m = await get(s.port, '/metrics', { timeoutMs: 30000 });
      assert.equal(m.status, 200);
      const f = parseExposition(m.text);
      return { here: value(f, 'xtreamd_http_loop_answers_total'), moved: value(f, 'xtreamd_http_loop_moves_total') };
    };
    const cats = api(USER, PW, 'get_live_categories');
    for (const [env, want] of [[{ XTREAMD_LOOPS_ANSWER: undefined }, 3], [{ XTREAMD_LOOPS_ANSWER: '0' }, 0]]) {
      const s = await startServer(dataDir, ['--loops', '2'], { env: { ...env, XTREAMD_TEST_ACCEPT_ON_WORKERS: '1' } });
      try {
        const before = await answers(s); // answered on loop 0 (moved there when loop 1 answers)
        for (let i = 0; i < 3; i++) {
          const r = await get(s.port, cats);
          assert.equal(r.status, 200);
          assert.ok(JSON.parse(r.text).some((c) => c.category_name === 'Loops'), r.text.slice(0, 200));
        }
        const after = await answers(s);
        assert.equal(after.here - before.here, want, `answered by loop 1 with ${JSON.stringify(env)}`);
        await s.stopClean();
      } finally {
        await s.stop();
      }
    }
  });

  it('SIGHUP: a shorter header timeout from the file reaches loop 1', async () => {
    // As on loop 0, a reload applies to the timers armed after it (a waiting connection
    // keeps its deadline), so the connection that shows it is one accepted afterwards, by
    // loop 1 (every accept is). Without the reload reaching loop 1 it would wait 30 s.
    const conf = path.join(dataDir, 'loops-reload.conf');
    await writeFile(conf, 'header-timeout = 30;\nlogin-free = 100000;\n');
    const s = await startServer(dataDir, ['--config', conf, '--loops', '2'], { env: { XTREAMD_TEST_ACCEPT_ON_WORKERS: '1' } });
    try {
      await writeFile(conf, 'header-timeout = 1;\nlogin-free = 100000;\n');
      const from = s.logs().length;
      s.child.kill('SIGHUP');
      await s.waitForLog(/config: reloaded /, { from, timeoutMs: 15000 });
      const t0 = Date.now();
      const silent = await RawClient.open(s.port); // sends nothing: only the header timeout ends it
      await silent.waitClose(10000);
      assert.ok(Date.now() - t0 < 10000, `closed after ${Date.now() - t0} ms`);
      const f = parseExposition((await get(s.port, '/metrics')).text);
      assert.equal(value(f, 'xtreamd_http_loop_moves_total'), 1, 'only /metrics moved: loop 1 held the silent one');
      await s.stopClean();
    } finally {
      await s.stop();
    }
  });

  it('SIGTERM while loop 1 is mid-answer: its answers end whole, then the server stops cleanly', async () => {
    // Loop 0 has nothing in flight and finishes at once; loop 1 is still writing playlists
    // with the router and the API. serve must wait for it (no use after free: ASan would
    // abort) and log "stopped" only once it is done.
    const s2 = await startServer(dataDir, ['--loops', '2', '--stop-grace', '20'],
      { env: { XTREAMD_LOOPS_ANSWER: '1', XTREAMD_TEST_ACCEPT_ON_WORKERS: '1' } });
    const c = await RawClient.open(s2.port);
    try {
      const target = `/get.php?${qs({ username: USER, password: PW, type: 'm3u_plus', output: 'ts' })}`;
      await c.write(reqText(target).repeat(30)); // ~13 MB: far more than the socket buffers hold
      await c.waitFor((cl) => cl.buf.length > 0, 30000, 'first response bytes');
      c.sock.pause();
      const from = s2.logs().length;
      s2.child.kill('SIGTERM');
      await s2.waitForLog(/SIGTERM: finishing in-flight requests/, { from, timeoutMs: 10000 });
      assert.ok(!/info serve: stopped$/m.test(s2.logs().slice(from)), 'not stopped while loop 1 writes');
      c.sock.resume();
      await c.waitClose(60000);
      const { responses, rest } = parseResponses(c.buf);
      assert.ok(responses.length >= 1, 'the answer in flight arrived');
      assert.equal(rest.length, 0, `an answer was cut short: ${rest.length} trailing bytes`);
      for (const r of responses) assert.equal(r.status, 200);
      const r = await s2.waitExit(30000);
      assertNoSanitizerReport(s2.logs());
      assert.equal(r.code, 0, s2.logs().slice(-2000));
      const stopped = s2.logs().lastIndexOf('info serve: stopped');
      assert.ok(stopped > from, 'stopped is logged');
    } finally {
      c.destroy();
      await s2.stop();
    }
  });
});
