// Admin API tokens, accounts and the audit log (issue 10, items 3 and 5):
// a token is shown once and never listed, stored hashed (the database file
// does not contain it); scopes are enforced (403) and cannot exceed the
// creator's; revoked and expired tokens are 401; a viewer's token only reads;
// accounts are managed through the API (the last enabled admin stays); every
// mutation writes an audit row (who, which token, address, action, entity,
// before/after); /metrics answers a token with the read scope whatever the
// Host, and the CLI mints tokens too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { request } from './lib/http.mjs';
import { cliOk, databaseBytes, runCli } from './lib/server.mjs';

const ROOT_PW = 'Root.pass-12345';
let w;
let root;

before(async () => {
  w = await world({
    tag: 'admauth',
    lines: [],
    seed: async (dir) => {
      await addAdmin(dir, 'root', ROOT_PW);
      await addAdmin(dir, 'looker', 'Looker.pass-123', 'viewer');
    },
  });
  root = new AdminClient(w.port);
  await root.login('root', ROOT_PW);
});
after(async () => {
  await w?.cleanup();
});

const bearer = (token) => new AdminClient(w.port, { token });

describe('tokens', () => {
  it('shows the secret once, never lists it, and stores only its hash', async () => {
    const res = await root.call('POST', '/api/v1/tokens', { name: 'billing', scopes: ['lines:write'] });
    assert.equal(res.status, 201, res.text);
    const made = res.json();
    assert.match(made.token, /^xtd_[0-9a-f]{64}$/);
    assert.deepEqual(made.scopes, ['lines:write']);
    assert.equal(res.headers.location, `/api/v1/tokens/${made.id}`);
    const list = await root.ok('GET', '/api/v1/tokens');
    const listed = list.items.find((t) => t.id === made.id);
    assert.equal(listed.name, 'billing');
    assert.equal(listed.state, 'active');
    assert.ok(!JSON.stringify(list).includes(made.token.slice(4)), 'the list never shows a secret');
    assert.ok(!(await root.call('GET', `/api/v1/tokens/${made.id}`)).text.includes(made.token.slice(4)));
    const db = await databaseBytes(w.dataDir); // the file and its WAL, or a pg_dump
    assert.ok(db.length > 0 && !db.includes(made.token.slice(4)), 'the secret is not in the database');
    // It authenticates, and last use is recorded.
    const t = bearer(made.token);
    assert.equal((await t.call('GET', '/api/v1/lines')).status, 200);
    const me = await t.ok('GET', '/api/v1/auth/me');
    assert.equal(me.auth, 'token');
    assert.ok(!('csrf_token' in me));
  });

  it('enforces scopes: 403 outside them, and no token can grant more than its creator holds', async () => {
    const lines = bearer(await root.mintToken(['lines:write']));
    assert.equal((await lines.call('POST', '/api/v1/lines', { username: 'from-token' })).status, 201);
    assertProblem(await lines.call('GET', '/api/v1/admins'), 403, 'FORBIDDEN');
    assertProblem(await lines.call('POST', '/api/v1/streams/1/restart'), 403, 'FORBIDDEN');
    assertProblem(await lines.call('POST', '/api/v1/tokens', { name: 'escalate', scopes: ['admin'] }), 403, 'FORBIDDEN');
    const read = bearer(await root.mintToken(['read']));
    assert.equal((await read.call('GET', '/api/v1/lines')).status, 200);
    assertProblem(await read.call('POST', '/api/v1/lines', { username: 'nope' }), 403, 'FORBIDDEN');
    assertProblem(await root.call('POST', '/api/v1/tokens', { name: 'x', scopes: ['root'] }), 422, 'VALIDATION_FAILED', ['scopes[0]']);
    assertProblem(await root.call('POST', '/api/v1/tokens', { scopes: [] }), 422, 'VALIDATION_FAILED', ['name', 'scopes']);
    assertProblem(await root.call('POST', '/api/v1/tokens', { name: 'past', scopes: ['read'], expires_at: '2001-01-01T00:00:00Z' }), 422, 'VALIDATION_FAILED', ['expires_at']);
  });

  it('refuses a revoked token and an expired one with 401', async () => {
    const res = await root.ok('POST', '/api/v1/tokens', { name: 'short', scopes: ['read'] });
    const t = bearer(res.token);
    assert.equal((await t.call('GET', '/api/v1/lines')).status, 200);
    assert.equal((await root.call('DELETE', `/api/v1/tokens/${res.id}`)).status, 204);
    const p = assertProblem(await t.call('GET', '/api/v1/lines'), 401, 'NOT_AUTHENTICATED');
    assert.match(p.detail, /revoked/);
    assert.equal((await root.ok('GET', `/api/v1/tokens/${res.id}`)).state, 'revoked');
    // An expiry a few seconds ahead: valid now, refused once it passes.
    const soon = new Date(Date.now() + 3000).toISOString().replace(/\.\d+Z$/, 'Z');
    const e = await root.ok('POST', '/api/v1/tokens', { name: 'soon', scopes: ['read'], expires_at: soon });
    const te = bearer(e.token);
    assert.equal((await te.call('GET', '/api/v1/lines')).status, 200);
    const deadline = Date.now() + 15000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await te.call('GET', '/api/v1/lines')).status;
    }
    assert.equal(status, 401, 'the token stops working once expired');
    assert.match((await te.call('GET', '/api/v1/lines')).json().detail, /expired/);
  });

  it('checks a token body member by member, takes RFC 3339 with an offset, and sorts the list', async () => {
    const bad = await root.call('POST', '/api/v1/tokens',
      { name: '', scopes: ['read', 'root', 7], expires_at: '2099-02-30' });
    assertProblem(bad, 422, 'VALIDATION_FAILED', ['name', 'scopes[2]', 'expires_at']);
    assertProblem(await root.call('POST', '/api/v1/tokens', { name: 'x', scopes: ['root'] }), 422,
      'VALIDATION_FAILED', ['scopes[0]']);
    assertProblem(await root.call('POST', '/api/v1/tokens', { name: 'x', scopes: [] }), 422,
      'VALIDATION_FAILED', ['scopes']);
    assertProblem(await root.call('POST', '/api/v1/tokens', { name: 'x', scopes: ['read'], expires_at: '2001-01-01' }),
      422, 'VALIDATION_FAILED', ['expires_at']);
    const made = await root.ok('POST', '/api/v1/tokens',
      { name: 'zz-offset', scopes: ['read'], expires_at: '2099-01-01T12:00:00+02:00' });
    assert.equal((await root.ok('GET', `/api/v1/tokens/${made.id}`)).expires_at, '2099-01-01T10:00:00Z');
    for (const sort of ['name', '-name', 'created_at', '-expires_at']) {
      const page = await root.ok('GET', `/api/v1/tokens?sort=${sort}&page_size=1000`);
      const names = page.items.map((t) => t.name);
      assert.ok(names.includes('zz-offset'), `sort=${sort}`);
      if (sort === 'name') assert.deepEqual(names, [...names].sort(), 'sorted by name');
    }
    assertProblem(await root.call('GET', '/api/v1/audit-log?since=2026-02-30'), 422, 'VALIDATION_FAILED', ['since']);
    const since = await root.ok('GET', '/api/v1/audit-log?since=2000-01-01T00:00:00%2B01:00&entity=token');
    assert.ok(since.items.some((r) => r.entity_id === made.id));
  });

  it('lets only a session or an admin-scope token create and revoke tokens', async () => {
    const lines = bearer(await root.mintToken(['lines:write']));
    const other = await root.ok('POST', '/api/v1/tokens', { name: 'other', scopes: ['read'] });
    // A lesser token can neither mint its successor (one that would outlive
    // its expiry or revocation) nor revoke its account's other tokens.
    assertProblem(await lines.call('POST', '/api/v1/tokens', { name: 'successor', scopes: ['lines:write'] }), 403, 'FORBIDDEN');
    assertProblem(await lines.call('POST', '/api/v1/tokens', { name: 'successor', scopes: ['read'] }), 403, 'FORBIDDEN');
    assertProblem(await lines.call('DELETE', `/api/v1/tokens/${other.id}`), 403, 'FORBIDDEN');
    assert.equal((await root.ok('GET', `/api/v1/tokens/${other.id}`)).state, 'active');
    assert.ok(!(await root.ok('GET', '/api/v1/tokens?page_size=1000')).items.some((t) => t.name === 'successor'));
    const admin = bearer(await root.mintToken(['admin']));
    const made = await admin.ok('POST', '/api/v1/tokens', { name: 'by-admin-token', scopes: ['read'] });
    assert.equal((await admin.call('DELETE', `/api/v1/tokens/${made.id}`)).status, 204);
  });

  it("caps a viewer's tokens to read", async () => {
    const v = new AdminClient(w.port);
    await v.login('looker', 'Looker.pass-123');
    assertProblem(await v.call('POST', '/api/v1/tokens', { name: 'more', scopes: ['lines:write'] }), 422, 'VALIDATION_FAILED', ['scopes']);
    const ok = await v.ok('POST', '/api/v1/tokens', { name: 'peek', scopes: ['read'] });
    const t = bearer(ok.token);
    assert.equal((await t.call('GET', '/api/v1/lines')).status, 200);
    assertProblem(await t.call('POST', '/api/v1/lines', { username: 'by-viewer-token' }), 403, 'FORBIDDEN');
  });

  it('lets a token scrape /metrics from any Host; without one a foreign Host is refused', async () => {
    const t = await root.mintToken(['read']);
    const res = await request(w.port, 'GET', '/metrics', { headers: { Authorization: `Bearer ${t}`, Host: 'metrics.example' }, adminToken: false });
    assert.equal(res.status, 200, res.text.slice(0, 200));
    assert.match(res.text, /^xtreamd_admin_calls_total \d+/m);
    const no = await request(w.port, 'GET', '/metrics', { headers: { Host: 'metrics.example' }, adminToken: false });
    assert.equal(no.status, 403);
    const bad = await request(w.port, 'GET', '/metrics', { headers: { Authorization: 'Bearer xtd_nope', Host: 'metrics.example' }, adminToken: false });
    assert.equal(bad.status, 401);
  });

  it('mints a token from the CLI (shown once) that the API accepts', async () => {
    const r = await cliOk(['token', 'add', 'from-cli', '--admin', 'root', '--scope', 'read', '--data', w.dataDir]);
    const token = r.stdout.match(/xtd_[0-9a-f]{64}/)?.[0];
    assert.ok(token, r.stdout);
    assert.equal((await bearer(token).call('GET', '/api/v1/lines')).status, 200);
    const list = await cliOk(['token', 'list', '--json', '--data', w.dataDir]);
    assert.ok(!list.stdout.includes(token.slice(4)), 'list never shows a secret');
    const id = JSON.parse(list.stdout).find((t) => t.name === 'from-cli').id;
    await cliOk(['token', 'revoke', String(id), '--data', w.dataDir]);
    assert.equal((await bearer(token).call('GET', '/api/v1/lines')).status, 401);
    const bad = await runCli(['token', 'add', 'x', '--admin', 'root', '--scope', 'root', '--data', w.dataDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /scope/);
  });
});

