// TS viewers written in batches (issue 11, `--live write-interval`, 0.5 s by
// default): chunks published within the interval reach a viewer together, in
// one send, on loop 0 and on a fan loop alike; `write-interval=0` writes every
// chunk as it arrives (about every 100 ms). Checked as a player sees it: when
// the bytes arrive (bursts and the gaps between them), that they play (every
// frame of the window at the source's rate, no continuity error), that a new
// viewer still gets its first bytes at once, that a batch still pending when the source
// goes silent reaches the viewers (the ticks flush it), and that a bad value is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { binPath, cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { get } from './lib/http.mjs';
import { tsCheck, tsViewer } from './lib/live.mjs';
import { parseExposition, value } from './lib/prom.mjs';
import { startTsSource } from './lib/tssource.mjs';

const run = promisify(execFile);
const U = 'batchviewer';
const PW = 'Pw.batch-123';
const FPS = 25;
const WINDOW_MS = 5000;
let dir, data, chan, batched, eager;

const url = (id) => `/live/${U}/${PW}/${id}.ts`;

/** A TS viewer that also records when each read arrived (ms since it started). */
async function timedViewer(port) {
  const t0 = performance.now();
  const v = await tsViewer(port, url(chan));
  assert.equal(v.status, 200);
  v.times = [];
  v.sizes = [];
  v.res.on('data', (c) => {
    v.times.push(performance.now() - t0);
    v.sizes.push(c.length);
  });
  return v;
}

