// Live engine operations (docs/internals/live.md): slow readers skipped then
// dropped while fast viewers see no gap, failover to a backup UDP source and
// back, the slate when no source works, max_connections (newest wins), a line
// disabled while watching, the CLI's channel/connections commands and
// /metrics, and no ffmpeg left behind after SIGKILL of the server.
// One server, small sources, short engine timers (--live KEY=VALUE).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliOk, freePort, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { get, getJson } from './lib/http.mjs';
import { childPids, ffprobe, pidAlive, pushUdp, tsCheck, tsViewer } from './lib/live.mjs';

const PW = 'Pw.ops-1';
const MARK = `xtmark${process.pid}x${Date.now() % 100000}`;
const AUDIO = 'sine=frequency=440:sample_rate=48000[out1]';
// ~9 Mbit/s of noise at 640x360 (x264 ultrafast, ~15% of a core): fills a
// paused reader's socket buffers (a few MB on loopback) within seconds.
const LAVFI_BUSY = `lavfi:testsrc=size=640x360:rate=25,noise=alls=80:allf=t+u[out0];${AUDIO}`;
const LAVFI_MARKED = `lavfi:testsrc@${MARK}=size=160x90:rate=25[out0];${AUDIO}`;

let dataDir;
let srv;
let busy;
let fo;
let slate;
let marked;
let udpMain;
let udpBackup;
let pushers = [];

const add = async (name, sources) => {
  const args = ['stream', 'add', name, '--data', dataDir];
  for (const s of sources) args.push('--source', s);
  return Number((await cliOk(args)).stdout.trim());
};

before(async () => {
  dataDir = await makeDataDir('live-ops');
  await cliOk(['line', 'add', 'fan', PW, '--data', dataDir, '--max-connections', '0']);
  await cliOk(['line', 'add', 'solo', PW, '--data', dataDir, '--max-connections', '1']);
  await cliOk(['line', 'add', 'doomed', PW, '--data', dataDir, '--max-connections', '0']);
  await cliOk(['line', 'add', 'slowpoke', PW, '--data', dataDir, '--max-connections', '0']);
  udpMain = await freePort();
  do {
    udpBackup = await freePort(); // two probes may be handed the same free port
  } while (udpBackup === udpMain);
  pushers.push(pushUdp(udpMain, { freq: 440 }), pushUdp(udpBackup, { freq: 880 }));
  busy = await add('Busy', [LAVFI_BUSY]);
  fo = await add('Failover', [`udp://127.0.0.1:${udpMain}`, `udp://127.0.0.1:${udpBackup}`]);
  slate = await add('Nothing', [path.join(dataDir, 'missing-source.ts')]);
  marked = await add('Marked', [LAVFI_MARKED]);
  srv = await startServer(dataDir, [
    '--channel-idle', '5',
    '--live', 'watchdog=8', // ffmpeg's default 5 s probe of a UDP input comes first
    '--live', 'failover-after=1',
    '--live', 'primary-retry=2',
    '--live', 'line-check=1',
    '--live', 'slow-lag=1',
    '--live', 'slow-grace=1',
    '--live', 'max-skips=2',
    '--live', 'no-progress=6',
  ]);
});

