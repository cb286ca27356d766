// /api/v1/lines in depth (issue 10, item 4 "lines"): every filter of the list
// (status active|expired|disabled|banned|trial, expires_before/after,
// bouquet_id, q over username and notes) and every sort key in both
// directions with paging; JSON Merge Patch leaving omitted fields alone and
// null clearing; ETag/If-Match 412 on PATCH, DELETE and extend; 422 field
// errors; POST /lines/{id}/extend (days, months, until, from max(now,
// expiry), 409 NEVER_EXPIRES); a line created from a plan; audit rows;
// GET /lines/{id}/sessions; and an extension reaching player_api.php within
// 2 s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { api, request } from './lib/http.mjs';
import { cliOk } from './lib/server.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';

const ROOT_PW = 'Root.pass-1234';
let w;
let c;
const ids = {}; // fixture username -> id
const bq = {}; // bouquet name -> id
let streamId; // a test-pattern live channel for the sessions test

// The fixture lines (usernames share "flt-" so that q=flt- isolates them from the demo line).
const FIXTURE = [
  { username: 'flt-alice', exp_date: '2030-01-01', max_connections: 1, bouquets: ['Demo'], notes: 'VIP suite 12' },
  { username: 'flt-bob', exp_date: '2020-01-01', max_connections: 3 },
  { username: 'flt-carol', banned: true, max_connections: 2 },
  { username: 'flt-dave', enabled: false, exp_date: '2028-06-01', bouquets: ['Sport', 'Demo'] },
  { username: 'flt-erin', is_trial: true, exp_date: '2029-01-01T12:00:00Z', max_connections: 5, notes: 'lobby' },
];

before(async () => {
  w = await world({
    tag: 'admlines',
    lines: [],
    seed: async (dir) => {
      await addAdmin(dir, 'root', ROOT_PW);
      await cliOk(['bouquet', 'add', 'Sport', '--category', 'Demo News', '--data', dir]);
      streamId = Number((await cliOk(['stream', 'add', 'Sessions Test', '--source', LAVFI_SMALL, '--data', dir])).stdout.trim());
    },
  });
  c = new AdminClient(w.port);
  await c.login('root', ROOT_PW);
  for (const body of FIXTURE) {
    const l = await c.ok('POST', '/api/v1/lines', { password: 'Flt.pass-123', ...body });
    ids[body.username] = l.id;
    for (const b of l.bouquets) bq[b.name] = b.id;
  }
});
after(async () => {
  await w?.cleanup();
});

async function list(query) {
  const res = await c.call('GET', `/api/v1/lines?${query}`);
  assert.equal(res.status, 200, `${query}: ${res.text.slice(0, 300)}`);
  return res.json();
}
const names = (page) => page.items.map((l) => l.username);

describe('list filters', () => {
  const CASES = [
    ['status=active', ['flt-alice', 'flt-erin']],
    ['status=expired', ['flt-bob']],
    ['status=banned', ['flt-carol']],
    ['status=disabled', ['flt-dave']],
    ['status=trial', ['flt-erin']],
    ['status=Active', ['flt-alice', 'flt-erin']],
    ['expires_before=2029-06-01', ['flt-bob', 'flt-dave', 'flt-erin']],
    ['expires_before=2029-01-01T12:00:00Z', ['flt-bob', 'flt-dave']],
    ['expires_after=2028-12-31T23:59:59Z', ['flt-alice', 'flt-erin']],
    ['expires_after=2028-01-01&expires_before=2029-06-01', ['flt-dave', 'flt-erin']],
    ['status=active&expires_before=2029-06-01', ['flt-erin']],
  ];
  for (const [query, want] of CASES) {
    it(`${query} → ${want.join(', ')}`, async () => {
      const page = await list(`${query}&q=flt-&sort=username`);
      assert.deepEqual(names(page), want);
      assert.equal(page.total, want.length);
    });
  }

  it('bouquet_id, alone and with a status', async () => {
    assert.deepEqual(names(await list(`bouquet_id=${bq.Sport}&sort=username`)), ['flt-dave']);
    assert.deepEqual(names(await list(`bouquet_id=${bq.Demo}&q=flt-&sort=username`)), ['flt-alice', 'flt-dave']);
    assert.deepEqual(names(await list(`bouquet_id=${bq.Demo}&status=disabled`)), ['flt-dave']);
    assert.equal((await list('bouquet_id=999999')).total, 0);
  });

  it('q searches username and notes, case-insensitively, % and _ literal', async () => {
    assert.deepEqual(names(await list('q=SUITE')), ['flt-alice']);
    assert.deepEqual(names(await list('q=lobby')), ['flt-erin']);
    assert.deepEqual(names(await list('q=t-ca')), ['flt-carol']);
    assert.equal((await list('q=flt%25')).total, 0);
    assert.equal((await list('q=flt_')).total, 0);
    assert.equal((await list('q=flt-&page_size=2')).total, 5);
  });

  it('bad filter values are one 422 naming every parameter', async () => {
    const res = await c.call('GET', '/api/v1/lines?status=gone&expires_before=soon&expires_after=2026-13-01&bouquet_id=x&sort=password&page_size=0');
    assertProblem(res, 422, 'VALIDATION_FAILED', ['status', 'expires_before', 'expires_after', 'bouquet_id', 'sort', 'page_size']);
  });
});

