// The panel's content pages (issue 12), driven like a user in Debian's
// chromium: create a channel with a lavfi: source (a field error first), open
// its preview and watch the video's currentTime advance; reorder categories by
// drag and drop and see the order in player_api.php; build a bouquet's
// contents, reorder them and see that order in player_api.php; scan a movie
// folder and watch the job reach 100 %, edit a movie (field error, then saved) and play it; map a channel
// to a guide from its candidates; axe-core on every page; a screenshot each.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startPanel, waitFor } from './lib/panel.mjs';
import { LAVFI_SMALL } from './lib/live.mjs';
import { get, getJson, api as playerApi } from './lib/http.mjs';
import { LINES } from './lib/fixture.mjs';
import { addAdmin } from './lib/admin.mjs';

const VIEWER = { username: 'panelviewer', password: 'Viewer.pass-12345' };

const run = promisify(execFile);
let p;
let page;
let tmp;
let channel; // the stream the first test creates

before(async () => {
  p = await startPanel({ tag: 'panel-content', lines: ['open'], seed: (dir) => addAdmin(dir, VIEWER.username, VIEWER.password, 'viewer') });
  page = p.page;
  await p.login();
});
after(async () => {
  await p?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The video element's currentTime, once it has one. */
const videoTime = () => page.locator('video').evaluate((v) => v.currentTime);

/** Waits until the preview video plays: currentTime advances by > 1 s. */
async function assertVideoAdvances(what) {
  const t0 = await waitFor(async () => {
    const t = await videoTime();
    return t > 0 ? t : null;
  }, { timeoutMs: 90000, what: `${what}: the video starts` });
  await waitFor(async () => (await videoTime()) > t0 + 1, { timeoutMs: 60000, what: `${what}: currentTime advances` });
}

describe('channels', () => {
  it('creates a channel (field error first), previews it in the browser, and the preview is a session', async () => {
    await p.goto('channels', 'Channels');
    await page.getByRole('button', { name: 'New channel' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Panel Preview Channel');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.locator('[data-field-error="sources"]').waitFor();
    await dialog.getByLabel('New source URL').fill(LAVFI_SMALL);
    await dialog.getByRole('button', { name: 'Add source' }).click();
    await dialog.getByLabel('New source URL').fill('http://127.0.0.1:9/backup.ts');
    await dialog.getByRole('button', { name: 'Add source' }).click();
    // The backup goes first, then back: the list is reorderable.
    await dialog.getByRole('button', { name: 'Move 2 up' }).click();
    await dialog.getByRole('button', { name: 'Move 1 down' }).click();
    await p.axeCheck('channel editor');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 1, name: 'Panel Preview Channel' }).waitFor();

    const list = await p.api.ok('GET', '/api/v1/streams?q=Panel%20Preview');
    assert.equal(list.total, 1);
    const s = list.items[0];
    channel = s;
    assert.deepEqual(s.sources, [LAVFI_SMALL, 'http://127.0.0.1:9/backup.ts']);

    await page.getByRole('button', { name: 'Preview' }).click();
    await assertVideoAdvances('live preview');
    const engine = await page.locator('video').getAttribute('data-engine');
    assert.ok(engine === 'hls.js' || engine === 'mpegts.js', engine);
    const { value: sess } = await waitFor(async () => {
      const l = await p.api.ok('GET', `/api/v1/sessions?stream_id=${s.id}`);
      const one = l.items.find((x) => x.username === 'preview:paneladmin');
      return one ? { value: one } : null;
    }, { what: 'the preview in /sessions' });
    assert.equal(sess.line_id, 0);
    await page.locator('[data-state="running"]').first().waitFor();
    await page.locator('[data-log]').waitFor();
    await p.screenshot('channel');
    await p.axeCheck('channel page');
    await page.getByRole('button', { name: 'Close preview' }).click();

    await p.goto('channels', 'Channels');
    const row = page.locator(`tr[data-row-key="${s.id}"]`);
    await row.waitFor();
    await waitFor(async () => (await row.locator('[data-state]').getAttribute('data-state')) !== null, { what: 'the state column' });
    await p.screenshot('channels');
    await p.axeCheck('channels page');
    p.assertNoPageErrors();
  });

  it('plays the MPEG-TS fallback through mpegts.js (?player=ts)', async () => {
    assert.ok(channel, 'the channel of the previous test');
    await p.goto(`channels/${channel.id}?player=ts`, channel.name);
    await page.getByRole('button', { name: 'Preview' }).click();
    await assertVideoAdvances('MPEG-TS preview');
    assert.equal(await page.locator('video').getAttribute('data-engine'), 'mpegts.js');
    await page.getByRole('button', { name: 'Close preview' }).click();
    p.assertNoPageErrors();
  });
});

describe('categories and bouquets', () => {
  it('reorders live categories by drag and drop; players see the new order', async () => {
    const alice = LINES.open;
    const before = (await getJson(p.port, playerApi(alice.user, alice.pass, 'get_live_categories'))).map((c) => c.category_name);
    assert.ok(before.length >= 2, JSON.stringify(before));
    await p.goto('categories', 'Categories');
    const items = page.getByRole('list', { name: 'live categories in order' }).locator('li');
    await items.first().waitFor();
    const n = await items.count();
    // Drag the last category onto the first.
    await items.nth(n - 1).dragTo(items.nth(0));
    const want = [before[n - 1], ...before.slice(0, n - 1)];
    await waitFor(async () => {
      const now = (await getJson(p.port, playerApi(alice.user, alice.pass, 'get_live_categories'))).map((c) => c.category_name);
      return JSON.stringify(now) === JSON.stringify(want);
    }, { what: `player_api order ${JSON.stringify(want)}` });
    // And back with the keyboard-friendly buttons.
    await page.getByRole('button', { name: 'Move 1 down' }).click();
    await waitFor(async () => {
      const l = await p.api.ok('GET', '/api/v1/categories?kind=live&sort=sort_order&page_size=100');
      return l.items[0].name === want[1] && l.items[1].name === want[0];
    }, { what: 'the API order after Move down' });
    await p.screenshot('categories');
    await p.axeCheck('categories page');
  });

  it('creates a bouquet, adds categories and a channel, reorders and saves its contents', async () => {
    await p.goto('bouquets', 'Bouquets');
    await page.getByRole('button', { name: 'New bouquet' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('Panel Bouquet');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 1, name: 'Bouquet Panel Bouquet' }).waitFor();
    const cats = await p.api.ok('GET', '/api/v1/categories?kind=live&sort=sort_order&page_size=2');
    for (const c of cats.items) await page.getByRole('button', { name: `Add ${c.name} (live)` }).click();
    await page.getByLabel('Kind of item to add').selectOption('live');
    await page.getByLabel('Search titles to add').fill('Demo');
    const addFirst = page.getByRole('list', { name: 'Search results' }).getByRole('button').first();
    await addFirst.waitFor();
    await addFirst.click();
    const contents = page.getByRole('list', { name: 'Bouquet contents in order' }).locator('li');
    await waitFor(async () => (await contents.count()) === 3, { what: 'three items' });
    // The channel goes first (drag), then the second category up (button).
    await contents.nth(2).dragTo(contents.nth(0));
    await page.getByRole('button', { name: 'Move 3 up' }).click();
    await page.getByRole('button', { name: 'Save contents' }).click();
    const bq = await waitFor(async () => {
      const l = await p.api.ok('GET', '/api/v1/bouquets?q=Panel%20Bouquet');
      const b = l.items[0];
      return b && b.items.length === 3 ? b : null;
    }, { what: 'the saved bouquet' });
    assert.equal(bq.items[0].kind, 'live');
    assert.deepEqual(bq.items.slice(1).map((i) => i.id), [cats.items[1].id, cats.items[0].id]);
    // Players see that order (xtream-api.md §3.4): the channel first, then the
    // second category's channels, then the first's.
    const line = { user: 'panel.bq', pass: 'Panel.bq-12345' };
    await p.api.ok('POST', '/api/v1/lines', { username: line.user, password: line.pass, bouquets: [bq.id] });
    const streams = await waitFor(async () => {
      const r = await get(p.port, playerApi(line.user, line.pass, 'get_live_streams'));
      return r.status === 200 ? JSON.parse(r.text) : null;
    }, { what: 'the new line in player_api.php' });
    assert.equal(streams[0].stream_id, bq.items[0].id, 'the dragged channel comes first');
    const catSeq = [...new Set(streams.slice(1).map((x) => Number(x.category_id)))];
    assert.ok(catSeq.length >= 1, JSON.stringify(streams));
    assert.deepEqual(catSeq, [cats.items[1].id, cats.items[0].id].filter((id) => catSeq.includes(id)), 'categories in bouquet order');
    await p.screenshot('bouquet');
    await p.axeCheck('bouquet page');

    await p.goto('bouquets', 'Bouquets');
    const rows = page.getByRole('list', { name: 'Bouquets in order' }).locator('li');
    await waitFor(async () => (await rows.count()) >= 2, { what: 'two bouquets' });
    await rows.nth((await rows.count()) - 1).dragTo(rows.nth(0));
    await waitFor(async () => {
      const l = await p.api.ok('GET', '/api/v1/bouquets?sort=sort_order&page_size=10');
      return l.items[0].name === 'Panel Bouquet';
    }, { what: 'the new bouquet order' });
    await p.axeCheck('bouquets page');
    p.assertNoPageErrors();
  });
});

describe('movies and series', () => {
  it('scans a folder with a progress bar to 100 %, edits a movie (field error first) and plays it', async () => {
    // A library root is never inside the data directory.
    tmp = await mkdtemp(path.join(os.tmpdir(), 'xtreamd-panel-films-'));
    const dir = path.join(tmp, 'Panel Scan Film (2022)');
    await mkdir(dir, { recursive: true });
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=192x108:rate=25',
      '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart',
      path.join(dir, 'Panel Scan Film (2022).mp4')]);
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'smptebars=size=120x180', '-frames:v', '1', path.join(dir, 'poster.jpg')]);
    await p.goto('movies', 'Movies');
    await page.getByRole('button', { name: 'Scan folder' }).click();
    await page.getByRole('dialog').getByLabel('Folder on the server').fill(path.dirname(dir));
    await page.getByRole('dialog').getByRole('button', { name: 'Start scan' }).click();
    await page.locator('.job[data-state="succeeded"]').waitFor({ timeout: 120000 });
    assert.equal(await page.locator('.job [data-progress]').innerText(), '100%');
    assert.equal(await page.locator('.job progress').evaluate((e) => e.value), 100);
    const row = page.locator('tbody tr', { hasText: 'Panel Scan Film' });
    await row.waitFor();
    // Its poster, found next to the file by the scan, is shown in the list.
    const poster = row.locator('img.art');
    await waitFor(async () => (await poster.evaluate((i) => i.complete && i.naturalWidth)) === 120, { what: 'the scanned poster in the list' });
    await p.screenshot('movies');
    await p.axeCheck('movies page');
    await page.getByLabel('Search Movies').fill('Panel Scan');
    await waitFor(async () => (await page.locator('tbody tr[data-row-key]').count()) === 1, { what: 'the search narrows the list' });

    await row.getByRole('button', { name: /^Edit / }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Year').fill('1200');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-field-error="year"]').waitFor();
    await dialog.getByLabel('Year').fill('2023');
    await dialog.getByLabel('Genre').fill('Test Genre');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const m = (await p.api.ok('GET', '/api/v1/movies?q=Panel%20Scan')).items[0];
    assert.equal(m.year, 2023);
    assert.equal(m.genre, 'Test Genre');

    await row.getByRole('button', { name: /^Play / }).click();
    await assertVideoAdvances('movie');
    await p.axeCheck('movie player');
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    p.assertNoPageErrors();
  });

  it('lists series with their episodes', async () => {
    await p.goto('series', 'Series');
    const link = page.locator('tbody a').first();
    await link.waitFor();
    const name = await link.innerText();
    await link.click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
    await page.locator('tbody tr[data-row-key]').first().waitFor();
    await p.screenshot('series');
    await p.axeCheck('series page');
  });
});

