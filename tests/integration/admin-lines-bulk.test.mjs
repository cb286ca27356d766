// The admin API gaps of the panel's lines page (issue 12): POST
// /api/v1/lines/bulk (extend, merge patch or delete on a selection of lines,
// all or nothing, each line audited and announced) and the
// active_connections count of every line in GET /api/v1/lines.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { api, request } from './lib/http.mjs';
import { cliOk } from './lib/server.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';

const ROOT_PW = 'Root.pass-1234';
const PASS = 'Bulk.pass-123';
let w;
let c;
let streamId;
let sportId;

before(async () => {
  w = await world({
    tag: 'admbulk',
    lines: [],
    seed: async (dir) => {
      await addAdmin(dir, 'root', ROOT_PW);
      await cliOk(['bouquet', 'add', 'Sport', '--category', 'Demo News', '--data', dir]);
      streamId = Number((await cliOk(['stream', 'add', 'Bulk Test', '--source', LAVFI_SMALL, '--data', dir])).stdout.trim());
    },
  });
  c = new AdminClient(w.port);
  await c.login('root', ROOT_PW);
  sportId = (await c.ok('GET', '/api/v1/bouquets?q=Sport')).items[0].id;
});
after(async () => {
  await w?.cleanup();
});

let serial = 0;
/** Creates n lines "<prefix>-i" with body; returns them. */
async function make(prefix, n, body = {}) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await c.ok('POST', '/api/v1/lines', { username: `${prefix}-${++serial}`, password: PASS, ...body }));
  return out;
}
const get = (id) => c.ok('GET', `/api/v1/lines/${id}`);

/** The audit rows of line l (ids of deleted lines are reused: matched by username too). */
async function auditOf(l) {
  const rows = (await c.ok('GET', `/api/v1/audit-log?entity=line&entity_id=${l.id}&sort=id`)).items;
  return rows.filter((r) => (r.after ?? r.before)?.username === l.username);
}

async function userInfo(username) {
  const r = await request(w.port, 'GET', api(username, PASS), { adminToken: false });
  return r.status === 200 ? r.json().user_info : null;
}

