// Adaptive-bitrate ladders (issue 14 item 2; docs/internals/live.md "ABR
// ladders"): a profile with 3 renditions made by one ffmpeg. The session URL
// answers a master playlist that hls-parser reads (BANDWIDTH,
// AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE, CODECS per variant); the
// variants list the same media sequence numbers, and the segments under one
// number start on a keyframe at the same PTS in every variant (ffprobe);
// ffmpeg plays the master playlist; a TS viewer gets the top rendition, or
// the one named by ?q=; the channel JSON and /metrics carry each rendition's
// bitrate; the CLI and the admin API store and refuse ladders.
// Kept cheap: 320x180 and below, 10 fps, x264 ultrafast.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, getJson } from './lib/http.mjs';
import { getHeadOnly } from './lib/live.mjs';
import { parseExposition, samples } from './lib/prom.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';

const execFileP = promisify(execFile);
const PW = 'Pw.abr-1';
const ROOT_PW = 'Root.abr-Pw-1';
const SRC = 'lavfi:testsrc2=size=320x180:rate=10[out0];sine=frequency=440:sample_rate=48000[out1]';
const RUNGS = [[320, 180, 300], [240, 136, 200], [160, 90, 100]];

let dataDir;
let srv;
let chan;

before(async () => {
  dataDir = await makeDataDir('live-abr');
  await cliOk(['line', 'add', 'abr', PW, '--data', dataDir, '--max-connections', '0']);
  await addAdmin(dataDir, 'root', ROOT_PW);
  await cliOk(['profile', 'add', 'ladder', '--data', dataDir, '--fps', '10', '--gop', '1',
    '--ladder', RUNGS.map(([w, h, b]) => `${w}x${h}:${b}`).join(','), '--audio-bitrate', '32',
    '--extra-args', '-preset ultrafast -tune zerolatency']);
  chan = Number((await cliOk(['stream', 'add', 'Ladder', '--source', SRC, '--data', dataDir])).stdout.trim());
  await cliOk(['stream', 'set', String(chan), '--profile', 'ladder', '--data', dataDir]);
  srv = await startServer(dataDir, ['--live', 'hls-segment=2', '--channel-idle', '20']);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

const masterUrl = () => `/live/abr/${PW}/${chan}.m3u8`;

async function probe(file, extra = []) {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0',
    '-show_entries', 'stream=width,height', ...extra, '-of', 'json', file], { timeout: 60000 });
  return JSON.parse(stdout);
}

async function fetchTo(target, name) {
  const r = await get(srv.port, target, { timeoutMs: 30000 });
  assert.equal(r.status, 200, `${target}: ${r.text}`);
  const file = path.join(dataDir, name);
  await writeFile(file, r.raw);
  return file;
}

/** The variant playlists, parsed; seq of each segment from its URI. */
async function variants(uris) {
  const out = [];
  for (const u of uris) {
    const r = await get(srv.port, u, { timeoutMs: 30000 });
    assert.equal(r.status, 200, r.text);
    const pl = HLS.parse(r.text);
    assert.equal(pl.isMasterPlaylist, false);
    out.push(pl);
  }
  return out;
}

