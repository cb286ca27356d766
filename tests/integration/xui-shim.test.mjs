// The XUI-compatible API shim (issue 17, item 4): billing modules written for
// XUI.one / XC_VM call `<secret path>?api_key=…&action=…` (GET or POST form)
// and get XUI's answers ({"status":"STATUS_SUCCESS","data":…}, string-typed
// line rows, XUI's error names), served by the same domain services as the
// REST API. Off by default (the path is a 404 like any unknown path); the
// path setting is validated; edit_line keeps every field it leaves out; bad
// keys are refused and braked; no SQL or file action exists; a reseller's key
// is scoped and charged (see the reseller describe block).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { request } from './lib/http.mjs';
import { pollUntil } from './lib/server.mjs';

const ROOT_PW = 'Root.pass-12345';
const XPATH = '/billing-8f3a9c2e71d4/api.php';
let w;
let root;
let key; // an admin token with the admin scope
let bq1;
let bq2;

/** One shim call: GET with every field in the query, or POST with the fields as a form. */
async function xui(action, fields = {}, { method = 'POST', apiKey = key, path = XPATH, localAddress, contentType, headers: extra = {} } = {}) {
  const q = new URLSearchParams();
  if (apiKey !== null) q.append('api_key', apiKey);
  if (action !== null) q.append('action', action);
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    for (const one of Array.isArray(v) ? v : [v]) (method === 'GET' ? q : form).append(Array.isArray(v) ? `${k}[]` : k, String(one));
  }
  const body = method === 'POST' ? form.toString() : undefined;
  const headers = { ...extra };
  if (body !== undefined && contentType !== null) headers['Content-Type'] = contentType ?? 'application/x-www-form-urlencoded';
  const res = await request(w.port, method, `${path}?${q}`, { headers, body, adminToken: false, localAddress });
  return res;
}

async function xuiOk(action, fields, opts) {
  const res = await xui(action, fields, opts);
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'], /application\/json/);
  const j = res.json();
  assert.equal(j.status, 'STATUS_SUCCESS', `${action}: ${res.text}`);
  return j;
}

async function xuiFail(action, fields, status, code, opts) {
  const res = await xui(action, fields, opts);
  assert.equal(res.status, 200, `XUI answers errors with 200 too: ${res.text}`);
  const j = res.json();
  assert.equal(j.status, status, `${action}: ${res.text}`);
  if (code) assert.equal(j.code, code, res.text);
  assert.equal(typeof j.error, 'string');
  assert.equal(j.data, undefined, 'no data with an error');
  return j;
}

