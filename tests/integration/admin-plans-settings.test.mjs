// /api/v1/plans and /api/v1/settings (issue 10, item 4): plans are created
// (201, Location, ETag), read, listed with q, sort and paging, merge-patched
// (omitted members stay, one duration replaces the other, null clears),
// refused with field errors (422) and on a taken name (409), guarded by
// If-Match (412), deleted (204, lines kept) and audited; the settings object
// reads every key with its default, takes a merge patch (null = default),
// names every bad or unknown key (422, nothing written), honours If-Match,
// needs the admin scope to change, is audited, and its line defaults apply
// to the next line created through the API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { cliOk } from './lib/server.mjs';

const ROOT_PW = 'Root.pass-1234';
let w;
let c;
let viewer;

before(async () => {
  w = await world({
    tag: 'admplans',
    lines: [],
    seed: async (dir) => {
      await addAdmin(dir, 'root', ROOT_PW);
      await addAdmin(dir, 'looker', 'Looker.pass-123', 'viewer');
      await cliOk(['bouquet', 'add', 'Sport', '--category', 'Demo News', '--data', dir]);
    },
  });
  c = new AdminClient(w.port);
  await c.login('root', ROOT_PW);
  viewer = new AdminClient(w.port);
  await viewer.login('looker', 'Looker.pass-123');
});
after(async () => {
  await w?.cleanup();
});