after(async () => {
  for (const p of pushers) p.kill('SIGKILL');
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

const url = (id, user = 'fan') => `/live/${user}/${PW}/${id}.ts`;
const admin = (id) => getJson(srv.port, `/api/v1/streams/${id}/state`);

describe('slow readers', () => {
  it('a paused reader is skipped forward, then dropped, while fast viewers get every packet', async (t) => {
    const fast = await Promise.all([1, 2, 3].map(() => tsViewer(srv.port, url(busy))));
    await pollUntil(() => fast.every((v) => v.bytes > 0), { timeoutMs: 20000 });
    const slow = await tsViewer(srv.port, url(busy, 'slowpoke'), { pause: true, keep: false });
    assert.equal(slow.status, 200);
    const conns = async () => (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items.filter((c) => c.username === 'slowpoke');
    assert.equal((await conns()).length, 1);
    const in0 = (await admin(busy)).bytes_in;
    const b0 = fast.map((v) => v.bytes);
    const t0 = Date.now();
    // A paused socket never sees the server's close; the registry does.
    await pollUntil(async () => (await conns()).length === 0, { timeoutMs: 60000, intervalMs: 250 });
    const info = await admin(busy);
    assert.ok(info.skips >= 1, `the slow reader was skipped forward (${info.skips} skips)`);
    // The log lines come through the stderr pipe, which may be read after
    // the admin answer that showed the registry empty.
    await srv.waitForLog(/viewer 127\.0\.0\.1 of channel \d+ skipped to the newest keyframe \(slow reader\)/);
    await srv.waitForLog(/disconnected: (too many skips|no progress)/);
    await sleep(1000);
    const in1 = (await admin(busy)).bytes_in;
    const secs = (Date.now() - t0) / 1000;
    for (const [i, v] of fast.entries()) {
      assert.ok(!v.ended, `fast viewer ${i} is still connected`);
      const got = v.bytes - b0[i];
      t.diagnostic(`fast viewer ${i}: ${got} B of ${in1 - in0} B ingested (${(got / (in1 - in0)).toFixed(3)}) over ${secs.toFixed(1)} s; skips ${info.skips}`);
      assert.ok(got >= 0.8 * (in1 - in0), `fast viewer ${i} kept up: ${got} B vs ${in1 - in0} B in over ${secs.toFixed(1)} s`);
      v.close();
      const c = tsCheck(v.buffer());
      assert.equal(c.badSync, 0);
      assert.equal(c.ccErrors, 0, `fast viewer ${i} has no gap`);
    }
    slow.close();
    const m = (await get(srv.port, '/metrics')).text;
    assert.match(m, /xtreamd_viewers_kicked_total\{reason="slow"\} [1-9]/);
  });
});

describe('failover', () => {
  it('killing the primary UDP source switches to the backup, restarting it switches back', async (t) => {
    const [primary, backup] = pushers;
    const v = await tsViewer(srv.port, url(fo), { keep: false });
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    let info;
    await pollUntil(async () => {
      info = await admin(fo);
      return info.state === 'running' && info.source_index === 0;
    }, { timeoutMs: 30000, intervalMs: 250 });
    assert.equal(info.source, `udp://127.0.0.1:${udpMain}`);

    primary.kill('SIGKILL');
    const tKill = Date.now();
    // No silence while the backup is being brought up: within the stall
    // threshold (2 s) the channel shows the slate, and the viewer receives it.
    await pollUntil(async () => (await admin(fo)).state === 'failing', { timeoutMs: 5000, intervalMs: 100 });
    const atSlate = v.bytes;
    const tFailing = Date.now() - tKill;
    await pollUntil(() => v.bytes > atSlate + 20000, { timeoutMs: 4000, intervalMs: 100 });
    t.diagnostic(`failing after ${tFailing} ms, 20 kB of slate after ${Date.now() - tKill} ms`);
    assert.equal((await admin(fo)).source_index, 0, 'the slate played before the watchdog moved to the backup');
    await pollUntil(async () => {
      info = await admin(fo);
      return info.source_index === 1 && info.state === 'running';
    }, { timeoutMs: 30000, intervalMs: 250 });
    assert.equal(info.source, `udp://127.0.0.1:${udpBackup}`);
    t.diagnostic(`on the backup after ${Date.now() - tKill} ms`);
    assert.ok(info.failovers >= 1);
    let b = v.bytes;
    await pollUntil(() => v.bytes > b + 20000, { timeoutMs: 10000 });
    assert.ok(!v.ended, 'the viewer stayed connected through the failover');

    const again = pushUdp(udpMain, { freq: 440 });
    pushers.push(again);
    await pollUntil(async () => (await admin(fo)).source_index === 0, { timeoutMs: 30000, intervalMs: 250 });
    b = v.bytes;
    await pollUntil(() => v.bytes > b + 20000, { timeoutMs: 10000 });
    assert.ok(!v.ended, 'the viewer stayed connected through the failback');
    assert.equal((await admin(fo)).state, 'running');
    v.close();
    for (const p of [backup, again]) p.kill('SIGKILL');
  });
});

describe('slate', () => {
  it('with no working source the slate plays and decodes, and the admin endpoint says slate', async () => {
    const v = await tsViewer(srv.port, url(slate));
    assert.equal(v.status, 200);
    await pollUntil(async () => (await admin(slate)).state === 'slate', { timeoutMs: 20000, intervalMs: 200 });
    await pollUntil(() => v.bytes > 20000, { timeoutMs: 20000 });
    await sleep(5000);
    v.close();
    const buf = v.buffer();
    const c = tsCheck(buf);
    assert.equal(c.firstPid, 0);
    assert.equal(c.badSync, 0);
    assert.equal(c.ccErrors, 0, 'the looped clip keeps its continuity counters');
    const f = path.join(dataDir, 'slate.ts');
    await writeFile(f, buf);
    const p = await ffprobe(f);
    assert.deepEqual(p.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    // Real time, and each loop's timestamps continue the previous one's.
    assert.ok(Number(p.format.duration) >= 4, `slate duration ${p.format.duration}`);
    const info = await admin(slate);
    assert.equal(info.state, 'slate');
  });
});

describe('limits and lines', () => {
  it('max_connections 1: a second session (another IP) closes the oldest one', async () => {
    const first = await tsViewer(srv.port, url(busy, 'solo'), { keep: false });
    await pollUntil(() => first.bytes > 0, { timeoutMs: 20000 });
    const second = await tsViewer(srv.port, url(busy, 'solo'), { keep: false, localAddress: '127.0.0.2' });
    assert.equal(second.status, 200);
    await pollUntil(() => first.ended, { timeoutMs: 5000 });
    const b = second.bytes;
    await pollUntil(() => second.bytes > b + 10000, { timeoutMs: 10000 });
    assert.ok(!second.ended, 'the newest connection is kept');
    const conns = (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items;
    assert.equal(conns.filter((c) => c.username === 'solo').length, 1);
    second.close();
  });

  it('a line disabled while watching is cut', async () => {
    const v = await tsViewer(srv.port, url(busy, 'doomed'), { keep: false });
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    const t0 = Date.now();
    await cliOk(['line', 'set', 'doomed', '--disabled', '--data', dataDir]);
    await pollUntil(() => v.ended, { timeoutMs: 60000, intervalMs: 100 });
    assert.ok(Date.now() - t0 < 60000);
    const r = await get(srv.port, url(busy, 'doomed'));
    assert.notEqual(r.status, 200, 'a disabled line cannot start again');
  });
});

describe('CLI and metrics', () => {
  it('channel list|show|restart and connections [--kill] talk to the running server', async () => {
    const v = await tsViewer(srv.port, url(busy), { keep: false });
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    const list = await cliOk(['channel', 'list', '--data', dataDir]);
    assert.match(list.stdout, /^ID\s+NAME\s+STATE/m);
    assert.match(list.stdout, new RegExp(`^${busy}\\s+Busy\\s+running\\s+1\\s`, 'm'));
    const listJson = JSON.parse((await cliOk(['channel', 'list', '--json', '--data', dataDir])).stdout);
    assert.ok(listJson.some((c) => c.id === busy && c.state === 'running'));
    const show = JSON.parse((await cliOk(['channel', 'show', String(busy), '--data', dataDir])).stdout);
    assert.equal(show.id, busy);
    assert.equal(show.codecs, 'h264+aac');
    assert.ok(show.pid > 0);
    assert.ok(Array.isArray(show.stderr));

    const restarts = show.restarts;
    await cliOk(['channel', 'restart', String(busy), '--data', dataDir]);
    await pollUntil(async () => {
      const i = await admin(busy);
      return i.pid > 0 && i.pid !== show.pid && i.state === 'running';
    }, { timeoutMs: 20000, intervalMs: 200 });
    assert.ok((await admin(busy)).restarts >= restarts);
    const b = v.bytes;
    await pollUntil(() => v.bytes > b + 10000, { timeoutMs: 15000 });
    assert.ok(!v.ended, 'viewers survive a restart');

    const conns = await cliOk(['connections', '--data', dataDir]);
    assert.match(conns.stdout, /^ID\s+KIND\s+USER/m);
    const mine = JSON.parse((await cliOk(['connections', '--json', '--data', dataDir])).stdout).find((c) => c.username === 'fan' && c.stream_id === busy);
    assert.ok(mine, 'the viewer is listed');
    assert.match(conns.stdout, new RegExp(`^${mine.id}\\s+\\S+\\s+fan\\s`, 'm'));
    await cliOk(['connections', '--kill', String(mine.id), '--data', dataDir]);
    await pollUntil(() => v.ended, { timeoutMs: 5000 });
    const bad = await runCli(['connections', '--kill', '999999', '--data', dataDir]);
    assert.notEqual(bad.code, 0, 'killing an unknown connection fails');

    const m = await get(srv.port, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers['content-type'], /^text\/plain/);
    assert.match(m.text, new RegExp(`^xtreamd_channel_viewers\\{channel="${busy}",state="\\w+"\\} \\d+$`, 'm'));
    assert.match(m.text, /^# TYPE xtreamd_live_bytes_out_total counter$/m);
    assert.match(m.text, /^xtreamd_live_bytes_out_total [1-9]\d*$/m);
    assert.match(m.text, /^xtreamd_channels_running [1-9]\d*$/m);
    for (const line of m.text.split('\n')) if (line && !line.startsWith('#')) assert.match(line, /^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/, line);
  });
});

describe('stream set', () => {
  it("--epg-id '' and --logo '' clear the fields", async () => {
    await cliOk(['stream', 'set', String(marked), '--epg-id', 'marked.tv', '--logo', 'http://example.com/m.png', '--data', dataDir]);
    let s = JSON.parse((await cliOk(['stream', 'show', String(marked), '--json', '--data', dataDir])).stdout);
    assert.equal(s.epg_id, 'marked.tv');
    assert.equal(s.logo, 'http://example.com/m.png');
    await cliOk(['stream', 'set', String(marked), '--epg-id', '', '--logo', '', '--data', dataDir]);
    s = JSON.parse((await cliOk(['stream', 'show', String(marked), '--json', '--data', dataDir])).stdout);
    assert.equal(s.epg_id, '');
    assert.equal(s.logo, '');
    assert.equal(s.sources[0], LAVFI_MARKED, 'the sources are left alone');
  });
});

/** PIDs whose command line contains the marker. */
function markedPids() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(MARK)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('crash', () => {
  it('SIGKILL of the server leaves no ffmpeg child behind', async () => {
    const v = await tsViewer(srv.port, url(marked), { keep: false });
    await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
    const kids = childPids(srv.child.pid);
    assert.ok(kids.length >= 1);
    assert.ok(markedPids().length >= 1, 'the marked ffmpeg runs');
    srv.child.kill('SIGKILL');
    await pollUntil(() => !pidAlive(srv.child.pid), { timeoutMs: 15000 });
    srv = null;
    await pollUntil(() => markedPids().length === 0 && kids.every((k) => !pidAlive(k)), { timeoutMs: 15000 });
    v.close();
  });
});