describe('accounts', () => {
  it('creates, reads, changes and deletes an account; never the last admin', async () => {
    const made = await root.call('POST', '/api/v1/admins', { username: 'ops', password: 'Ops.pass-12345', role: 'viewer' });
    assert.equal(made.status, 201, made.text);
    const a = made.json();
    assert.equal(a.role, 'viewer');
    assert.ok(!('password' in a) && !('password_hash' in a));
    const ops = new AdminClient(w.port);
    await ops.login('ops', 'Ops.pass-12345');
    // The login changed the representation (last_login_at): the ETag of creation is stale.
    assertProblem(await root.call('PATCH', `/api/v1/admins/${a.id}`, { role: 'admin' }, { headers: { 'If-Match': made.headers.etag } }), 412, 'PRECONDITION_FAILED');
    const read = await root.call('GET', `/api/v1/admins/${a.id}`);
    assert.notEqual(read.json().last_login_at, null);
    const p = await root.call('PATCH', `/api/v1/admins/${a.id}`, { role: 'admin' }, { headers: { 'If-Match': read.headers.etag } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json().role, 'admin');
    assert.equal(p.json().disabled, false, 'omitted stays');
    assertProblem(await root.call('PATCH', `/api/v1/admins/${a.id}`, { role: 'viewer' }, { headers: { 'If-Match': read.headers.etag } }), 412, 'PRECONDITION_FAILED');
    assertProblem(await root.call('PATCH', `/api/v1/admins/${a.id}`, { password: 'short' }), 422, 'VALIDATION_FAILED', ['password']);
    assertProblem(await root.call('POST', '/api/v1/admins', { username: 'ops', password: 'Ops.pass-12345' }), 409, 'ALREADY_EXISTS');
    assert.equal((await root.call('DELETE', `/api/v1/admins/${a.id}`)).status, 204);
    assertProblem(await ops.call('GET', '/api/v1/auth/me'), 401, null);
    // The last enabled admin-role account cannot be demoted.
    const list = await root.ok('GET', '/api/v1/admins');
    const me = list.items.find((x) => x.username === 'root');
    for (const other of list.items.filter((x) => x.role === 'admin' && !x.disabled && x.username !== 'root')) {
      assert.equal((await root.call('PATCH', `/api/v1/admins/${other.id}`, { disabled: true })).status, 200);
    }
    assertProblem(await root.call('PATCH', `/api/v1/admins/${me.id}`, { disabled: true }), 409, 'LAST_ADMIN');
    assertProblem(await root.call('DELETE', `/api/v1/admins/${me.id}`), 409, 'LAST_ADMIN');
    // A viewer cannot manage accounts at all.
    const v = new AdminClient(w.port);
    await v.login('looker', 'Looker.pass-123');
    assertProblem(await v.call('GET', '/api/v1/admins'), 403, 'FORBIDDEN');
  });
});

describe('password changes', () => {
  it("end the account's other sessions, keep the caller's own, and leave its tokens", async () => {
    const made = await root.ok('POST', '/api/v1/admins', { username: 'rotor', password: 'Rotor.pass-12345' });
    const a = new AdminClient(w.port);
    await a.login('rotor', 'Rotor.pass-12345');
    const b = new AdminClient(w.port);
    await b.login('rotor', 'Rotor.pass-12345');
    const tok = bearer(await a.mintToken(['read']));
    // rotor changes its own password: its other session ends, this one stays.
    await a.ok('PATCH', `/api/v1/admins/${made.id}`, { password: 'Rotor.pass-67890' });
    assert.equal((await a.call('GET', '/api/v1/auth/me')).status, 200);
    assertProblem(await b.call('GET', '/api/v1/auth/me'), 401, 'NOT_AUTHENTICATED');
    // root changes it: every session of rotor ends.
    await root.ok('PATCH', `/api/v1/admins/${made.id}`, { password: 'Rotor.pass-abcde' });
    assertProblem(await a.call('GET', '/api/v1/auth/me'), 401, 'NOT_AUTHENTICATED');
    assert.equal((await root.call('GET', '/api/v1/auth/me')).status, 200);
    // tokens are separate credentials: revoked on their own
    assert.equal((await tok.call('GET', '/api/v1/lines')).status, 200);
    // the CLI's passwd ends them too
    const c = new AdminClient(w.port);
    await c.login('rotor', 'Rotor.pass-abcde');
    await cliOk(['admin', 'passwd', 'rotor', '--data', w.dataDir]);
    assertProblem(await c.call('GET', '/api/v1/auth/me'), 401, 'NOT_AUTHENTICATED');
  });
});

describe('audit log', () => {
  it('records who changed what, with which token, from where, before and after', async () => {
    const tokenRes = await root.ok('POST', '/api/v1/tokens', { name: 'auditor', scopes: ['lines:write'] });
    const t = bearer(tokenRes.token);
    const line = await t.ok('POST', '/api/v1/lines', { username: 'audited', max_connections: 1 });
    await t.ok('PATCH', `/api/v1/lines/${line.id}`, { max_connections: 3 });
    assert.equal((await t.call('DELETE', `/api/v1/lines/${line.id}`)).status, 204);
    const log = await root.ok('GET', `/api/v1/audit-log?entity=line&entity_id=${line.id}`);
    assert.deepEqual(log.items.map((r) => r.action), ['delete', 'update', 'create'], 'newest first');
    for (const r of log.items) {
      assert.equal(r.admin_username, 'root');
      assert.equal(r.token_id, tokenRes.id);
      assert.equal(r.ip, '127.0.0.1');
      assert.match(r.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    const [del, upd, cre] = log.items;
    assert.equal(cre.before, null);
    assert.equal(cre.after.username, 'audited');
    assert.equal(upd.before.max_connections, 1);
    assert.equal(upd.after.max_connections, 3);
    assert.equal(del.after, null);
    const tokRows = await root.ok('GET', '/api/v1/audit-log?entity=token&action=create');
    assert.ok(tokRows.items.some((r) => r.entity_id === tokenRes.id));
    assert.ok(!JSON.stringify(tokRows).includes(tokenRes.token.slice(4)), 'no secret in the audit log');
    assertProblem(await root.call('GET', '/api/v1/audit-log?entity_id=x&since=yesterday'), 422, 'VALIDATION_FAILED', ['entity_id', 'since']);
    assertProblem(await t.call('GET', '/api/v1/audit-log'), 403, 'FORBIDDEN');
  });
});

describe('login brake counters', () => {
  it('counts locks and refused logins in /metrics', async () => {
    const scrape = async () => {
      const t = await root.mintToken(['read']);
      const res = await request(w.port, 'GET', '/metrics', { headers: { Authorization: `Bearer ${t}` }, adminToken: false });
      assert.equal(res.status, 200);
      const n = (name) => {
        const m = res.text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
        assert.ok(m, `${name} in /metrics`);
        return Number(m[1]);
      };
      return { refused: n('xtreamd_admin_login_brake_refused_total'), locks: n('xtreamd_admin_login_brake_locks_total'),
        dropped: n('xtreamd_admin_login_brake_dropped_total') };
    };
    const before = await scrape();
    let refused = 0;
    // From other loopback addresses, so 127.0.0.1 (the other tests) stays unlocked.
    for (let i = 0; i < 8; i++) {
      const res = await request(w.port, 'POST', '/api/v1/auth/login', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'counted', password: `wrong-${i}-password` }),
        adminToken: false,
        localAddress: `127.0.1.${2 + (i % 4)}`,
      });
      if (res.status === 429) refused++;
      else assert.equal(res.status, 401, res.text);
    }
    assert.equal(refused, 3, 'the 6th, 7th and 8th failures find the account locked');
    const after_ = await scrape();
    assert.equal(after_.locks - before.locks, 1);
    assert.equal(after_.refused - before.refused, 3);
    assert.equal(after_.dropped, before.dropped);
  });
});
