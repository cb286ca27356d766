// Resellers and credits (issue 17): a tree of reseller accounts with exact
// balances, an append-only ledger, spending in the same transaction as the
// line (200 concurrent spends against a balance that covers 50 end with 50
// lines and 0 left), Idempotency-Key (a retry charges once; another body with
// the same key is 422), transfers up and down the tree never below 0, trial
// limits per period, lines scoped to the subtree (404 outside, never 403), and
// the ledger check re-deriving every balance (and catching a balance written
// behind its back with the sqlite3 CLI). Runs on PostgreSQL too
// (scripts/run-integration-pg.sh with PG_TEST_FILES=resellers).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { databaseOf, runCli } from './lib/server.mjs';

const run = promisify(execFile);
const ROOT_PW = 'Root.pass-1234';
const RS_PW = 'Reseller.pass-123';
let w;
let root;
let group;
let plan; // 30 days, 2.5 credits, trial 0.5
let trialPlanOther; // not sellable by the group

async function reseller(body) {
  const res = await root.call('POST', '/api/v1/resellers', { password: RS_PW, group_id: group.id, ...body });
  assert.equal(res.status, 201, res.text);
  return res.json();
}

async function loginAs(username) {
  const c = new AdminClient(w.port);
  await c.login(username, RS_PW);
  return c;
}

async function balanceOf(id) {
  return (await root.ok('GET', `/api/v1/resellers/${id}`)).balance;
}

before(async () => {
  w = await world({
    tag: 'resellers',
    lines: [],
    seed: async (dir) => {
      await addAdmin(dir, 'root', ROOT_PW);
    },
  });
  root = new AdminClient(w.port);
  await root.login('root', ROOT_PW);
  group = await root.ok('POST', '/api/v1/reseller-groups', { name: 'hotels', trial_limit: 2, trial_period_hours: 24, may_create_subresellers: true });
  plan = await root.ok('POST', '/api/v1/plans', { name: 'Month', duration_days: 30, max_connections: 2, credit_price: '2.5', trial_price: '0.5', reseller_group_ids: [group.id] });
  trialPlanOther = await root.ok('POST', '/api/v1/plans', { name: 'Other', duration_days: 7, credit_price: 1 });
});
after(async () => {
  await w?.cleanup();
});

