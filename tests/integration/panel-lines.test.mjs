// The panel's lines and plans pages (issue 12), driven like a user in
// Debian's chromium: create a line (a bad username shows the API's message
// under the field; fixed, the line is made) and find it by search; edit and
// extend it; its playlist URL answers a real M3U; its live connection shows
// on its page and Kill ends the viewer's stream; bulk disable and bulk
// bouquets on a selection; status filter; plans (create, field error, a
// line made from a plan). Every result is checked through the API or the
// client API too; every page and dialog passes axe-core; screenshots in
// build/panel-screens/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SCREENS, startPanel, waitFor } from './lib/panel.mjs';
import { cliOk } from './lib/server.mjs';
import { api as clientApi, request } from './lib/http.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';

let p;
let page;
let streamId;

before(async () => {
  p = await startPanel({
    tag: 'panel-lines',
    seed: async (dir) => {
      await cliOk(['bouquet', 'add', 'Sport', '--category', 'Demo News', '--data', dir]);
      await cliOk(['bouquet', 'add', 'Kids', '--category', 'Demo News', '--data', dir]);
      streamId = Number((await cliOk(['stream', 'add', 'Panel Lines Test', '--source', LAVFI_SMALL, '--data', dir])).stdout.trim());
    },
  });
  page = p.page;
  await p.login();
});
after(async () => {
  await p?.close();
});

const dialog = () => page.locator('dialog[open]');
/** A full-page screenshot from the top (a sticky top bar scrolled down would show mid-page). */
async function shot(name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  return p.screenshot(name);
}
/** The line through the API, by username (null when absent). */
async function lineByName(username) {
  const r = await p.api.ok('GET', `/api/v1/lines?q=${encodeURIComponent(username)}`);
  return r.items.find((l) => l.username === username) ?? null;
}
async function lineLogsIn(username, password) {
  await waitFor(async () => {
    const r = await request(p.port, 'GET', clientApi(username, password), { adminToken: false });
    return r.status === 200 && r.json().user_info?.auth === 1;
  }, { what: `${username} logs in through player_api.php` });
}
/** Types into the list's search box and waits for exactly the rows wanted. */
async function search(text, want) {
  await page.getByLabel('Search Lines').fill(text);
  await waitFor(async () => {
    const names = await page.locator('tbody a[data-line]').allInnerTexts();
    return JSON.stringify(names.sort()) === JSON.stringify([...want].sort()) && names;
  }, { what: `the rows for "${text}" are ${want.join(', ')}` });
}

