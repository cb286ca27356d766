// API tokens from the command line (issue 10, item 3): `xtreamd token
// add|list|revoke` mints a token printed once (xtd_ + 64 hex), stores only its
// SHA-256 (the plain token is in no file of the data folder), takes --expires
// as RFC 3339 or YYYY-MM-DD and refuses an impossible or past time naming the
// option, refuses bad scopes / a write scope for a viewer / an unknown
// account, lists without the secret, revokes (kept listed), and writes an
// audit-log row per change. The database is read with the sqlite3 tool (psql on PostgreSQL).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { assertNoSanitizerReport, cliOk, databaseBytes, makeDataDir, removeDir, runCli, sqlQuery } from './lib/server.mjs';

let dataDir;
before(async () => {
  dataDir = await makeDataDir('tokens-cli');
  const pw = path.join(dataDir, 'pw.txt');
  await writeFile(pw, 'correct horse battery\n');
  await cliOk(['admin', 'add', 'boss', '--password-file', pw, '--data', dataDir]);
  await cliOk(['admin', 'add', 'watcher', '--role', 'viewer', '--password-file', pw, '--data', dataDir]);
});
after(async () => {
  await removeDir(dataDir);
});

const D = () => ['--data', dataDir];

async function expectExit(args, code, stderrRe) {
  const r = await runCli(args);
  assertNoSanitizerReport(r.stderr, `xtreamd ${args.join(' ')}`);
  assert.equal(r.code, code, `xtreamd ${args.join(' ')}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  if (stderrRe) assert.match(r.stderr, stderrRe);
  return r;
}

const sql = (query) => sqlQuery(dataDir, query);

async function listed() {
  return JSON.parse((await cliOk(['token', 'list', '--json', ...D()])).stdout);
}

describe('xtreamd token', () => {
  let token;
  let id;

  it('add prints the token once and stores only its hash', async () => {
    const r = await cliOk(['token', 'add', 'billing', '--admin', 'boss', '--scope', 'read', '--scope', 'lines:write',
      '--expires', '2099-01-01T12:00:00+02:00', ...D()]);
    const m = r.stdout.match(/^Created token (\d+) \(billing\)[^\n]*\n(xtd_[0-9a-f]{64})$/m);
    assert.ok(m, `unexpected output: ${r.stdout}`);
    id = Number(m[1]);
    token = m[2];
    const hash = createHash('sha256').update(token).digest('hex');
    assert.equal(await sql(`SELECT count(*) FROM api_tokens WHERE token_hash = '${hash}'`), '1');
    const bytes = await databaseBytes(dataDir); // the file and its WAL, or a pg_dump
    assert.ok(bytes.includes(Buffer.from(hash)), 'the dump holds the hash');
    assert.equal(bytes.includes(Buffer.from(token)), false, 'the database holds the plain token');
    assert.equal(bytes.includes(Buffer.from(token.slice(4))), false, "the database holds the token's hex");
    assert.equal(await sql(`SELECT admin_username || ' ' || action || ' ' || entity || ' ' || entity_id FROM audit_log ORDER BY id DESC LIMIT 1`),
      `cli create token ${id}`);
  });

  it('list shows the token without its secret', async () => {
    const t = (await listed()).find((x) => x.id === id);
    assert.equal(t.name, 'billing');
    assert.equal(t.owner, 'boss');
    assert.equal(t.scopes, 'read,lines:write');
    assert.equal(t.expires_at, '2099-01-01T10:00:00Z'); /* the offset applied */
    assert.equal(t.state, 'active');
    const table = await cliOk(['token', 'list', ...D()]);
    assert.match(table.stdout, /billing\s+boss\s+read,lines:write\s+2099-01-01T10:00:00Z\s+active/);
    assert.equal(table.stdout.includes(token.slice(4, 20)), false);
  });

  it('refuses bad input naming the option, and writes nothing', async () => {
    const before = await sql('SELECT count(*) FROM api_tokens');
    await expectExit(['token', 'add', 'x', '--admin', 'boss', '--scope', 'root', ...D()], 2, /--scope/);
    await expectExit(['token', 'add', 'x', '--admin', 'boss', '--scope', 'read', '--expires', '2020-01-01', ...D()], 2, /--expires/);
    await expectExit(['token', 'add', 'x', '--admin', 'boss', '--scope', 'read', '--expires', '2099-02-30', ...D()], 2, /--expires/);
    await expectExit(['token', 'add', 'x', '--admin', 'boss', '--scope', 'read', '--expires', 'tomorrow', ...D()], 2, /--expires/);
    await expectExit(['token', 'add', 'x', '--admin', 'watcher', '--scope', 'lines:write', ...D()], 2, /--scope/);
    await expectExit(['token', 'add', 'x', '--admin', 'nobody', '--scope', 'read', ...D()], 1, /nobody/);
    await expectExit(['token', 'add', 'x', '--scope', 'read', ...D()], 2, /--admin/);
    await expectExit(['token', 'add', 'evil\x1b[2J', '--admin', 'boss', '--scope', 'read', ...D()], 2, /NAME/);
    await expectExit(['token', 'revoke', 'abc', ...D()], 2, /ID/);
    await expectExit(['token', 'revoke', '999', ...D()], 1, /no token/);
    assert.equal(await sql('SELECT count(*) FROM api_tokens'), before);
    const v = await cliOk(['token', 'add', 'ro', '--admin', 'watcher', '--scope', 'read', '--expires', '2099-12-31', ...D()]);
    assert.match(v.stdout, /\nxtd_[0-9a-f]{64}\n?$/);
    assert.equal((await listed()).find((x) => x.name === 'ro').expires_at, '2099-12-31T00:00:00Z');
  });

  it('revoke keeps the token listed as revoked and audits it', async () => {
    await cliOk(['token', 'revoke', String(id), ...D()]);
    assert.equal((await listed()).find((x) => x.id === id).state, 'revoked');
    await cliOk(['token', 'revoke', String(id), ...D()]); /* again: still fine */
    assert.equal(await sql(`SELECT group_concat(action) FROM audit_log WHERE entity = 'token' AND entity_id = ${id}`),
      'create,revoke,revoke');
  });
});