describe('POST /api/v1/lines/bulk', () => {
  it('extends every selected line from its own expiry, and answers them in order', async () => {
    const ls = await make('bx', 3, { exp_date: '2030-01-01' });
    const expired = (await make('bx', 1, { exp_date: '2020-01-01' }))[0];
    const ids = [ls[2].id, ls[0].id, expired.id];
    const t0 = Math.floor(Date.now() / 1000);
    const res = await c.ok('POST', '/api/v1/lines/bulk', { ids, extend: { days: 30 } });
    assert.equal(res.count, 3);
    assert.deepEqual(res.items.map((l) => l.id), ids);
    assert.equal(res.items[0].exp_date_epoch, ls[2].exp_date_epoch + 30 * 86400);
    assert.equal(res.items[1].exp_date_epoch, ls[0].exp_date_epoch + 30 * 86400);
    // An expired line gets the whole extension from now.
    assert.ok(res.items[2].exp_date_epoch >= t0 + 30 * 86400 && res.items[2].exp_date_epoch <= t0 + 30 * 86400 + 60);
    assert.equal(res.items[2].status, 'Active');
    assert.equal((await get(ls[1].id)).exp_date_epoch, ls[1].exp_date_epoch, 'a line not selected is untouched');
  });

  it('a patch disables a selection and sets its bouquets; the client API sees it', async () => {
    const ls = await make('bp', 2, { exp_date: '2031-01-01', notes: 'keep me' });
    const deadline = Date.now() + 15000; // the new lines reach the catalogue snapshot
    while ((await userInfo(ls[1].username))?.auth !== 1) {
      assert.ok(Date.now() < deadline, 'the new line logs in');
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await c.ok('POST', '/api/v1/lines/bulk', { ids: ls.map((l) => l.id), patch: { enabled: false, bouquets: [sportId] } });
    for (const l of res.items) {
      assert.equal(l.status, 'Disabled');
      assert.deepEqual(l.bouquets.map((b) => b.name), ['Sport']);
      assert.equal(l.notes, 'keep me', 'members the patch does not name stay');
    }
    const t0 = Date.now();
    for (;;) {
      const ui = await userInfo(ls[1].username);
      if (ui?.status === 'Disabled') break;
      assert.ok(Date.now() - t0 < 5000, `the client API refuses the disabled line (${JSON.stringify(ui)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const filtered = await c.ok('GET', `/api/v1/lines?q=bp-&status=disabled&bouquet_id=${sportId}`);
    assert.equal(filtered.total, 2);
  });

  it('deletes a selection, with one audit row per line', async () => {
    const ls = await make('bd', 2, { exp_date: '2031-01-01' });
    const res = await c.ok('POST', '/api/v1/lines/bulk', { ids: ls.map((l) => l.id), delete: true });
    assert.equal(res.count, 2);
    assert.deepEqual(res.items, []);
    for (const l of ls) {
      assertProblem(await c.call('GET', `/api/v1/lines/${l.id}`), 404, 'NOT_FOUND');
      const rows = await auditOf(l);
      assert.deepEqual(rows.map((r) => r.action), ['create', 'delete']);
      assert.equal(rows[1].before.username, l.username);
    }
  });

  it('each extended line gets its own audit row with before and after', async () => {
    const ls = await make('ba', 2, { exp_date: '2032-01-01' });
    await c.ok('POST', '/api/v1/lines/bulk', { ids: ls.map((l) => l.id), extend: { months: 1 } });
    for (const l of ls) {
      const rows = await auditOf(l);
      assert.deepEqual(rows.map((r) => r.action), ['create', 'extend']);
      assert.equal(rows[1].before.exp_date, '2032-01-01T00:00:00Z');
      assert.equal(rows[1].after.exp_date, '2032-02-01T00:00:00Z');
    }
  });

  it('all or nothing: one line that refuses leaves every line as it was, and is named', async () => {
    const ls = await make('bn', 2, { exp_date: '2030-06-01' });
    const never = (await make('bn', 1, { exp_date: null }))[0];
    const res = await c.call('POST', '/api/v1/lines/bulk', { ids: [ls[0].id, never.id, ls[1].id], extend: { days: 7 } });
    const p = assertProblem(res, 409, 'NEVER_EXPIRES', ['ids[1]']);
    assert.match(p.detail, new RegExp(never.username));
    for (const l of ls) assert.equal((await get(l.id)).exp_date_epoch, l.exp_date_epoch, 'the first line was rolled back');
    const rows = await auditOf(ls[0]);
    assert.deepEqual(rows.map((r) => r.action), ['create'], 'no audit row for a rolled-back change');

    const gone = await c.call('POST', '/api/v1/lines/bulk', { ids: [ls[0].id, 999999], patch: { enabled: false } });
    assertProblem(gone, 422, 'UNKNOWN_REFERENCE', ['ids[1]']);
    assert.equal((await get(ls[0].id)).enabled, true);

    const badBouquet = await c.call('POST', '/api/v1/lines/bulk', { ids: [ls[0].id], patch: { bouquets: ['No Such Bouquet'] } });
    assertProblem(badBouquet, 422, 'UNKNOWN_REFERENCE', ['bouquets[0]']);
  });

  it('422 names every bad member; 400 for a body that is not an object; 403 without lines:write', async () => {
    const [l] = await make('bv', 1, { exp_date: '2030-01-01' });
    const cases = [
      [{ extend: { days: 1 } }, ['ids']],
      [{ ids: [l.id] }, ['patch']],
      [{ ids: [], delete: true }, ['ids']],
      [{ ids: [l.id, 'x', -3, l.id], delete: true }, ['ids[1]', 'ids[2]', 'ids[3]']],
      [{ ids: Array.from({ length: 1001 }, (_, i) => i + 1), delete: true }, ['ids']],
      [{ ids: [l.id], delete: true, extend: { days: 1 } }, ['extend']],
      [{ ids: [l.id], delete: false }, ['delete']],
      [{ ids: [l.id], extend: { days: 0, weeks: 2 } }, ['extend.days', 'extend.weeks']],
      [{ ids: [l.id], patch: { max_connections: -1, username: 'x', plan_id: 1, colour: 'red' } },
        ['patch.max_connections', 'patch.username', 'patch.plan_id', 'patch.colour']],
      [{ ids: [l.id], patch: {} }, ['patch']],
      [{ ids: [l.id], patch: 'enabled=false' }, ['patch']],
      [{ ids: [l.id], delete: true, spare: 1 }, ['spare']],
    ];
    for (const [body, fields] of cases) {
      const res = await c.call('POST', '/api/v1/lines/bulk', body);
      assertProblem(res, 422, 'VALIDATION_FAILED', fields);
    }
    assertProblem(await c.call('POST', '/api/v1/lines/bulk', [l.id]), 400, 'MALFORMED_BODY');
    assert.equal((await get(l.id)).enabled, true, 'nothing changed');
    const reader = new AdminClient(w.port, { token: await c.mintToken(['read']) });
    assertProblem(await reader.call('POST', '/api/v1/lines/bulk', { ids: [l.id], delete: true }), 403, 'FORBIDDEN');
    await get(l.id);
  });
});

describe('active_connections in the line list', () => {
  it('counts the connections a line has open now, and only in lists', async () => {
    const [l] = await make('bc', 1, { exp_date: '2031-01-01', max_connections: 0 });
    const row = async () => (await c.ok('GET', `/api/v1/lines?q=${l.username}`)).items[0];
    assert.equal((await row()).active_connections, 0);
    assert.equal('active_connections' in (await get(l.id)), false, 'a line read alone has no count (its ETag must not move with viewers)');
    const known = Date.now() + 15000;
    while ((await userInfo(l.username))?.auth !== 1) {
      assert.ok(Date.now() < known, 'the new line logs in');
      await new Promise((r) => setTimeout(r, 50));
    }
    const v = await tsViewer(w.port, `/live/${l.username}/${PASS}/${streamId}.ts`, { keep: false });
    try {
      assert.equal(v.status, 200);
      const deadline = Date.now() + 30000; // ffmpeg starts the channel on demand
      while ((await row()).active_connections !== 1) {
        assert.ok(Date.now() < deadline, 'the viewer is counted');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      v.close();
    }
    const deadline = Date.now() + 15000;
    while ((await row()).active_connections !== 0) {
      assert.ok(Date.now() < deadline, 'the count falls back to 0 when the viewer leaves');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
