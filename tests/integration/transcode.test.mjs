// Transcode profiles (docs/operator-guide.md "Transcoding"): a generated
// source transcoded by a profile decodes at the profile's size, frame rate,
// keyframe interval and roughly its bitrate; a profile asking for hardware
// this machine lacks falls back to software with a visible state (channel
// JSON, /metrics, the log) and the channel keeps playing; ffmpeg's -progress
// numbers reach the channel JSON and /metrics; the CLI's rules and refusals.
// Kept cheap: tiny pictures, x264 ultrafast, a few seconds of video.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, getJson } from './lib/http.mjs';
import { getHeadOnly } from './lib/live.mjs';
import { parseExposition, samples, value } from './lib/prom.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';

const execFileP = promisify(execFile);
const PW = 'Pw.tx-1';
const ROOT_PW = 'Root.tx-Pw-1';
const AUDIO = 'sine=frequency=440:sample_rate=48000[out1]';
// 30 fps and 400x224 at the source, so the profile's 25 fps and 320x180 are
// its own doing; testsrc2 has enough detail for the encoder to use its rate.
const SRC = `lavfi:testsrc2=size=400x224:rate=30[out0];${AUDIO}`;

let dataDir;
let srv;
let small;
let gpu;

const add = async (name, profile) => {
  const id = Number((await cliOk(['stream', 'add', name, '--source', SRC, '--data', dataDir])).stdout.trim());
  await cliOk(['stream', 'set', String(id), '--profile', profile, '--data', dataDir]);
  return id;
};

before(async () => {
  dataDir = await makeDataDir('transcode');
  await cliOk(['line', 'add', 'tx', PW, '--data', dataDir, '--max-connections', '0']);
  await addAdmin(dataDir, 'root', ROOT_PW);
  await cliOk(['profile', 'add', 'small', '--data', dataDir, '--width', '320', '--height', '180', '--fps', '25',
    '--rate-control', 'cbr', '--bitrate', '300', '--gop', '1', '--audio-bitrate', '64',
    '--extra-args', '-preset ultrafast -tune zerolatency']);
  await cliOk(['profile', 'add', 'gpu', '--data', dataDir, '--hw', 'vaapi', '--width', '160', '--height', '90',
    '--bitrate', '200', '--extra-args', '-preset ultrafast']);
  small = await add('Small', 'small');
  gpu = await add('Gpu', 'gpu');
  srv = await startServer(dataDir, ['--channel-idle', '5']);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

const url = (id) => `/live/tx/${PW}/${id}.ts`;
const state = (id) => getJson(srv.port, `/api/v1/streams/${id}/state`);

/** Seconds of the channel's TS into a file. */
async function capture(id, name, ms) {
  const r = await getHeadOnly(srv.port, url(id), { bodyMs: ms, timeoutMs: ms + 30000 });
  assert.equal(r.status, 200);
  const file = path.join(dataDir, name);
  await writeFile(file, r.raw);
  return { file, bytes: r.raw.length };
}

async function probeVideo(file) {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames',
    '-show_entries', 'stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_read_frames',
    '-show_entries', 'packet=pts_time,size,flags', '-of', 'json', file], { timeout: 60000 });
  return JSON.parse(stdout);
}

