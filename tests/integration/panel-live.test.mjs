// The panel's live views (issue 12): the dashboard's viewer count rises when
// a test viewer starts a channel (through the `counters` event, no reload),
// the channel shows in the top list; the connections page lists the viewer's
// connection and its Kill button (after a confirmation) ends the viewer's
// stream. Checked in the UI and through the player's own socket and the API.
// A watched channel whose primary source is refused shows up in Recent events
// on its backup (the `channel` event), a line over its limit as well (`limit`).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliOk, freePort } from './lib/server.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';
import { startPanel, waitFor } from './lib/panel.mjs';

const PW = 'Viewer.pass-1';
let p;
let chan;
let viewer;
let backupChan;
let viewer2;

before(async () => {
  p = await startPanel({
    tag: 'panel-live',
    serveArgs: ['--channel-idle', '5'],
    seed: async (dir) => {
      await cliOk(['line', 'add', 'watcher', PW, '--data', dir, '--max-connections', '0']);
      await cliOk(['line', 'add', 'solo', PW, '--data', dir, '--max-connections', '1']);
      const r = await cliOk(['stream', 'add', 'Panel Pattern', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', dir]);
      chan = Number(r.stdout.trim());
      // Nothing listens on the primary's port: refused, the backup plays.
      const closed = await freePort();
      const b = await cliOk(['stream', 'add', 'Backup Pattern', '--source', `http://127.0.0.1:${closed}/live.ts`, '--source', LAVFI_SMALL, '--data', dir]);
      backupChan = Number(b.stdout.trim());
    },
  });
  await p.login();
});
after(async () => {
  viewer?.close();
  viewer2?.close();
  await p?.close();
});

const viewersShown = async () => Number(await p.page.locator('[data-stat="viewers"] .stat-value').innerText());

it('the dashboard counts a new viewer live and lists its channel', async () => {
  const page = p.page;
  await p.goto('dashboard', 'Dashboard');
  await waitFor(async () => (await viewersShown()) === 0, { what: 'no viewers at first' });
  viewer = await tsViewer(p.port, `/live/watcher/${PW}/${chan}.ts`, { keep: false });
  assert.equal(viewer.status, 200);
  // ffmpeg starts cold on a loaded machine: generous deadline, no reload.
  await waitFor(async () => (await viewersShown()) >= 1, { timeoutMs: 60000, what: 'the viewer count to rise' });
  await page.getByRole('link', { name: 'Panel Pattern' }).waitFor({ timeout: 60000 });
  await waitFor(() => viewer.bytes > 0, { timeoutMs: 60000, what: 'the viewer to get bytes' });
  await p.axeCheck('dashboard with a viewer');
  await p.screenshot('dashboard');
});

it('the connections page lists the viewer and kills it', async () => {
  const page = p.page;
  await p.goto('connections', 'Connections');
  const row = page.locator('tbody tr', { hasText: 'watcher' });
  await row.waitFor();
  assert.match(await row.innerText(), /live/);
  await row.getByRole('link', { name: 'Panel Pattern' }).waitFor();
  await p.axeCheck('connections');
  await p.screenshot('connections');
  await row.getByRole('button', { name: /^Kill connection/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Kill connection' });
  await dialog.waitFor();
  await p.axeCheck('kill confirmation');
  await dialog.getByRole('button', { name: 'Kill' }).click();
  await waitFor(() => viewer.ended, { what: "the viewer's stream to end" });
  await page.getByText('Connection killed').waitFor();
  await page.getByText('No connections.').waitFor();
  const s = await p.api.ok('GET', '/api/v1/sessions');
  assert.equal(s.total, 0);
  p.assertNoPageErrors();
});

it("a watched channel failing over to its backup shows in the dashboard's recent events", async () => {
  const page = p.page;
  await p.goto('dashboard', 'Dashboard');
  viewer2 = await tsViewer(p.port, `/live/watcher/${PW}/${backupChan}.ts`, { keep: false });
  assert.equal(viewer2.status, 200);
  // Either seen on the primary first ("failed over to source 2") or first seen on
  // the backup ("on backup source 2"): both name source 2.
  const ev = page.locator('.events li[data-event="channel"]', { hasText: 'Backup Pattern' }).filter({ hasText: /source 2/ });
  await ev.first().waitFor({ timeout: 60000 });
  await waitFor(() => viewer2.bytes > 0, { timeoutMs: 60000, what: 'the backup to play' });
  await p.screenshot('dashboard-failover');
  viewer2.close();
});

it("a line hitting its connection limit shows in the dashboard's recent events", async () => {
  const page = p.page;
  await p.goto('dashboard', 'Dashboard');
  const first = await tsViewer(p.port, `/live/solo/${PW}/${chan}.ts`, { keep: false });
  try {
    assert.equal(first.status, 200);
    await waitFor(() => first.bytes > 0, { timeoutMs: 60000, what: 'the first viewer to play' });
    // Newest wins: a second viewer of a 1-connection line cuts the first.
    const second = await tsViewer(p.port, `/live/solo/${PW}/${chan}.ts`, { keep: false, localAddress: '127.0.0.2' });
    try {
      await waitFor(() => first.ended, { what: 'the older connection to be cut' });
      await page.locator('.events li[data-event="limit"]', { hasText: 'hit its limit' }).filter({ hasText: 'of 1' }).waitFor();
      await p.screenshot('dashboard-limit');
    } finally {
      second.close();
    }
  } finally {
    first.close();
  }
});
