// TV archive recorder (docs/internals/archive.md): an archived lavfi channel
// runs without viewers and records keyframe-aligned segments into per-period
// .ts files with a checksummed index; the channel JSON and /metrics show it;
// retention prunes by time (a "day" shortened with --archive day-seconds);
// a crashed server (SIGKILL) leaves an archive that reads back, is repaired
// and resumed; a full filesystem (a small tmpfs made here) stops recording
// with state disk_full, never corrupts an index, and recording recovers when
// space returns; a hand-over to a new server (same data folder) never has two
// recorders appending to the same files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { HOST, Server, adminTokens, binPath, cliOk, databaseEnv, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { get, getJson } from './lib/http.mjs';
import { ffprobe, LAVFI_SMALL } from './lib/live.mjs';
import { parseExposition, value } from './lib/prom.mjs';

const REC = 48;
const MAGIC = 0x31524158;

/** The valid records of an index file, and whether the file had anything else. */
function readIndex(file, tsSize) {
  const b = readFileSync(file);
  const recs = [];
  let prevEnd = 0;
  for (let off = 0; off + REC <= b.length; off += REC) {
    const r = b.subarray(off, off + REC);
    if (r.readUInt32LE(0) !== MAGIC) break;
    if ((zlib.crc32 ? zlib.crc32(r.subarray(0, 44)) : crc32(r.subarray(0, 44))) !== r.readUInt32LE(44)) break;
    const rec = {
      flags: r.readUInt32LE(4),
      utc: Number(r.readBigInt64LE(8)),
      offset: Number(r.readBigUInt64LE(24)),
      length: Number(r.readBigUInt64LE(32)),
      dur: r.readUInt32LE(40),
    };
    if (rec.offset < prevEnd || rec.offset + rec.length > tsSize) break;
    prevEnd = rec.offset + rec.length;
    recs.push(rec);
  }
  return { recs, clean: recs.length * REC === b.length };
}