before(async () => {
  w = await world({ tag: 'xui', lines: [], seed: async (dir) => addAdmin(dir, 'root', ROOT_PW) });
  root = new AdminClient(w.port);
  await root.login('root', ROOT_PW);
  key = await root.mintToken(['admin'], { name: 'billing' });
  bq1 = (await root.ok('POST', '/api/v1/bouquets', { name: 'XUI Basic' })).id;
  bq2 = (await root.ok('POST', '/api/v1/bouquets', { name: 'XUI Sports' })).id;
});
after(async () => {
  if (w?.srv) assert.ok(!w.srv.logs().includes(key), 'the api_key is never logged');
  // Paths that are not the shim's are logged like any 404; the shim's own calls show "/(xui-api)".
  const leaked = (w?.srv?.logs() ?? '').split('\n').filter((l) => l.includes(XPATH.slice(1, 12)) && !/" 404 /.test(l));
  assert.deepEqual(leaked, [], 'the secret path is never logged');
  if (w?.srv) assert.match(w.srv.logs(), /"POST \/\(xui-api\)[^"]*" 200 /);
  await w?.cleanup();
});

describe('the secret path', () => {
  it('is off by default: the path is a 404 like any unknown path', async () => {
    const s = await root.ok('GET', '/api/v1/settings');
    assert.equal(s.xui_api_path, '');
    const res = await xui('user_info', {}, { method: 'GET' });
    assert.equal(res.status, 404);
  });

  it('refuses paths that are short, unsafe or shadow a client path', async () => {
    for (const bad of ['billing-8f3a9c2e71d4', '/short/api.php', '/live/aaaaaaaaaaaaaaaaaa', '/player_api.php/xxxxxxxxxxx',
      '/api/v1/xxxxxxxxxxxxxxx', '/aaaaaaaaaaa/bbbbbbbbbbb/123', '/aaaaaaaa/../bbbbbbbbbbbb', '/aaaaaaaaaaaa bbbbbbbbbb',
      '/aaaaaaaaaaaaaaaaaaaaa/', '/a/b/c/d/eeeeeeeeeeeeeee']) {
      const res = await root.call('PATCH', '/api/v1/settings', { xui_api_path: bad });
      assertProblem(res, 422, 'VALIDATION_FAILED', ['xui_api_path']);
    }
    assert.equal((await root.ok('GET', '/api/v1/settings')).xui_api_path, '');
  });

  it('answers on the path once set, and only there', async () => {
    await root.ok('PATCH', '/api/v1/settings', { xui_api_path: XPATH });
    await pollUntil(async () => (await xui('user_info', {}, { method: 'GET' })).status === 200, { timeoutMs: 15000 });
    // A trailing slash is the same path (XUI's URLs end with one); a longer or other path is not.
    assert.equal((await xui('user_info', {}, { method: 'GET', path: `${XPATH}/` })).status, 200);
    assert.equal((await xui('user_info', {}, { method: 'GET', path: `${XPATH}/x` })).status, 404);
    assert.equal((await xui('user_info', {}, { method: 'GET', path: '/billing-8f3a9c2e71d4' })).status, 404);
    // The client API still answers beside it.
    const pa = await request(w.port, 'GET', '/player_api.php?username=nobody&password=nothing', { adminToken: false });
    assert.equal(pa.status, 401);
  });
});

describe('authentication', () => {
  it('refuses a missing or wrong api_key with INVALID_API_KEY', async () => {
    await xuiFail('user_info', {}, 'STATUS_FAILURE', 'INVALID_API_KEY', { apiKey: null });
    await xuiFail('user_info', {}, 'STATUS_FAILURE', 'INVALID_API_KEY', { apiKey: '' });
    await xuiFail('user_info', {}, 'STATUS_FAILURE', 'INVALID_API_KEY', { apiKey: `xtd_${'0'.repeat(64)}` });
    await xuiFail('get_lines', {}, 'STATUS_FAILURE', 'INVALID_API_KEY', { apiKey: 'not-a-key' });
  });

  it('brakes an address that keeps sending bad keys, like the admin login', async () => {
    const from = { localAddress: '127.0.0.7' };
    for (let i = 0; i < 5; i++) await xuiFail('user_info', {}, 'STATUS_FAILURE', 'INVALID_API_KEY', { ...from, apiKey: `bad${i}` });
    const j = await xuiFail('user_info', {}, 'STATUS_FAILURE', 'RATE_LIMITED', { ...from, method: 'GET' });
    assert.match(j.error, /retry in \d+ s/);
    await xuiOk('user_info', {}, { method: 'GET' }); // another address is not locked
  });

  it('answers user_info for an admin key', async () => {
    const j = await xuiOk('user_info', {}, { method: 'GET' });
    assert.equal(j.data.username, 'root');
    assert.equal(j.data.member_group_id, '1');
    assert.equal(j.permissions.is_admin, '1');
    assert.equal(j.permissions.is_reseller, '0');
  });

  it('has no SQL, file or settings action: unknown actions are INVALID_ACTION', async () => {
    for (const a of ['mysql_query', 'get_directory', 'edit_settings', 'get_settings', 'kill_pid', 'get_free_space', 'nope']) {
      await xuiFail(a, { query: 'SELECT 1' }, 'STATUS_FAILURE', 'INVALID_ACTION');
    }
    await xuiFail(null, {}, 'STATUS_FAILURE', 'INVALID_ACTION');
  });

  it('refuses writes to a read-only key with STATUS_NO_PERMISSIONS', async () => {
    const ro = await root.mintToken(['read'], { name: 'ro' });
    await xuiOk('get_lines', {}, { apiKey: ro, method: 'GET' });
    await xuiFail('create_line', { username: 'never' }, 'STATUS_NO_PERMISSIONS', 'NO_PERMISSIONS', { apiKey: ro });
    assert.equal((await xuiFail('get_line', { id: 999999 }, 'STATUS_FAILURE', 'NOT_FOUND', { apiKey: ro })).code, 'NOT_FOUND');
  });
});

describe('lines (admin key)', () => {
  let id;

  it('create_line answers the stored row in XUI shape', async () => {
    const j = await xuiOk('create_line', {
      username: 'xui-one', password: 'Xui.pass-123', max_connections: 3, exp_date: '2030-01-01',
      bouquets_selected: [bq2, bq1], admin_notes: 'vip customer', is_trial: 0, access_output: [1, 2, 3],
      contact: 'ignored@example.com',
    });
    const d = j.data;
    id = d.id;
    assert.match(d.id, /^\d+$/);
    assert.equal(d.username, 'xui-one');
    assert.equal(d.password, 'Xui.pass-123');
    assert.equal(d.exp_date, String(Date.UTC(2030, 0, 1) / 1000));
    assert.equal(d.max_connections, '3');
    assert.equal(d.bouquet, `[${bq2},${bq1}]`);
    assert.equal(d.allowed_outputs, '[1,2]');
    assert.equal(d.admin_notes, 'vip customer');
    assert.equal(d.enabled, '1');
    assert.equal(d.admin_enabled, '1');
    assert.equal(d.is_trial, '0');
    assert.match(d.created_at, /^\d+$/);
    // The same line through the REST API: one domain behind both.
    const rest = await root.ok('GET', `/api/v1/lines/${id}`);
    assert.equal(rest.max_connections, 3);
    assert.deepEqual(rest.bouquets.map((b) => b.id), [bq2, bq1]);
    assert.equal(rest.notes, 'vip customer');
  });

  it('edit_line changes only what it sends (the omitted-field rule)', async () => {
    const exp = 1924992000; // 2031-01-01
    const j = await xuiOk('edit_line', { id, exp_date: exp });
    assert.equal(j.data.exp_date, String(exp));
    const back = (await xuiOk('get_line', { id }, { method: 'GET' })).data;
    assert.equal(back.exp_date, String(exp));
    assert.equal(back.max_connections, '3');
    assert.equal(back.bouquet, `[${bq2},${bq1}]`);
    assert.equal(back.admin_notes, 'vip customer');
    assert.equal(back.password, 'Xui.pass-123');
    assert.equal(back.enabled, '1');
    assert.equal(back.admin_enabled, '1');
    assert.equal(back.allowed_outputs, '[1,2]');
    // XUI's date form, and a repeated username (billing modules send it back) are fine.
    const k = await xuiOk('edit_line', { id, username: 'xui-one', exp_date: '2031-06-01 12:30:00', max_connections: 4 });
    assert.equal(k.data.exp_date, String(Date.UTC(2031, 5, 1, 12, 30) / 1000));
    assert.equal(k.data.max_connections, '4');
    assert.equal(k.data.bouquet, `[${bq2},${bq1}]`);
    // An explicitly empty list is the empty list; no_expire clears the expiry.
    const e = await xuiOk('edit_line', { id, bouquets_selected: '[]', no_expire: 1 });
    assert.equal(e.data.bouquet, '[]');
    assert.equal(e.data.exp_date, null);
    assert.equal(e.data.max_connections, '4');
    const f = await xuiOk('edit_line', { id, bouquets_selected: JSON.stringify([bq1]), exp_date: exp });
    assert.equal(f.data.bouquet, `[${bq1}]`);
  });

  it('disable/enable/ban/unban switch one flag each', async () => {
    assert.equal((await xuiOk('disable_line', { id })).data.enabled, '0');
    assert.equal((await root.ok('GET', `/api/v1/lines/${id}`)).status, 'Disabled');
    assert.equal((await xuiOk('enable_line', { id })).data.enabled, '1');
    const b = (await xuiOk('ban_line', { id })).data;
    assert.equal(b.admin_enabled, '0');
    assert.equal(b.enabled, '1');
    assert.equal((await root.ok('GET', `/api/v1/lines/${id}`)).banned, true);
    assert.equal((await xuiOk('unban_line', { id })).data.admin_enabled, '1');
  });

  it('get_lines pages with start/limit and searches', async () => {
    const total = (await root.ok('GET', '/api/v1/lines')).total;
    await xuiOk('create_line', { username: 'xui-two', password: 'Xui.pass-234' });
    const all = await xuiOk('get_lines', {}, { method: 'GET' });
    assert.equal(all.recordsTotal, total + 1);
    assert.equal(all.data.length, total + 1);
    assert.ok(all.data.some((l) => l.username === 'xui-two' && l.password === 'Xui.pass-234'));
    const page = await xuiOk('get_lines', { start: 1, limit: 1 }, { method: 'GET' });
    assert.equal(page.data.length, 1);
    assert.equal(page.recordsTotal, total + 1);
    const found = await xuiOk('get_lines', { 'search[value]': 'two' }, { method: 'GET' });
    assert.deepEqual(found.data.map((l) => l.username), ['xui-two']);
  });

  it('answers XUI error names for bad input', async () => {
    await xuiFail('create_line', { username: 'xui-one', password: 'whatever-1' }, 'STATUS_EXISTS_USERNAME');
    const bad = await xuiFail('create_line', { username: 'xui-bad', max_connections: 'many' }, 'STATUS_INVALID_INPUT');
    assert.ok(bad.errors.some((e) => e.field === 'max_connections'));
    await xuiFail('create_line', { username: 'xui-bad', exp_date: 'next week' }, 'STATUS_INVALID_DATE');
    await xuiFail('create_line', { username: 'xui-bad', bouquets_selected: [987654] }, 'STATUS_INVALID_INPUT');
    await xuiFail('create_line', { password: 'no-username-1' }, 'STATUS_INVALID_USERNAME');
    await xuiFail('get_line', { id: 987654 }, 'STATUS_FAILURE', 'NOT_FOUND');
    await xuiFail('edit_line', { id: 'x' }, 'STATUS_INVALID_INPUT');
    const none = await root.ok('GET', '/api/v1/lines?q=xui-bad');
    assert.equal(none.total, 0, 'nothing created by a refused request');
  });

  it('takes the form from a POST without Content-Type and multipart too', async () => {
    const j = await xuiOk('edit_line', { id, max_connections: 5 }, { contentType: null });
    assert.equal(j.data.max_connections, '5');
    const fd = new FormData();
    fd.append('id', id);
    fd.append('max_connections', '6');
    const r = new Request('http://x/', { method: 'POST', body: fd });
    const body = Buffer.from(await r.arrayBuffer());
    const res = await request(w.port, 'POST', `${XPATH}?api_key=${key}&action=edit_line`, {
      headers: { 'Content-Type': r.headers.get('content-type') }, body, adminToken: false,
    });
    assert.equal(res.json().data.max_connections, '6');
  });

  it('get_packages lists the plans as XUI packages', async () => {
    const plan = await root.ok('POST', '/api/v1/plans', { name: 'XUI Monthly', duration_months: 1, max_connections: 2, bouquets: [bq1] });
    const j = await xuiOk('get_packages', {}, { method: 'GET' });
    const p = j.data.find((x) => x.id === String(plan.id));
    assert.ok(p, JSON.stringify(j));
    assert.equal(p.package_name, 'XUI Monthly');
    assert.equal(p.official_duration, '1');
    assert.equal(p.official_duration_in, 'months');
    assert.equal(p.max_connections, '2');
    assert.equal(p.bouquets, `[${bq1}]`);
    // An admin key may create from a package (nothing is charged to an admin).
    const l = (await xuiOk('create_line', { username: 'xui-pkg', password: 'Xui.pass-345', package: plan.id })).data;
    assert.equal(l.max_connections, '2');
    assert.equal(l.bouquet, `[${bq1}]`);
    assert.ok(Number(l.exp_date) > Date.now() / 1000 + 27 * 86400);
  });

  it('delete_line removes the line; it is audited like the REST calls', async () => {
    const j = await xuiOk('delete_line', { id });
    assert.deepEqual(j, { status: 'STATUS_SUCCESS' });
    await xuiFail('get_line', { id }, 'STATUS_FAILURE', 'NOT_FOUND');
    await xuiFail('delete_line', { id }, 'STATUS_FAILURE', 'NOT_FOUND');
    const log = await root.ok('GET', `/api/v1/audit-log?entity=line&entity_id=${id}`);
    assert.deepEqual(log.items.map((r) => r.action).slice(0, 1), ['delete']);
    assert.ok(log.items.some((r) => r.action === 'create' && r.admin_username === 'root' && r.token_id));
  });
});

describe('reseller keys', () => {
  const RS_PW = 'Reseller.pass-123';
  let group;
  let plan;
  let other;
  let east;
  let west;
  let eastKey;
  let westKey;
  let lineId;

  const keyOf = async (username) => {
    const c = new AdminClient(w.port);
    await c.login(username, RS_PW);
    return c.mintToken(['read', 'lines:write'], { name: `${username}-billing` });
  };
  const balance = async (id) => (await root.ok('GET', `/api/v1/resellers/${id}`)).balance;

  before(async () => {
    group = await root.ok('POST', '/api/v1/reseller-groups', { name: 'xui-hotels', trial_limit: 1, trial_period_hours: 24 });
    plan = await root.ok('POST', '/api/v1/plans', { name: 'XUI Reseller Month', duration_days: 30, max_connections: 2,
      bouquets: [bq2], credit_price: '2.5', trial_price: '0.5', reseller_group_ids: [group.id] });
    other = await root.ok('POST', '/api/v1/plans', { name: 'XUI Not For Resale', duration_days: 7, credit_price: 1 });
    east = await root.ok('POST', '/api/v1/resellers', { username: 'xui-east', password: RS_PW, group_id: group.id, username_prefix: 'e-' });
    west = await root.ok('POST', '/api/v1/resellers', { username: 'xui-west', password: RS_PW, group_id: group.id });
    await root.ok('POST', `/api/v1/resellers/${east.id}/credits`, { amount: '6', reason: 'xui test' });
    await root.ok('POST', `/api/v1/resellers/${west.id}/credits`, { amount: '10', reason: 'xui test' });
    eastKey = await keyOf('xui-east');
    westKey = await keyOf('xui-west');
  });

  it('user_info shows the reseller and its credits; packages only what it may sell, with prices', async () => {
    const j = await xuiOk('user_info', {}, { apiKey: eastKey, method: 'GET' });
    assert.equal(j.data.username, 'xui-east');
    assert.equal(j.data.member_group_id, '2');
    assert.equal(j.data.credits, '6.0000');
    assert.equal(j.permissions.is_reseller, '1');
    assert.equal(j.permissions.is_admin, '0');
    const p = await xuiOk('packages', {}, { apiKey: eastKey, method: 'GET' });
    assert.deepEqual(p.data.map((x) => x.id), [String(plan.id)]);
    assert.equal(p.data[0].official_credits, '2.5000');
    assert.equal(p.data[0].trial_credits, '0.5000');
    assert.ok(!p.data.some((x) => x.id === String(other.id)));
  });

  it('create_line from a package charges its price; the plan gives the line', async () => {
    const j = await xuiOk('create_line', { username: 'guest1', password: 'Guest.pass-1', package: plan.id }, { apiKey: eastKey });
    const d = j.data;
    lineId = d.id;
    assert.equal(d.username, 'e-guest1', 'the reseller prefix');
    assert.equal(d.member_id, String(east.id));
    assert.equal(d.max_connections, '2');
    assert.equal(d.bouquet, `[${bq2}]`);
    assert.ok(Math.abs(Number(d.exp_date) - (Date.now() / 1000 + 30 * 86400)) < 3600);
    assert.equal(await balance(east.id), '3.5000');
    await xuiFail('create_line', { username: 'guest9', password: 'Guest.pass-9' }, 'STATUS_INVALID_PACKAGE', null, { apiKey: eastKey });
    await xuiFail('create_line', { username: 'guest9', package: other.id }, 'STATUS_INVALID_PACKAGE', null, { apiKey: eastKey });
    const bad = await xuiFail('create_line', { username: 'guest9', package: plan.id, max_connections: 50 }, 'STATUS_INVALID_INPUT', null, { apiKey: eastKey });
    assert.ok(bad.errors.some((e) => e.field === 'max_connections'));
    assert.equal(await balance(east.id), '3.5000', 'nothing charged for refused requests');
  });

  it('edit_line with a package extends and charges; without one it keeps omitted fields', async () => {
    const before = (await xuiOk('get_line', { id: lineId }, { apiKey: eastKey, method: 'GET' })).data;
    const j = await xuiOk('edit_line', { id: lineId, package: plan.id }, { apiKey: eastKey });
    assert.equal(Number(j.data.exp_date) - Number(before.exp_date), 30 * 86400);
    assert.equal(await balance(east.id), '1.0000');
    const n = await xuiOk('edit_line', { id: lineId, reseller_notes: 'room 12' }, { apiKey: eastKey });
    assert.equal(n.data.admin_notes, 'room 12');
    assert.equal(n.data.exp_date, j.data.exp_date);
    assert.equal(n.data.bouquet, `[${bq2}]`);
    assert.equal(n.data.max_connections, '2');
    assert.equal(n.data.password, 'Guest.pass-1');
    await xuiFail('edit_line', { id: lineId, max_connections: 9 }, 'STATUS_INVALID_INPUT', null, { apiKey: eastKey });
    await xuiFail('edit_line', { id: lineId, exp_date: '2040-01-01' }, 'STATUS_INVALID_DATE', null, { apiKey: eastKey });
    assert.equal(await balance(east.id), '1.0000');
  });

  it('refuses a spend the balance does not cover, creating nothing', async () => {
    const lines = (await xuiOk('get_lines', {}, { apiKey: eastKey, method: 'GET' })).recordsTotal;
    await xuiFail('create_line', { username: 'guest2', package: plan.id }, 'STATUS_INSUFFICIENT_CREDITS', 'INSUFFICIENT_CREDITS', { apiKey: eastKey });
    await xuiFail('edit_line', { id: lineId, package: plan.id }, 'STATUS_INSUFFICIENT_CREDITS', 'INSUFFICIENT_CREDITS', { apiKey: eastKey });
    assert.equal((await xuiOk('get_lines', {}, { apiKey: eastKey, method: 'GET' })).recordsTotal, lines);
    assert.equal((await root.ok('GET', '/api/v1/lines?q=guest2')).total, 0);
    assert.equal(await balance(east.id), '1.0000');
    // A trial costs the trial price, within the group's trial limit (1 per day).
    const t = await xuiOk('create_line', { username: 'trial1', package: plan.id, trial: 1 }, { apiKey: eastKey });
    assert.equal(t.data.is_trial, '1');
    assert.equal(await balance(east.id), '0.5000');
    await xuiFail('create_line', { username: 'trial2', package: plan.id, trial: 1 }, 'STATUS_NO_TRIALS', 'TRIAL_LIMIT', { apiKey: eastKey });
    assert.equal(await balance(east.id), '0.5000');
  });

  it('is scoped to its subtree: another reseller\'s line does not exist for it', async () => {
    const mine = await xuiOk('create_line', { username: 'w-guest', package: plan.id }, { apiKey: westKey });
    assert.equal(mine.data.member_id, String(west.id));
    for (const action of ['get_line', 'edit_line', 'disable_line', 'enable_line', 'delete_line']) {
      const j = await xuiFail(action, { id: lineId, reseller_notes: 'x' }, 'STATUS_FAILURE', 'NOT_FOUND', { apiKey: westKey });
      assert.ok(!JSON.stringify(j).includes('e-guest1'));
    }
    await xuiFail('edit_line', { id: lineId, package: plan.id }, 'STATUS_FAILURE', 'NOT_FOUND', { apiKey: westKey });
    assert.equal(await balance(west.id), '7.5000', 'charged once for its own line, never for the refused extension');
    const listed = await xuiOk('get_lines', {}, { apiKey: westKey, method: 'GET' });
    assert.deepEqual(listed.data.map((l) => l.username), ['w-guest']);
    // Ban is not a reseller action in XUI; disable is.
    await xuiFail('ban_line', { id: mine.data.id }, 'STATUS_FAILURE', 'INVALID_ACTION', { apiKey: westKey });
    assert.equal((await xuiOk('disable_line', { id: mine.data.id }, { apiKey: westKey })).data.enabled, '0');
    assert.equal((await xuiOk('enable_line', { id: mine.data.id }, { apiKey: westKey })).data.enabled, '1');
    // The admin key sees every line, with its owner.
    assert.equal((await xuiOk('get_line', { id: lineId })).data.member_id, String(east.id));
  });

  it('honours Idempotency-Key on spends: a retry replays the answer and charges once', async () => {
    const start = await balance(west.id);
    const opts = { apiKey: westKey, headers: { 'Idempotency-Key': 'order-1001' } };
    const first = await xuiOk('create_line', { username: 'w-order', password: 'Order.pass-1', package: plan.id }, opts);
    const again = await xuiOk('create_line', { username: 'w-order', password: 'Order.pass-1', package: plan.id }, opts);
    assert.deepEqual(again, first);
    assert.equal(await balance(west.id), (Number(start) - 2.5).toFixed(4));
    const reused = await xuiFail('create_line', { username: 'w-other', package: plan.id }, 'STATUS_INVALID_INPUT', 'IDEMPOTENCY_KEY_REUSED', opts);
    assert.ok(reused.error);
    const ext = { apiKey: westKey, headers: { 'Idempotency-Key': 'renew-1001' } };
    const e1 = await xuiOk('edit_line', { id: first.data.id, package: plan.id }, ext);
    const e2 = await xuiOk('edit_line', { id: first.data.id, package: plan.id }, ext);
    assert.deepEqual(e2, e1);
    assert.equal(await balance(west.id), (Number(start) - 5).toFixed(4));
  });

  it('deletes its own line; the ledger re-derives every balance', async () => {
    assert.deepEqual(await xuiOk('delete_line', { id: lineId }, { apiKey: eastKey }), { status: 'STATUS_SUCCESS' });
    await xuiFail('get_line', { id: lineId }, 'STATUS_FAILURE', 'NOT_FOUND', { apiKey: eastKey });
    const ledger = await root.ok('GET', `/api/v1/resellers/${east.id}/ledger`);
    assert.deepEqual(ledger.items.map((r) => r.kind).sort(), ['adjust', 'extend', 'purchase', 'trial']);
    const v = await root.ok('GET', '/api/v1/ledger/verify');
    assert.equal(v.ok, true, JSON.stringify(v));
  });
});