describe('list sort and paging', () => {
  // The order the API promises: by the keys, exp_date with "never" after every
  // date, ties by id in the direction of the last key.
  function expected(items, keys) {
    const val = (l, k) => (k === 'exp_date' ? l.exp_date_epoch ?? Infinity : k === 'created_at' || k === 'updated_at' ? Date.parse(l[k]) : l[k]);
    return [...items].sort((a, b) => {
      for (const { k, desc } of keys) {
        const x = val(a, k);
        const y = val(b, k);
        if (x < y) return desc ? 1 : -1;
        if (x > y) return desc ? -1 : 1;
      }
      return keys[keys.length - 1].desc ? b.id - a.id : a.id - b.id;
    }).map((l) => l.username);
  }
  const all = async () => (await list('q=flt-&page_size=100')).items;
  for (const key of ['id', 'username', 'exp_date', 'created_at', 'updated_at', 'max_connections']) {
    for (const desc of [false, true]) {
      it(`sort=${desc ? '-' : ''}${key}`, async () => {
        const items = await all();
        const got = names(await list(`q=flt-&sort=${desc ? '-' : ''}${key}`));
        assert.deepEqual(got, expected(items, [{ k: key, desc }]));
      });
    }
  }
  it('two keys, and pages that add up to the whole list', async () => {
    const items = await all();
    const want = expected(items, [{ k: 'max_connections', desc: false }, { k: 'username', desc: true }]);
    assert.deepEqual(names(await list('q=flt-&sort=max_connections,-username')), want);
    const pages = [];
    for (let p = 1; p <= 3; p++) {
      const page = await list(`q=flt-&sort=max_connections,-username&page=${p}&page_size=2`);
      assert.equal(page.total, 5);
      assert.equal(page.page, p);
      assert.equal(page.page_size, 2);
      pages.push(...names(page));
    }
    assert.deepEqual(pages, want);
    assert.deepEqual(names(await list('q=flt-&page=4&page_size=2')), []);
  });
});

