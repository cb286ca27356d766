// The web panel's skeleton (issue 12): xtreamd serves the built app at / for
// a browser (the client API keeps "/" for everyone else), with the right
// caching; a user logs in through the form, sees the dashboard, logs out;
// a wrong password shows the API's message; every page passes axe-core.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { get } from './lib/http.mjs';
import { makeDataDir, removeDir, startServer } from './lib/server.mjs';
import { startPanel, WEB_DIST, ADMIN, waitFor } from './lib/panel.mjs';

let p;
before(async () => {
  p = await startPanel({ tag: 'panel-core' });
});
after(async () => {
  await p?.close();
});

describe('serving the panel', () => {
  it('answers / with index.html for a browser and the version text for anyone else', async () => {
    const html = await get(p.port, '/', { headers: { Accept: 'text/html,application/xhtml+xml' } });
    assert.equal(html.status, 200);
    assert.match(html.headers['content-type'], /^text\/html/);
    assert.equal(html.headers['cache-control'], 'no-cache');
    assert.match(html.text, /<div id="app">/);
    const plain = await get(p.port, '/');
    assert.match(plain.text, /^xtreamd \d+\.\d+\.\d+\n$/);
  });

  it('serves hashed assets immutable, with ETag/304 and gzip', async () => {
    const files = await readdir(path.join(WEB_DIST, 'assets'));
    const js = files.find((f) => f.endsWith('.js'));
    assert.ok(js, 'a built .js asset');
    const r = await get(p.port, `/assets/${js}`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/javascript/);
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.ok(r.headers.etag);
    const again = await get(p.port, `/assets/${js}`, { headers: { 'If-None-Match': r.headers.etag } });
    assert.equal(again.status, 304);
    for (const bad of ['/assets/..%2F..%2Fetc%2Fpasswd', '/assets/.hidden', '/assets/nope.js']) assert.equal((await get(p.port, bad)).status, 404, bad);
  });
});

describe('without a built panel', () => {
  it("answers a browser's / with a 404 page saying how to build it, and keeps running", async () => {
    const dir = await makeDataDir('panel-missing');
    const srv = await startServer(dir, ['--web-root', path.join(dir, 'no-such-folder')]);
    try {
      const r = await get(srv.port, '/', { headers: { Accept: 'text/html' } });
      assert.equal(r.status, 404);
      assert.match(r.headers['content-type'], /^text\/html/);
      assert.match(r.text, /make build/);
      assert.match(r.text, /--web-root/);
      assert.equal((await get(srv.port, '/assets/index-x.js')).status, 404);
      assert.match((await get(srv.port, '/')).text, /^xtreamd /);
      await srv.waitForLog(/no web panel in .*no-such-folder/);
    } finally {
      await srv.stopClean();
      await removeDir(dir);
    }
  });
});

describe('login', () => {
  it('shows the API message for a wrong password', async () => {
    await p.page.goto('/');
    await p.page.getByLabel('Username').fill(ADMIN.username);
    await p.page.getByLabel('Password').fill('not the password');
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    const alert = p.page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /\S/);
    await p.axeCheck('login page');
    await p.screenshot('login');
  });

  it('logs in, shows the live dashboard, logs out', async () => {
    await p.login();
    // The counters event updates the clock line every second.
    const sub = p.page.locator('.page-head p');
    const first = await sub.innerText();
    await waitFor(async () => (await sub.innerText()) !== first && /Up /.test(await sub.innerText()), { what: 'a live update of the dashboard' });
    assert.match(await p.page.locator('[data-stat="viewers"] .stat-value').innerText(), /^\d+$/);
    await p.axeCheck('dashboard');
    await p.screenshot('dashboard');
    await p.page.getByRole('button', { name: 'Log out' }).click();
    await p.page.getByRole('button', { name: 'Sign in' }).waitFor();
    // The session is over on the server too.
    await p.page.reload();
    await p.page.getByRole('button', { name: 'Sign in' }).waitFor();
    p.assertNoPageErrors();
  });
});