/** The reads after `fromMs`, grouped into bursts (a read more than gapMs after the previous one starts a burst). */
function bursts(v, fromMs, toMs, gapMs = 200) {
  const out = [];
  let prev = -Infinity;
  for (let i = 0; i < v.times.length; i++) {
    const t = v.times[i];
    if (t < fromMs || t > toMs) continue;
    if (t - prev > gapMs) out.push({ at: t, bytes: 0 });
    out.at(-1).bytes += v.sizes[i];
    prev = t;
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Bytes a viewer read between fromMs and toMs. */
function bytesIn(v, fromMs, toMs) {
  let n = 0;
  for (let i = 0; i < v.times.length; i++) if (v.times[i] >= fromMs && v.times[i] <= toMs) n += v.sizes[i];
  return n;
}

/** The measurement window: the viewers read meanwhile (not a wait for a state). */
const observe = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function loopViewers(port) {
  const m = parseExposition((await get(port, '/metrics')).text);
  return ['0', '1'].map((loop) => [loop, value(m, 'xtreamd_loop_viewers', { loop })]);
}

/** Two viewers of the channel on `srv` (one per loop), read for WINDOW_MS after their first second. */
async function watch(srv) {
  const a = await timedViewer(srv.port);
  await pollUntil(() => a.bytes > 0, { timeoutMs: 20000 });
  const b = await timedViewer(srv.port);
  await pollUntil(() => b.bytes > 0, { timeoutMs: 20000 });
  const loops = await loopViewers(srv.port);
  await observe(1000 + WINDOW_MS);
  a.close();
  b.close();
  return { viewers: [a, b], loops };
}

/** Frames ffprobe decodes in a viewer's bytes, over its video duration. */
async function playedRate(buf, name) {
  const file = path.join(dir, name);
  await writeFile(file, buf);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames',
    '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file], { timeout: 60000 });
  const p = JSON.parse(stdout);
  return { frames: Number(p.streams[0].nb_read_frames), seconds: Number(p.format.duration) };
}

before(async () => {
  dir = await makeDataDir('batching');
  data = path.join(dir, 'data');
  const clip = path.join(dir, 'clip.ts');
  // ~6 Mbit/s (lossless noise, 160x120): the channel's ffmpeg writes often enough that chunks
  // are published about every 100 ms, as for a real channel, from a picture that costs no encoding.
  await run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=${FPS},noise=alls=100:allf=t`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0',
    '-g', String(FPS), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', '-y', clip], { timeout: 120000 });
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '0']);
  chan = Number((await cliOk(['stream', 'add', 'Batch', '--source', clip, '--category', 'Tests', '--data', data])).stdout.trim());
  // Two servers on the same data folder, one at the default interval, one writing every chunk.
  [batched, eager] = await Promise.all([
    startServer(data, ['--loops', '2', '--channel-idle', '30']),
    startServer(data, ['--loops', '2', '--channel-idle', '30', '--live', 'write-interval=0']),
  ]);
});

after(async () => {
  await Promise.all([batched?.stopClean(), eager?.stopClean()]);
  await removeDir(dir);
});

describe('TS viewers written in batches', () => {
  it('by default a viewer on each loop gets its bytes in bursts about 0.5 s apart, and they play at the source rate', async () => {
    const { viewers, loops } = await watch(batched);
    assert.deepEqual(loops.map(([, n]) => n), [1, 1], `one viewer per loop: ${JSON.stringify(loops)}`);
    for (const [i, v] of viewers.entries()) {
      const b = bursts(v, 1000, 1000 + WINDOW_MS);
      const gaps = b.slice(1).map((x, k) => x.at - b[k].at);
      // ~10 bursts in 5 s; writing every chunk would be ~50
      assert.ok(b.length >= 6 && b.length <= 14, `viewer ${i}: ${b.length} bursts in ${WINDOW_MS} ms: ${JSON.stringify(gaps)}`);
      const m = median(gaps);
      assert.ok(m >= 350 && m <= 800, `viewer ${i}: median gap ${m.toFixed(0)} ms`);
      const buf = v.buffer();
      const ts = tsCheck(buf);
      assert.equal(ts.ccErrors, 0, `viewer ${i}: continuity errors`);
      assert.equal(ts.badSync, 0, `viewer ${i}: bytes out of sync`);
      const { frames, seconds } = await playedRate(buf, `batched-${i}.ts`);
      assert.ok(seconds >= 4, `viewer ${i}: ${seconds} s of video`);
      assert.ok(Math.abs(frames / seconds - FPS) <= FPS * 0.1, `viewer ${i}: ${frames} frames in ${seconds} s`);
    }
  });

  it('with write-interval=0 every chunk goes out as it arrives, at the same byte rate', async () => {
    const [{ viewers: eagerV }, { viewers: batchedV }] = [await watch(eager), await watch(batched)];
    for (const [i, v] of eagerV.entries()) {
      const reads = v.times.filter((t) => t >= 1000 && t <= 1000 + WINDOW_MS);
      const gaps = reads.slice(1).map((t, k) => t - reads[k]);
      assert.ok(median(gaps) < 150, `viewer ${i}: median gap between reads ${median(gaps).toFixed(0)} ms`);
      const long = gaps.filter((g) => g > 300);
      assert.ok(long.length <= 2, `viewer ${i}: ${long.length} gaps over 300 ms: ${long.map((g) => g.toFixed(0))}`);
    }
    // the same source: the same bytes per second, to within one burst of the window's ends
    const ratio = bytesIn(batchedV[0], 1000, 1000 + WINDOW_MS) / bytesIn(eagerV[0], 1000, 1000 + WINDOW_MS);
    assert.ok(ratio > 0.8 && ratio < 1.25, `bytes in the window, batched / eager: ${ratio.toFixed(2)}`);
  });

  it('a batch goes out in one sendfile per viewer, not one per chunk', { timeout: 60000 }, async () => {
    // The point of batching is fewer sends (each one costs the kernel a wake-up of the reader and
    // an skb): the chunks of a batch lie end to end in the channel's memfd, and http/server.c's
    // memfd_span sends them with one sendfile. strace counts the server's sendfile calls (all
    // threads; seccomp-bpf, so that no other system call stops) while two viewers, one per loop,
    // read: about two batches a second each, against about ten chunks a second per viewer
    // (a viewer's queue takes a whole batch: http/server.c STREAM_REF_BUDGET).
    const counts = {};
    for (const [name, srv] of [['batched', batched], ['eager', eager]]) {
      const a = await timedViewer(srv.port);
      await pollUntil(() => a.bytes > 0, { timeoutMs: 20000 });
      const b = await timedViewer(srv.port);
      await pollUntil(() => b.bytes > 0, { timeoutMs: 20000 });
      await observe(1000);
      const out = path.join(dir, `strace-${name}.txt`);
      await run('timeout', ['-s', 'INT', '4', 'strace', '-f', '--seccomp-bpf', '-qq', '-e', 'trace=sendfile',
        '-e', 'signal=none', '-o', out, '-p', String(srv.child.pid)]).catch((e) => {
        if (e.code !== 124 && e.code !== 130 && e.signal !== 'SIGINT') throw e; // timeout's INT ends it
      });
      a.close();
      b.close();
      const lines = (await readFile(out, 'utf8')).split('\n').filter((l) => /sendfile\(/.test(l) && /= [1-9]/.test(l));
      counts[name] = lines.length;
    }
    // 2 viewers x 4 s: ~16 batches of ~370 KB (a full socket or STREAM_REF_BUDGET, 512 KiB,
    // splits one now and then: ~24 calls measured); ~80 chunks. Sending a batch in 64 KiB
    // pieces, as before STREAM_REF_BUDGET, made ~140 calls against the eager server's ~165.
    assert.ok(counts.eager >= 40, `eager: ${counts.eager} sendfile calls in 4 s`);
    assert.ok(counts.batched <= counts.eager / 2, `batched: ${counts.batched} sendfile calls, eager ${counts.eager}`);
  });

  it('a new viewer of a running channel gets its first bytes at once, not at the next batch', async () => {
    const ttfb = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const v = await tsViewer(batched.port, url(chan));
      await pollUntil(() => v.bytes > 0, { timeoutMs: 10000, intervalMs: 5 });
      ttfb.push(performance.now() - t0);
      v.close();
    }
    assert.ok(median(ttfb) < 250, `time to first bytes: ${ttfb.map((x) => x.toFixed(0)).join(', ')} ms`);
  });

  it('a batch still pending when the source goes silent reaches the viewers of both loops', { timeout: 120000 }, async () => {
    // At write-interval=2 the chunks after a wake-up wait up to 2 s for the next publish. When
    // the source stalls there is none: the 250 ms tick of loop 0 and of the fan loop must send
    // them. At a quiet moment of a stall (the interval and a tick passed, the slate and the
    // watchdog far off) every byte read from ffmpeg has reached each viewer, so between two
    // stalls a viewer gains what the channel read (to within a TS packet left in the reader).
    // Without the flush the batch pending at each stall is missing: the two would differ by
    // kilobytes, unless the source stopped just when a wake-up was due, at both stalls.
    const src = await startTsSource({ gop: 10 });
    const id = Number((await cliOk(['stream', 'add', 'Stalling', '--source', src.url, '--category', 'Tests',
      '--data', data])).stdout.trim());
    const srv = await startServer(data, ['--loops', '2', '--channel-idle', '60', '--live', 'write-interval=2',
      '--live', 'stall-slate=30', '--live', 'watchdog=40']);
    const viewers = [];
    try {
      for (let i = 0; i < 2; i++) {
        const v = await tsViewer(srv.port, `/live/${U}/${PW}/${id}.ts`, { keep: false });
        assert.equal(v.status, 200);
        await pollUntil(() => v.bytes > 0, { timeoutMs: 30000 });
        viewers.push(v);
      }
      const loops = await loopViewers(srv.port);
      assert.deepEqual(loops.map(([, n]) => n), [1, 1], `one viewer per loop: ${JSON.stringify(loops)}`);
      const quiet = async () => {
        src.paused = true;
        await observe(3500); // the interval (2 s), a tick (0.25 s) and ffmpeg's last writes
        const m = parseExposition((await get(srv.port, '/metrics')).text);
        return { read: value(m, 'xtreamd_channel_bytes_in_total', { channel: String(id) }), got: viewers.map((v) => v.bytes) };
      };
      const first = await quiet();
      src.paused = false;
      await observe(3000);
      const second = await quiet();
      const read = second.read - first.read;
      assert.ok(read > 20000, `the channel read ${read} bytes between the stalls`);
      for (const [i] of viewers.entries()) {
        const got = second.got[i] - first.got[i];
        assert.ok(Math.abs(got - read) < 188, `viewer ${i}: ${got} bytes between the stalls, the channel read ${read}`);
      }
    } finally {
      for (const v of viewers) v.close();
      await srv.stopClean();
      await src.close();
    }
  });

  it('a write-interval beyond 2 s is refused, naming the value', async () => {
    await assert.rejects(run(binPath(), ['serve', '--data', data, '--live', 'write-interval=3'],
      { timeout: 10000 }), (e) => /write-interval=3/.test(e.stderr));
  });
});