describe('merge patch, ETag and field errors', () => {
  it('a patch changes only what it names; null clears', async () => {
    const id = ids['flt-alice'];
    const before0 = await c.ok('GET', `/api/v1/lines/${id}`);
    const p = await c.ok('PATCH', `/api/v1/lines/${id}`, { notes: 'moved to 14' });
    for (const k of Object.keys(before0)) if (k !== 'notes' && k !== 'updated_at') assert.deepEqual(p[k], before0[k], `${k} unchanged`);
    assert.equal(p.notes, 'moved to 14');
    assert.deepEqual(names(await list('q=moved')), ['flt-alice'], 'the search follows the change');
    const p2 = await c.ok('PATCH', `/api/v1/lines/${id}`, { notes: null, message: 'hi', bouquets: [{ id: bq.Sport, name: 'ignored' }, bq.Demo] });
    assert.equal(p2.notes, '');
    assert.equal(p2.message, 'hi');
    assert.deepEqual(p2.bouquets, [{ id: bq.Sport, name: 'Sport' }, { id: bq.Demo, name: 'Demo' }]);
    assert.equal(p2.exp_date, before0.exp_date);
    // A GET body sent back is refused only for its computed members.
    const echo = { ...p2 };
    assertProblem(await c.call('PATCH', `/api/v1/lines/${id}`, echo), 422, 'VALIDATION_FAILED', ['id', 'status', 'exp_date_epoch', 'created_at', 'updated_at', 'owner_id']);
    for (const k of ['id', 'status', 'exp_date_epoch', 'created_at', 'updated_at', 'owner_id', 'username']) delete echo[k];
    const same = await c.ok('PATCH', `/api/v1/lines/${id}`, echo);
    assert.deepEqual({ ...same, updated_at: 0 }, { ...p2, updated_at: 0 });
    const cleared = await c.ok('PATCH', `/api/v1/lines/${id}`, { exp_date: null, bouquets: null, message: null, exp_date_epoch: undefined });
    assert.equal(cleared.exp_date, null);
    assert.equal(cleared.exp_date_epoch, null);
    assert.deepEqual(cleared.bouquets, []);
    await c.ok('PATCH', `/api/v1/lines/${id}`, { exp_date: '2030-01-01', bouquets: ['Demo'], notes: 'VIP suite 12' });
  });

  it('If-Match: a stale ETag is 412 on PATCH, DELETE and extend, and changes nothing', async () => {
    const made = await c.call('POST', '/api/v1/lines', { username: 'etag-line', exp_date: '2031-01-01' });
    assert.equal(made.status, 201);
    const id = made.json().id;
    const fresh = await c.call('PATCH', `/api/v1/lines/${id}`, { max_connections: 4 }, { headers: { 'If-Match': made.headers.etag } });
    assert.equal(fresh.status, 200, fresh.text);
    const stale = { headers: { 'If-Match': made.headers.etag } };
    assertProblem(await c.call('PATCH', `/api/v1/lines/${id}`, { max_connections: 9 }, stale), 412, 'PRECONDITION_FAILED');
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, { days: 1 }, stale), 412, 'PRECONDITION_FAILED');
    assertProblem(await c.call('DELETE', `/api/v1/lines/${id}`, undefined, stale), 412, 'PRECONDITION_FAILED');
    const now = await c.call('GET', `/api/v1/lines/${id}`);
    assert.equal(now.headers.etag, fresh.headers.etag, 'nothing changed');
    assert.equal(now.json().max_connections, 4);
    const ext = await c.call('POST', `/api/v1/lines/${id}/extend`, { days: 1 }, { headers: { 'If-Match': now.headers.etag } });
    assert.equal(ext.status, 200, ext.text);
    assert.notEqual(ext.headers.etag, now.headers.etag);
    const del = await c.call('DELETE', `/api/v1/lines/${id}`, undefined, { headers: { 'If-Match': ext.headers.etag } });
    assert.equal(del.status, 204);
  });

  it('422 names every bad field; unknown references name theirs', async () => {
    const id = ids['flt-bob'];
    assertProblem(
      await c.call('PATCH', `/api/v1/lines/${id}`, { max_connections: -1, exp_date: '2030-02-30', allowed_outputs: ['rtmp'], notes: 'x'.repeat(4097), username: 'other', colour: 'red', plan_id: 1 }),
      422, 'VALIDATION_FAILED', ['max_connections', 'exp_date', 'allowed_outputs', 'notes', 'username', 'colour', 'plan_id'],
    );
    assertProblem(await c.call('PATCH', `/api/v1/lines/${id}`, { bouquets: ['Demo', 999999] }), 422, 'UNKNOWN_REFERENCE', ['bouquets[1]']);
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 'bad user' }), 422, 'VALIDATION_FAILED', ['username']);
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 'no-plan', plan_id: 999999 }), 422, 'UNKNOWN_REFERENCE', ['plan_id']);
    assertProblem(await c.call('POST', '/api/v1/lines', '{"username":', { raw: true }), 400, 'MALFORMED_BODY');
    assert.equal((await c.call('GET', '/api/v1/lines?q=no-plan')).json().total, 0, 'nothing half-created');
  });
});