function crc32(buf) {
  let c = ~0;
  for (const x of buf) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

const stems = (dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.idx'))
        .map((f) => f.slice(0, -4))
        .sort()
    : [];

/** Every file pair of a stream's folder: index clean, segments inside the TS, each a keyframe start (PAT first). */
function checkFolder(dir) {
  let segs = 0;
  for (const s of stems(dir)) {
    const ts = path.join(dir, `${s}.ts`);
    const tsBuf = readFileSync(ts);
    const { recs, clean } = readIndex(path.join(dir, `${s}.idx`), tsBuf.length);
    assert.ok(clean, `${s}.idx has bytes beyond its valid records`);
    for (const r of recs) {
      assert.equal(r.length % 188, 0);
      assert.equal(tsBuf[r.offset], 0x47, `${s}: segment at ${r.offset} starts on a packet`);
      const pid = ((tsBuf[r.offset + 1] & 0x1f) << 8) | tsBuf[r.offset + 2];
      assert.equal(pid, 0, `${s}: segment at ${r.offset} starts with the PAT`);
    }
    segs += recs.length;
  }
  return segs;
}

const state = async (srv, id) => (await getJson(srv.port, `/api/v1/streams/${id}/state`)).archive;

describe('archive recorder', () => {
  let dataDir;
  let srv;
  let id;
  let folder;
  const args = [
    '--archive', 'segment-seconds=1',
    '--archive', 'file-seconds=4',
    '--archive', 'day-seconds=10',
    '--archive', 'prune-seconds=1',
  ];

  before(async () => {
    dataDir = await makeDataDir('archive');
    id = Number((await cliOk(['stream', 'add', 'Recorded', '--source', LAVFI_SMALL, '--archive-days', '1', '--data', dataDir])).stdout.trim());
    folder = path.join(dataDir, 'archive', String(id));
    srv = await startServer(dataDir, args);
  });

  after(async () => {
    try {
      if (srv) await srv.stopClean();
    } finally {
      await removeDir(dataDir);
    }
  });

  it('records an archived channel without any viewer: files, index, state, metrics', async () => {
    const { value: a } = await pollUntil(async () => {
      const s = await state(srv, id);
      return s && s.state === 'recording' && s.segments >= 3 && s;
    }, { timeoutMs: 60000, intervalMs: 250 });
    assert.equal(a.days, 1);
    assert.ok(a.bytes > 0);
    assert.ok(a.newest >= a.oldest && a.oldest > 1.7e9);
    const info = await getJson(srv.port, `/api/v1/streams/${id}/state`);
    assert.equal(info.archived, true);
    assert.equal(info.viewers, 0);
    assert.ok(checkFolder(folder) >= 3);
    const first = stems(folder)[0];
    const probe = await ffprobe(path.join(folder, `${first}.ts`));
    assert.ok(probe.streams.some((s) => s.codec_type === 'video' && s.width === 192));

    const fam = parseExposition((await get(srv.port, '/metrics')).text);
    assert.ok(value(fam, 'xtreamd_archive_stream_bytes', { stream: String(id) }) > 0);
    assert.equal(value(fam, 'xtreamd_archive_stream_recording', { stream: String(id), state: 'recording' }), 1);
    assert.ok(value(fam, 'xtreamd_archive_written_bytes_total') > 0);
    assert.equal(value(fam, 'xtreamd_archive_chunks_dropped_total'), 0);
  });

  it('prunes by retention time (1 day = 10 s here)', async () => {
    const oldest = stems(folder)[0];
    const before0 = (await state(srv, id)).oldest;
    await pollUntil(() => !stems(folder).includes(oldest), { timeoutMs: 60000, intervalMs: 250 });
    assert.ok(!existsSync(path.join(folder, `${oldest}.ts`)), 'the .ts goes with its index');
    const a = await state(srv, id);
    assert.ok(a.oldest > before0);
    // What is kept covers about the retention: nothing ends before now - 10 s - one file.
    assert.ok(a.oldest * 1000 >= Date.now() - 10000 - 4000 - 5000, `oldest ${a.oldest} too old`);
    const fam = parseExposition((await get(srv.port, '/metrics')).text);
    assert.ok(value(fam, 'xtreamd_archive_pruned_files_total', { reason: 'retention' }) >= 1);
  });

  it('survives a crash: the archive reads back, is repaired, and recording resumes', async () => {
    await srv.stop({ signal: 'SIGKILL' });
    srv = null;
    const tail = stems(folder).at(-1);
    const segsBefore = checkFolderLoose(folder);
    const restartAt = Date.now();
    srv = await startServer(dataDir, args);
    await pollUntil(async () => {
      const s = await state(srv, id);
      return s && s.state === 'recording' && s.newest * 1000 > restartAt + 2000;
    }, { timeoutMs: 60000, intervalMs: 250 });
    // Everything on disk is consistent again, and the old segments are still there
    // (those not pruned meanwhile: the newest file before the crash is).
    checkFolder(folder);
    const tsSize = statSync(path.join(folder, `${tail}.ts`), { throwIfNoEntry: false });
    if (tsSize) {
      const { recs } = readIndex(path.join(folder, `${tail}.idx`), tsSize.size);
      assert.ok(recs.length >= 1);
    }
    // The first segment recorded by the new run says there was a break.
    const all = stems(folder).flatMap((s) => readIndex(path.join(folder, `${s}.idx`), statSync(path.join(folder, `${s}.ts`)).size).recs);
    assert.ok(all.length > 0 && segsBefore > 0);
    const firstNew = all.find((r) => r.utc >= restartAt);
    assert.ok(firstNew, 'segments recorded after the restart');
    assert.ok(firstNew.flags & 2, 'the first segment after the restart is marked DISCONT');
    assert.ok(all.filter((r) => r.utc < restartAt).length >= 1, 'segments from before the crash are still there');
  });
});

/** Segments of the folder as they are (a crash may have left a torn tail). */
function checkFolderLoose(dir) {
  let n = 0;
  for (const s of stems(dir)) {
    const ts = statSync(path.join(dir, `${s}.ts`), { throwIfNoEntry: false });
    if (ts) n += readIndex(path.join(dir, `${s}.idx`), ts.size).recs.length;
  }
  return n;
}

describe('archive on a full filesystem', () => {
  let dataDir;
  let srv;
  let id;
  let mnt;
  let mounted = false;

  before(async () => {
    dataDir = await makeDataDir('archive-full');
    mnt = path.join(dataDir, 'small');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'pipe' });
      mounted = true;
    } catch (e) {
      return; // the test below skips with the reason
    }
    id = Number((await cliOk(['stream', 'add', 'Filling', '--source', LAVFI_SMALL, '--archive-days', '1', '--data', dataDir])).stdout.trim());
    srv = await startServer(dataDir, ['--archive', `dir=${mnt}`, '--archive', 'segment-seconds=1', '--archive', 'retry-seconds=1']);
  });

  after(async () => {
    try {
      if (srv) await srv.stopClean();
    } finally {
      if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
      await removeDir(dataDir);
    }
  });

  it('stops with disk_full, keeps every index valid, and recovers when space returns', async (t) => {
    if (!mounted) {
      t.skip('cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): full-disk test skipped');
      return;
    }
    const { value: a } = await pollUntil(async () => {
      const s = await state(srv, id);
      return s && s.state === 'disk_full' && s;
    }, { timeoutMs: 90000, intervalMs: 250 });
    assert.match(a.error, /space/i);
    const folder = path.join(mnt, String(id));
    assert.ok(checkFolder(folder) >= 1, 'what was recorded before the disk filled is indexed');
    const fam = parseExposition((await get(srv.port, '/metrics')).text);
    assert.ok(value(fam, 'xtreamd_archive_write_errors_total') >= 1);
    assert.equal(value(fam, 'xtreamd_archive_streams', { state: 'disk_full' }), 1);
    const info = await getJson(srv.port, `/api/v1/streams/${id}/state`);
    assert.equal(info.state, 'running', 'the channel itself keeps running');

    const segs = a.segments;
    execFileSync('mount', ['-o', 'remount,size=16m', mnt], { stdio: 'pipe' });
    await pollUntil(async () => {
      const s = await state(srv, id);
      return s && s.state === 'recording' && s.segments > segs + 1;
    }, { timeoutMs: 60000, intervalMs: 250 });
    checkFolder(folder);
  });
});