describe('an ABR ladder over HLS', () => {
  let mp;

  it('answers a master playlist with every variant\'s attributes', async () => {
    const r = await get(srv.port, masterUrl(), { timeoutMs: 40000 });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'], /mpegurl/);
    mp = HLS.parse(r.text);
    assert.equal(mp.isMasterPlaylist, true, r.text);
    assert.equal(mp.variants.length, 3);
    mp.variants.forEach((v, i) => {
      const [w, h, kbps] = RUNGS[i];
      assert.deepEqual(v.resolution, { width: w, height: h });
      assert.equal(v.frameRate, 10);
      assert.match(v.codecs, /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      assert.ok(v.bandwidth >= (kbps + 32) * 1000, `BANDWIDTH ${v.bandwidth}`);
      assert.ok(v.averageBandwidth >= (kbps + 32) * 1000 && v.averageBandwidth <= v.bandwidth, `AVERAGE-BANDWIDTH ${v.averageBandwidth}`);
      assert.match(v.uri, new RegExp(`^/hls/[0-9a-f]{32}/${i}\\.m3u8$`));
    });
  });

  it('the variants share media sequence numbers, and each number\'s segments start on a keyframe at the same PTS', async (t) => {
    let pls;
    // wait until every variant lists at least 3 segments (cold start)
    await pollUntil(async () => {
      pls = await variants(mp.variants.map((v) => v.uri));
      return pls.every((p) => p.segments.length >= 3);
    }, { timeoutMs: 60000, intervalMs: 500 });
    const seqs = pls.map((p) => p.segments.map((s, k) => {
      const m = s.uri.match(/\/(\d)_(\d+)\.ts$/);
      assert.ok(m, s.uri);
      // the URI's number is the segment's media sequence number
      assert.equal(Number(m[2]), p.mediaSequenceBase + k, `${s.uri} at position ${k} of ${p.mediaSequenceBase}`);
      return Number(m[2]);
    }));
    const common = seqs[0].filter((q) => seqs.every((l) => l.includes(q)));
    assert.ok(common.length >= 2, `common sequence numbers ${common} of ${JSON.stringify(seqs)}`);
    for (const q of common.slice(-2)) {
      const starts = [];
      for (let i = 0; i < 3; i++) {
        const seg = pls[i].segments.find((s) => s.uri.endsWith(`_${q}.ts`));
        const file = await fetchTo(seg.uri, `seg-${i}-${q}.ts`);
        const p = await probe(file, ['-show_entries', 'packet=pts_time,flags']);
        assert.deepEqual({ w: p.streams[0].width, h: p.streams[0].height }, { w: RUNGS[i][0], h: RUNGS[i][1] });
        const first = p.packets.find((x) => x.pts_time !== undefined);
        assert.ok(first.flags.startsWith('K'), `variant ${i} segment ${q} starts with a keyframe (${first.flags})`);
        starts.push(Number(first.pts_time));
      }
      t.diagnostic(`segment ${q}: first PTS ${starts.map((x) => x.toFixed(3)).join(' / ')}`);
      for (const s of starts) assert.ok(Math.abs(s - starts[0]) < 0.001, `segment ${q} starts at ${starts}`);
    }
  });

  it('ffmpeg plays the master playlist', async () => {
    const out = path.join(dataDir, 'played.ts');
    await execFileP('ffmpeg', ['-v', 'error', '-y', '-i', `http://127.0.0.1:${srv.port}${masterUrl()}`,
      '-map', '0:v:0', '-t', '3', '-c', 'copy', '-f', 'mpegts', out], { timeout: 90000 });
    const p = await probe(out, ['-count_frames', '-show_entries', 'stream=nb_read_frames']);
    assert.ok(Number(p.streams[0].nb_read_frames) >= 10, `frames ${p.streams[0].nb_read_frames}`);
    assert.ok(RUNGS.some(([w, h]) => p.streams[0].width === w && p.streams[0].height === h), JSON.stringify(p.streams[0]));
  });
  it('after its ffmpeg is killed, every variant resumes on the same keyframe under the same number', async (t) => {
    const st0 = await getJson(srv.port, `/api/v1/streams/${chan}/state`);
    assert.ok(st0.pid > 0, JSON.stringify(st0));
    process.kill(st0.pid, 'SIGKILL');
    await pollUntil(async () => {
      const st = await getJson(srv.port, `/api/v1/streams/${chan}/state`);
      return st.restarts > st0.restarts && st.state === 'running';
    }, { timeoutMs: 40000, intervalMs: 250 });
    // the first two segments after the discontinuity, listed by all three
    let pls;
    let after;
    await pollUntil(async () => {
      pls = await variants(mp.variants.map((v) => v.uri));
      after = pls.map((p) => {
        const k = p.segments.findLastIndex((s) => s.discontinuity);
        return k < 0 ? [] : p.segments.slice(k, k + 2).map((s) => Number(s.uri.match(/_(\d+)\.ts$/)[1]));
      });
      return after.every((a) => a.length === 2);
    }, { timeoutMs: 60000, intervalMs: 500 });
    assert.deepEqual(after[1], after[0], JSON.stringify(after));
    assert.deepEqual(after[2], after[0], JSON.stringify(after));
    for (const q of after[0]) {
      const starts = [];
      for (let i = 0; i < 3; i++) {
        const seg = pls[i].segments.find((s) => s.uri.endsWith(`_${q}.ts`));
        const file = await fetchTo(seg.uri, `restart-${i}-${q}.ts`);
        const p = await probe(file, ['-show_entries', 'packet=pts_time,flags']);
        const first = p.packets.find((x) => x.pts_time !== undefined);
        assert.ok(first.flags.startsWith('K'), `variant ${i} segment ${q}`);
        starts.push(Number(first.pts_time));
      }
      t.diagnostic(`after the restart, segment ${q}: first PTS ${starts.map((x) => x.toFixed(3)).join(' / ')}`);
      for (const s of starts) assert.ok(Math.abs(s - starts[0]) < 0.001, `segment ${q} starts at ${starts}`);
    }
  });
});

describe('an ABR ladder over MPEG-TS', () => {
  const ts = async (q, name) => {
    const r = await getHeadOnly(srv.port, `/live/abr/${PW}/${chan}.ts${q === undefined ? '' : `?q=${q}`}`, { bodyMs: 2500, timeoutMs: 40000 });
    assert.equal(r.status, 200);
    const file = path.join(dataDir, name);
    await writeFile(file, r.raw);
    return (await probe(file)).streams[0];
  };

  it('gives the top rendition, or the one ?q= names', async () => {
    assert.deepEqual(await ts(undefined, 'top.ts'), { width: 320, height: 180 });
    assert.deepEqual(await ts(1, 'q1.ts'), { width: 240, height: 136 });
    assert.deepEqual(await ts(2, 'q2.ts'), { width: 160, height: 90 });
    for (const bad of ['3', '-1', 'x']) {
      const r = await get(srv.port, `/live/abr/${PW}/${chan}.ts?q=${bad}`);
      assert.equal(r.status, 400, `q=${bad}`);
      assert.match(r.text, /bad q/);
    }
  });

  it('reports each rendition\'s bitrate in the channel JSON and /metrics', async () => {
    const viewer = getHeadOnly(srv.port, `/live/abr/${PW}/${chan}.ts`, { bodyMs: 8000, timeoutMs: 60000 });
    let st;
    await pollUntil(async () => {
      st = await getJson(srv.port, `/api/v1/streams/${chan}/state`);
      return st.renditions.length === 3 && st.renditions.every((r) => r.output_kbps > 0);
    }, { timeoutMs: 30000, intervalMs: 250 });
    assert.deepEqual(st.renditions.map((r) => [r.width, r.height, r.bitrate_kbps]), RUNGS);
    const fam = parseExposition((await get(srv.port, '/metrics')).text);
    const rows = samples(fam, 'xtreamd_channel_rendition_bits_per_second', { channel: String(chan) });
    assert.equal(rows.length, 3, JSON.stringify(rows));
    for (const [i, [w, h]] of RUNGS.entries()) {
      const row = rows.find((x) => x.labels.rendition === String(i));
      assert.equal(row.labels.resolution, `${w}x${h}`);
      assert.ok(row.value > 0, `rendition ${i}: ${row.value}`);
    }
    assert.equal((await viewer).status, 200);
  });
});

describe('ladders in the CLI and the admin API', () => {
  it('refuses a bad ladder naming --ladder / renditions, and round-trips a good one', async () => {
    const bad = [
      [['--fps', '10', '--ladder', '320x180:300,240x136:400'], /--ladder: below the rendition above it/],
      [['--fps', '10', '--ladder', '320x180'], /--ladder: rendition 0: WIDTHxHEIGHT:KBPS/],
      [['--ladder', '320x180:300,160x90:100'], /--fps: a ladder needs a frame rate/],
      [['--fps', '10', '--video-codec', 'copy', '--ladder', '320x180:300'], /--width: needs a video codec other than copy/],
      [['--fps', '10', '--ladder', '1,2,3,4,5'], /--ladder: /],
    ];
    for (const [args, re] of bad) {
      const r = await runCli(['profile', 'add', 'x', '--data', dataDir, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const show = JSON.parse((await cliOk(['profile', 'show', 'ladder', '--json', '--data', dataDir])).stdout);
    assert.deepEqual(show.renditions.map((r) => [r.width, r.height, r.bitrate_kbps]), RUNGS);
    assert.equal(show.width, 320, 'a ladder\'s size is its top rendition\'s');
    assert.ok(show.ffmpeg_args.includes('pipe:4'), show.ffmpeg_args.join(' '));

    const c = new AdminClient(srv.port);
    await c.login('root', ROOT_PW);
    const body = { name: 'api-abr', fps: 25, renditions: [{ width: 1280, height: 720, bitrate_kbps: 2800, maxrate_kbps: 3000 }, { width: 640, height: 360, bitrate_kbps: 900 }] };
    const created = await c.ok('POST', '/api/v1/profiles', body);
    assert.deepEqual(created.renditions, [{ width: 1280, height: 720, bitrate_kbps: 2800, maxrate_kbps: 3000 }, { width: 640, height: 360, bitrate_kbps: 900, maxrate_kbps: 0 }]);
    assert.equal(created.bitrate_kbps, 2800);
    const patched = await c.ok('PATCH', `/api/v1/profiles/${created.id}`, { renditions: [] });
    assert.deepEqual(patched.renditions, []);
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'y', fps: 25, renditions: [{ width: 640, height: 360, bitrate_kbps: 900 }, { width: 1280, height: 720, bitrate_kbps: 2800 }] }), 422, 'VALIDATION_FAILED', ['renditions[1].bitrate_kbps']);
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'y', fps: 25, renditions: [{ width: 640, colour: 1 }] }), 422, 'VALIDATION_FAILED', ['renditions[0].colour']);
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'y', renditions: {} }), 422, 'VALIDATION_FAILED', ['renditions']);
  });
});

