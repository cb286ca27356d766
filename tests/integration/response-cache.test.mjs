// The rendered-response cache (issue 9, defect 9): keyed on the full tuple and
// bounded with least-recently-used eviction, so distinct Host headers (part of
// the key: lists embed URLs built from it) cannot grow it past its bound, and
// never answer one key with another's body; with --public-url the Host is not
// part of the key at all. Observed through /metrics xtreamd_response_cache_*.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { get, qs } from './lib/http.mjs';
import { parseExposition, value } from './lib/prom.mjs';

const USER = 'cache.user';
const PW = 'Pw.cache-1';
let dataDir;
let srv;

before(async () => {
  dataDir = await makeDataDir('rcache');
  await cliOk(['demo', '--data', dataDir]);
  await cliOk(['line', 'add', USER, PW, '--data', dataDir, '--expires', 'never']);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

async function metrics(s) {
  const r = await get(s.port, '/metrics', { timeoutMs: 30000 });
  assert.equal(r.status, 200);
  return parseExposition(r.text);
}

const target = (action) => `/player_api.php?${qs({ username: USER, password: PW, action })}`;

// n requests with Host h<i>.example, `width` at a time; calls check(i, response).
async function sweep(s, n, action, check, width = 8) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await get(s.port, target(action), { headers: { Host: `h${i}.example` }, timeoutMs: 60000 });
      assert.equal(r.status, 200);
      check(i, r);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

test('distinct Host headers do not grow the cache past its bound', { timeout: 300000 }, async () => {
  srv = await startServer(dataDir);
  const m0 = await metrics(srv);
  const max = value(m0, 'xtreamd_response_cache_max_entries');
  assert.ok(max > 0 && max <= 100000, `bound ${max}`);
  const ev0 = value(m0, 'xtreamd_response_cache_evictions_total');
  // Any URL a list embeds is built from the Host: a response must only ever
  // name its own host (the forced-collision unit test covers equal hashes).
  const n = max + 100;
  let first;
  await sweep(srv, n, 'get_vod_streams', (i, r) => {
    const hosts = [...r.text.matchAll(/http:\/\/(h\d+\.example)\//g)].map((m) => m[1]);
    for (const h of hosts) assert.equal(h, `h${i}.example`, 'a response served with another key\'s body');
    const body = r.text.replaceAll(`h${i}.example`, 'HOST');
    if (first === undefined) first = body;
    assert.equal(body, first, 'every host gets the same list');
  });
  const m1 = await metrics(srv);
  const entries = value(m1, 'xtreamd_response_cache_entries');
  const evictions = value(m1, 'xtreamd_response_cache_evictions_total') - ev0;
  console.log(`bound ${max}: ${n} hosts -> ${entries} entries, ${evictions} evictions`);
  assert.ok(entries <= max, `entries ${entries} > bound ${max}`);
  assert.ok(evictions >= n - max, `evictions ${evictions} < ${n - max}`);
  assert.ok(value(m1, 'xtreamd_response_cache_bytes') <= value(m1, 'xtreamd_response_cache_max_bytes'));
  // Recently used entries survive: the last host is still a hit (same body).
  const again = await get(srv.port, target('get_vod_streams'), { headers: { Host: `h${n - 1}.example` } });
  assert.equal(again.text.replaceAll(`h${n - 1}.example`, 'HOST'), first);
  const m2 = await metrics(srv);
  assert.equal(value(m2, 'xtreamd_response_cache_evictions_total') - ev0, evictions, 'a recent entry was a hit');
  await srv.stopClean();
  srv = null;
});

test('with --public-url the Host is not part of the key', { timeout: 120000 }, async () => {
  srv = await startServer(dataDir, ['--public-url', 'http://tv.example:8080']);
  const m0 = await metrics(srv);
  const e0 = value(m0, 'xtreamd_response_cache_entries');
  await sweep(srv, 200, 'get_vod_streams', (i, r) => {
    assert.ok(!r.text.includes(`h${i}.example`), 'the Host leaked into a body');
  });
  const m1 = await metrics(srv);
  assert.equal(value(m1, 'xtreamd_response_cache_entries') - e0, 1, 'one entry for 200 Host headers');
  assert.equal(value(m1, 'xtreamd_response_cache_evictions_total'), value(m0, 'xtreamd_response_cache_evictions_total'));
});

// A rebuild for a change that leaves the catalogue as it was (a line added,
// as an admin script does thousands of times) keeps the rendered lists: the
// new snapshot adopts the old one's view-scoped responses. A change to the
// catalogue itself (a category added) drops them, and the next list shows it.
test('a line change keeps the rendered lists; a catalogue change drops them', { timeout: 120000 }, async () => {
  if (srv) await srv.stopClean();
  srv = await startServer(dataDir);
  const snapshot = async () => value(await metrics(srv), 'xtreamd_catalog_snapshot_version');
  const nextSnapshot = async (v0) => {
    let v = v0;
    await pollUntil(async () => (v = await snapshot()) > v0, { timeoutMs: 30000 });
    return v;
  };
  const list = async (action) => {
    const r = await get(srv.port, target(action), { timeoutMs: 30000 });
    assert.equal(r.status, 200);
    return r.text;
  };
  const before = {
    streams: await list('get_live_streams'),
    categories: await list('get_live_categories'),
  };
  const m0 = await metrics(srv);
  assert.ok(value(m0, 'xtreamd_response_cache_entries') >= 2);
  const adopted0 = value(m0, 'xtreamd_response_cache_adopted_total');

  const v0 = await snapshot();
  await cliOk(['line', 'add', 'cache.other', 'Pw.other-1', '--data', dataDir, '--expires', 'never']);
  await nextSnapshot(v0);
  const m1 = await metrics(srv);
  assert.ok(value(m1, 'xtreamd_response_cache_adopted_total') - adopted0 >= 2, 'the lists were carried over');
  assert.ok(value(m1, 'xtreamd_response_cache_entries') >= 2);
  // The new line logs in on the new snapshot, and the carried lists are the same bytes.
  const other = await get(srv.port, `/player_api.php?${qs({ username: 'cache.other', password: 'Pw.other-1', action: 'get_live_categories' })}`);
  assert.equal(other.status, 200);
  assert.equal(other.text, before.categories);
  assert.equal(await list('get_live_streams'), before.streams);

  const v1 = await snapshot();
  const adopted1 = value(m1, 'xtreamd_response_cache_adopted_total');
  const m3u = path.join(dataDir, 'one.m3u');
  await writeFile(m3u, '#EXTM3U\n#EXTINF:-1,Cache Test Channel\nhttp://127.0.0.1:9/cache-test.ts\n');
  await cliOk(['import', 'm3u', m3u, '--kind', 'live', '--category', 'Cache Test Category', '--data', dataDir]);
  await nextSnapshot(v1);
  const m2 = await metrics(srv);
  assert.equal(value(m2, 'xtreamd_response_cache_adopted_total'), adopted1, 'nothing carried across a catalogue change');
  const after = await list('get_live_categories');
  assert.notEqual(after, before.categories);
  assert.ok(JSON.parse(after).some((c) => c.category_name === 'Cache Test Category'));
});
