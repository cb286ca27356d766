// Browser-test harness for the web panel (tests/integration/panel-*.test.mjs):
// a seeded server serving the built panel (web/dist), Debian's chromium driven
// by playwright-core (no browser download), an admin account, and helpers:
// login through the UI, screenshots, an axe-core accessibility check, and an
// API client logged in as the same admin to check results through the API.
//
//   const p = await startPanel({ tag: 'panel-x' });
//   await p.login();                       // through the login form
//   await p.goto('connections');           // #/connections, waits for its <h1>
//   await p.screenshot('connections');     // build/panel-screens/<file>-connections.png
//   await p.axeCheck('connections');       // fails on serious/critical violations
//   await p.close();                       // in after(): browser, server, data dir
//
// No sleeps: wait with playwright (locator.waitFor, expect-style polling in
// waitFor() below) with generous deadlines (a loaded 2-core CI under ASan).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { world } from './fixture.mjs';
import { AdminClient, addAdmin } from './admin.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const WEB_DIST = path.join(ROOT, 'web', 'dist');
export const SCREENS = path.join(ROOT, 'build', 'panel-screens');
export const ADMIN = { username: 'paneladmin', password: 'Panel.pass-12345' };
/** Deadline of one UI expectation: generous for ASan on a busy 2-core box. */
export const UI_TIMEOUT = 30000;

export function chromiumPath() {
  const p = process.env.XTREAMD_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(p)) throw new Error(`no chromium at ${p}: scripts/install-deps.sh test installs Debian's chromium`);
  return p;
}

/** Polls fn (async, truthy = done) until deadline; throws with the last value. */
export async function waitFor(fn, { timeoutMs = UI_TIMEOUT, intervalMs = 100, what = 'condition' } = {}) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Starts a world (demo catalogue + fixture lines unless lines: []) with an
 * admin account and the panel, and a headless chromium page on it.
 * Options: tag, lines, seed(dataDir), serveArgs, viewport, colorScheme.
 */
export async function startPanel({ tag = 'panel', lines = [], seed, serveArgs = [], viewport = { width: 1280, height: 800 }, colorScheme = 'light' } = {}) {
  assert.ok(existsSync(path.join(WEB_DIST, 'index.html')), `the panel is not built (${WEB_DIST}/index.html): run make build (or npm ci && npm run build in web/)`);
  const p = { consoleErrors: [], pageErrors: [] };
  p.close = async () => {
    try {
      await p.browser?.close();
    } finally {
      await p.w?.cleanup();
    }
  };
  try {
    p.w = await world({
      tag,
      lines,
      serveArgs: ['--web-root', WEB_DIST, ...serveArgs],
      seed: async (dir) => {
        await addAdmin(dir, ADMIN.username, ADMIN.password);
        if (seed) await seed(dir);
      },
    });
    p.srv = p.w.srv;
    p.port = p.w.port;
    p.base = p.w.base;
    p.api = new AdminClient(p.port);
    await p.api.login(ADMIN.username, ADMIN.password);
    p.browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      // root in CI has no user namespaces for the sandbox; /dev/shm may be tiny.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
    });
    p.context = await p.browser.newContext({ viewport, colorScheme, baseURL: p.base });
    p.context.setDefaultTimeout(UI_TIMEOUT);
    p.page = await p.context.newPage();
    p.page.on('console', (m) => {
      if (m.type() === 'error') p.consoleErrors.push(m.text());
    });
    p.page.on('pageerror', (e) => p.pageErrors.push(String(e)));
  } catch (e) {
    await p.close();
    throw e;
  }
  const page = p.page;

  /** Opens the panel and logs in through the form; waits for the dashboard. */
  p.login = async ({ username = ADMIN.username, password = ADMIN.password } = {}) => {
    await page.goto('/');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  };

  /** Goes to #/<hash> and waits for the page's <h1> (title: its text). */
  p.goto = async (hash, title) => {
    await page.evaluate((h) => (location.hash = `#/${h}`), hash);
    if (title) await page.getByRole('heading', { level: 1, name: title }).waitFor();
    else await page.locator('main h1').first().waitFor();
  };

  /** Saves build/panel-screens/<test file>-<name>.png; returns its path. */
  p.screenshot = async (name) => {
    await mkdir(SCREENS, { recursive: true });
    const file = path.join(SCREENS, `${tag}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };

  /**
   * Runs axe-core in the page (its source injected, no network) and fails
   * on any serious or critical violation, naming the rule and the nodes.
   * Returns the result for further checks.
   */
  p.axeCheck = async (what = 'page') => {
    const src = await readFile(path.join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
    const has = await page.evaluate(() => typeof window.axe !== 'undefined');
    // Evaluated through the devtools protocol: the panel's CSP (no inline
    // scripts) stays on, as for a real user.
    if (!has) await page.evaluate(src);
    const r = await page.evaluate(async () => {
      const res = await window.axe.run(document, { resultTypes: ['violations'] });
      return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary) }));
    });
    const bad = r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad, [], `${what}: accessibility violations (axe-core):\n${JSON.stringify(bad, null, 2)}`);
    return r;
  };

  /** Asserts the page had no uncaught errors and broke no Content-Security-Policy rule. */
  p.assertNoPageErrors = () => {
    assert.deepEqual(p.pageErrors, [], `uncaught errors in the page: ${p.pageErrors.join('\n')}`);
    const csp = p.consoleErrors.filter((m) => /Content Security Policy/i.test(m));
    assert.deepEqual(csp, [], 'Content-Security-Policy violations');
  };
  return p;
}