describe('a ladder reshaped while it plays', () => {
  it('restarts with the new renditions: the master lists them, a viewer of a removed one is ended', async () => {
    const gone = getHeadOnly(srv.port, `/live/abr/${PW}/${chan}.ts?q=2`, { bodyMs: 60000, timeoutMs: 90000 });
    let st;
    await pollUntil(async () => {
      st = await getJson(srv.port, `/api/v1/streams/${chan}/state`);
      return st.state === 'running' && st.renditions.length === 3 && st.renditions[2].output_kbps > 0;
    }, { timeoutMs: 30000, intervalMs: 250 });
    const first = HLS.parse((await get(srv.port, masterUrl(), { timeoutMs: 40000 })).text);
    assert.equal(first.variants.length, 3);
    const from = srv.stderr.length;
    await cliOk(['profile', 'set', 'ladder', '--ladder', '320x180:300,160x90:100', '--data', dataDir]);
    await srv.waitForLog(new RegExp(`channel ${chan}: sources or profile changed, restarting`), { timeoutMs: 20000, from });
    const t0 = Date.now();
    assert.equal((await gone).status, 200);
    assert.ok(Date.now() - t0 < 30000, 'the viewer of the removed rendition was ended, not left waiting');
    let mp;
    await pollUntil(async () => {
      mp = HLS.parse((await get(srv.port, masterUrl(), { timeoutMs: 40000 })).text);
      return mp.variants.length === 2;
    }, { timeoutMs: 30000, intervalMs: 500 });
    assert.deepEqual(mp.variants.map((v) => v.resolution), [{ width: 320, height: 180 }, { width: 160, height: 90 }]);
    let pl;
    await pollUntil(async () => {
      const r = await get(srv.port, mp.variants[1].uri, { timeoutMs: 40000 });
      pl = r.status === 200 ? HLS.parse(r.text) : null;
      return pl && pl.segments.length >= 1;
    }, { timeoutMs: 40000, intervalMs: 500 });
    const file = await fetchTo(pl.segments[pl.segments.length - 1].uri, 'reshaped.ts');
    assert.deepEqual((await probe(file)).streams[0], { width: 160, height: 90 });
    assert.equal((await get(srv.port, mp.variants[1].uri.replace(/1\.m3u8$/, '2.m3u8'))).status, 404);
  });
});
