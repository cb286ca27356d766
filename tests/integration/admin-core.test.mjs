// Admin API core (issue 10, items 3 and 5): authentication by session cookie
// (HttpOnly, SameSite=Strict, CSRF token on every cookie mutation) and by
// Bearer token; roles (a viewer reads, never writes); the login brake (429 +
// Retry-After, per IP and per account); problem+json for every refusal
// (401/403/404/405/400/415/412/422) with stable codes and field errors; the
// lines resource end to end (201 + Location + ETag, If-Match 412, merge patch
// leaving omitted fields alone, delete), and a change made through the API
// reaching player_api.php within 2 s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { request, getJson, api } from './lib/http.mjs';

const ROOT_PW = 'Root.pass-1234';
const VIEW_PW = 'Watch.pass-1234';
let w;

before(async () => {
  w = await world({
    tag: 'admcore',
    lines: [],
    seed: async (dir) => {
      await addAdmin(dir, 'root', ROOT_PW);
      await addAdmin(dir, 'watcher', VIEW_PW, 'viewer');
      await addAdmin(dir, 'braked', 'Brake.pass-1234');
    },
  });
});
after(async () => {
  await w?.cleanup();
});

async function pollUntil(fn, what, ms = 2000) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return Date.now() - start;
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('authentication', () => {
  it('refuses a call without credentials with 401 problem+json and WWW-Authenticate', async () => {
    const res = await new AdminClient(w.port).call('GET', '/api/v1/lines');
    assertProblem(res, 401, 'NOT_AUTHENTICATED');
    assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('refuses a wrong password with one generic 401, and a malformed login with field errors', async () => {
    const c = new AdminClient(w.port);
    const res = await c.login('root', 'wrong-password-123', { expect: 401 });
    const p = assertProblem(res, 401, 'INVALID_CREDENTIALS');
    const unknown = await c.login('nobody-here', 'wrong-password-123', { expect: 401 });
    assert.equal(unknown.json().detail, p.detail, 'unknown user and wrong password read the same');
    assertProblem(await c.call('POST', '/api/v1/auth/login', { username: 'root' }), 422, 'VALIDATION_FAILED', ['password']);
    assertProblem(await c.call('POST', '/api/v1/auth/login', { username: 'root', password: 'x', extra: 1 }), 422, 'VALIDATION_FAILED', ['extra']);
    assertProblem(await c.call('POST', '/api/v1/auth/login', '{"username":', { raw: true }), 400, 'MALFORMED_BODY');
    assertProblem(await c.call('POST', '/api/v1/auth/login', 'username=root', { raw: true, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('logs in with a HttpOnly SameSite=Strict cookie and a CSRF token; /auth/me tells who', async () => {
    const c = new AdminClient(w.port);
    const res = await c.login('root', ROOT_PW);
    const set = res.headers['set-cookie'][0];
    assert.match(set, /^xtreamd_session=[0-9a-f]{64};/);
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Strict/);
    assert.match(set, /Path=\/api\//);
    assert.doesNotMatch(set, /Secure/, 'no Secure flag over plain HTTP');
    const body = res.json();
    assert.equal(body.admin.username, 'root');
    assert.equal(body.admin.role, 'admin');
    assert.ok(body.scopes.includes('admin'));
    assert.match(body.csrf_token, /^[0-9a-f]{32,}$/);
    const me = await c.ok('GET', '/api/v1/auth/me');
    assert.equal(me.auth, 'session');
    assert.equal(me.csrf_token, body.csrf_token, 'the panel can recover its CSRF token');
  });

  it('refuses a cookie mutation without (or with a wrong) X-CSRF-Token, and accepts it with', async () => {
    const c = new AdminClient(w.port);
    await c.login('root', ROOT_PW);
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 'csrf-a' }, { csrf: false }), 403, 'CSRF_FAILED');
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 'csrf-a' }, { csrf: false, headers: { 'X-CSRF-Token': 'f'.repeat(64) } }), 403, 'CSRF_FAILED');
    const made = await c.call('POST', '/api/v1/lines', { username: 'csrf-a' });
    assert.equal(made.status, 201, made.text);
  });

  it('lets a viewer read but not write', async () => {
    const c = new AdminClient(w.port);
    const res = await c.login('watcher', VIEW_PW);
    assert.deepEqual(res.json().scopes, ['read']);
    assert.equal((await c.call('GET', '/api/v1/lines')).status, 200);
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 'by-viewer' }), 403, 'FORBIDDEN');
  });

  it('ends the session on logout: the same cookie is then refused', async () => {
    const c = new AdminClient(w.port);
    await c.login('root', ROOT_PW);
    const out = await c.call('POST', '/api/v1/auth/logout');
    assert.equal(out.status, 204, out.text);
    assert.match(out.headers['set-cookie'][0], /Max-Age=0/);
    assertProblem(await c.call('GET', '/api/v1/auth/me'), 401, null);
  });

  it('brakes repeated failed logins with 429 and Retry-After, per account across addresses', async () => {
    const c = new AdminClient(w.port);
    let braked = null;
    for (let i = 0; i < 30 && !braked; i++) {
      const res = await request(w.port, 'POST', '/api/v1/auth/login', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'braked', password: `wrong-${i}-password` }),
        adminToken: false,
        localAddress: `127.0.0.${2 + (i % 20)}`,
      });
      if (res.status === 429) braked = res;
      else assert.equal(res.status, 401, res.text);
    }
    assert.ok(braked, 'a 429 within 30 failures from 20 addresses');
    assertProblem(braked, 429, 'RATE_LIMITED');
    assert.ok(Number(braked.headers['retry-after']) >= 1, 'Retry-After in seconds');
    // Even the right password is refused while the account is braked.
    const res = await request(w.port, 'POST', '/api/v1/auth/login', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'braked', password: 'Brake.pass-1234' }),
      adminToken: false,
    });
    assert.equal(res.status, 429);
    // Other accounts are not affected.
    await c.login('root', ROOT_PW);
  });
});