describe('plans', () => {
  it('create (201, Location, ETag), read, merge patch, If-Match, delete', async () => {
    const res = await c.call('POST', '/api/v1/plans', { name: 'Gold', duration_months: 1, max_connections: 2, allowed_outputs: ['hls', 'ts'], bouquets: ['Sport', 'Demo'] });
    assert.equal(res.status, 201, res.text);
    const p = res.json();
    assert.equal(res.headers.location, `/api/v1/plans/${p.id}`);
    assert.match(res.headers.etag, /^"[0-9a-f]+"$/);
    assert.equal(p.duration_months, 1);
    assert.equal(p.duration_days, null);
    assert.equal(p.trial_hours, null);
    assert.deepEqual(p.allowed_outputs, ['m3u8', 'ts']);
    assert.deepEqual(p.bouquets.map((b) => b.name), ['Sport', 'Demo']);
    assert.equal(p.is_trial, false);
    const read = await c.call('GET', `/api/v1/plans/${p.id}`);
    assert.equal(read.headers.etag, res.headers.etag);

    const patched = await c.call('PATCH', `/api/v1/plans/${p.id}`, { duration_days: 30 }, { headers: { 'If-Match': read.headers.etag } });
    assert.equal(patched.status, 200, patched.text);
    const q = patched.json();
    assert.equal(q.duration_days, 30);
    assert.equal(q.duration_months, null, 'one duration replaces the other');
    for (const k of ['name', 'max_connections', 'allowed_outputs', 'bouquets', 'is_trial', 'created_at']) assert.deepEqual(q[k], p[k], `${k} stays`);
    assertProblem(await c.call('PATCH', `/api/v1/plans/${p.id}`, { max_connections: 9 }, { headers: { 'If-Match': read.headers.etag } }), 412, 'PRECONDITION_FAILED');
    assertProblem(await c.call('DELETE', `/api/v1/plans/${p.id}`, undefined, { headers: { 'If-Match': read.headers.etag } }), 412, 'PRECONDITION_FAILED');
    assert.equal((await c.ok('GET', `/api/v1/plans/${p.id}`)).max_connections, 2, 'a refused change changes nothing');

    const cleared = await c.ok('PATCH', `/api/v1/plans/${p.id}`, { duration_days: null, bouquets: null, max_connections: null });
    assert.equal(cleared.duration_days, null);
    assert.deepEqual(cleared.bouquets, []);
    assert.equal(cleared.max_connections, 1);

    // A line made from it keeps what it got when the plan goes.
    const line = await c.ok('POST', '/api/v1/lines', { username: 'gold-line', plan_id: p.id });
    assert.equal(line.exp_date, null, 'a plan without duration gives lines that never expire');
    const del = await c.call('DELETE', `/api/v1/plans/${p.id}`, undefined, { headers: { 'If-Match': patched.headers.etag } });
    assertProblem(del, 412, 'PRECONDITION_FAILED');
    assert.equal((await c.call('DELETE', `/api/v1/plans/${p.id}`)).status, 204);
    assertProblem(await c.call('GET', `/api/v1/plans/${p.id}`), 404, 'NOT_FOUND');
    assert.deepEqual((await c.ok('GET', `/api/v1/lines/${line.id}`)).allowed_outputs, ['m3u8', 'ts']);
  });

  it('names every bad field (422), a taken name (409), a trial-only duration', async () => {
    await c.ok('POST', '/api/v1/plans', { name: 'Taken' });
    assertProblem(await c.call('POST', '/api/v1/plans', { name: 'Taken' }), 409, 'ALREADY_EXISTS', ['name']);
    assertProblem(
      await c.call('POST', '/api/v1/plans', { name: '', duration_days: 0, duration_months: 121, max_connections: -1, allowed_outputs: ['rtmp'], is_trial: 'yes', price: 3, id: 4 }),
      422, 'VALIDATION_FAILED', ['name', 'duration_days', 'duration_months', 'max_connections', 'allowed_outputs', 'is_trial', 'price', 'id'],
    );
    assertProblem(await c.call('POST', '/api/v1/plans', { name: 'Two', duration_days: 1, duration_months: 1 }), 422, 'VALIDATION_FAILED', ['duration_months']);
    assertProblem(await c.call('POST', '/api/v1/plans', { name: 'Hours', trial_hours: 24 }), 422, 'VALIDATION_FAILED', ['trial_hours']);
    assertProblem(await c.call('POST', '/api/v1/plans', { name: 'Ghost', bouquets: ['No Such'] }), 422, 'UNKNOWN_REFERENCE', ['bouquets[0]']);
    const trial = await c.ok('POST', '/api/v1/plans', { name: 'Trial 24h', trial_hours: 24, is_trial: true });
    assert.equal(trial.trial_hours, 24);
    assertProblem(await c.call('PATCH', `/api/v1/plans/${trial.id}`, { is_trial: false }), 422, 'VALIDATION_FAILED', ['trial_hours']);
    assertProblem(await c.call('POST', '/api/v1/plans', '{"name":', { raw: true }), 400, 'MALFORMED_BODY');
    assertProblem(await c.call('PATCH', '/api/v1/plans/999999', {}), 404, 'NOT_FOUND');
  });

  it('lists with q, sort and paging', async () => {
    for (const [name, maxc] of [['List A', 3], ['List B', 1], ['List C', 2]]) await c.ok('POST', '/api/v1/plans', { name, max_connections: maxc });
    const page = await c.ok('GET', '/api/v1/plans?q=list&sort=-max_connections');
    assert.deepEqual(page.items.map((p) => p.name), ['List A', 'List C', 'List B']);
    assert.equal(page.total, 3);
    const p2 = await c.ok('GET', '/api/v1/plans?q=LIST&sort=name&page=2&page_size=2');
    assert.deepEqual(p2.items.map((p) => p.name), ['List C']);
    assert.equal(p2.total, 3);
    assertProblem(await c.call('GET', '/api/v1/plans?sort=price'), 422, 'VALIDATION_FAILED', ['sort']);
  });

  it('scopes and roles: a viewer reads, a read token cannot write, a lines:write token can', async () => {
    assert.equal((await viewer.call('GET', '/api/v1/plans')).status, 200);
    assertProblem(await viewer.call('POST', '/api/v1/plans', { name: 'By Viewer' }), 403, 'FORBIDDEN');
    const reader = new AdminClient(w.port, { token: await c.mintToken(['read']) });
    assertProblem(await reader.call('POST', '/api/v1/plans', { name: 'By Reader' }), 403, 'FORBIDDEN');
    const writer = new AdminClient(w.port, { token: await c.mintToken(['lines:write']) });
    const made = await writer.call('POST', '/api/v1/plans', { name: 'By Writer' });
    assert.equal(made.status, 201, made.text);
  });

  it('writes audit rows (create, update, delete) with the JSON before and after', async () => {
    const p = await c.ok('POST', '/api/v1/plans', { name: 'Audited', duration_days: 7 });
    await c.ok('PATCH', `/api/v1/plans/${p.id}`, { max_connections: 4 });
    await c.ok('DELETE', `/api/v1/plans/${p.id}`);
    const rows = (await c.ok('GET', `/api/v1/audit-log?entity=plan&entity_id=${p.id}&sort=id`)).items;
    assert.deepEqual(rows.map((r) => r.action), ['create', 'update', 'delete']);
    assert.equal(rows[0].after.name, 'Audited');
    assert.equal(rows[1].before.max_connections, 1);
    assert.equal(rows[1].after.max_connections, 4);
    assert.equal(rows[2].after, null);
  });
});