describe('extend', () => {
  const DAY = 86400;
  async function fresh(username, body) {
    return c.ok('POST', '/api/v1/lines', { username, ...body });
  }
  it('days from a running expiry, from now for an expired line; months are calendar months; until', async () => {
    const run = await fresh('ext-run', { exp_date: '2031-01-31T10:00:00Z' });
    let l = await c.ok('POST', `/api/v1/lines/${run.id}/extend`, { days: 30 });
    assert.equal(l.exp_date_epoch, run.exp_date_epoch + 30 * DAY);
    l = await c.ok('POST', `/api/v1/lines/${run.id}/extend`, { until: '2031-03-31' });
    assert.equal(l.exp_date, '2031-03-31T00:00:00Z');
    l = await c.ok('POST', `/api/v1/lines/${run.id}/extend`, { months: 1 });
    assert.equal(l.exp_date, '2031-04-30T00:00:00Z', 'Mar 31 + 1 month = Apr 30');
    const t0 = Math.floor(Date.now() / 1000);
    const old = await fresh('ext-old', { exp_date: '2020-01-01', banned: true });
    l = await c.ok('POST', `/api/v1/lines/${old.id}/extend`, { days: 2 });
    assert.ok(l.exp_date_epoch >= t0 + 2 * DAY && l.exp_date_epoch <= Math.floor(Date.now() / 1000) + 2 * DAY, JSON.stringify(l));
    assert.equal(l.status, 'Banned', 'state flags stay');
    assertProblem(await c.call('POST', `/api/v1/lines/${run.id}/extend`, { until: '2031-04-01' }), 422, 'VALIDATION_FAILED', ['until']);
  });
  it('refuses a line that never expires (409), bad bodies (422, 400) and unknown lines (404)', async () => {
    const never = await fresh('ext-never', {});
    const p = assertProblem(await c.call('POST', `/api/v1/lines/${never.id}/extend`, { days: 1 }), 409, 'NEVER_EXPIRES');
    assert.match(p.detail, /never expires/);
    assert.equal((await c.ok('GET', `/api/v1/lines/${never.id}`)).exp_date, null);
    const id = ids['flt-alice'];
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, {}), 422, 'VALIDATION_FAILED', ['days']);
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, { days: 1, months: 1 }), 422, 'VALIDATION_FAILED');
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, { days: 0 }), 422, 'VALIDATION_FAILED', ['days']);
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, { months: 121 }), 422, 'VALIDATION_FAILED', ['months']);
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, { until: 'soon' }), 422, 'VALIDATION_FAILED', ['until']);
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, { weeks: 2 }), 422, 'VALIDATION_FAILED', ['weeks']);
    assertProblem(await c.call('POST', `/api/v1/lines/${id}/extend`, '[1]', { raw: true }), 400, 'MALFORMED_BODY');
    assertProblem(await c.call('POST', '/api/v1/lines/999999/extend', { days: 1 }), 404, 'NOT_FOUND');
  });
});

