// Backups (issue 15, item 5): `xtreamd backup` while the server runs and the
// admin API creates lines in a loop; the restored database passes
// PRAGMA integrity_check and holds every line whose creation was answered
// (committed) before the backup started. A corrupted file is refused with a
// clear error and nothing is replaced; restore is refused while a server runs
// on the data folder; scheduled backups appear, are counted in /metrics and
// pruned to backup-keep.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from './lib/http.mjs';
import { parseExposition, value } from './lib/prom.mjs';
import { assertNoSanitizerReport, cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';

function sqlite(db, sql) {
  return new Promise((resolve, reject) => {
    execFile('sqlite3', ['-readonly', db, sql], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sqlite3 ${sql}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function lineNames(dataDir) {
  const out = await sqlite(path.join(dataDir, 'xtreamd.db'), "SELECT username FROM lines WHERE username LIKE 'bk-%'");
  return new Set(out.split('\n').filter(Boolean));
}

describe('backup and restore', () => {
  let dir, srv, bdir, work;
  before(async () => {
    work = await makeDataDir('bkwork');
    dir = path.join(work, 'data');
    bdir = path.join(work, 'scheduled');
    await cliOk(['demo', '--data', dir]);
    srv = await startServer(dir, ['--backup-dir', bdir, '--backup-interval', '1s', '--backup-keep', '2']);
  });
  after(async () => {
    try {
      if (srv) await srv.stopClean();
    } finally {
      await removeDir(work);
    }
  });

  it('a backup taken during a write loop restores every line committed before it started', async () => {
    const committed = []; // usernames, in the order their 201 arrived
    let stop = false;
    let failures = 0;
    const writer = async (k) => {
      for (let i = 0; !stop; i++) {
        const username = `bk-${k}-${i}`;
        const res = await request(srv.port, 'POST', '/api/v1/lines', {
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username, password: 'Bk.pass-123' }),
        });
        if (res.status === 201) committed.push(username);
        else failures++;
      }
    };
    const writers = [writer(0), writer(1), writer(2)];
    // Let the loop get going (the server must be under writes when the copy starts).
    await pollUntil(() => committed.length >= 30, { timeoutMs: 60000 });
    const file = path.join(work, 'during.xbak');
    // Every line in `committed` now had its 201 before the backup starts (this code runs
    // after each push): the exact set. A filter on Date.now() < start dropped lines whose
    // 201 came in the same millisecond (29 of 30 once).
    const before = [...committed];
    const r = await cliOk(['backup', '--data', dir, file]);
    const countAtEnd = committed.length;
    // More writes after the copy finished: the loop really ran across it.
    await pollUntil(() => committed.length >= countAtEnd + 5, { timeoutMs: 60000 });
    stop = true;
    await Promise.all(writers);
    assert.equal(failures, 0, 'every line creation succeeded');
    assert.match(r.stdout, /^backup .*during\.xbak: database \d+ bytes, file \d+ bytes/);

    const restored = path.join(work, 'restored');
    await mkdir(restored, { mode: 0o700 });
    const rr = await cliOk(['restore', '--data', restored, file]);
    assert.match(rr.stdout, /restored .* into /);
    const db = path.join(restored, 'xtreamd.db');
    assert.equal((await sqlite(db, 'PRAGMA integrity_check')).trim(), 'ok');
    const names = await lineNames(restored);
    assert.ok(before.length >= 30, `lines committed before the backup: ${before.length}`);
    for (const u of before) assert.ok(names.has(u), `${u} committed before the backup started is in it`);
    // Nothing the backup holds was invented: every name is one the loop made.
    const made = new Set(committed);
    for (const u of names) assert.ok(made.has(u), `${u} is a line the loop created`);
    // The restored database is one the CLI works with.
    const list = await cliOk(['line', 'list', '--json', '--data', restored]);
    assert.ok(JSON.parse(list.stdout).some((l) => l.username === before[0]));
  });

  it('a corrupted backup is refused with a clear error and nothing is replaced', async () => {
    const file = path.join(work, 'corrupt.xbak');
    await cliOk(['backup', '--data', dir, file]);
    const target = path.join(work, 'target');
    await cliOk(['line', 'add', 'target-line', 'Pw.target-1', '--data', target]);
    const beforeBytes = await readFile(path.join(target, 'xtreamd.db'));
    const buf = await readFile(file);
    buf[buf.length - 10] ^= 0x55; // one flipped byte in the payload
    await writeFile(file, buf);
    const r = await runCli(['restore', '--data', target, file]);
    assertNoSanitizerReport(r.stderr);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /checksum mismatch: the file is corrupt; nothing was restored/);
    assert.deepEqual(await readFile(path.join(target, 'xtreamd.db')), beforeBytes, 'database untouched');
    assert.ok(!(await readdir(target)).some((n) => n.includes('restore')), 'no temporary or side file left');

    // A flipped header field (the database size) is caught by the same checksum.
    const good = path.join(work, 'hdr.xbak');
    await cliOk(['backup', '--data', dir, good]);
    const h = await readFile(good);
    h[16] ^= 0x01;
    await writeFile(good, h);
    const r2 = await runCli(['restore', '--data', target, good]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /checksum mismatch/);
    // Not a backup at all, and a truncated one.
    const junk = path.join(work, 'junk.xbak');
    await writeFile(junk, 'SQLite format 3\0 this is not a backup');
    const r3 = await runCli(['restore', '--data', target, junk]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /not an xtreamd backup file/);
    const cut = path.join(work, 'cut.xbak');
    await writeFile(cut, (await readFile(file)).subarray(0, 200));
    const r4 = await runCli(['restore', '--data', target, cut]);
    assert.equal(r4.code, 1);
    assert.match(r4.stderr, /truncated/);
    assert.deepEqual(await readFile(path.join(target, 'xtreamd.db')), beforeBytes, 'database untouched');
  });

  it('restore keeps the previous database beside the restored one', async () => {
    const file = path.join(work, 'keep.xbak');
    await cliOk(['backup', '--data', dir, file]);
    const target = path.join(work, 'target2');
    await cliOk(['line', 'add', 'target-line', 'Pw.target-1', '--data', target]);
    await cliOk(['line', 'add', 'only-in-old', 'Pw.old-123', '--data', target]);
    const r = await cliOk(['restore', '--data', target, file]);
    const m = /previous database is kept as (\S+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const side = m[1];
    assert.match(path.basename(side), /^xtreamd\.db\.pre-restore-\d{8}T\d{6}Z/);
    // The line written last (in the WAL) is in the side copy: the WAL was folded in.
    assert.equal((await sqlite(side, "SELECT count(*) FROM lines WHERE username='only-in-old'")).trim(), '1');
    assert.equal((await sqlite(path.join(target, 'xtreamd.db'), "SELECT count(*) FROM lines WHERE username='only-in-old'")).trim(), '0');
    assert.equal((await stat(path.join(target, 'xtreamd.db'))).mode & 0o077, 0, 'restored database is owner-only');
  });

  it('restore is refused while a server runs on the data folder', async () => {
    const file = path.join(work, 'busy.xbak');
    await cliOk(['backup', '--data', dir, file]);
    const before = await readFile(path.join(dir, 'xtreamd.db'));
    const r = await runCli(['restore', '--data', dir, file]);
    assertNoSanitizerReport(r.stderr);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`a server \\(pid ${srv.child.pid}\\) runs on .*; stop it first`));
    assert.deepEqual(await readFile(path.join(dir, 'xtreamd.db')), before);
    assert.ok(srv.alive());
  });

  it('scheduled backups are written, counted in /metrics and pruned to backup-keep', async () => {
    // Interval 1 s, keep 2: poll until at least three have succeeded.
    const metrics = async () => {
      const res = await request(srv.port, 'GET', '/metrics', { timeoutMs: 30000 });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      return parseExposition(res.raw);
    };
    await pollUntil(async () => value(await metrics(), 'xtreamd_backups_total', { result: 'ok' }) >= 3, { timeoutMs: 90000, intervalMs: 200 });
    // Retention: two finished backups are kept (a third exists only between
    // its rename and the prune that follows it in the same worker run).
    const listed = async () => (await readdir(bdir)).filter((n) => /^xtreamd-\d{8}T\d{6}Z\.xbak$/.test(n)).sort();
    await pollUntil(async () => {
      const n = (await listed()).length;
      return n >= 1 && n <= 2;
    }, { timeoutMs: 30000, intervalMs: 20 });
    const m = await metrics();
    assert.ok(value(m, 'xtreamd_backups_pruned_total') >= 1, 'old backups were pruned');
    assert.equal(value(m, 'xtreamd_backups_total', { result: 'failed' }), 0);
    assert.ok(value(m, 'xtreamd_backup_last_success_timestamp_seconds') > 1.7e9);
    await srv.waitForLog(/info backup: scheduled backup .*xtreamd-\d{8}T\d{6}Z\.xbak: database \d+ bytes/);
    // A scheduled file restores like a manual one (copied first: the schedule
    // keeps writing and pruning meanwhile).
    const copy = path.join(work, 'scheduled-copy.xbak');
    await pollUntil(async () => {
      await copyFile(path.join(bdir, (await listed()).at(-1)), copy);
      return true;
    }, { timeoutMs: 30000 });
    const restored = path.join(work, 'from-scheduled');
    await mkdir(restored, { mode: 0o700 });
    await cliOk(['restore', '--data', restored, copy]);
    assert.equal((await sqlite(path.join(restored, 'xtreamd.db'), 'PRAGMA integrity_check')).trim(), 'ok');
  });
});