describe('a transcoded channel', () => {
  it('decodes at the profile\'s size, frame rate, GOP and about its bitrate', async (t) => {
    // Everything measured on what a viewer got, after the first keyframe.
    const { file } = await capture(small, 'small.ts', 9000);
    const p = await probeVideo(file);
    const s = p.streams[0];
    assert.equal(s.codec_name, 'h264');
    assert.equal(s.width, 320);
    assert.equal(s.height, 180);
    assert.equal(s.r_frame_rate, '25/1');
    const pk = p.packets.filter((x) => x.pts_time !== undefined).map((x) => ({ t: Number(x.pts_time), size: Number(x.size), key: x.flags.startsWith('K') }));
    pk.sort((a, b) => a.t - b.t);
    assert.ok(pk.length >= 50, `${pk.length} video packets`);
    const span = pk[pk.length - 1].t - pk[0].t;
    const fps = (pk.length - 1) / span;
    const keys = pk.filter((x) => x.key).map((x) => x.t);
    const gaps = keys.slice(1).map((k, i) => k - keys[i]);
    // The first and last second may hold a partial rate-control window.
    const inner = pk.filter((x) => x.t >= pk[0].t + 1 && x.t <= pk[pk.length - 1].t - 1);
    const kbps = (inner.reduce((a, x) => a + x.size, 0) * 8) / ((inner[inner.length - 1].t - inner[0].t) * 1000);
    t.diagnostic(`${pk.length} frames over ${span.toFixed(2)} s = ${fps.toFixed(2)} fps; keyframe gaps ${gaps.map((g) => g.toFixed(2)).join(' ')}; video ${kbps.toFixed(0)} kbit/s`);
    assert.ok(Math.abs(fps - 25) < 1, `frame rate ${fps}`);
    assert.ok(gaps.length >= 3, `${keys.length} keyframes`);
    for (const g of gaps) assert.ok(Math.abs(g - 1) < 0.05, `a keyframe every second (gap ${g})`);
    assert.ok(kbps > 300 * 0.5 && kbps < 300 * 1.5, `video bitrate ${kbps} kbit/s for a 300 kbit/s profile`);
  });

  it('reports the profile, the encoder and ffmpeg\'s progress in the channel JSON and /metrics', async () => {
    let st;
    await pollUntil(async () => {
      st = await state(small);
      return st.ffmpeg && st.ffmpeg.speed !== null;
    }, { timeoutMs: 20000, intervalMs: 250 }).catch(() => {});
    // Started by the previous test; kept by --channel-idle, or started again here.
    if (!st.ffmpeg) {
      const r = getHeadOnly(srv.port, url(small), { bodyMs: 6000 });
      await pollUntil(async () => {
        st = await state(small);
        return st.ffmpeg && st.ffmpeg.speed !== null;
      }, { timeoutMs: 30000, intervalMs: 250 });
      await r;
    }
    assert.deepEqual(
      { profile: st.transcode.profile, hw: st.transcode.hw_backend, used: st.transcode.hw_backend_used, encoder: st.transcode.encoder, fallback: st.transcode.fallback },
      { profile: 'small', hw: 'none', used: 'none', encoder: 'libx264', fallback: false });
    assert.ok(st.ffmpeg.speed > 0, `speed ${st.ffmpeg.speed}`);
    assert.ok(st.ffmpeg.output_kbps > 0, `output ${st.ffmpeg.output_kbps} kbit/s`);
    assert.equal(typeof st.ffmpeg.dropped_frames, 'number');
    assert.equal(typeof st.ffmpeg.duplicated_frames, 'number');
    // no progress line leaks into the operator's stderr lines
    assert.ok(!st.stderr.some((l) => /^(speed|frame|progress)=/.test(l)), st.stderr.join('\n'));
    const fam = parseExposition((await get(srv.port, '/metrics')).text);
    const lab = { channel: String(small) };
    if (st.state !== 'stopped') {
      assert.ok(value(fam, 'xtreamd_channel_ffmpeg_speed', lab) > 0);
      assert.ok(value(fam, 'xtreamd_channel_ffmpeg_output_bits_per_second', lab) > 0);
      assert.equal(samples(fam, 'xtreamd_channel_ffmpeg_dropped_frames', lab).length, 1);
    }
    assert.equal(value(fam, 'xtreamd_channel_transcode_fallback', lab), 0);
  });
});

describe('a profile changed while its channel runs', () => {
  it('restarts the channel with the new settings', async () => {
    const viewer = getHeadOnly(srv.port, url(small), { bodyMs: 12000, timeoutMs: 60000 });
    await pollUntil(async () => (await state(small)).state === 'running', { timeoutMs: 30000, intervalMs: 250 });
    const before = (await state(small)).restarts;
    const from = srv.stderr.length;
    await cliOk(['profile', 'set', 'small', '--bitrate', '250', '--data', dataDir]);
    await srv.waitForLog(new RegExp(`channel ${small}: sources or profile changed, restarting`), { timeoutMs: 20000, from });
    await pollUntil(async () => (await state(small)).restarts > before, { timeoutMs: 20000, intervalMs: 250 });
    await cliOk(['profile', 'set', 'small', '--bitrate', '300', '--data', dataDir]);
    assert.equal((await viewer).status, 200);
  });
});