describe('guide', () => {
  it('imports a source with a progress bar, and maps a channel from its candidates', async () => {
    const s = await p.api.ok('POST', '/api/v1/streams', { name: 'Demo Clock Backup Feed', sources: ['http://127.0.0.1:9/c.ts'] });
    await p.goto('epg', 'Guide (EPG)');
    await page.getByRole('button', { name: /^Import now: / }).first().click();
    await page.locator('.job[data-state="succeeded"]').waitFor({ timeout: 120000 });
    assert.equal(await page.locator('.job [data-progress]').first().innerText(), '100%');
    await p.screenshot('epg-sources');
    await p.axeCheck('guide sources');

    await page.getByRole('tab', { name: 'Channels without a guide' }).click();
    const row = page.locator(`tr[data-row-key="${s.id}"]`);
    await row.waitFor();
    const cand = row.getByRole('button', { name: /^Map Demo Clock Backup Feed to / }).first();
    const label = await cand.getAttribute('aria-label');
    const id = /to (\S+) \(\d+\)$/.exec(label)[1];
    await p.screenshot('epg-unmapped');
    await p.axeCheck('channels without a guide');
    await cand.click();
    await waitFor(async () => (await p.api.ok('GET', `/api/v1/streams/${s.id}`)).epg_channel_id === id, { what: `stream mapped to ${id}` });
    await row.waitFor({ state: 'detached' });
    p.assertNoPageErrors();
  });
});

