// The panel's reseller pages (issue 17), driven like a user in Debian's
// chromium: an admin creates a reseller group, a plan with a credit price
// sold by that group, and a reseller with credits (tree, adjustment with a
// reason); the reseller signs in and sees only its own menu, creates a line
// from the plan (the price and the balance after are shown; the request
// carries an Idempotency-Key), sees its balance drop by the price and the
// ledger row; a line it cannot pay for shows "Not enough credits" in the
// dialog and creates nothing; it creates a sub-reseller and transfers
// credits to it, and the admin's tree shows the sub-reseller under it.
// Every result is checked through the API too; every new page passes
// axe-core; screenshots in build/panel-screens/ (the docs' come from there).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCREENS, UI_TIMEOUT, startPanel, waitFor } from './lib/panel.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const RESELLER = { username: 'hotel-a', password: 'Hotel-A.pass-2026' };
const SUB = { username: 'hotel-a-spa', password: 'Hotel-A-spa.pass-26' };

let p;
let page; // the admin's
let rpage; // the reseller's (its own browser context: its own cookie)
let rctx;
const spendHeaders = [];

before(async () => {
  p = await startPanel({ tag: 'panel-resellers' });
  page = p.page;
  await p.login();
});
after(async () => {
  await rctx?.close().catch(() => {});
  await p?.close();
});

const dialogOf = (pg) => pg.locator('dialog[open]');
/** A full-page screenshot from the top, of either page (build/panel-screens/). */
async function shot(pg, name) {
  await pg.evaluate(() => window.scrollTo(0, 0));
  await mkdir(SCREENS, { recursive: true });
  await pg.screenshot({ path: path.join(SCREENS, `panel-resellers-${name}.png`), fullPage: true });
}
/** axe-core on either page: serious or critical violations fail. */
async function axe(pg, what) {
  if (pg === page) return p.axeCheck(what);
  const src = await readFile(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  if (!(await pg.evaluate(() => typeof window.axe !== 'undefined'))) await pg.evaluate(src);
  const r = await pg.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary) }));
  });
  const bad = r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: accessibility violations (axe-core):\n${JSON.stringify(bad, null, 2)}`);
  return r;
}
async function gotoOn(pg, hash, title) {
  await pg.evaluate((h) => (location.hash = `#/${h}`), hash);
  await pg.getByRole('heading', { level: 1, name: title }).waitFor();
}
async function resellerByName(name) {
  const r = await p.api.ok('GET', `/api/v1/resellers?q=${encodeURIComponent(name)}`);
  return r.items.find((x) => x.username === name) ?? null;
}
async function linesNamed(re) {
  const r = await p.api.ok('GET', '/api/v1/lines?page_size=200');
  return r.items.filter((l) => re.test(l.username));
}

let groupId;
let planId;