describe('resellers', () => {
  it('auth/me names the reseller; amounts are exact decimal strings', async () => {
    const r = await reseller({ username: 'north', username_prefix: 'n-' });
    assert.equal(r.balance, '0.0000');
    assert.equal(r.parent_id, null);
    const adj = await root.ok('POST', `/api/v1/resellers/${r.id}/credits`, { amount: '10.1234', reason: 'opening' });
    assert.equal(adj.reseller.balance, '10.1234');
    assert.equal(adj.ledger.kind, 'adjust');
    assert.equal(adj.ledger.amount, '10.1234');
    const c = await loginAs('north');
    const me = await c.ok('GET', '/api/v1/auth/me');
    assert.equal(me.admin.role, 'reseller');
    assert.equal(me.reseller.id, r.id);
    assert.equal(me.reseller.balance, '10.1234');
    assert.deepEqual(me.scopes, ['read', 'lines:write']);
    // floats, 5 decimals, garbage: 422 naming amount
    for (const amount of [1.5, '1.00001', '1e3', ' 1', '', '+1', '.5', 'NaN']) {
      const res = await root.call('POST', `/api/v1/resellers/${r.id}/credits`, { amount });
      assertProblem(res, 422, 'VALIDATION_FAILED', ['amount']);
    }
    // never below 0
    assertProblem(await root.call('POST', `/api/v1/resellers/${r.id}/credits`, { amount: '-10.1235' }), 409, 'INSUFFICIENT_CREDITS');
    assert.equal(await balanceOf(r.id), '10.1234');
    // a reseller may not adjust, nor see admin routes
    assertProblem(await c.call('POST', `/api/v1/resellers/${r.id}/credits`, { amount: 5 }), 403, 'FORBIDDEN');
    assertProblem(await c.call('GET', '/api/v1/settings'), 403, 'FORBIDDEN');
    assertProblem(await c.call('GET', '/api/v1/admins'), 403, 'FORBIDDEN');
    assertProblem(await c.call('POST', '/api/v1/plans', { name: 'Free' }), 403, 'FORBIDDEN');
  });

  it('a reseller creates, extends, disables lines only in its subtree (404 outside)', async () => {
    const a = await reseller({ username: 'alpha', username_prefix: 'a-' });
    const b = await reseller({ username: 'beta' });
    await root.ok('POST', `/api/v1/resellers/${a.id}/credits`, { amount: 20 });
    await root.ok('POST', `/api/v1/resellers/${b.id}/credits`, { amount: 20 });
    const ca = await loginAs('alpha');
    const cb = await loginAs('beta');
    // only sellable plans are visible
    const plans = await ca.ok('GET', '/api/v1/plans');
    assert.deepEqual(plans.items.map((p) => p.id), [plan.id]);
    assertProblem(await ca.call('GET', `/api/v1/plans/${trialPlanOther.id}`), 404, 'NOT_FOUND');
    assertProblem(await ca.call('POST', '/api/v1/lines', { username: 'x1', plan_id: trialPlanOther.id }), 422, null, ['plan_id']);
    assertProblem(await ca.call('POST', '/api/v1/lines', { username: 'x1' }), 422, null, ['plan_id']);
    assertProblem(await ca.call('POST', '/api/v1/lines', { username: 'x1', plan_id: plan.id, exp_date: '2099-01-01' }), 422, null, ['exp_date']);
    const made = await ca.call('POST', '/api/v1/lines', { username: 'guest1', plan_id: plan.id });
    assert.equal(made.status, 201, made.text);
    const line = made.json();
    assert.equal(line.username, 'a-guest1');
    assert.equal(line.owner_id, a.id);
    assert.equal(line.max_connections, 2);
    assert.equal(await balanceOf(a.id), '17.5000');
    // another reseller: 404 on every route, and not in its list
    for (const [m, p, body] of [
      ['GET', `/api/v1/lines/${line.id}`],
      ['PATCH', `/api/v1/lines/${line.id}`, { enabled: false }],
      ['DELETE', `/api/v1/lines/${line.id}`],
      ['POST', `/api/v1/lines/${line.id}/extend`, { plan_id: plan.id }],
      ['GET', `/api/v1/lines/${line.id}/sessions`],
      ['GET', `/api/v1/lines/${line.id}/access`],
      ['GET', `/api/v1/resellers/${a.id}`],
    ]) {
      assertProblem(await cb.call(m, p, body), 404, 'NOT_FOUND');
    }
    assertProblem(await cb.call('POST', '/api/v1/lines/bulk', { ids: [line.id], patch: { enabled: false } }), 422);
    assert.equal((await cb.ok('GET', '/api/v1/lines')).total, 0);
    assert.equal(await balanceOf(b.id), '20.0000');
    // the owner: extend (charged), disable (free), list
    const ext = await ca.ok('POST', `/api/v1/lines/${line.id}/extend`, { plan_id: plan.id });
    assert.ok(ext.exp_date_epoch > line.exp_date_epoch + 29 * 86400);
    assert.equal(await balanceOf(a.id), '15.0000');
    assertProblem(await ca.call('POST', `/api/v1/lines/${line.id}/extend`, { days: 30 }), 422, null, ['days']);
    assertProblem(await ca.call('PATCH', `/api/v1/lines/${line.id}`, { max_connections: 50 }), 422, null, ['max_connections']);
    const off = await ca.ok('PATCH', `/api/v1/lines/${line.id}`, { enabled: false });
    assert.equal(off.status, 'Disabled');
    const list = await ca.ok('GET', '/api/v1/lines');
    assert.deepEqual(list.items.map((l) => l.id), [line.id]);
    // the admins see it, with its owner
    assert.equal((await root.ok('GET', `/api/v1/lines/${line.id}`)).owner_id, a.id);
    // the ledger of alpha: purchase, extend; beta sees none of it
    const led = await ca.ok('GET', '/api/v1/ledger');
    assert.deepEqual(led.items.map((r) => r.kind), ['extend', 'purchase', 'adjust']);
    assert.deepEqual(led.items.map((r) => r.balance_after), ['15.0000', '17.5000', '20.0000']);
    assert.ok(!(await cb.ok('GET', '/api/v1/ledger')).items.some((r) => r.reseller_id === a.id));
    const gone = await ca.call('DELETE', `/api/v1/lines/${line.id}`);
    assert.equal(gone.status, 204, gone.text);
  });

  it('200 concurrent spends against a balance that covers 50: exactly 50 lines, balance 0', async () => {
    const r = await reseller({ username: 'rush' });
    await root.ok('POST', `/api/v1/resellers/${r.id}/credits`, { amount: '125' }); // 50 × 2.5
    const c = await loginAs('rush');
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.call('POST', '/api/v1/lines', { username: `rush${i}`, plan_id: plan.id })),
    );
    const created = results.filter((x) => x.status === 201).length;
    const refused = results.filter((x) => x.status === 409 && x.json().code === 'INSUFFICIENT_CREDITS').length;
    assert.equal(created, 50, `statuses: ${JSON.stringify(results.map((x) => x.status))}`);
    assert.equal(refused, 150);
    assert.equal(await balanceOf(r.id), '0.0000');
    assert.equal((await c.ok('GET', '/api/v1/lines?page_size=1000')).total, 50);
    const v = await root.ok('GET', '/api/v1/ledger/verify');
    assert.equal(v.ok, true, JSON.stringify(v));
  });

  it('Idempotency-Key: a retry charges once; another body with the same key is 422', async () => {
    const r = await reseller({ username: 'retry' });
    await root.ok('POST', `/api/v1/resellers/${r.id}/credits`, { amount: 10 });
    const c = await loginAs('retry');
    const headers = { 'Idempotency-Key': 'k-1' };
    const first = await c.call('POST', '/api/v1/lines', { username: 'once', plan_id: plan.id }, { headers });
    assert.equal(first.status, 201, first.text);
    const again = await c.call('POST', '/api/v1/lines', { username: 'once', plan_id: plan.id }, { headers });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.text, first.text);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(await balanceOf(r.id), '7.5000');
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 'other', plan_id: plan.id }, { headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
    // concurrent retries of one request: one charge
    const h2 = { 'Idempotency-Key': 'k-2' };
    const burst = await Promise.all(Array.from({ length: 8 }, () => c.call('POST', '/api/v1/lines', { username: 'twice', plan_id: plan.id }, { headers: h2 })));
    assert.ok(burst.every((x) => x.status === 201), burst.map((x) => x.status).join());
    assert.equal(await balanceOf(r.id), '5.0000');
    // an admin adjustment with a key, replayed
    const h3 = { 'Idempotency-Key': 'adj-1' };
    await root.ok('POST', `/api/v1/resellers/${r.id}/credits`, { amount: 1 }, { headers: h3 });
    await root.ok('POST', `/api/v1/resellers/${r.id}/credits`, { amount: 1 }, { headers: h3 });
    assert.equal(await balanceOf(r.id), '6.0000');
  });

  it('transfers down and up the tree, never below 0 on either side', async () => {
    const top = await reseller({ username: 'top' });
    await root.ok('POST', `/api/v1/resellers/${top.id}/credits`, { amount: 10 });
    const ct = await loginAs('top');
    const sub = await ct.call('POST', '/api/v1/resellers', { username: 'sub', password: RS_PW });
    assert.equal(sub.status, 201, sub.text);
    const s = sub.json();
    assert.equal(s.parent_id, top.id);
    const t1 = await ct.ok('POST', `/api/v1/resellers/${s.id}/transfer`, { amount: '4.25' });
    assert.equal(t1.reseller.balance, '4.2500');
    assert.equal(t1.ledger.kind, 'transfer_in');
    assert.equal(await balanceOf(top.id), '5.7500');
    assertProblem(await ct.call('POST', `/api/v1/resellers/${s.id}/transfer`, { amount: '5.7501' }), 409, 'INSUFFICIENT_CREDITS');
    assertProblem(await ct.call('POST', `/api/v1/resellers/${s.id}/transfer`, { amount: '-4.2501' }), 409, 'INSUFFICIENT_CREDITS');
    const back = await ct.ok('POST', `/api/v1/resellers/${s.id}/transfer`, { amount: '-1.25' });
    assert.equal(back.reseller.balance, '3.0000');
    assert.equal(await balanceOf(top.id), '7.0000');
    // the sub-reseller cannot pull from its parent, nor see it
    const cs = await loginAs('sub');
    assertProblem(await cs.call('POST', `/api/v1/resellers/${top.id}/transfer`, { amount: 1 }), 404, 'NOT_FOUND');
    assertProblem(await cs.call('POST', `/api/v1/resellers/${s.id}/transfer`, { amount: 1 }), 404, 'NOT_FOUND');
    // the transfer pairs share an id
    const rows = (await root.ok('GET', `/api/v1/ledger?kind=transfer_out`)).items.filter((x) => [top.id, s.id].includes(x.reseller_id));
    const ins = (await root.ok('GET', `/api/v1/ledger?kind=transfer_in`)).items.filter((x) => [top.id, s.id].includes(x.reseller_id));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((x) => x.transfer_id).sort(), ins.map((x) => x.transfer_id).sort());
    // the top-level's sub-reseller's lines are in the top's scope
    const sl = await cs.ok('POST', '/api/v1/lines', { username: 'subline', plan_id: plan.id });
    assert.equal((await ct.ok('GET', `/api/v1/lines/${sl.id}`)).id, sl.id);
    // deleting the sub: its balance and lines go to the parent
    const subBalance = await balanceOf(s.id);
    assert.equal(subBalance, '0.5000');
    const del = await ct.call('DELETE', `/api/v1/resellers/${s.id}`);
    assert.equal(del.status, 204, del.text);
    assert.equal(await balanceOf(top.id), '7.5000');
    assert.equal((await root.ok('GET', `/api/v1/lines/${sl.id}`)).owner_id, top.id);
    assert.equal((await root.ok('GET', '/api/v1/ledger/verify')).ok, true);
  });

  it('trials: limited per group per period', async () => {
    const r = await reseller({ username: 'trials' });
    await root.ok('POST', `/api/v1/resellers/${r.id}/credits`, { amount: 5 });
    const c = await loginAs('trials');
    for (const n of [1, 2]) {
      const t = await c.ok('POST', '/api/v1/lines', { username: `t${n}`, plan_id: plan.id, trial: true });
      assert.equal(t.is_trial, true);
    }
    assertProblem(await c.call('POST', '/api/v1/lines', { username: 't3', plan_id: plan.id, trial: true }), 409, 'TRIAL_LIMIT');
    assert.equal(await balanceOf(r.id), '4.0000');
    // a paid line is still allowed
    await c.ok('POST', '/api/v1/lines', { username: 'paid', plan_id: plan.id });
    // a group without trials
    const g0 = await root.ok('POST', '/api/v1/reseller-groups', { name: 'no-trials' });
    await root.ok('PATCH', `/api/v1/plans/${plan.id}`, { reseller_group_ids: [group.id, g0.id] });
    const r0 = await reseller({ username: 'notrial', group_id: g0.id });
    await root.ok('POST', `/api/v1/resellers/${r0.id}/credits`, { amount: 5 });
    const c0 = await loginAs('notrial');
    assertProblem(await c0.call('POST', '/api/v1/lines', { username: 'nt', plan_id: plan.id, trial: true }), 409, 'TRIAL_LIMIT');
  });

  it('the ledger check re-derives every balance and catches a tampered one', async () => {
    const v = await root.ok('GET', '/api/v1/ledger/verify');
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.ok(v.rows > 0 && v.resellers > 0);
    const ok = await runCli(['credits', 'check', '--data', w.dataDir]);
    assert.equal(ok.code, 0, ok.stderr);
    if (databaseOf(w.dataDir)) return; // PostgreSQL: the sqlite3 step does not apply
    const file = path.join(w.dataDir, 'xtreamd.db');
    const victim = (await root.ok('GET', '/api/v1/resellers?q=north')).items[0];
    await run('sqlite3', [file, `PRAGMA busy_timeout=10000; UPDATE resellers SET balance = balance + 10000 WHERE admin_id = ${victim.id};`]);
    const bad = await root.ok('GET', '/api/v1/ledger/verify');
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.mismatches.map((m) => m.reseller_id), [victim.id]);
    assert.equal(bad.mismatches[0].balance, '11.1234');
    assert.equal(bad.mismatches[0].ledger, '10.1234');
    const cli = await runCli(['credits', 'check', '--data', w.dataDir]);
    assert.equal(cli.code, 1, cli.stdout);
    assert.match(cli.stdout + cli.stderr, /north/);
    await run('sqlite3', [file, `PRAGMA busy_timeout=10000; UPDATE resellers SET balance = balance - 10000 WHERE admin_id = ${victim.id};`]);
    assert.equal((await root.ok('GET', '/api/v1/ledger/verify')).ok, true);
  });
});