describe('hardware fallback', () => {
  it('a vaapi profile on a machine without the device encodes in software, visibly, and plays', async () => {
    const { file } = await capture(gpu, 'gpu.ts', 5000);
    const p = await probeVideo(file);
    assert.equal(p.streams[0].codec_name, 'h264');
    assert.equal(p.streams[0].width, 160);
    assert.equal(p.streams[0].height, 90);
    const st = await state(gpu);
    assert.equal(st.transcode.profile, 'gpu');
    assert.equal(st.transcode.hw_backend, 'vaapi');
    assert.equal(st.transcode.hw_backend_used, 'none');
    assert.equal(st.transcode.encoder, 'libx264');
    assert.equal(st.transcode.fallback, true);
    assert.ok(st.transcode.fallbacks >= 1);
    await srv.waitForLog(/profile gpu wants the vaapi encoder, which this machine lacks: encoding with libx264 instead/);
    const fam = parseExposition((await get(srv.port, '/metrics')).text);
    assert.equal(value(fam, 'xtreamd_channel_transcode_fallback', { channel: String(gpu) }), 1);
    assert.ok(value(fam, 'xtreamd_transcode_fallbacks_total') >= 1);
    // the CLI shows the same state
    const show = JSON.parse((await cliOk(['channel', 'show', String(gpu), '--data', dataDir])).stdout);
    assert.equal(show.transcode.fallback, true);
  });
});

describe('profiles on the command line', () => {
  it('refuses bad values naming the option, and unknown profiles', async () => {
    const bad = [
      [['--extra-args', '-i /etc/passwd'], /--extra-args: option '-i' is not allowed/],
      [['--extra-args', '-filter_complex x'], /--extra-args: option '-filter_complex' is not allowed/],
      [['--extra-args', '-x264-params stats=/tmp/x'], /--extra-args: bad value/],
      [['--width', '321'], /--width: /],
      [['--hw', 'cuda'], /--hw: one of none, vaapi, nvenc, qsv/],
      [['--video-codec', 'copy', '--fps', '25'], /--fps: needs a video codec other than copy/],
      [['--logo', 'relative.png'], /--logo: /],
    ];
    for (const [args, re] of bad) {
      const r = await runCli(['profile', 'add', 'x', '--data', dataDir, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const dup = await runCli(['profile', 'add', 'small', '--data', dataDir]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /a profile named 'small' exists/);
    const unknown = await runCli(['stream', 'set', String(small), '--profile', 'nope', '--data', dataDir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no profile 'nope'/);
    const list = JSON.parse((await cliOk(['profile', 'list', '--json', '--data', dataDir])).stdout);
    assert.deepEqual(list.map((p) => p.name), ['gpu', 'small']);
    const show = JSON.parse((await cliOk(['profile', 'show', 'small', '--json', '--data', dataDir])).stdout);
    assert.equal(show.streams, 1);
    assert.ok(show.ffmpeg_args.includes('scale=320:180,fps=25,format=yuv420p'), show.ffmpeg_args.join(' '));
  });

  it('copy puts a stream back to passing its source through', async () => {
    const id = Number((await cliOk(['stream', 'add', 'Back', '--source', SRC, '--data', dataDir])).stdout.trim());
    await cliOk(['stream', 'set', String(id), '--profile', 'small', '--data', dataDir]);
    let s = JSON.parse((await cliOk(['stream', 'show', String(id), '--json', '--data', dataDir])).stdout);
    assert.ok(s.transcode_profile_id > 0);
    await cliOk(['stream', 'set', String(id), '--profile', 'copy', '--data', dataDir]);
    s = JSON.parse((await cliOk(['stream', 'show', String(id), '--json', '--data', dataDir])).stdout);
    assert.equal(s.transcode_profile_id, null);
    // deleting a profile puts its streams back to copy
    await cliOk(['stream', 'set', String(id), '--profile', 'gpu', '--data', dataDir]);
    await cliOk(['profile', 'add', 'tmp', '--data', dataDir]);
    await cliOk(['stream', 'set', String(id), '--profile', 'tmp', '--data', dataDir]);
    await cliOk(['profile', 'del', 'tmp', '--data', dataDir]);
    s = JSON.parse((await cliOk(['stream', 'show', String(id), '--json', '--data', dataDir])).stdout);
    assert.equal(s.transcode_profile_id, null);
  });
});

describe('the admin API', () => {
  it('creates, reads, changes and deletes profiles; streams name them by id', async () => {
    const c = new AdminClient(srv.port);
    await c.login('root', ROOT_PW);
    const created = await c.ok('POST', '/api/v1/profiles', { name: 'api-sd', width: 640, height: 360, rate_control: 'cbr', bitrate_kbps: 900, gop_seconds: 2, extra_args: '-preset veryfast' });
    assert.equal(created.name, 'api-sd');
    assert.equal(created.video_codec, 'libx264');
    assert.equal(created.hw_backend, 'none');
    assert.equal(created.rate_control, 'cbr');
    assert.equal(created.width, 640);
    assert.equal(created.extra_args, '-preset veryfast');
    const list = await c.ok('GET', '/api/v1/profiles');
    assert.deepEqual(list.items.map((p) => p.name).sort(), ['api-sd', 'gpu', 'small']);
    assert.equal(list.total, 3);
    // refusals name the field
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'x', extra_args: '-f null' }), 422, 'VALIDATION_FAILED', ['extra_args']);
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'x', hw_backend: 'cuda' }), 422, 'VALIDATION_FAILED', ['hw_backend']);
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'x', width: 'big' }), 422, 'VALIDATION_FAILED', ['width']);
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'x', colour: 1 }), 422, 'VALIDATION_FAILED', ['colour']);
    assertProblem(await c.call('POST', '/api/v1/profiles', { name: 'small' }), 409, 'ALREADY_EXISTS');
    assertProblem(await c.call('PATCH', `/api/v1/profiles/${created.id}`, { fps: 500 }), 422, 'VALIDATION_FAILED', ['fps']);
    const patched = await c.ok('PATCH', `/api/v1/profiles/${created.id}`, { bitrate_kbps: 1200 });
    assert.equal(patched.bitrate_kbps, 1200);
    assert.equal(patched.width, 640, 'a merge patch keeps what it does not name');
    // a stream names a profile by id; an unknown id is refused
    const sid = Number((await cliOk(['stream', 'add', 'Api', '--source', SRC, '--data', dataDir])).stdout.trim());
    const s = await c.ok('PATCH', `/api/v1/streams/${sid}`, { transcode_profile_id: created.id });
    assert.equal(s.transcode_profile_id, created.id);
    assertProblem(await c.call('PATCH', `/api/v1/streams/${sid}`, { transcode_profile_id: 999999 }), 422, null, ['transcode_profile_id']);
    assert.equal((await c.call('DELETE', `/api/v1/profiles/${created.id}`)).status, 204);
    assert.equal((await c.call('GET', `/api/v1/profiles/${created.id}`)).status, 404);
    const back = await c.ok('GET', `/api/v1/streams/${sid}`);
    assert.equal(back.transcode_profile_id ?? 0, 0, 'the stream went back to copy');
  });
});