describe('admin: groups, a priced plan, the reseller tree', () => {
  it('creates a reseller group', async () => {
    // A line of the admins' own: never among a reseller's.
    await p.api.ok('POST', '/api/v1/lines', { username: 'admins-own' });
    await p.goto('reseller-groups', 'Reseller groups');
    await axe(page, 'reseller groups');
    await page.getByRole('button', { name: 'New group' }).click();
    const d = dialogOf(page);
    await d.getByLabel('Name').fill('Hotels');
    await d.getByLabel('Trials per period').fill('1');
    await d.getByLabel('May create sub-resellers').check();
    await axe(page, 'group dialog');
    await d.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('cell', { name: 'Hotels', exact: true }).waitFor();
    const g = (await p.api.ok('GET', '/api/v1/reseller-groups')).items.find((x) => x.name === 'Hotels');
    assert.ok(g, 'the group exists');
    assert.equal(g.trial_limit, 1);
    assert.equal(g.may_create_subresellers, true);
    groupId = g.id;
  });

  it('creates a plan with a credit price and a trial price, sold by the group', async () => {
    await p.goto('plans', 'Plans');
    await page.getByRole('button', { name: 'New plan' }).click();
    const d = dialogOf(page);
    await d.getByLabel('Name').fill('Room month');
    await d.getByLabel('Number of months').fill('1');
    await d.getByLabel('Credit price').fill('5');
    await d.getByLabel('Trial price').fill('0.5');
    await d.getByRole('group', { name: 'Reseller groups that may sell it' }).getByLabel('Hotels').check();
    await axe(page, 'plan dialog with prices');
    await d.getByRole('button', { name: 'Create plan' }).click();
    await page.getByRole('cell', { name: 'Room month', exact: true }).waitFor();
    const plan = (await p.api.ok('GET', '/api/v1/plans?q=Room')).items.find((x) => x.name === 'Room month');
    assert.equal(plan.credit_price, '5.0000');
    assert.equal(plan.trial_price, '0.5000');
    assert.deepEqual(plan.reseller_group_ids, [groupId]);
    planId = plan.id;
    await page.getByRole('cell', { name: '5.0000' }).first().waitFor();
  });

  it('creates a reseller in the group and gives it 12 credits with a reason', async () => {
    await p.goto('resellers', 'Resellers');
    await axe(page, 'empty reseller tree');
    await page.getByRole('button', { name: 'New reseller' }).click();
    const d = dialogOf(page);
    await d.locator('input[name="username"]').fill(RESELLER.username);
    await d.getByLabel('Password').fill(RESELLER.password);
    await d.getByLabel('Group').selectOption({ label: 'Hotels' });
    await d.getByLabel('Username prefix').fill('ha-');
    await d.getByRole('button', { name: 'Create' }).click();
    const row = page.locator(`tr[data-reseller="${RESELLER.username}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: `Adjust the credits of ${RESELLER.username}` }).click();
    const c = dialogOf(page);
    await c.getByLabel('Amount').fill('12');
    await c.locator('[data-balance-after]').filter({ hasText: '12.0000' }).waitFor();
    await c.getByLabel('Reason').fill('opening balance');
    await axe(page, 'credits dialog');
    await c.getByRole('button', { name: 'Adjust' }).click();
    await row.locator('[data-balance]').filter({ hasText: '12.0000' }).waitFor();
    const r = await resellerByName(RESELLER.username);
    assert.equal(r.balance, '12.0000');
    assert.equal(r.group_id, groupId);
    assert.equal(r.username_prefix, 'ha-');
    const led = await p.api.ok('GET', `/api/v1/resellers/${r.id}/ledger`);
    assert.equal(led.items[0].kind, 'adjust');
    assert.equal(led.items[0].amount, '12.0000');
    assert.equal(led.items[0].reason, 'opening balance');
  });
});

describe('the reseller', () => {
  it('signs in and sees only its own menu and dashboard', async () => {
    rctx = await p.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: p.base });
    rctx.setDefaultTimeout(UI_TIMEOUT);
    rpage = await rctx.newPage();
    rpage.on('request', (req) => {
      if (req.method() === 'POST' && /\/api\/v1\/(lines|resellers)/.test(req.url())) spendHeaders.push({ url: req.url(), key: req.headers()['idempotency-key'] });
    });
    await rpage.goto('/');
    await rpage.getByLabel('Username').fill(RESELLER.username);
    await rpage.getByLabel('Password').fill(RESELLER.password);
    await rpage.getByRole('button', { name: 'Sign in' }).click();
    await rpage.getByRole('heading', { level: 1, name: 'Reseller dashboard' }).waitFor();
    const menu = await rpage.locator('nav#nav a').allInnerTexts();
    assert.deepEqual(menu, ['Reseller dashboard', 'Lines', 'Sub-resellers', 'Credit ledger']);
    await rpage.locator('[data-stat="balance"] .stat-value').filter({ hasText: '12.0000' }).waitFor();
    // A page outside its menu sends it back to its dashboard.
    await rpage.evaluate(() => (location.hash = '#/settings'));
    await rpage.getByRole('heading', { level: 1, name: 'Reseller dashboard' }).waitFor();
    assert.match(rpage.url(), /#\/reseller$/);
    await axe(rpage, 'reseller dashboard');
  });

  it('creates a line from the plan: price, balance after, the charge and the ledger row', async () => {
    await gotoOn(rpage, 'lines', 'Lines');
    await rpage.getByRole('button', { name: 'New line' }).click();
    const d = dialogOf(rpage);
    await d.getByLabel('Username').fill('room1');
    await d.getByLabel('Plan').selectOption(String(planId));
    await d.locator('[data-price-value]').filter({ hasText: '5.0000' }).waitFor();
    await d.locator('[data-balance-after]').filter({ hasText: '7.0000' }).waitFor();
    await d.getByLabel(/Trial line/).check();
    await d.locator('[data-price-value]').filter({ hasText: '0.5000' }).waitFor();
    await d.getByLabel(/Trial line/).uncheck();
    await axe(rpage, 'reseller new line dialog');
    await d.getByRole('button', { name: /Create line/ }).click();
    await rpage.getByRole('heading', { level: 1, name: 'Line ha-room1' }).waitFor();
    const [line] = await linesNamed(/^ha-room1$/);
    assert.ok(line, 'the line exists with the prefix');
    const r = await resellerByName(RESELLER.username);
    assert.equal(r.balance, '7.0000');
    const led = await p.api.ok('GET', `/api/v1/resellers/${r.id}/ledger`);
    assert.equal(led.items[0].kind, 'purchase');
    assert.equal(led.items[0].amount, '-5.0000');
    assert.equal(led.items[0].balance_after, '7.0000');
    assert.equal(led.items[0].line_id, line.id);
    const post = spendHeaders.find((h) => /\/api\/v1\/lines$/.test(h.url));
    assert.match(post?.key ?? '', /^[0-9a-f]{32}$/, 'the new line request carries an Idempotency-Key');

    await gotoOn(rpage, 'reseller', 'Reseller dashboard');
    await rpage.locator('[data-stat="balance"] .stat-value').filter({ hasText: '7.0000' }).waitFor();
    await rpage.locator('[data-stat="spent"] .stat-value').filter({ hasText: '5.0000' }).waitFor();
    await rpage.locator('[data-amount="-5.0000"]').first().waitFor();
  });

  it('a line it cannot pay for shows the error in the dialog and creates nothing', async () => {
    await gotoOn(rpage, 'lines', 'Lines');
    // 7 → 2 with a second line, then 2 < 5.
    for (const [name, expectOk] of [
      ['room2', true],
      ['room3', false],
    ]) {
      await rpage.getByRole('button', { name: 'New line' }).click();
      const d = dialogOf(rpage);
      await d.getByLabel('Username').fill(name);
      await d.getByLabel('Plan').selectOption(String(planId));
      await d.locator('[data-balance-after]').waitFor();
      await d.getByRole('button', { name: /Create line/ }).click();
      if (expectOk) {
        await rpage.getByRole('heading', { level: 1, name: `Line ha-${name}` }).waitFor();
        await gotoOn(rpage, 'lines', 'Lines');
        continue;
      }
      const alert = d.locator('.alert-error[role="alert"]');
      await alert.waitFor();
      assert.match(await alert.innerText(), /Not enough credits/);
      await axe(rpage, 'new line dialog with the credit error');
      await shot(rpage, 'reseller-insufficient');
      await d.getByRole('button', { name: 'Cancel' }).click();
    }
    assert.deepEqual((await linesNamed(/^ha-room3$/)).length, 0, 'no line was created');
    assert.equal((await resellerByName(RESELLER.username)).balance, '2.0000');
  });

  it('creates a sub-reseller and transfers credits to it; the ledger lists the moves; an extension it cannot pay is refused', async () => {
    await gotoOn(rpage, 'resellers', 'Sub-resellers');
    await rpage.getByRole('button', { name: 'New sub-reseller' }).click();
    const d = dialogOf(rpage);
    await d.locator('input[name="username"]').fill(SUB.username);
    await d.getByLabel('Password').fill(SUB.password);
    await d.getByRole('button', { name: 'Create' }).click();
    const row = rpage.locator(`tr[data-reseller="${SUB.username}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: `Transfer credits with ${SUB.username}` }).click();
    const t = dialogOf(rpage);
    await t.getByLabel('Amount').fill('1.5');
    await t.locator('[data-transfer-summary]').filter({ hasText: '0.5000' }).waitFor();
    await axe(rpage, 'transfer dialog');
    await t.getByRole('button', { name: 'Transfer' }).click();
    await row.locator('[data-balance]').filter({ hasText: '1.5000' }).waitFor();
    assert.equal((await resellerByName(RESELLER.username)).balance, '0.5000');
    assert.equal((await resellerByName(SUB.username)).balance, '1.5000');
    assert.ok(spendHeaders.some((h) => /\/transfer$/.test(h.url) && /^[0-9a-f]{32}$/.test(h.key ?? '')), 'the transfer carries an Idempotency-Key');

    await gotoOn(rpage, 'ledger', 'Credit ledger');
    await rpage.locator('[data-amount="-1.5000"]').first().waitFor();
    await axe(rpage, 'reseller ledger');

    // Extend… takes a plan and its price: 0.5000 does not cover 5.0000.
    const [room1] = await linesNamed(/^ha-room1$/);
    await gotoOn(rpage, `lines/${room1.id}`, 'Line ha-room1');
    assert.equal(await rpage.locator('[data-action="toggle-ban"]').count(), 0, 'a reseller has no Ban');
    await rpage.locator('[data-action="extend"]').click();
    const x = dialogOf(rpage);
    await x.getByLabel('By the plan').selectOption(String(planId));
    await x.locator('[data-balance-after]').filter({ hasText: '-4.5000' }).waitFor();
    await axe(rpage, 'extend by a plan');
    await x.getByRole('button', { name: 'Extend' }).click();
    await x.locator('.alert-error[role="alert"]').filter({ hasText: 'Not enough credits' }).waitFor();
    await x.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await p.api.ok('GET', `/api/v1/lines/${room1.id}`)).exp_date, room1.exp_date, 'not extended');

    // The dashboard with everything on it (docs/panel/reseller-dashboard.png).
    await gotoOn(rpage, 'reseller', 'Reseller dashboard');
    await rpage.locator(`tr[data-reseller="${SUB.username}"]`).waitFor();
    await rpage.locator('[data-stat="balance"] .stat-value').filter({ hasText: '0.5000' }).waitFor();
    const dismiss = rpage.getByRole('button', { name: 'Dismiss' });
    for (let i = 0; i < 20 && (await dismiss.count()) > 0; i++) await dismiss.first().click({ timeout: 5000 }).catch(() => {});
    await axe(rpage, 'reseller dashboard with a sub-reseller');
    await shot(rpage, 'reseller-dashboard');
  });
});

