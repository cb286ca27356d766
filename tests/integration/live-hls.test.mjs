// Live HLS from the shared chunks (docs/internals/live.md §HLS), validated with
// hls-parser across an ffmpeg restart: fixed target duration, EXTINF within
// it, a window of at least 3 × target, a media sequence that never goes back,
// EXT-X-DISCONTINUITY on the restart, retained segments, PAT/PMT first in
// every segment, per-session tokens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import HLS from 'hls-parser';
import { cliOk, makeDataDir, removeDir, startServer } from './lib/server.mjs';
import { get, request } from './lib/http.mjs';
import { LAVFI_SMALL, ffprobe, tsCheck } from './lib/live.mjs';

const PW = 'Pw.hls-1';
let dataDir;
let srv;
let chan;

before(async () => {
  dataDir = await makeDataDir('live-hls');
  await cliOk(['line', 'add', 'hlsviewer', PW, '--data', dataDir, '--max-connections', '0']);
  await cliOk(['line', 'add', 'tsonly', PW, '--data', dataDir, '--outputs', 'ts']);
  const r = await cliOk(['stream', 'add', 'HLS Pattern', '--source', LAVFI_SMALL, '--data', dataDir]);
  chan = Number(r.stdout.trim());
  srv = await startServer(dataDir, ['--live', 'hls-segment=2']);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

const plUrl = `/live/hlsviewer/${PW}/${chan}.m3u8`;

async function playlist() {
  const r = await get(srv.port, `/live/hlsviewer/${PW}/${chan}.m3u8`, { timeoutMs: 30000 });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /mpegurl/);
  return { text: r.text, pl: HLS.parse(r.text) };
}

describe('HLS', () => {
  it('a cold start answers a valid live playlist whose segments start with PAT/PMT and decode', async () => {
    const { pl } = await playlist();
    assert.equal(pl.isMasterPlaylist, false);
    assert.ok(pl.segments.length >= 1);
    for (const s of pl.segments) assert.match(s.uri, /^\/hls\/[0-9a-f]{32}\/\d+\.ts$/);
    const seg = await get(srv.port, pl.segments[0].uri);
    assert.equal(seg.status, 200);
    assert.equal(seg.headers['content-type'], 'video/mp2t');
    assert.equal(Number(seg.headers['content-length']), seg.raw.length);
    const c = tsCheck(seg.raw);
    assert.equal(c.firstPid, 0, 'segment starts with the PAT');
    const secondPid = ((seg.raw[189] & 0x1f) << 8) | seg.raw[190];
    assert.notEqual(secondPid, 0, 'then the PMT');
    const f = path.join(dataDir, 'seg.ts');
    await writeFile(f, seg.raw);
    const p = await ffprobe(f);
    assert.deepEqual(p.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  });

  it('segment URLs need a valid token (403 otherwise) and the ts-only line gets 405', async () => {
    assert.equal((await get(srv.port, `/hls/${'0'.repeat(32)}/1.ts`)).status, 403);
    assert.equal((await get(srv.port, `/hls/short/1.ts`)).status, 403);
    assert.equal((await get(srv.port, `/live/tsonly/${PW}/${chan}.m3u8`)).status, 405);
  });

  it('playlist rules hold over time and across an ffmpeg restart', async () => {
    let td = null;
    let lastSeq = -1;
    let lastDisc = -1;
    const uriBySeq = new Map();
    let sawDiscontinuity = false;
    let maxWindow = 0;
    const dropped = [];
    const t0 = Date.now();
    let restarted = false;
    while (Date.now() - t0 < 30000) {
      if (!restarted && Date.now() - t0 > 12000) {
        const r = await request(srv.port, 'POST', `/api/v1/streams/${chan}/restart`);
        assert.equal(r.status, 200);
        restarted = true;
      }
      const { text, pl } = await playlist();
      td ??= pl.targetDuration;
      assert.equal(pl.targetDuration, td, 'EXT-X-TARGETDURATION never changes');
      assert.ok(pl.mediaSequenceBase >= lastSeq, `media sequence went back: ${lastSeq} → ${pl.mediaSequenceBase}`);
      const disc = pl.discontinuitySequenceBase ?? 0;
      assert.ok(disc >= lastDisc, 'discontinuity sequence never goes back');
      lastDisc = disc;
      for (const [seq, uri] of uriBySeq) {
        if (seq < pl.mediaSequenceBase && !dropped.includes(uri)) dropped.push(uri);
      }
      lastSeq = pl.mediaSequenceBase;
      let windowDur = 0;
      pl.segments.forEach((s, i) => {
        const seq = pl.mediaSequenceBase + i;
        assert.ok(Math.round(s.duration) <= td, `EXTINF ${s.duration} > target ${td}`);
        if (uriBySeq.has(seq)) assert.equal(uriBySeq.get(seq), s.uri, `sequence ${seq} kept its URI`);
        uriBySeq.set(seq, s.uri);
        windowDur += s.duration;
        if (s.discontinuity && restarted) sawDiscontinuity = true;
      });
      maxWindow = Math.max(maxWindow, windowDur);
      assert.match(text, /^#EXTM3U\n/);
      await sleep(1000);
    }
    assert.ok(sawDiscontinuity, 'EXT-X-DISCONTINUITY after the restart');
    assert.ok(maxWindow >= 3 * td, `window reached ${maxWindow} s ≥ 3 × ${td}`);
    assert.ok(dropped.length > 0, 'segments left the playlist');
    const last = dropped[dropped.length - 1];
    assert.equal((await get(srv.port, last)).status, 200, 'a segment that just left the playlist is still served');
  });
});
