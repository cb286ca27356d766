// Admin accounts (issue 10, item 3, the CLI part): `xtreamd admin
// add|list|passwd|set|del` round trips; a generated password is printed once
// and a password given in a file is never echoed; list (table and --json)
// never shows a password or a hash; the stored hash is argon2id and changes
// on passwd; the last enabled admin can be neither deleted, demoted nor
// disabled (exit 1, naming the field); the demo creates `admin` once; the
// data folder keeps its modes. The hashes are read with the sqlite3 tool (psql when the
// suite runs on PostgreSQL).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { assertNoSanitizerReport, cliOk, databaseOf, makeDataDir, removeDir, runCli } from './lib/server.mjs';

let dataDir;
let pwDir;
before(async () => {
  dataDir = await makeDataDir('admins');
  pwDir = await makeDataDir('admins-pw');
});
after(async () => {
  await removeDir(dataDir);
  await removeDir(pwDir);
});

const D = () => ['--data', dataDir];
const mode = async (p) => (await stat(p)).mode & 0o777;

async function expectExit(args, code, stderrRe) {
  const r = await runCli(args);
  assertNoSanitizerReport(r.stderr, `xtreamd ${args.join(' ')}`);
  assert.equal(r.code, code, `xtreamd ${args.join(' ')}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  if (stderrRe) assert.match(r.stderr, stderrRe, `xtreamd ${args.join(' ')}: stderr should name the problem`);
  return r;
}

function hashes(dir) {
  return new Promise((resolve, reject) => {
    const sql = 'SELECT username, password_hash FROM admins';
    const pg = databaseOf(dir);
    const [cmd, args] = pg ? ['psql', ['-X', '-At', '-F', '|', pg, '-c', sql]]
      : ['sqlite3', ['-readonly', path.join(dir, 'xtreamd.db'), sql]];
    execFile(cmd, args,
      (err, stdout) => {
        if (err) return reject(err);
        const m = new Map();
        for (const row of stdout.split('\n').filter(Boolean)) {
          const i = row.indexOf('|');
          m.set(row.slice(0, i), row.slice(i + 1));
        }
        resolve(m);
      });
  });
}

async function listBoth(dir) {
  const table = await cliOk(['admin', 'list', '--data', dir]);
  const json = await cliOk(['admin', 'list', '--json', '--data', dir]);
  return { table: table.stdout, json: JSON.parse(json.stdout), raw: table.stdout + json.stdout };
}

describe('admin accounts', () => {
  const FILE_PW = 'a file passphrase 1';
  let generated;

  it('add with a generated password prints it once; with a file never echoes it', async () => {
    const r = await cliOk(['admin', 'add', 'root', ...D()]);
    const m = r.stdout.match(/^Created admin root with password (\S+)$/m);
    assert.ok(m, `add prints the generated password: ${r.stdout}`);
    generated = m[1];
    assert.match(generated, /^[A-HJ-NP-Za-km-z2-9]{20}$/, 'a 20-character unambiguous password');

    const file = path.join(pwDir, 'pw.txt');
    await writeFile(file, `${FILE_PW}\nignored second line\n`);
    await chmod(file, 0o600);
    const r2 = await cliOk(['admin', 'add', 'ops@example', '--role', 'viewer', '--password-file', file, ...D()]);
    assert.equal(r2.stdout.trim(), 'Created admin ops@example');
    assert.ok(!(r2.stdout + r2.stderr).includes(FILE_PW), 'the given password is never echoed');
    assert.equal(await mode(file), 0o600, 'the password file is left as it was');
    assert.equal(await readFile(file, 'utf8'), `${FILE_PW}\nignored second line\n`);

    const h = await hashes(dataDir);
    assert.match(h.get('root'), /^\$argon2id\$/);
    assert.match(h.get('ops@example'), /^\$argon2id\$/);
    assert.ok(!h.get('ops@example').includes(FILE_PW));
  });

  it('list shows name, role and state, never a password or a hash', async () => {
    const { table, json, raw } = await listBoth(dataDir);
    assert.match(table, /^root\s+admin\s+enabled\s+never$/m);
    assert.match(table, /^ops@example\s+viewer\s+enabled\s+never$/m);
    assert.deepEqual(json.map((a) => [a.username, a.role, a.disabled, a.last_login_at]),
      [['ops@example', 'viewer', false, null], ['root', 'admin', false, null]]);
    for (const a of json) {
      assert.deepEqual(Object.keys(a).sort(), ['created_at', 'disabled', 'id', 'last_login_at', 'role', 'updated_at', 'username']);
      assert.match(a.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    assert.ok(!raw.includes(generated) && !raw.includes(FILE_PW), 'no password in list output');
    assert.ok(!raw.includes('argon2'), 'no hash in list output');
  });

  it('rules are refused naming the option, and nothing is written', async () => {
    await expectExit(['admin', 'add', 'bad name', ...D()], 2, /NAME: .*position 4/);
    await expectExit(['admin', 'add', 'x', '--role', 'owner', ...D()], 2, /--role: must be admin or viewer/);
    const short = path.join(pwDir, 'short.txt');
    await writeFile(short, 'short\n');
    const r = await expectExit(['admin', 'add', 'x', '--password-file', short, ...D()], 2, /--password-file: must be at least 12 characters/);
    assert.ok(!r.stderr.includes('short\n') && !/'short'/.test(r.stderr), 'the password is not echoed in the error');
    await expectExit(['admin', 'add', 'x', '--password-file', path.join(pwDir, 'missing'), ...D()], 1, /--password-file: cannot open/);
    await expectExit(['admin', 'add', 'root', ...D()], 1, /NAME: is taken/);
    await expectExit(['admin', 'set', 'root', '--disabled', 'maybe', ...D()], 2, /--disabled: want yes or no/);
    await expectExit(['admin', 'passwd', 'nobody', ...D()], 1, /no admin 'nobody'/);
    await expectExit(['admin', 'del', 'nobody', ...D()], 1, /no admin 'nobody'/);
    await expectExit(['admin', 'add', ...D()], 2, /missing NAME/);
    await expectExit(['admin', 'frobnicate', ...D()], 2, /unknown command 'frobnicate'/);
    const { json } = await listBoth(dataDir);
    assert.deepEqual(json.map((a) => a.username), ['ops@example', 'root']);
  });

  it('passwd replaces the hash (generated or from a file)', async () => {
    const before_ = await hashes(dataDir);
    const r = await cliOk(['admin', 'passwd', 'root', ...D()]);
    const m = r.stdout.match(/^Changed the password of admin root with password ([A-HJ-NP-Za-km-z2-9]{20})$/m);
    assert.ok(m, r.stdout);
    assert.notEqual(m[1], generated);
    const file = path.join(pwDir, 'pw2.txt');
    await writeFile(file, 'another passphrase\r\n');
    const r2 = await cliOk(['admin', 'passwd', 'ops@example', '--password-file', file, ...D()]);
    assert.equal(r2.stdout.trim(), 'Changed the password of admin ops@example');
    const after_ = await hashes(dataDir);
    assert.notEqual(after_.get('root'), before_.get('root'));
    assert.notEqual(after_.get('ops@example'), before_.get('ops@example'));
    assert.match(after_.get('root'), /^\$argon2id\$/);
  });

  it('the last enabled admin is kept; viewers and spare admins can go', async () => {
    await expectExit(['admin', 'del', 'root', ...D()], 1, /NAME: 'root' is the last enabled admin/);
    await expectExit(['admin', 'set', 'root', '--role', 'viewer', ...D()], 1, /--role: 'root' is the last enabled admin/);
    await expectExit(['admin', 'set', 'root', '--disabled', 'yes', ...D()], 1, /--disabled: 'root' is the last enabled admin/);
    await cliOk(['admin', 'set', 'ops@example', '--disabled', 'yes', ...D()]);
    let { table } = await listBoth(dataDir);
    assert.match(table, /^ops@example\s+viewer\s+disabled/m);
    await cliOk(['admin', 'set', 'ops@example', '--role', 'admin', '--disabled', 'no', ...D()]);
    ({ table } = await listBoth(dataDir));
    assert.match(table, /^ops@example\s+admin\s+enabled/m);
    const del = await cliOk(['admin', 'del', 'root', ...D()]);
    assert.equal(del.stdout.trim(), 'Deleted admin root');
    const { json } = await listBoth(dataDir);
    assert.deepEqual(json.map((a) => a.username), ['ops@example']);
    await expectExit(['admin', 'del', 'ops@example', ...D()], 1, /last enabled admin/);
  });

  it('the data folder keeps its modes', async () => {
    assert.equal(await mode(dataDir), 0o700);
    // On PostgreSQL the data folder holds no database file.
    if (!databaseOf(dataDir)) assert.equal(await mode(path.join(dataDir, 'xtreamd.db')), 0o600);
  });
});

describe('demo admin', () => {
  it('demo creates admin once and prints its password; a second run keeps it', async () => {
    const d = await makeDataDir('admins-demo');
    try {
      const r1 = await cliOk(['demo', '--data', d]);
      assert.match(r1.stdout, /^Xtream login: /m);
      const m = r1.stdout.match(/^Admin login:\s+username admin\s+password ([A-HJ-NP-Za-km-z2-9]{20})\s/m);
      assert.ok(m, `demo prints the admin login: ${r1.stdout}`);
      const h1 = await hashes(d);
      const r2 = await cliOk(['demo', '--data', d]);
      assert.match(r2.stdout, /^Admin login:\s+username admin\s+\(exists; password unchanged/m);
      assert.ok(!r2.stdout.includes(m[1]), 'the password is not printed again');
      assert.equal((await hashes(d)).get('admin'), h1.get('admin'), 'the second run keeps the password');
      const { json } = await listBoth(d);
      assert.deepEqual(json.map((a) => [a.username, a.role, a.disabled]), [['admin', 'admin', false]]);
    } finally {
      await removeDir(d);
    }
  });
});
