// serve --loops 2, request handling on every loop (docs/internals/core.md, "Requests on
// every loop"): loop 1 accepts on a descriptor of the listener and answers the catalogue
// API itself (player_api.php, panel_api.php, get.php and their path forms) under the
// application lock; any other request moves its connection, with every byte it sent, to
// loop 0, which keeps it. XTREAMD_TEST_ACCEPT_ON_WORKERS leaves every accept to loop 1,
// so each counter below moves by an exact amount.
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
import { cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { RawClient, api, get, parseResponses, qs } from './lib/http.mjs';
import { LAVFI_SMALL, tsCheck, tsViewer } from './lib/live.mjs';
import { parseExposition, samples } from './lib/prom.mjs';

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
  for (let i = 0; i < 40; i++) await cliOk(['stream', 'add', `Quiet ${i}`, '--source', 'http://127.0.0.1:9/none.ts', '--category', `Group ${i % 4}`, '--data', dataDir]);
  srv = await startServer(dataDir, ['--loops', '2', '--channel-idle', '30'], { env: { XTREAMD_TEST_ACCEPT_ON_WORKERS: '1' } });
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
    here: value(f, 'xtreamd_http_answered_off_loop0_total'),
    moved: value(f, 'xtreamd_http_moved_to_loop0_total'),
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
    assert.equal(live.length, 41);
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

  it('uncached lists are rendered for loop 1 off the loop, then cached', async () => {
    // A new channel: a new catalogue snapshot, so the big lists are uncached again.
    const before = await counters();
    await cliOk(['stream', 'add', 'Fresh', '--source', 'http://127.0.0.1:9/fresh.ts', '--category', 'Loops', '--data', dataDir]);
    await pollUntil(async () => {
      const r = await get(srv.port, api(USER, PW, 'get_live_categories'), { headers: { Connection: 'close' } });
      return r.status === 200 && JSON.parse(r.text).length >= 5 && (await get(srv.port, api(USER, PW, 'get_live_streams', { category_id: '1' }), { headers: { Connection: 'close' } })).text.includes('Fresh');
    }, { timeoutMs: 20000, intervalMs: 200 });
    const c0 = await counters();
    const target = api(USER, PW, 'get_vod_streams');
    const rs = await Promise.all(Array.from({ length: 6 }, () => get(srv.port, target, { headers: { Connection: 'close' } })));
    for (const r of rs) {
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.text), []);
    }
    const c1 = await counters();
    assert.equal(c1.here - c0.here, 6, 'all six answered on loop 1');
    // The first found the list uncached (a new snapshot): a render on loop 1's thread
    // pool work, the others joined it or, once it was done, found it cached.
    const started = c1.started - c0.started;
    const joined = c1.joined - c0.joined;
    assert.ok(started >= 1, 'a render started');
    assert.ok(started + joined <= 6, `${started} started + ${joined} joined`);
    assert.ok(c1.started > before.started);
    // Once rendered, it is a cache hit on loop 1: no new render.
    const again = await get(srv.port, target, { headers: { Connection: 'close' } });
    assert.equal(again.status, 200);
    const c2 = await counters();
    assert.equal(c2.started, c1.started);
    assert.equal(c2.joined, c1.joined);
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
      assert.deepEqual(JSON.parse(list.body.toString()).map((x) => x.category_name).sort(), ['Group 0', 'Group 1', 'Group 2', 'Group 3', 'Loops']);
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
});