describe('settings', () => {
  const DEFAULTS = {
    server_name: 'xtreamd',
    public_url: '',
    timezone: 'UTC',
    default_max_connections: 1,
    default_outputs: ['ts', 'm3u8'],
    trial_hours: 0,
    epg_refresh_hours: 24,
    signed_urls: 0,
    signed_url_ttl: 86400,
    signed_url_bind_ip: 0,
    signed_url_grace: 3600,
    xui_api_path: '',
  };

  it('reads every key with its default, for a viewer too', async () => {
    const res = await viewer.call('GET', '/api/v1/settings');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), DEFAULTS);
    assert.match(res.headers.etag, /^"[0-9a-f]+"$/);
  });

  it('a merge patch changes what it names, null restores the default, and the line defaults apply', async () => {
    const s = await c.ok('PATCH', '/api/v1/settings', { server_name: 'Hotel TV', timezone: 'Europe/Paris', default_max_connections: 3, default_outputs: ['hls'], trial_hours: 48 });
    assert.deepEqual(s, { ...DEFAULTS, server_name: 'Hotel TV', timezone: 'Europe/Paris', default_max_connections: 3, default_outputs: ['m3u8'], trial_hours: 48 });
    const t0 = Math.floor(Date.now() / 1000);
    const line = await c.ok('POST', '/api/v1/lines', { username: 'by-defaults', is_trial: true });
    assert.equal(line.max_connections, 3);
    assert.deepEqual(line.allowed_outputs, ['m3u8']);
    assert.ok(line.exp_date_epoch >= t0 + 48 * 3600 && line.exp_date_epoch <= Math.floor(Date.now() / 1000) + 48 * 3600, JSON.stringify(line));
    const back = await c.ok('PATCH', '/api/v1/settings', { default_max_connections: null, default_outputs: null, trial_hours: null, server_name: null, timezone: null });
    assert.deepEqual(back, DEFAULTS);
  });

  it('names every bad and unknown key (422) and writes nothing', async () => {
    const before0 = await c.ok('GET', '/api/v1/settings');
    assertProblem(
      await c.call('PATCH', '/api/v1/settings', { server_name: '', public_url: 'ftp://x', timezone: 'Mars/Olympus', default_max_connections: 100001, default_outputs: ['flv'], trial_hours: '1', epg_refresh_hours: 0, colour: 'red' }),
      422, 'VALIDATION_FAILED', ['server_name', 'public_url', 'timezone', 'default_max_connections', 'default_outputs', 'trial_hours', 'epg_refresh_hours', 'colour'],
    );
    assertProblem(await c.call('PATCH', '/api/v1/settings', { trial_hours: 5, unknown_key: 1 }), 422, 'VALIDATION_FAILED', ['unknown_key']);
    assertProblem(await c.call('PATCH', '/api/v1/settings', { timezone: '../../etc/passwd' }), 422, 'VALIDATION_FAILED', ['timezone']);
    assertProblem(await c.call('PATCH', '/api/v1/settings', '[]', { raw: true }), 400, 'MALFORMED_BODY');
    assert.deepEqual(await c.ok('GET', '/api/v1/settings'), before0, 'nothing written');
  });

  it('If-Match, the admin scope, and audit rows', async () => {
    const cur = await c.call('GET', '/api/v1/settings');
    const ok = await c.call('PATCH', '/api/v1/settings', { public_url: 'https://tv.example.com:8443' }, { headers: { 'If-Match': cur.headers.etag } });
    assert.equal(ok.status, 200, ok.text);
    assertProblem(await c.call('PATCH', '/api/v1/settings', { public_url: '' }, { headers: { 'If-Match': cur.headers.etag } }), 412, 'PRECONDITION_FAILED');
    assertProblem(await viewer.call('PATCH', '/api/v1/settings', { public_url: '' }), 403, 'FORBIDDEN');
    const lines = new AdminClient(w.port, { token: await c.mintToken(['lines:write']) });
    assertProblem(await lines.call('PATCH', '/api/v1/settings', { public_url: '' }), 403, 'FORBIDDEN');
    const adminTok = new AdminClient(w.port, { token: await c.mintToken(['admin']) });
    assert.equal((await adminTok.ok('PATCH', '/api/v1/settings', { public_url: null })).public_url, '');
    const rows = (await c.ok('GET', '/api/v1/audit-log?entity=settings&sort=-id&page_size=2')).items;
    assert.equal(rows[0].action, 'update');
    assert.equal(rows[0].before.public_url, 'https://tv.example.com:8443');
    assert.equal(rows[0].after.public_url, '');
    assert.equal(rows[1].after.public_url, 'https://tv.example.com:8443');
  });
});
