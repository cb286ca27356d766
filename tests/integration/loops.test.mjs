// serve --loops 2 (docs/internals/core.md "Several I/O loops", live.md "Fan-out
// loops"): loop 0 accepts, parses and authenticates; a live TS viewer then moves
// to the loop with the fewest viewers (ties go to loop 1), which writes it from
// its own mirror of the channel's ring. Viewers opened one after the other
// therefore alternate 1, 0, 1, 0 ... and /metrics says where they are
// (xtreamd_loop_viewers{loop="k"}). Kicks (admin API, line limit, line
// re-check) reach viewers on loop 1, a viewer leaving loop 1 disturbs nobody,
// and the server stops cleanly with viewers on both loops (ASan/TSan clean).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertNoSanitizerReport, cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { get, getJson, request } from './lib/http.mjs';
import { LAVFI_SMALL, ffprobe, tsCheck, tsViewer } from './lib/live.mjs';

const PW = 'Pw.loops-1';
let dataDir;
let srv;
let chan;
const open = [];
// stop-grace: a hand-over's old server keeps its viewers this long
const ARGS = ['--loops', '2', '--channel-idle', '30', '--live', 'line-check=1', '--stop-grace', '120'];

before(async () => {
  dataDir = await makeDataDir('loops');
  await cliOk(['line', 'add', 'fan', PW, '--data', dataDir, '--max-connections', '0']);
  await cliOk(['line', 'add', 'solo', PW, '--data', dataDir, '--max-connections', '1']);
  await cliOk(['line', 'add', 'doomed', PW, '--data', dataDir, '--max-connections', '0']);
  const r = await cliOk(['stream', 'add', 'Loops', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', dataDir]);
  chan = Number(r.stdout.trim());
  srv = await startServer(dataDir, ARGS);
});

after(async () => {
  try {
    for (const v of open) v.close();
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

const url = (line = 'fan') => `/live/${line}/${PW}/${chan}.ts`;

/** xtreamd_loop_viewers by loop: [loop0, loop1]. */
async function loopViewers() {
  const m = await get(srv.port, '/metrics', { timeoutMs: 30000 });
  assert.equal(m.status, 200);
  const out = [];
  for (const k of [0, 1]) {
    const x = new RegExp(`^xtreamd_loop_viewers\\{loop="${k}"\\} (\\d+)$`, 'm').exec(m.text);
    assert.ok(x, `xtreamd_loop_viewers{loop="${k}"} in /metrics`);
    out.push(Number(x[1]));
  }
  return { counts: out, text: m.text };
}

async function waitCounts(want, timeoutMs = 15000) {
  await pollUntil(async () => JSON.stringify((await loopViewers()).counts) === JSON.stringify(want), { timeoutMs, intervalMs: 100 });
}

async function viewer(line = 'fan', opts = {}) {
  const v = await tsViewer(srv.port, url(line), opts);
  open.push(v);
  assert.equal(v.status, 200);
  return v;
}

/** Every viewer gets `more` bytes beyond what it has now. */
async function allGrow(vs, more, timeoutMs = 30000) {
  const base = vs.map((v) => v.bytes);
  await pollUntil(() => vs.every((v, i) => v.bytes >= base[i] + more), { timeoutMs, intervalMs: 100 });
  for (const v of vs) assert.ok(!v.ended, 'still streaming');
}

describe('live TS on two loops', () => {
  let vs;

  it('viewers of one channel are spread over both loops and each gets continuous TS', async (t) => {
    vs = [];
    // One at a time: each moves to the loop with the fewest viewers (ties: loop 1).
    for (let i = 0; i < 6; i++) {
      const v = await viewer('fan', { keep: i < 2 || i === 2 });
      vs.push(v);
      await waitCounts([Math.floor((i + 1) / 2), Math.ceil((i + 1) / 2)]);
    }
    // The channel starts cold: ffmpeg's start on a loaded machine is not measured.
    await pollUntil(() => vs.every((v) => v.bytes > 0), { timeoutMs: 30000, intervalMs: 100 });
    await allGrow(vs, 200000, 60000);
    const { text } = await loopViewers();
    assert.match(text, /^xtreamd_loops 2$/m);
    assert.match(text, /^xtreamd_loop_handoffs_total [3-9]\d*$/m);
    assert.match(text, /^xtreamd_live_bytes_out_total [1-9]\d*$/m);
    // vs[0] is on loop 1, vs[1] on loop 0: both decode as the same programme.
    for (const [i, v] of [[0, vs[0]], [1, vs[1]]]) {
      const buf = v.buffer();
      const c = tsCheck(buf);
      assert.equal(c.firstPid, 0, `viewer ${i} starts with the PAT`);
      assert.equal(c.badSync, 0, `viewer ${i}: every packet in sync`);
      assert.equal(c.ccErrors, 0, `viewer ${i}: no gap in the elementary streams`);
      const f = path.join(dataDir, `loop-viewer-${i}.ts`);
      await writeFile(f, buf);
      const p = await ffprobe(f);
      t.diagnostic(`viewer ${i}: ${buf.length} bytes, ${p.format.duration} s`);
      assert.deepEqual(p.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    }
  });

  it('a viewer closed mid-stream on loop 1 does not disturb the others', async () => {
    vs[0].close(); // loop 1
    await waitCounts([3, 2]);
    const rest = vs.slice(1);
    const mark = vs[2].bytes; // loop 1, kept
    await allGrow(rest, 150000);
    const c = tsCheck(vs[2].buffer().subarray(mark - (mark % 188)));
    assert.equal(c.badSync, 0);
    assert.equal(c.ccErrors, 0, 'the other viewer of loop 1 saw no gap');
    for (const v of rest) v.close();
    await waitCounts([0, 0]);
  });

  it("loop 1 writes its viewer with sendfile from the channel's memfd, not by copy", async () => {
    const sent = async () => {
      const m = await get(srv.port, '/metrics', { timeoutMs: 30000 });
      const x = /^xtreamd_live_memfd_sent_bytes_total (\d+)$/m.exec(m.text);
      assert.ok(x, 'xtreamd_live_memfd_sent_bytes_total in /metrics');
      return Number(x[1]);
    };
    const v = await viewer('fan', { keep: false });
    await waitCounts([0, 1]); // the only viewer, on loop 1
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    const s0 = await sent();
    const b0 = v.bytes;
    await allGrow([v], 300000);
    const s1 = await sent();
    const b1 = v.bytes;
    // Everything loop 1 wrote meanwhile came from the memfd (the metric is read before and
    // after the viewer's bytes, so it may count a little more, never less, barring slices
    // whose bytes had been punched: none at this rate).
    assert.ok(s1 - s0 >= (b1 - b0) * 0.9, `sendfile bytes ${s1 - s0} for ${b1 - b0} bytes delivered`);
    v.close();
    await waitCounts([0, 0]);
  });

  it('the admin API cuts a viewer on loop 1', async () => {
    const v = await viewer('fan', { keep: false });
    await waitCounts([0, 1]);
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    const sessions = (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items;
    const mine = sessions.filter((s) => s.username === 'fan' && s.kind === 'live');
    assert.equal(mine.length, 1, 'the viewer on loop 1 is listed');
    await pollUntil(async () => (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items.some((s) => s.id === mine[0].id && s.bytes > 0), { timeoutMs: 10000, intervalMs: 200 });
    const r = await request(srv.port, 'DELETE', `/api/v1/sessions/${mine[0].id}`);
    assert.equal(r.status, 204);
    await pollUntil(() => v.ended, { timeoutMs: 10000 });
    await waitCounts([0, 0]);
  });

  it('max_connections 1 across loops: the newest (loop 0) closes the oldest (loop 1)', async () => {
    const first = await viewer('solo', { keep: false });
    await waitCounts([0, 1]);
    await pollUntil(() => first.bytes > 0, { timeoutMs: 20000 });
    const second = await viewer('solo', { keep: false, localAddress: '127.0.0.2' });
    await pollUntil(() => first.ended, { timeoutMs: 10000 });
    await waitCounts([1, 0]);
    await allGrow([second], 50000);
    second.close();
    await waitCounts([0, 0]);
  });

  it('two viewers of a one-connection line at once: the one kicked while it crosses to loop 1 still gets its 200, then its end', async () => {
    // Both requests are often read in one turn of loop 0: the first is handed to loop 1 and
    // kicked by the second before loop 1 has written its head (it used to close without a
    // response: the client saw a hang-up). Several rounds make that turn likely.
    for (let round = 0; round < 8; round++) {
      const rs = await Promise.allSettled([
        tsViewer(srv.port, url('solo'), { keep: false }),
        tsViewer(srv.port, url('solo'), { keep: false, localAddress: '127.0.0.2' }),
      ]);
      const vs = rs.filter((r) => r.status === 'fulfilled').map((r) => r.value);
      open.push(...vs);
      for (const r of rs) assert.equal(r.status, 'fulfilled', `round ${round}: no response head (${r.reason?.message})`);
      for (const v of vs) assert.equal(v.status, 200, `round ${round}`);
      await pollUntil(() => vs.some((v) => v.ended), { timeoutMs: 15000 }); // the older one is cut
      for (const v of vs) v.close();
      await waitCounts([0, 0]);
    }
  });

  it('a line disabled while its viewer is on loop 1 is cut', async () => {
    const v = await viewer('doomed', { keep: false });
    await waitCounts([0, 1]);
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    await cliOk(['line', 'set', 'doomed', '--disabled', '--data', dataDir]);
    await pollUntil(() => v.ended, { timeoutMs: 60000, intervalMs: 100 });
    await waitCounts([0, 0]);
  });

  it('a hand-over keeps the viewer on loop 1 until it leaves, then the old server exits', async () => {
    const v = await viewer('fan', { keep: false });
    await waitCounts([0, 1]);
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    const old = srv;
    srv = await startServer(dataDir, ARGS, { port: old.port, startTimeoutMs: 60000 }); // takes the listener over
    await old.waitForLog(/info serve: handed over to a new server/, { timeoutMs: 30000 });
    // Loop 0's own connections are drained at once: the viewer on loop 1 is not one of them.
    const b0 = v.bytes;
    await pollUntil(() => v.bytes > b0 + 50000, { timeoutMs: 60000 });
    assert.ok(old.alive(), 'the old server runs while its viewer on loop 1 watches');
    assert.ok(!v.ended);
    v.close();
    const r = await old.waitExit(60000);
    assertNoSanitizerReport(old.logs(), 'old server');
    assert.equal(r.code, 0, old.logs().slice(-2000));
  });

  it('stops cleanly with viewers on both loops', async () => {
    const a = await viewer('fan', { keep: false });
    const b = await viewer('fan', { keep: false });
    await waitCounts([1, 1]);
    await allGrow([a, b], 20000);
    await srv.stopClean(); // exit 0, no sanitizer report
    await pollUntil(() => a.ended && b.ended, { timeoutMs: 10000 });
    srv = null;
  });
});
