// Catch-up (issue 14 item 3, serving): an archived lavfi channel records for a
// little over a minute (1 s segment target, keyframes every 2 s, 30 s files so
// ranges span files), then every URL form of xtream-api.md §2.4 / §2.2 returns
// the requested range: first PTS within one GOP of the asked start, duration
// within one segment of the asked one (ffprobe), as TS (Range → 206 over the
// concatenation) and as a VOD HLS playlist (hls-parser; ffprobe plays it);
// starts before the archive head are clamped; an end past now gives a growing
// EVENT playlist; bad fields are field-named 400s; a stream without archive is
// a 404 with its reason; catch-up viewers are connections of kind "timeshift"
// counted against max_connections. Plus the API fields (get_live_streams,
// M3U attributes) and `stream set --archive-days`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, getJson, request } from './lib/http.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';

const execFileP = promisify(execFile);
const PW = 'Pw.catchup-1';
const GOP_S = 2; // channel.c forces a keyframe every 2 s on lavfi sources
let dataDir;
let srv;
let chan; // archived
let plain; // not archived
let segs; // [{utc (ms), dur (s)}] of the whole archive, from an open HLS playlist
let pts0; // first PTS (s) of segs[0]

before(async () => {
  dataDir = await makeDataDir('catchup');
  await cliOk(['line', 'add', 'cu', PW, '--data', dataDir, '--max-connections', '0']);
  await cliOk(['line', 'add', 'cuone', PW, '--data', dataDir, '--max-connections', '1']);
  // A guide around the recording: one programme over before it began, one
  // that ends ~70 s into it, one airing until long after.
  const t = Math.floor(Date.now() / 1000);
  const prog = (a, b, title) => `<programme start="${xt(a)}" stop="${xt(b)}" channel="cu.arch"><title>${title}</title></programme>\n`;
  await writeFile(path.join(dataDir, 'g.xml'), `<?xml version="1.0" encoding="UTF-8"?>\n<tv><channel id="cu.arch"><display-name>Archived</display-name></channel>\n${prog(t - 3 * 3600, t - 2 * 3600, 'Before')}${prog(t - 3600, t + 70, 'Recorded')}${prog(t + 70, t + 3 * 3600, 'Airing')}</tv>\n`);
  await cliOk(['epg', 'add', 'g', path.join(dataDir, 'g.xml'), '--data', dataDir]);
  await cliOk(['epg', 'import', '--data', dataDir]);
  let r = await cliOk(['stream', 'add', 'Archived', '--source', LAVFI_SMALL, '--epg-id', 'cu.arch', '--data', dataDir]);
  chan = Number(r.stdout.trim());
  r = await cliOk(['stream', 'add', 'Plain', '--source', LAVFI_SMALL, '--data', dataDir]);
  plain = Number(r.stdout.trim());
  const bad = await runCli(['stream', 'set', String(chan), '--archive-days', '5000', '--data', dataDir]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--archive-days/);
  await cliOk(['stream', 'set', String(chan), '--archive-days', '1', '--data', dataDir]);
  srv = await startServer(dataDir, ['--archive', 'segment-seconds=1', '--archive', 'file-seconds=30']);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

const pad = (n) => String(n).padStart(2, '0');
function xt(sec) {
  const d = new Date(sec * 1000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())} +0000`;
}
function wall(sec, seconds = true) {
  const d = new Date(sec * 1000);
  const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}:${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}`;
  return seconds ? `${s}-${pad(d.getUTCSeconds())}` : s;
}

function segsOf(text) {
  const pl = HLS.parse(text);
  return pl.segments.map((s) => {
    const m = /\/catchup\/[0-9a-f]{32}\/(\d+)\.ts$/.exec(s.uri);
    assert.ok(m, `segment URI ${s.uri}`);
    return { utc: Number(m[1]), dur: s.duration, uri: s.uri };
  });
}

async function probeFile(buf, name) {
  const f = path.join(dataDir, name);
  await writeFile(f, buf);
  return probe(f);
}

// First video PTS (s) and duration (s) of a file or URL.
async function probe(target) {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', target], { timeout: 60000, maxBuffer: 64 << 20 });
  const pts = stdout.split('\n').map((l) => parseFloat(l)).filter((x) => Number.isFinite(x) && x >= 0);
  assert.ok(pts.length > 10, `${target}: video packets`);
  const first = Math.min(...pts);
  return { first, dur: Math.max(...pts) - first };
}

// The wall-clock time (s) a PTS stands for, from the archive's first segment.
const utcOfPts = (p) => segs[0].utc / 1000 + (p - pts0);

function checkRange(p, start, durS, what) {
  const at = utcOfPts(p.first);
  // Segment times are wall-clock stamps taken as chunks arrive: allow a loaded
  // machine a second of jitter on top of the GOP.
  assert.ok(at <= start + 1.5 && at >= start - GOP_S - 2, `${what}: first frame at ${at.toFixed(2)}, asked ${start}`);
  const seg = Math.max(...segs.map((s) => s.dur));
  if (durS) assert.ok(Math.abs(p.dur - durS) <= seg + GOP_S, `${what}: duration ${p.dur.toFixed(2)} for ${durS} (segment ${seg})`);
}

describe('catch-up', () => {
  it('advertises the archive: get_live_streams fields and M3U attributes', async () => {
    const r = await get(srv.port, `/player_api.php?username=cu&password=${PW}&action=get_live_streams`);
    const list = JSON.parse(r.text);
    const a = list.find((s) => s.stream_id === chan);
    const b = list.find((s) => s.stream_id === plain);
    assert.equal(a.tv_archive, 1);
    assert.equal(a.tv_archive_duration, 1);
    assert.equal(b.tv_archive, 0);
    assert.equal(b.tv_archive_duration, 0);
    const m3u = await get(srv.port, `/get.php?username=cu&password=${PW}&type=m3u_plus&output=ts`);
    const lines = m3u.text.split('\r\n');
    const ia = lines.findIndex((l) => l.startsWith('#EXTINF') && l.endsWith(',Archived'));
    const ib = lines.findIndex((l) => l.startsWith('#EXTINF') && l.endsWith(',Plain'));
    assert.match(lines[ia], /^#EXTINF:-1 timeshift="1" catchup="xc" catchup-days="1" tvg-id=/);
    assert.doesNotMatch(lines[ib], /timeshift=|catchup/);
  });

  it('answers field-named 400s and a 404 without an archive', async () => {
    const t = (p) => get(srv.port, p);
    let r = await t(`/timeshift/cu/${PW}/60/2024-13-01:00-00/${chan}.ts`);
    assert.equal(r.status, 400);
    assert.match(r.text, /^bad start/);
    r = await t(`/timeshift/cu/${PW}/0/2024-01-01:00-00/${chan}.ts`);
    assert.equal(r.status, 400);
    assert.match(r.text, /^bad duration/);
    r = await t(`/timeshift/cu/${PW}/60/2024-01-01:00-00/${chan}.mkv`);
    assert.equal(r.status, 400);
    assert.match(r.text, /^bad stream/);
    r = await t(`/streaming/timeshift.php?username=cu&password=${PW}&stream=${chan}&start=soon&duration=5`);
    assert.equal(r.status, 400);
    assert.match(r.text, /^bad start/);
    r = await t(`/live/cu/${PW}/${chan}.ts?utc=yesterday`);
    assert.equal(r.status, 400);
    assert.match(r.text, /^bad utc/);
    r = await t(`/timeshift/cu/wrong/60/2024-01-01:00-00/${chan}.ts`);
    assert.equal(r.status, 401);
    r = await t(`/timeshift/cu/${PW}/60/2024-01-01:00-00/${plain}.ts`);
    assert.equal(r.status, 404);
    assert.match(r.text, /no archive/);
    r = await t(`/timeshift/cu/${PW}/60/2024-01-01:00-00/999.ts`);
    assert.equal(r.status, 404);
    assert.equal((await t(`/catchup/${'0'.repeat(32)}/1.ts`)).status, 403);
  });

  it('records long enough for a one-minute range', { timeout: 240000 }, async () => {
    const since = Math.floor(Date.now() / 1000) - 3600;
    // An open ?utc= playlist lists the whole archive (segment URIs carry their UTC ms).
    await pollUntil(async () => {
      const r = await get(srv.port, `/live/cu/${PW}/${chan}.m3u8?utc=${since}`);
      if (r.status !== 200) return false;
      segs = segsOf(r.text);
      if (segs.length < 2) return false;
      const last = segs[segs.length - 1];
      return last.utc + last.dur * 1000 - segs[0].utc >= 75000;
    }, { timeoutMs: 200000, intervalMs: 1000 });
    for (let i = 1; i < segs.length; i++) assert.ok(segs[i].utc > segs[i - 1].utc);
    const s0 = await get(srv.port, segs[0].uri);
    assert.equal(s0.status, 200);
    assert.equal(s0.headers['content-type'], 'video/mp2t');
    pts0 = (await probeFile(s0.raw, 'seg0.ts')).first;
  });

  it('marks has_archive on the programmes the archive holds', async () => {
    const r = await get(srv.port, `/player_api.php?username=cu&password=${PW}&action=get_simple_data_table&stream_id=${chan}`);
    const rows = JSON.parse(r.text).epg_listings;
    const by = Object.fromEntries(rows.map((x) => [Buffer.from(x.title, 'base64').toString(), x.has_archive]));
    assert.deepEqual(by, { Before: 0, Recorded: 1, Airing: 0 });
  });

  it('serves the range as TS for every URL form, starting at the keyframe before the start', { timeout: 180000 }, async () => {
    assert.ok(segs, 'recorded');
    const S = Math.floor(segs[0].utc / 1000) + 7;
    const forms = [
      [`/timeshift/cu/${PW}/1/${wall(S)}/${chan}.ts`, 60],
      [`/timeshift/cu/${PW}/1/${S}/${chan}`, 60],
      [`/timeshifts/cu/${PW}/1/${chan}/${wall(S)}.ts`, 60],
      [`/streaming/timeshift.php?username=cu&password=${PW}&stream=${chan}&start=${S}&duration=1`, 60],
      [`/streaming/timeshift.php?username=cu&password=${PW}&stream=${chan}&start=${encodeURIComponent(new Date(S * 1000).toISOString())}&duration=1&extension=ts`, 60],
      [`/live/cu/${PW}/${chan}.ts?utc=${S}&lutc=${Math.floor(Date.now() / 1000)}`, 0],
      [`/cu/${PW}/${chan}?utc=${S}`, 0],
    ];
    let i = 0;
    for (const [url, dur] of forms) {
      if (!dur) {
        // Open (?utc=): a body without a length that follows the recording;
        // its first megabyte is enough for the start.
        const v = await tsViewer(srv.port, url);
        assert.equal(v.status, 200, url);
        assert.equal(v.headers['content-type'], 'video/mp2t');
        assert.equal(v.headers['content-length'], undefined);
        await pollUntil(() => v.bytes >= 1 << 20 || v.ended, { timeoutMs: 30000 });
        v.close();
        const raw = v.buffer();
        assert.equal(raw[0], 0x47);
        checkRange(await probeFile(raw.subarray(0, raw.length - (raw.length % 188)), `form${i++}.ts`), S, 0, url);
        continue;
      }
      const r = await get(srv.port, url, { timeoutMs: 60000 });
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      assert.equal(r.headers['content-type'], 'video/mp2t');
      assert.equal(r.headers['accept-ranges'], 'bytes');
      assert.equal(Number(r.headers['content-length']), r.raw.length);
      assert.equal(r.raw[0], 0x47);
      assert.equal(r.raw.length % 188, 0);
      checkRange(await probeFile(r.raw, `form${i++}.ts`), S, dur, url);
    }
  });

  it('honours Range over the concatenation (206, Content-Range, same bytes) and 416', { timeout: 60000 }, async () => {
    const S = Math.floor(segs[0].utc / 1000) + 7;
    const url = `/timeshift/cu/${PW}/1/${wall(S)}/${chan}.ts`;
    const full = await get(srv.port, url, { timeoutMs: 60000 });
    const total = full.raw.length;
    assert.ok(total > 600000, `a minute of video (${total} bytes)`);
    const a = Math.floor(total / 3);
    const part = await get(srv.port, url, { headers: { Range: `bytes=${a}-${a + 300000}` } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes ${a}-${a + 300000}/${total}`);
    assert.ok(part.raw.equals(full.raw.subarray(a, a + 300001)));
    const tail = await get(srv.port, url, { headers: { Range: 'bytes=-1000' } });
    assert.equal(tail.status, 206);
    assert.ok(tail.raw.equals(full.raw.subarray(total - 1000)));
    const stale = await get(srv.port, url, { headers: { Range: 'bytes=0-9', 'If-Range': '"other"' } });
    assert.equal(stale.status, 200);
    assert.equal(stale.raw.length, total);
    const no = await get(srv.port, url, { headers: { Range: `bytes=${total}-` } });
    assert.equal(no.status, 416);
    assert.equal(no.headers['content-range'], `bytes */${total}`);
    const h = await request(srv.port, 'HEAD', url);
    assert.equal(h.status, 200);
    assert.equal(Number(h.headers['content-length']), total);
  });

  it('serves the range as a VOD HLS playlist that ffprobe plays', { timeout: 120000 }, async () => {
    const S = Math.floor(segs[0].utc / 1000) + 7;
    for (const url of [`/timeshift/cu/${PW}/1/${wall(S)}/${chan}.m3u8`, `/streaming/timeshift.php?username=cu&password=${PW}&stream=${chan}&start=${S}&duration=1&extension=m3u8`]) {
      const r = await get(srv.port, url);
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers['content-type'], /mpegurl/);
      const pl = HLS.parse(r.text);
      assert.equal(pl.isMasterPlaylist, false);
      assert.equal(pl.playlistType, 'VOD');
      assert.equal(pl.endlist, true);
      const list = segsOf(r.text);
      assert.doesNotMatch(r.text, new RegExp(PW.replace('.', '\\.')), 'no password in segment URLs');
      assert.ok(list[0].utc <= S * 1000 && list[0].utc > (S - GOP_S - 1) * 1000, 'first segment holds the start');
      const sum = list.reduce((a, s) => a + s.dur, 0);
      assert.ok(Math.abs(sum - 60) <= Math.max(...list.map((s) => s.dur)) + GOP_S, `playlist length ${sum}`);
      for (const s of list) assert.ok(s.dur <= pl.targetDuration);
    }
    const p = await probe(`http://127.0.0.1:${srv.port}/timeshift/cu/${PW}/1/${wall(S)}/${chan}.m3u8`);
    checkRange(p, S, 60, 'HLS');
  });

  it('clamps a start before the archive head', { timeout: 60000 }, async () => {
    // A whole-minute start before the head, whose end (2 min later) is recorded.
    const early = Math.floor(segs[0].utc / 60000) * 60 - 60;
    const r = await get(srv.port, `/timeshift/cu/${PW}/2/${wall(early, false)}/${chan}.m3u8`);
    assert.equal(r.status, 200, r.text);
    const list = segsOf(r.text);
    assert.equal(list[0].utc, segs[0].utc, 'starts at the head');
    const ts = await get(srv.port, `/timeshift/cu/${PW}/2/${wall(early, false)}/${chan}.ts`, { timeoutMs: 60000 });
    assert.equal(ts.status, 200);
    const p = await probeFile(ts.raw, 'clamp.ts');
    assert.ok(Math.abs(utcOfPts(p.first) - segs[0].utc / 1000) < 1, 'first frame is the head');
    // Entirely before the head: nothing to serve, said so.
    const none = await get(srv.port, `/timeshift/cu/${PW}/1/${wall(early - 600, false)}/${chan}.ts`);
    assert.equal(none.status, 404);
    assert.match(none.text, /nothing archived/);
  });

  it('an end past now follows the recording: a TS body without a length that keeps growing', { timeout: 90000 }, async () => {
    const S = Math.floor(Date.now() / 1000) - 10;
    const url = `/timeshift/cu/${PW}/10/${wall(S)}/${chan}.ts`;
    const h = await request(srv.port, 'HEAD', url);
    assert.equal(h.status, 200);
    const snapshot = Number(h.headers['content-length']);
    assert.ok(snapshot > 0);
    const v = await tsViewer(srv.port, url, { keep: false });
    assert.equal(v.status, 200);
    assert.equal(v.headers['content-length'], undefined);
    // Recorded after the request: at ~30 kB/s, 100 kB more is a few seconds.
    await pollUntil(() => v.bytes > snapshot + 100000 || v.ended, { timeoutMs: 60000, intervalMs: 200 });
    assert.equal(v.ended, false, 'still following');
    v.close();
    // With a Range it is the fixed snapshot instead.
    const r = await get(srv.port, url, { headers: { Range: 'bytes=0-' } });
    assert.equal(r.status, 206);
    assert.match(r.headers['content-range'], /^bytes 0-\d+\/\d+$/);
  });

  it('an end past now is a growing EVENT playlist', { timeout: 90000 }, async () => {
    const S = Math.floor(Date.now() / 1000) - 20;
    const url = `/timeshift/cu/${PW}/10/${wall(S)}/${chan}.m3u8`;
    const r1 = await get(srv.port, url);
    assert.equal(r1.status, 200, r1.text);
    const p1 = HLS.parse(r1.text);
    assert.equal(p1.playlistType, 'EVENT');
    assert.equal(p1.endlist, false);
    const first = segsOf(r1.text);
    let later;
    await pollUntil(async () => {
      const r = await get(srv.port, url);
      later = segsOf(r.text);
      return later.length > first.length;
    }, { timeoutMs: 60000, intervalMs: 500 });
    assert.equal(later[0].uri, first[0].uri, 'the same session: the player keeps its token');
    assert.deepEqual(later.slice(0, first.length).map((s) => s.utc), first.map((s) => s.utc));
  });

  it('counts catch-up viewers against max_connections and lists them as "timeshift"', { timeout: 60000 }, async () => {
    const S = Math.floor(segs[0].utc / 1000) + 7;
    const conns = async () => (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items.filter((c) => c.username === 'cuone');
    const r1 = await get(srv.port, `/timeshift/cuone/${PW}/1/${wall(S)}/${chan}.m3u8`);
    assert.equal(r1.status, 200, r1.text);
    const seg1 = segsOf(r1.text)[0].uri;
    assert.equal((await get(srv.port, seg1)).status, 200);
    let mine = await conns();
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.equal(mine[0].kind, 'timeshift');
    assert.equal(mine[0].stream_id, chan);
    // A second viewer (another address: the same title from the same address is
    // the same viewer) on this one-connection line ends the first, newest wins: its token dies.
    const r2 = await get(srv.port, `/timeshift/cuone/${PW}/1/${wall(S + 20)}/${chan}.m3u8`, { localAddress: '127.0.0.2' });
    assert.equal(r2.status, 200);
    assert.equal((await get(srv.port, seg1)).status, 403);
    assert.equal((await get(srv.port, segsOf(r2.text)[0].uri)).status, 200);
    mine = await conns();
    assert.equal(mine.length, 1, JSON.stringify(mine));
    // A TS range counts too: it ends the HLS session.
    const ts = await get(srv.port, `/timeshift/cuone/${PW}/1/${wall(S)}/${chan}.ts`, { timeoutMs: 60000, localAddress: '127.0.0.3' });
    assert.equal(ts.status, 200);
    assert.equal((await get(srv.port, segsOf(r2.text)[0].uri)).status, 403);
  });
});