describe('the hardware encoders probe', () => {
  it('a backend counts only when ffmpeg lists its encoder', async () => {
    // Devices stand in through XTREAMD_HW_DEVICES; an ffmpeg wrapper answers
    // -encoders with h264_vaapi but no h264_qsv (everything else: ffmpeg).
    const dir = await makeDataDir('transcode-hw');
    const wrapper = path.join(dir, 'ffmpeg-wrapper.sh');
    await writeFile(wrapper, `#!/bin/sh
if [ "$1" = "-hide_banner" ] && [ "$2" = "-encoders" ]; then
  printf ' V....D libx264              libx264 H.264\\n V....D h264_vaapi           H.264/AVC (VAAPI)\\n'
  exit 0
fi
exec ffmpeg "$@"
`);
    await chmod(wrapper, 0o755);
    const s2 = await startServer(dir, ['--ffmpeg', wrapper], { env: { XTREAMD_HW_DEVICES: 'vaapi,qsv' } });
    try {
      await s2.waitForLog(/hardware encoder devices: vaapi yes, nvenc no, qsv yes/, { timeoutMs: 20000 });
      await s2.waitForLog(/hardware encoder vaapi: available/, { timeoutMs: 20000 });
      await s2.waitForLog(/hardware encoder qsv: device found, but ffmpeg lacks its encoder: software is used/, { timeoutMs: 20000 });
    } finally {
      await s2.stopClean();
      await removeDir(dir);
    }
  });
});
