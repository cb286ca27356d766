// xtreamd on PostgreSQL (issue 16 item 1): two servers (two data directories, as two nodes
// would have) on one PostgreSQL database see each other's changes: a line added, then
// disabled, through one of them (its admin API) or by a CLI run, reaches the other's
// catalogue within the 2 s promise (LISTEN/NOTIFY wakes its rebuild; no table polling).
// The PostgreSQL server restarting (every connection cut) loses nothing: a change made after
// it still reaches both servers within 2 s (their LISTEN connections reconnect), the admin
// API answers its first request, and /metrics counts the reconnections.
// Skipped when no PostgreSQL server is installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { api, get, request } from './lib/http.mjs';
import { pgAvailable, startPgCluster } from './lib/pg.mjs';

const PW = 'pg.Secret-1';
const PROMISE_MS = 2000;

describe('two servers on one PostgreSQL database', { skip: !pgAvailable() && 'no PostgreSQL server installed' }, () => {
  let pg, dirA, dirB, a, b, env;

  before(async () => {
    pg = await startPgCluster();
    env = { XTREAMD_DATABASE: pg.url };
    dirA = await makeDataDir('pg-a');
    dirB = await makeDataDir('pg-b');
    // The first to open migrates (under the advisory lock); both start at once.
    [a, b] = await Promise.all([startServer(dirA, [], { env }), startServer(dirB, [], { env })]);
  });

  after(async () => {
    for (const srv of [a, b]) if (srv) await srv.stopClean();
    await removeDir(dirA);
    await removeDir(dirB);
    if (pg) await pg.stop();
  });

  const status = async (srv, user) => (await get(srv.port, api(user, PW))).status;

  it('a line added by a CLI run reaches both servers within 2 s', async () => {
    assert.equal(await status(b, 'pg.cli'), 401);
    await cliOk(['line', 'add', 'pg.cli', PW, '--data', dirA], { env });
    // measured from the CLI's exit: its commit came before, so a slow machine only adds time
    for (const srv of [a, b]) {
      const { elapsedMs } = await pollUntil(async () => (await status(srv, 'pg.cli')) === 200, { timeoutMs: 15000, intervalMs: 25 });
      assert.ok(elapsedMs <= PROMISE_MS, `seen after ${elapsedMs} ms`);
    }
  });

  it("server A's admin API disables a line; server B refuses it within 2 s", async () => {
    await cliOk(['line', 'add', 'pg.admin', PW, '--data', dirA], { env });
    await pollUntil(async () => (await status(b, 'pg.admin')) === 200, { timeoutMs: 15000 });
    const list = await request(a.port, 'GET', '/api/v1/lines?q=pg.admin');
    assert.equal(list.status, 200, list.text);
    const line = list.json().items.find((l) => l.username === 'pg.admin');
    assert.ok(line, list.text);
    const res = await request(a.port, 'PATCH', `/api/v1/lines/${line.id}`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false }),
    });
    assert.equal(res.status, 200, res.text);
    const { elapsedMs } = await pollUntil(async () => {
      const r = await get(b.port, api('pg.admin', PW));
      return r.status !== 200 || r.json().user_info.status === 'Disabled';
    }, { timeoutMs: 15000, intervalMs: 25 });
    assert.ok(elapsedMs <= PROMISE_MS, `seen by B after ${elapsedMs} ms`);
  });

  it('after the PostgreSQL server restarts, changes still arrive within 2 s', async () => {
    await cliOk(['line', 'add', 'pg.restart', PW, '--data', dirA], { env });
    for (const srv of [a, b]) await pollUntil(async () => (await status(srv, 'pg.restart')) === 200, { timeoutMs: 15000 });
    await pg.restart(); // -m fast: the servers' connections are cut, pg_ctl returns once it accepts again
    await cliOk(['line', 'add', 'pg.after', PW, '--data', dirA], { env });
    // measured from the CLI's exit (its commit came before it); a slow machine only adds time
    for (const srv of [a, b]) {
      const { elapsedMs } = await pollUntil(async () => (await status(srv, 'pg.after')) === 200, { timeoutMs: 15000, intervalMs: 25 });
      assert.ok(elapsedMs <= PROMISE_MS, `seen after ${elapsedMs} ms`);
    }
    // The admin API's pooled connections were cut too: its first request after the restart works.
    const list = await request(a.port, 'GET', '/api/v1/lines?q=pg.restart');
    assert.equal(list.status, 200, list.text);
    const line = list.json().items.find((l) => l.username === 'pg.restart');
    assert.ok(line, list.text);
    const res = await request(a.port, 'PATCH', `/api/v1/lines/${line.id}`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false }),
    });
    assert.equal(res.status, 200, res.text);
    const { elapsedMs } = await pollUntil(async () => {
      const r = await get(b.port, api('pg.restart', PW));
      return r.status !== 200 || r.json().user_info.status === 'Disabled';
    }, { timeoutMs: 15000, intervalMs: 25 });
    assert.ok(elapsedMs <= PROMISE_MS, `disable seen by B after ${elapsedMs} ms`);
    for (const srv of [a, b]) {
      const m = await get(srv.port, '/metrics');
      assert.equal(m.status, 200);
      const n = Number(/^xtreamd_db_reconnects_total (\d+)$/m.exec(m.text)?.[1]);
      assert.ok(n >= 1, `xtreamd_db_reconnects_total ${n}`);
    }
  });

  it('backup refuses a PostgreSQL database and names pg_dump', async () => {
    const r = await runCli(['backup', '--data', dirA, `${dirA}/x.xtb`], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pg_dump/);
  });
});