describe('lines', () => {
  it('create: the API field error shows under the field; fixed, the line is made and found by search', async () => {
    await p.goto('lines', 'Lines');
    await p.axeCheck('lines list');
    await page.getByRole('button', { name: 'New line' }).click();
    const d = dialog();
    await d.getByLabel('Username').fill('room 101');
    await d.getByLabel('Connection limit').fill('2');
    await d.getByLabel('Sport').check();
    await d.getByRole('button', { name: 'Create line' }).click();
    const err = d.locator('[data-field-error="username"]');
    await err.waitFor();
    assert.match(await err.innerText(), /contains ' '|allowed/);
    assert.equal(await d.getByLabel('Username').getAttribute('aria-invalid'), 'true');
    await p.axeCheck('new line dialog with a field error');
    await err.scrollIntoViewIfNeeded();
    await shot('new-line-error');
    assert.equal(await lineByName('room 101'), null, 'nothing was created');

    await d.getByLabel('Username').fill('room-101');
    await d.getByLabel('Password').fill('Room.pass-101');
    await d.getByRole('button', { name: 'Create line' }).click();
    await page.getByRole('heading', { level: 1, name: 'Line room-101' }).waitFor();
    const l = await lineByName('room-101');
    assert.equal(l.max_connections, 2);
    assert.deepEqual(l.bouquets.map((b) => b.name), ['Sport']);
    assert.equal(l.exp_date, null);

    await p.api.ok('POST', '/api/v1/lines', { username: 'room-102', password: 'Room.pass-102' });
    await p.goto('lines', 'Lines');
    await search('room-10', ['room-101', 'room-102']);
    await search('room-101', ['room-101']);
    await shot('lines');
  });

  it('edit and extend a line; its playlist URL answers a real M3U', async () => {
    await page.locator('tbody a[data-line="room-101"]').click();
    await page.getByRole('heading', { level: 1, name: 'Line room-101' }).waitFor();
    await p.axeCheck('line details');
    const form = page.getByRole('form', { name: 'Edit line room-101' });
    await form.getByLabel('Connection limit').fill('3');
    await form.getByLabel('Expires').fill('2030-05-01');
    await form.getByLabel('Notes').fill('VIP suite');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await waitFor(async () => {
      const l = await lineByName('room-101');
      return l.max_connections === 3 && l.notes === 'VIP suite' && l.exp_date === '2030-05-01T00:00:00Z';
    }, { what: 'the edit reaches the API' });
    await shot('line-details');

    await page.getByRole('button', { name: 'Extend…' }).click();
    const d = dialog();
    await d.getByLabel('By').selectOption('days');
    await d.getByLabel('Days').fill('10');
    await d.getByRole('button', { name: 'Extend' }).click();
    await waitFor(async () => (await lineByName('room-101')).exp_date === '2030-05-11T00:00:00Z', { what: 'the extension reaches the API' });

    await page.getByRole('tab', { name: 'Playlist & login' }).click();
    const m3uBox = page.locator('[data-copy="m3u"]');
    await m3uBox.waitFor();
    const url = new URL(await m3uBox.inputValue());
    assert.equal(url.searchParams.get('username'), 'room-101');
    assert.equal(await page.locator('[data-copy="password"]').inputValue(), 'Room.pass-101');
    // Copy puts the URL on the clipboard.
    await p.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: p.base });
    await page.getByRole('button', { name: 'Copy M3U playlist URL' }).click();
    await waitFor(async () => (await page.evaluate(() => navigator.clipboard.readText())) === url.href, { what: 'the M3U URL on the clipboard' });
    await lineLogsIn('room-101', 'Room.pass-101');
    const m3u = await request(p.port, 'GET', url.pathname + url.search, { adminToken: false });
    assert.equal(m3u.status, 200);
    assert.match(m3u.text, /^#EXTM3U/);
    await p.axeCheck('line playlist tab');
    await shot('line-playlist');
  });

  it("a new line starts from the settings' defaults; a trial line left without a date gets the trial length", async () => {
    await p.api.ok('PATCH', '/api/v1/settings', { default_max_connections: 4, default_outputs: ['ts'], trial_hours: 48 });
    try {
      await p.goto('lines', 'Lines');
      await page.getByRole('button', { name: 'New line' }).click();
      const d = dialog();
      await d.getByLabel('Username').fill('trial-1');
      assert.equal(await d.getByLabel('Connection limit').inputValue(), '4');
      assert.equal(await d.getByLabel('MPEG-TS').isChecked(), true);
      assert.equal(await d.getByLabel('HLS (m3u8)').isChecked(), false);
      await d.getByLabel('Trial line').check();
      await d.getByText('Empty: in 48 hours').waitFor();
      await d.getByRole('button', { name: 'Create line' }).click();
      await page.getByRole('heading', { level: 1, name: 'Line trial-1' }).waitFor();
      const l = await lineByName('trial-1');
      assert.equal(l.max_connections, 4);
      assert.deepEqual(l.allowed_outputs, ['ts']);
      assert.equal(l.is_trial, true);
      const hours = (l.exp_date_epoch * 1000 - Date.now()) / 3600000;
      assert.ok(hours > 46 && hours <= 48.1, `the trial length from the settings (${hours} h)`);
    } finally {
      await p.api.ok('PATCH', '/api/v1/settings', { default_max_connections: null, default_outputs: null, trial_hours: null });
    }
  });

  it("a line's live connection shows on its page, and Kill ends the viewer's stream", async () => {
    const l = await p.api.ok('POST', '/api/v1/lines', { username: 'viewer-1', password: 'View.pass-123', max_connections: 0 });
    await lineLogsIn('viewer-1', 'View.pass-123');
    const v = await tsViewer(p.port, `/live/viewer-1/View.pass-123/${streamId}.ts`, { keep: false });
    try {
      assert.equal(v.status, 200);
      await p.goto(`lines/${l.id}`, 'Line viewer-1');
      await page.getByRole('tab', { name: 'Connections' }).click();
      const kill = page.locator('[data-action="kill"]');
      await kill.waitFor(); // the table refreshes every 2 s
      await p.axeCheck('line connections tab');
      await shot('line-connections');
      await kill.click();
      await dialog().locator('[data-confirm]').click();
      await waitFor(() => v.ended, { what: "the viewer's stream ends" });
      const left = await p.api.ok('GET', `/api/v1/lines/${l.id}/sessions`);
      assert.equal(left.total, 0);
    } finally {
      v.close();
    }
  });

  // The server (not the panel) cuts what a disabled line watches: this checks the
  // whole path from the button to the viewer.
  it("disabling a line from its page ends what it is watching", async () => {
    const l = await lineByName('viewer-1');
    const v = await tsViewer(p.port, `/live/viewer-1/View.pass-123/${streamId}.ts`, { keep: false });
    try {
      assert.equal(v.status, 200);
      await waitFor(async () => (await p.api.ok('GET', `/api/v1/lines/${l.id}/sessions`)).total === 1, { what: 'the viewer is registered' });
      await p.goto(`lines/${l.id}`, 'Line viewer-1');
      await page.locator('[data-action="toggle-enabled"]').click();
      await dialog().locator('[data-confirm]').click();
      await waitFor(() => v.ended, { what: "the disabled line's stream ends" });
      assert.equal((await lineByName('viewer-1')).status, 'Disabled');
      await page.getByText('Disabled', { exact: true }).first().waitFor();
    } finally {
      v.close();
    }
  });

  it("a line's access rules: a bad address is named under its box; an allow-list the client is outside refuses it", async () => {
    const l = await lineByName('room-102');
    await lineLogsIn('room-102', 'Room.pass-102');
    await p.goto(`lines/${l.id}`, 'Line room-102');
    await page.getByRole('tab', { name: 'Access' }).click();
    const form = page.getByRole('form', { name: 'Access rules' });
    await form.getByLabel('Allowed addresses').fill('10.0.0.0/8\n999.1.1.1');
    await form.getByRole('button', { name: 'Save access rules' }).click();
    const err = form.locator('[data-field-error="allowed_ips"]');
    await err.waitFor();
    assert.match(await err.innerText(), /allowed_ips\[1\]/);
    await p.axeCheck('line access tab with a field error');
    await form.getByLabel('Allowed addresses').fill('10.0.0.0/8');
    await form.getByRole('button', { name: 'Save access rules' }).click();
    await waitFor(async () => JSON.stringify((await p.api.ok('GET', `/api/v1/lines/${l.id}/access`)).allowed_ips) === '["10.0.0.0/8"]', { what: 'the allow-list reaches the API' });
    await waitFor(async () => {
      const r = await request(p.port, 'GET', clientApi('room-102', 'Room.pass-102'), { adminToken: false });
      return r.status !== 200 || r.json().user_info?.auth !== 1;
    }, { what: 'the client API refuses 127.0.0.1, outside the allow-list' });
    await shot('line-access');
    await form.getByLabel('Allowed addresses').fill('');
    await form.getByRole('button', { name: 'Save access rules' }).click();
    await waitFor(async () => (await p.api.ok('GET', `/api/v1/lines/${l.id}/access`)).allowed_ips.length === 0, { what: 'the allow-list is emptied' });
  });

  it('bulk: disable and set bouquets on a selection; the status filter shows them', async () => {
    const made = [];
    for (const u of ['bulk-a', 'bulk-b', 'bulk-c']) made.push(await p.api.ok('POST', '/api/v1/lines', { username: u, exp_date: '2031-01-01' }));
    await p.goto('lines', 'Lines');
    await search('bulk-', ['bulk-a', 'bulk-b', 'bulk-c']);
    await page.getByLabel(`Select row ${made[0].id}`).check();
    await page.getByLabel(`Select row ${made[2].id}`).check();
    const bar = page.locator('[data-bulk]');
    await bar.getByText('2 lines selected').waitFor();
    await p.axeCheck('lines with a selection');
    await bar.locator('[data-action="bulk-disable"]').click();
    await dialog().locator('[data-confirm]').click();
    await waitFor(async () => (await lineByName('bulk-a')).status === 'Disabled' && (await lineByName('bulk-c')).status === 'Disabled', { what: 'both lines disabled' });
    assert.equal((await lineByName('bulk-b')).status, 'Active', 'a line not selected is untouched');

    await bar.locator('[data-action="bulk-bouquets"]').click();
    await dialog().getByLabel('Kids').check();
    await p.axeCheck('bulk bouquets dialog');
    await dialog().locator('[data-action="bulk-bouquets-save"]').click();
    await waitFor(async () => {
      const a = await lineByName('bulk-a');
      const c = await lineByName('bulk-c');
      return a.bouquets.map((b) => b.name).join() === 'Kids' && c.bouquets.map((b) => b.name).join() === 'Kids';
    }, { what: 'both lines get the Kids bouquet' });
    assert.deepEqual((await lineByName('bulk-b')).bouquets, []);

    await page.locator('[data-filter="status"]').selectOption('disabled');
    await waitFor(async () => JSON.stringify((await page.locator('tbody a[data-line]').allInnerTexts()).sort()) === '["bulk-a","bulk-c"]', { what: 'the disabled filter shows the two lines' });
    await shot('lines-bulk');
    await page.locator('[data-filter="status"]').selectOption('');
    p.assertNoPageErrors();
  });
});