describe('admin again', () => {
  it('the tree shows the sub-reseller under its parent; the detail and the ledger pages', async () => {
    await p.goto('ledger', 'Credit ledger');
    await p.goto('resellers', 'Resellers');
    const parent = page.locator(`tr[data-reseller="${RESELLER.username}"]`);
    const child = page.locator(`tr[data-reseller="${SUB.username}"]`);
    await child.waitFor();
    assert.equal(await parent.getAttribute('data-depth'), '0');
    assert.equal(await child.getAttribute('data-depth'), '1');
    // Depth-first: the child's row comes right after its parent's.
    const order = await page.locator('tr[data-reseller]').evaluateAll((rows) => rows.map((r) => r.dataset.reseller));
    assert.equal(order.indexOf(SUB.username), order.indexOf(RESELLER.username) + 1);
    await axe(page, 'reseller tree');
    await shot(page, 'resellers-tree');

    await parent.getByRole('link', { name: RESELLER.username }).click();
    await page.getByRole('heading', { level: 1, name: `Reseller ${RESELLER.username}` }).waitFor();
    await page.locator('[data-amount="-5.0000"]').first().waitFor();
    await axe(page, 'reseller detail');
    // Its lines: its own and its sub-resellers' (GET /lines?owner_id=), not the admins'.
    await page.getByRole('tab', { name: 'Lines' }).click();
    await waitFor(async () => {
      const names = (await page.locator('[role="tabpanel"] tbody a').allInnerTexts()).sort();
      return JSON.stringify(names) === JSON.stringify(['ha-room1', 'ha-room2']) && names;
    }, { what: "the reseller's two lines only" });
    const r = await resellerByName(RESELLER.username);
    const own = await p.api.ok('GET', `/api/v1/lines?owner_id=${r.id}`);
    assert.deepEqual(own.items.map((l) => l.username).sort(), ['ha-room1', 'ha-room2']);

    await p.goto('ledger', 'Credit ledger');
    await page.locator('[data-filter="kind"]').selectOption('purchase');
    await waitFor(async () => {
      const amounts = await page.locator('[data-amount]').evaluateAll((xs) => xs.map((x) => x.dataset.amount));
      return amounts.length === 2 && amounts.every((a) => a === '-5.0000');
    }, { what: 'the two purchases only' });
    await page.getByRole('button', { name: 'Verify balances' }).click();
    await page.locator('[data-verify]').filter({ hasText: 'Every balance matches' }).waitFor();
    await axe(page, 'ledger');
    assert.deepEqual((await p.api.ok('GET', '/api/v1/ledger/verify')).ok, true);
    p.assertNoPageErrors();
  });
});