describe('dark theme', () => {
  it('a link in a hovered table row keeps AA contrast (axe, dark theme)', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    try {
      await p.goto('lines', 'Lines');
      const link = page.locator(`a[data-line="${LINES.open.user}"]`);
      await link.waitFor();
      // The row's hover background is the one the link must contrast with.
      await link.locator('xpath=ancestor::tr').hover();
      await p.axeCheck('lines page, dark, hovered row');
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
    }
  });
});

describe('a viewer account', () => {
  it('sees the content pages without their write buttons, and can still preview', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await p.login(VIEWER);
    await p.goto('channels', 'Channels');
    await page.locator('tbody tr[data-row-key]').first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'New channel' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Stop |^Start / }).count(), 0);
    await p.goto(`channels/${channel.id}`, channel.name);
    await page.getByRole('button', { name: 'Preview' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
    for (const [hash, title, button] of [['movies', 'Movies', 'Scan folder'], ['categories', 'Categories', 'New category'], ['bouquets', 'Bouquets', 'New bouquet'], ['epg', 'Guide (EPG)', 'New source']]) {
      await p.goto(hash, title);
      assert.equal(await page.getByRole('button', { name: button }).count(), 0, `${hash}: no ${button}`);
    }
    p.assertNoPageErrors();
  });
});