describe('plans', () => {
  it('create a plan (an hours plan must be a trial plan: the API says so), then a line from it', async () => {
    await p.goto('plans', 'Plans');
    await p.axeCheck('plans list');
    await page.getByRole('button', { name: 'New plan' }).click();
    const d = dialog();
    await d.getByLabel('Name').fill('Gold');
    await d.getByLabel('Duration').selectOption('hours');
    await d.getByLabel('Number of hours').fill('48');
    await d.getByLabel('Connection limit').fill('2');
    await d.getByLabel('Kids').check();
    await d.getByRole('button', { name: 'Create plan' }).click();
    const err = d.locator('[data-field-error="duration"]');
    await err.waitFor();
    assert.match(await err.innerText(), /\S/);
    await p.axeCheck('plan dialog with a field error');
    await err.scrollIntoViewIfNeeded();
    await shot('plan-error');
    await d.getByLabel('Duration').selectOption('months');
    await d.getByLabel('Number of months').fill('1');
    await d.getByRole('button', { name: 'Create plan' }).click();
    await page.getByRole('cell', { name: 'Gold', exact: true }).waitFor();
    const plans = await p.api.ok('GET', '/api/v1/plans?q=Gold');
    const plan = plans.items[0];
    assert.equal(plan.duration_months, 1);
    assert.equal(plan.max_connections, 2);
    assert.deepEqual(plan.bouquets.map((b) => b.name), ['Kids']);
    await shot('plans');

    await p.goto('lines', 'Lines');
    await page.getByRole('button', { name: 'New line' }).click();
    const nl = dialog();
    await nl.getByLabel('Username').fill('gold-1');
    await nl.getByLabel('Plan').selectOption({ label: 'Gold (1 month)' });
    await nl.locator('[data-plan-summary]').waitFor();
    await nl.getByRole('button', { name: 'Create line' }).click();
    await page.getByRole('heading', { level: 1, name: 'Line gold-1' }).waitFor();
    const l = await lineByName('gold-1');
    assert.equal(l.max_connections, 2);
    assert.deepEqual(l.bouquets.map((b) => b.name), ['Kids']);
    const days = (l.exp_date_epoch * 1000 - Date.now()) / 86400000;
    assert.ok(days > 27 && days < 32, `a month from now (${days} days)`);
    p.assertNoPageErrors();
  });
});

describe('at a phone width', () => {
  it('the lines list and a line stay usable at 390 px (rows as cards, no sideways scroll)', async () => {
    const ctx = await p.browser.newContext({ viewport: { width: 390, height: 844 }, baseURL: p.base });
    try {
      const phone = await ctx.newPage();
      await phone.goto('/');
      await phone.getByLabel('Username').fill('paneladmin');
      await phone.getByLabel('Password').fill('Panel.pass-12345');
      await phone.getByRole('button', { name: 'Sign in' }).click();
      await phone.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      await phone.evaluate(() => (location.hash = '#/lines'));
      await phone.getByRole('heading', { level: 1, name: 'Lines' }).waitFor();
      await phone.locator('tbody a[data-line="room-101"]').waitFor();
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `no horizontal scrolling (${overflow} px too wide)`);
      await phone.screenshot({ path: path.join(SCREENS, 'panel-lines-lines-phone.png'), fullPage: true });
      await phone.locator('tbody a[data-line="room-101"]').click();
      await phone.getByRole('heading', { level: 1, name: 'Line room-101' }).waitFor();
      const overflow2 = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow2 <= 1, `no horizontal scrolling on the line's page (${overflow2} px too wide)`);
    } finally {
      await ctx.close();
    }
  });
});