describe('lines from a plan, audit rows, and the client API', () => {
  it('a plan gives max_connections, outputs, bouquets, trial and the expiry; the body overrides', async () => {
    const plan = await c.ok('POST', '/api/v1/plans', { name: 'Line Plan', duration_days: 30, max_connections: 3, allowed_outputs: ['hls'], bouquets: ['Sport'], is_trial: true });
    const t0 = Math.floor(Date.now() / 1000);
    const l = await c.ok('POST', '/api/v1/lines', { username: 'from-plan', plan_id: plan.id });
    assert.equal(l.max_connections, 3);
    assert.deepEqual(l.allowed_outputs, ['m3u8']);
    assert.deepEqual(l.bouquets, [{ id: bq.Sport, name: 'Sport' }]);
    assert.equal(l.is_trial, true);
    assert.ok(l.exp_date_epoch >= t0 + 30 * 86400 && l.exp_date_epoch <= Math.floor(Date.now() / 1000) + 30 * 86400);
    const o = await c.ok('POST', '/api/v1/lines', { username: 'from-plan-2', plan_id: plan.id, max_connections: 7, exp_date: '2032-01-01', bouquets: [], is_trial: false });
    assert.equal(o.max_connections, 7);
    assert.equal(o.exp_date, '2032-01-01T00:00:00Z');
    assert.deepEqual(o.bouquets, []);
    assert.equal(o.is_trial, false);
    assert.deepEqual(o.allowed_outputs, ['m3u8'], 'what the body does not give still comes from the plan');
  });

  it('every change writes an audit row with the JSON before and after', async () => {
    const l = await c.ok('POST', '/api/v1/lines', { username: 'audited', exp_date: '2031-01-01' });
    await c.ok('PATCH', `/api/v1/lines/${l.id}`, { max_connections: 2 });
    await c.ok('POST', `/api/v1/lines/${l.id}/extend`, { days: 10 });
    await c.ok('DELETE', `/api/v1/lines/${l.id}`);
    const log = await c.ok('GET', `/api/v1/audit-log?entity=line&entity_id=${l.id}&sort=id`);
    const rows = log.items;
    assert.deepEqual(rows.map((r) => r.action), ['create', 'update', 'extend', 'delete']);
    for (const r of rows) assert.equal(r.admin_username ?? r.admin ?? 'root', 'root');
    assert.equal(rows[0].before, null);
    assert.equal(rows[0].after.username, 'audited');
    assert.equal(rows[1].before.max_connections, 1);
    assert.equal(rows[1].after.max_connections, 2);
    assert.equal(rows[2].after.exp_date_epoch, rows[2].before.exp_date_epoch + 10 * 86400);
    assert.equal(rows[3].after, null);
    assert.equal(rows[3].before.username, 'audited');
  });

  it('GET /lines/{id}/sessions lists the connections of that line only', async () => {
    const pass = 'Sess.pass-123';
    const l = await c.ok('POST', '/api/v1/lines', { username: 'sess-line', password: pass, max_connections: 0 });
    const empty = await c.ok('GET', `/api/v1/lines/${l.id}/sessions`);
    assert.deepEqual(empty.items, []);
    assert.equal(empty.total, 0);
    assertProblem(await c.call('GET', '/api/v1/lines/999999/sessions'), 404, 'NOT_FOUND');
    const known = Date.now() + 10000; // the catalogue snapshot picks the new line up
    while ((await request(w.port, 'GET', api('sess-line', pass), { adminToken: false })).json().user_info?.auth !== 1) {
      assert.ok(Date.now() < known, 'the new line logs in');
      await new Promise((r) => setTimeout(r, 50));
    }
    const v = await tsViewer(w.port, `/live/sess-line/${pass}/${streamId}.ts`, { keep: false });
    try {
      assert.equal(v.status, 200);
      const deadline = Date.now() + 30000; // ffmpeg starts the channel on demand
      let page;
      for (;;) {
        page = await c.ok('GET', `/api/v1/lines/${l.id}/sessions`);
        if (page.total === 1) break;
        assert.ok(Date.now() < deadline, `the session shows up: ${JSON.stringify(page)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(page.items[0].username, 'sess-line');
      assert.equal(page.items[0].line_id, l.id);
      assert.equal(page.items[0].stream_id, streamId);
      assert.equal((await c.ok('GET', `/api/v1/lines/${ids['flt-alice']}/sessions`)).total, 0);
    } finally {
      v.close();
    }
  });

  it('an extension shows in player_api.php within 2 s', async () => {
    const pass = 'Ext.pass-123';
    const l = await c.ok('POST', '/api/v1/lines', { username: 'ext-visible', password: pass, exp_date: '2020-01-01' });
    const status = async () => {
      const r = await request(w.port, 'GET', api('ext-visible', pass), { adminToken: false });
      return r.status === 200 ? r.json().user_info : null;
    };
    const deadline = Date.now() + 10000; // the line's creation, from a slow start
    while ((await status())?.status !== 'Expired') {
      assert.ok(Date.now() < deadline, 'the new line shows as Expired');
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    const ext = await c.ok('POST', `/api/v1/lines/${l.id}/extend`, { days: 30 });
    for (;;) {
      const ui = await status();
      if (ui?.status === 'Active' && ui.exp_date === String(ext.exp_date_epoch)) break;
      assert.ok(Date.now() - t0 <= 2000, `player_api shows the extension within 2 s (now ${JSON.stringify(ui)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