describe('routing and problems', () => {
  it('answers an unknown API path 404 and a wrong method 405 with Allow, as problem+json', async () => {
    const c = new AdminClient(w.port);
    await c.login('root', ROOT_PW);
    assertProblem(await c.call('GET', '/api/v1/no-such-thing'), 404, 'NOT_FOUND');
    const res = await c.call('PUT', '/api/v1/lines');
    assertProblem(res, 405, 'METHOD_NOT_ALLOWED');
    assert.match(res.headers.allow, /GET/);
    assert.match(res.headers.allow, /POST/);
    assertProblem(await c.call('GET', '/api/v1/lines/abc'), 404, 'NOT_FOUND');
    assertProblem(await c.call('GET', '/api/v1/lines/999999'), 404, 'NOT_FOUND');
    assertProblem(await c.call('GET', '/api/v1/lines?page_size=5000&page=0&sort=password'), 422, 'VALIDATION_FAILED', ['page_size', 'page', 'sort']);
  });
});

describe('lines through the API', () => {
  it('creates (201, Location, ETag), reads, merge-patches, refuses a stale If-Match, deletes', async () => {
    const c = new AdminClient(w.port);
    await c.login('root', ROOT_PW);
    const res = await c.call('POST', '/api/v1/lines', { username: 'api-line', password: 'Api.pass-123', max_connections: 2, message: 'hello', allowed_outputs: ['ts'] });
    assert.equal(res.status, 201, res.text);
    const line = res.json();
    assert.equal(res.headers.location, `/api/v1/lines/${line.id}`);
    assert.match(res.headers.etag, /^"[0-9a-f]{16}"$/);
    assert.equal(line.status, 'Active');
    assert.deepEqual(line.allowed_outputs, ['ts']);

    const read = await c.call('GET', `/api/v1/lines/${line.id}`);
    assert.equal(read.headers.etag, res.headers.etag, 'the same representation has the same ETag');

    const patched = await c.call('PATCH', `/api/v1/lines/${line.id}`, { max_connections: 5 }, { headers: { 'If-Match': read.headers.etag } });
    assert.equal(patched.status, 200, patched.text);
    const p = patched.json();
    assert.equal(p.max_connections, 5);
    assert.equal(p.message, 'hello', 'omitted fields stay');
    assert.deepEqual(p.allowed_outputs, ['ts'], 'omitted fields stay');
    assert.notEqual(patched.headers.etag, read.headers.etag);

    const stale = await c.call('PATCH', `/api/v1/lines/${line.id}`, { max_connections: 7 }, { headers: { 'If-Match': read.headers.etag } });
    assertProblem(stale, 412, 'PRECONDITION_FAILED');
    assert.equal((await c.ok('GET', `/api/v1/lines/${line.id}`)).max_connections, 5, 'a refused patch changes nothing');

    assertProblem(await c.call('PATCH', `/api/v1/lines/${line.id}`, { max_connections: -1, allowed_outputs: ['rtmp'] }), 422, 'VALIDATION_FAILED', ['max_connections']);
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 'api-line' }), 409, 'ALREADY_EXISTS');

    assertProblem(await c.call('DELETE', `/api/v1/lines/${line.id}`, undefined, { headers: { 'If-Match': read.headers.etag } }), 412, 'PRECONDITION_FAILED');
    const del = await c.call('DELETE', `/api/v1/lines/${line.id}`, undefined, { headers: { 'If-Match': patched.headers.etag } });
    assert.equal(del.status, 204, del.text);
    assert.equal(del.text, '');
    assertProblem(await c.call('GET', `/api/v1/lines/${line.id}`), 404, 'NOT_FOUND');
  });

  it('makes an API change visible in player_api.php within 2 s', async () => {
    const c = new AdminClient(w.port);
    await c.login('root', ROOT_PW);
    const line = await c.ok('POST', '/api/v1/lines', { username: 'visible', password: 'Vis.pass-123' });
    const ms = await pollUntil(async () => {
      const r = await request(w.port, 'GET', api('visible', 'Vis.pass-123'), { adminToken: false });
      return r.status === 200 && r.json().user_info?.auth === 1;
    }, 'new line logs in');
    assert.ok(ms <= 2000);
    await c.ok('PATCH', `/api/v1/lines/${line.id}`, { enabled: false });
    await pollUntil(async () => {
      const r = await request(w.port, 'GET', api('visible', 'Vis.pass-123'), { adminToken: false });
      return r.status === 200 && r.json().user_info?.status === 'Disabled';
    }, 'disabled line reads Disabled');
  });
});
