// Live MPEG-TS fan-out (docs/internals/live.md): one ffmpeg per channel, TS
// viewers from shared chunks. Sources are generated test patterns (lavfi) at
// 192x108 to keep CPU low. Checked with ffprobe and a TS continuity checker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { getJson } from './lib/http.mjs';
import { LAVFI_SMALL, childPids, ffprobe, getHeadOnly, pidAlive, tsCheck, tsViewer } from './lib/live.mjs';

const PW = 'Pw.live-1';
let dataDir;
let srv;
let chan;

before(async () => {
  dataDir = await makeDataDir('live');
  await cliOk(['line', 'add', 'viewer', PW, '--data', dataDir, '--max-connections', '0']);
  const r = await cliOk(['stream', 'add', 'Test Pattern', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', dataDir]);
  chan = Number(r.stdout.trim());
  srv = await startServer(dataDir, ['--channel-idle', '3', '--live', 'watchdog=5']);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

const url = (id = chan, ext = 'ts') => `/live/viewer/${PW}/${id}.${ext}`;
const admin = (id) => getJson(srv.port, `/api/v1/streams/${id}/state`);

/** A viewer that stays ms after its first bytes (the channel may start cold), then leaves. */
async function record(target, ms, opts) {
  const v = await tsViewer(srv.port, target, opts);
  await pollUntil(() => v.bytes > 0 || v.ended, { timeoutMs: 20000 });
  await sleep(ms);
  v.close();
  return v;
}

describe('TS viewers', () => {
  it('a viewer gets 200 video/mp2t, close-delimited, that ffprobe decodes as H.264 + AAC with a growing duration', async (t) => {
    const v = await tsViewer(srv.port, url());
    assert.equal(v.status, 200);
    assert.equal(v.headers['content-type'], 'video/mp2t');
    assert.equal(v.headers['content-length'], undefined);
    assert.equal(v.headers['transfer-encoding'], undefined);
    assert.equal(v.headers.connection, 'close');
    // A cold channel: ffmpeg's start on a loaded machine is not part of the 3 s.
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    await sleep(3000);
    const short = v.buffer();
    await sleep(3000);
    // The state while the viewer watches: once it leaves, an on-demand channel may stop
    // (its idle time passes while ffprobe runs on a loaded machine).
    const info = await admin(chan);
    v.close();
    const long = v.buffer();
    const c = tsCheck(long);
    assert.equal(c.firstPid, 0, 'the stream starts with the PAT');
    assert.equal(c.badSync, 0);
    assert.equal(c.ccErrors, 0, 'no gap in the elementary streams');
    const f1 = path.join(dataDir, 'short.ts');
    const f2 = path.join(dataDir, 'long.ts');
    await writeFile(f1, short);
    await writeFile(f2, long);
    const p1 = await ffprobe(f1);
    const p2 = await ffprobe(f2);
    t.diagnostic(`durations ${p1.format.duration} → ${p2.format.duration}`);
    const codecs = p2.streams.map((s) => s.codec_name).sort();
    assert.deepEqual(codecs, ['aac', 'h264']);
    assert.ok(Number(p2.format.duration) > Number(p1.format.duration) + 1.5, `duration grows: ${p1.format.duration} → ${p2.format.duration}`);
    assert.equal(info.state, 'running');
    assert.equal(info.codecs, 'h264+aac');
  });

  it('VLC-style Range: bytes=0- gets 200, and every live URL form streams', async () => {
    const r = await getHeadOnly(srv.port, url(), { headers: { Range: 'bytes=0-' } });
    assert.equal(r.status, 200);
    for (const t of [`/live/viewer/${PW}/${chan}`, `/viewer/${PW}/${chan}`, `/viewer/${PW}/${chan}.ts`]) {
      // The channel may have gone idle since the previous test: allow a cold start.
      const g = await getHeadOnly(srv.port, t, { bodyMs: 15000, untilBytes: 188 });
      assert.equal(g.status, 200, t);
      assert.ok(g.raw.length > 0 && g.raw[0] === 0x47, `${t} sends TS`);
    }
  });

  it('200 concurrent viewers each receive a decodable, gap-free stream from one ffmpeg', async (t) => {
    const viewers = await Promise.all(Array.from({ length: 200 }, () => tsViewer(srv.port, url())));
    await pollUntil(() => viewers.every((v) => v.bytes > 0), { timeoutMs: 20000 });
    await sleep(5000);
    t.diagnostic(`after 5 s: fewest packets ${Math.min(...viewers.map((v) => Math.floor(v.bytes / 188)))}`);
    const info = await admin(chan);
    assert.ok(info.viewers >= 200, `admin counts ${info.viewers} viewers`);
    assert.ok(info.pid > 0);
    assert.equal(childPids(srv.child.pid).length, 1, 'one ffmpeg for all viewers');
    for (const v of viewers) v.close();
    let i = 0;
    for (const v of viewers) {
      const b = v.buffer();
      const c = tsCheck(b);
      assert.equal(v.status, 200);
      assert.equal(c.firstPid, 0, `viewer ${i} starts at the PAT`);
      assert.equal(c.ccErrors, 0, `viewer ${i} has no gap`);
      assert.ok(c.packets > 500, `viewer ${i} received ${c.packets} packets`);
      i++;
    }
    for (const k of [0, 99, 199]) {
      const f = path.join(dataDir, `v${k}.ts`);
      await writeFile(f, viewers[k].buffer());
      const p = await ffprobe(f);
      assert.deepEqual(p.streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], `viewer ${k} decodes`);
      t.diagnostic(`viewer ${k}: ${tsCheck(viewers[k].buffer()).packets} packets, ${p.format.duration} s`);
      assert.ok(Number(p.format.duration) >= 2, `viewer ${k} duration ${p.format.duration}`);
    }
  });

  it('the channel stops after the idle period and no ffmpeg child remains', async () => {
    const v = await record(url(), 1500);
    assert.ok(v.bytes > 0);
    const pid = (await admin(chan)).pid;
    assert.ok(pid > 0 && pidAlive(pid));
    const { elapsedMs } = await pollUntil(async () => (await admin(chan)).state === 'stopped', { timeoutMs: 15000, intervalMs: 200 });
    assert.ok(elapsedMs >= 1500, `stopped after ${elapsedMs} ms, not before the idle period`);
    await pollUntil(() => !pidAlive(pid) && childPids(srv.child.pid).length === 0, { timeoutMs: 8000 });
  });
});

describe('shutdown', () => {
  it('SIGTERM with viewers attached exits cleanly and leaves no ffmpeg', async () => {
    const viewers = await Promise.all([1, 2, 3].map(() => tsViewer(srv.port, url(), { keep: false })));
    await pollUntil(() => viewers.every((v) => v.bytes > 0), { timeoutMs: 15000 });
    const kids = childPids(srv.child.pid);
    assert.equal(kids.length, 1);
    await srv.stopClean();
    await pollUntil(() => viewers.every((v) => v.ended), { timeoutMs: 5000 });
    await pollUntil(() => !pidAlive(kids[0]), { timeoutMs: 5000 });
    srv = null;
  });
});
