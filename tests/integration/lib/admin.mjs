// Admin API helpers: accounts made with the CLI, sessions (cookie + CSRF) and
// Bearer tokens, and one call() that speaks JSON with either.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from './http.mjs';
import { cliOk } from './server.mjs';

/** Creates an admin account with the CLI (before or while serving). */
export async function addAdmin(dataDir, username, password, role = 'admin') {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xtreamd-pw-'));
  const file = path.join(dir, 'pw');
  await writeFile(file, password, { mode: 0o600 });
  try {
    await cliOk(['admin', 'add', username, '--role', role, '--password-file', file, '--data', dataDir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A client of the admin API on port: either a session (login() sets cookie and
 * csrf) or a token. call(method, path, body, {headers, csrf}) → response with
 * .json(); bodies are sent as JSON.
 */
export class AdminClient {
  constructor(port, { token } = {}) {
    this.port = port;
    this.token = token;
    this.cookie = null;
    this.csrf = null;
  }

  async login(username, password, { expect = 200 } = {}) {
    const res = await this.call('POST', '/api/v1/auth/login', { username, password });
    assert.equal(res.status, expect, `login ${username}: ${res.text}`);
    if (res.status === 200) {
      const set = res.headers['set-cookie'];
      assert.ok(set && set.length === 1, 'one Set-Cookie on login');
      this.cookie = set[0].split(';')[0];
      this.csrf = res.json().csrf_token;
    }
    return res;
  }

  headers(method, { csrf = true } = {}) {
    const h = { Accept: 'application/json' };
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    if (this.cookie) h.Cookie = this.cookie;
    if (this.cookie && csrf && method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = this.csrf;
    return h;
  }

  async call(method, target, body, { headers = {}, csrf = true, raw = false } = {}) {
    const h = { ...this.headers(method, { csrf }), ...headers };
    let data;
    if (body !== undefined) {
      data = raw ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    return request(this.port, method, target, { headers: h, body: data, adminToken: false });
  }

  async ok(method, target, body, opts) {
    const res = await this.call(method, target, body, opts);
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${target}: ${res.status} ${res.text.slice(0, 500)}`);
    return res.status === 204 ? null : res.json();
  }

  /** Creates a token with the given scopes through the API (needs an admin session). */
  async mintToken(scopes, { name = `t${Date.now()}${Math.random()}`, expires_at } = {}) {
    const body = { name, scopes };
    if (expires_at !== undefined) body.expires_at = expires_at;
    const res = await this.ok('POST', '/api/v1/tokens', body);
    return res.token;
  }
}

/** Asserts a problem+json answer with status, code and (optionally) the fields named. */
export function assertProblem(res, status, code, fields = []) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text.slice(0, 400)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const p = res.json();
  assert.equal(p.status, status);
  if (code) assert.equal(p.code, code, `problem code: ${res.text.slice(0, 400)}`);
  assert.ok(Array.isArray(p.errors), 'errors[] present');
  for (const f of fields) assert.ok(p.errors.some((e) => e.field === f), `a field error on ${f}: ${JSON.stringify(p.errors)}`);
  return p;
}