describe('archive across a hand-over', () => {
  let dataDir;
  let a;
  let b;
  let id;

  before(async () => {
    dataDir = await makeDataDir('archive-handover');
    id = Number((await cliOk(['stream', 'add', 'Handed', '--source', LAVFI_SMALL, '--archive-days', '1', '--data', dataDir])).stdout.trim());
    a = await startServer(dataDir, ['--archive', 'segment-seconds=1']);
  });

  after(async () => {
    try {
      for (const s of [b, a]) if (s && s.alive()) await s.stop();
    } finally {
      await removeDir(dataDir);
    }
  });

  it('the new server records only once the old one let go; every index stays consistent', async () => {
    await pollUntil(async () => (await state(a, id))?.segments >= 3, { timeoutMs: 60000, intervalMs: 250 });
    const args = ['serve', '--data', dataDir, '--listen', `${HOST}:${a.port}`, '--archive', 'segment-seconds=1'];
    const child = spawn(binPath(), args, {
      env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1', TZ: 'UTC', ...databaseEnv(dataDir) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    b = new Server(child, a.port, dataDir);
    await b.waitForLog(/took over the listener of pid/, { timeoutMs: 60000 });
    await a.waitExit(30000);
    // The admin token of the new server (serve.json describes it once it took over).
    await pollUntil(async () => {
      const st = JSON.parse(await readFile(path.join(dataDir, 'serve.json'), 'utf8'));
      if (st.pid !== child.pid || !st.token) return false;
      adminTokens.set(a.port, st.token);
      return true;
    }, { timeoutMs: 30000, intervalMs: 100 });
    const handedAt = Date.now();
    await pollUntil(async () => {
      const s = await state(b, id);
      return s && s.state === 'recording' && s.newest * 1000 > handedAt + 2000;
    }, { timeoutMs: 60000, intervalMs: 250 });
    // Both recorded the same channel for a while, but never into the files at once.
    const folder = path.join(dataDir, 'archive', String(id));
    assert.ok(checkFolder(folder) >= 4);
  });
});
