// Bouquet order reaches players (xtream-api.md §3.4 "output order is the
// bouquet/panel order"): player_api.php lists and get.php follow the line's
// bouquets in the line's order, then each bouquet's items in their saved
// position, each item once; reordering a bouquet through the admin API
// (PUT /api/v1/bouquets/{id}/items) changes what players see; the MAG portal
// follows the same order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin } from './lib/admin.mjs';
import { api, get, getJson, qs, request } from './lib/http.mjs';

const ROOT_PW = 'Root.pass-1234';
const LINE_PW = 'Order.pass-1234';
let w, c;
const s = [];
const m = [];
let bqA, bqB;

before(async () => {
  w = await world({ tag: 'bqorder', lines: [], seed: async (dir) => addAdmin(dir, 'root', ROOT_PW) });
  c = new AdminClient(w.port);
  await c.login('root', ROOT_PW);
  // Created in this order, so the catalogue order is s0..s3 and m0, m1.
  for (let i = 0; i < 4; i++) s.push((await c.ok('POST', '/api/v1/streams', { name: `Order Ch ${i}`, sources: [`http://example.invalid/o${i}.ts`] })).id);
  for (let i = 0; i < 2; i++)
    m.push((await c.ok('POST', '/api/v1/movies', { name: `Order Movie ${i}`, source: `https://example.invalid/o${i}.mkv`, container_extension: 'mkv' })).id);
  const live = (id) => ({ kind: 'live', id });
  const movie = (id) => ({ kind: 'movie', id });
  bqA = (await c.ok('POST', '/api/v1/bouquets', { name: 'Order A', items: [live(s[2]), live(s[0]), movie(m[1]), movie(m[0])] })).id;
  bqB = (await c.ok('POST', '/api/v1/bouquets', { name: 'Order B', items: [live(s[3]), live(s[0]), live(s[1])] })).id;
  await c.ok('POST', '/api/v1/lines', { username: 'ord.one', password: LINE_PW, bouquets: [bqA] });
  // B before A although A was created first: the line's bouquet order counts.
  await c.ok('POST', '/api/v1/lines', { username: 'ord.two', password: LINE_PW, bouquets: [bqB, bqA] });
});
after(async () => {
  await w?.cleanup();
});

async function lists(user) {
  const live = await getJson(w.port, api(user, LINE_PW, 'get_live_streams'));
  const vod = await getJson(w.port, api(user, LINE_PW, 'get_vod_streams'));
  live.forEach((x, i) => assert.equal(x.num, i + 1, `${user}: live num is the running position`));
  const m3u = await get(w.port, `/get.php?${qs({ username: user, password: LINE_PW, type: 'm3u_plus', output: 'ts' })}`);
  assert.equal(m3u.status, 200);
  const urls = m3u.text.split(/\r?\n/).filter((l) => l.startsWith('http'));
  const ids = (kind) => urls.filter((u) => u.includes(`/${kind}/`)).map((u) => Number(u.match(/\/(\d+)\.\w+$/)[1]));
  return {
    live: live.map((x) => x.stream_id),
    vod: vod.map((x) => x.stream_id),
    m3uLive: ids('live'),
    m3uVod: ids('movie'),
  };
}

/** Polls until user's lists are as expected (a change reaches players within seconds). */
async function expectOrder(user, live, vod, what) {
  const start = Date.now();
  let got;
  for (;;) {
    // A new line or change reaches the snapshot a moment later (401 until then).
    got = await lists(user).catch((e) => ({ error: e.message }));
    const ok = JSON.stringify([got.live, got.vod, got.m3uLive, got.m3uVod]) === JSON.stringify([live, vod, live, vod]);
    if (ok) return;
    if (Date.now() - start > 10000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(got, { live, vod, m3uLive: live, m3uVod: vod }, what);
}

describe('bouquet order reaches players', () => {
  it('a line with one bouquet sees its items in the bouquet order, not the catalogue order', async () => {
    await expectOrder('ord.one', [s[2], s[0]], [m[1], m[0]], 'ord.one before reorder');
  });

  it('a line with several bouquets: bouquets in the line order, items in each bouquet order, each once', async () => {
    await expectOrder('ord.two', [s[3], s[0], s[1], s[2]], [m[1], m[0]], 'ord.two before reorder');
  });

  it('reordering a bouquet through the admin API reorders player_api.php and get.php', async () => {
    const put = await c.call('PUT', `/api/v1/bouquets/${bqA}/items`, {
      items: [{ kind: 'movie', id: m[0] }, { kind: 'live', id: s[0] }, { kind: 'movie', id: m[1] }, { kind: 'live', id: s[2] }],
    });
    assert.equal(put.status, 200, put.text);
    await expectOrder('ord.one', [s[0], s[2]], [m[0], m[1]], 'ord.one after reorder');
    await expectOrder('ord.two', [s[3], s[0], s[1], s[2]], [m[0], m[1]], 'ord.two after reorder');
  });

  it('reordering a line\'s bouquets reorders its lists', async () => {
    const lines = await c.ok('GET', `/api/v1/lines?${qs({ q: 'ord.two' })}`);
    const id = lines.items.find((l) => l.username === 'ord.two').id;
    await c.ok('PATCH', `/api/v1/lines/${id}`, { bouquets: [bqA, bqB] });
    await expectOrder('ord.two', [s[0], s[2], s[3], s[1]], [m[0], m[1]], 'ord.two with A first');
  });

  it('the MAG portal lists channels in the same order', async () => {
    const mac = '00:1A:79:00:0B:01';
    await c.ok('POST', '/api/v1/devices', { username: 'ord.two', mac });
    const box = (params, token) => {
      const headers = { 'User-Agent': 'Mozilla/5.0 (QtEmbedded; U; Linux; C) MAG200 stbapp ver: 2 rev: 250 Safari/533.3', 'X-User-Agent': 'Model: MAG250; Link: Ethernet', Cookie: `mac=${encodeURIComponent(mac)}; stb_lang=en` };
      if (token) headers.Authorization = `Bearer ${token}`;
      return request(w.port, 'GET', `/portal.php?${qs({ ...params, JsHttpRequest: '1-xml' })}`, { headers, adminToken: false });
    };
    const want = JSON.stringify([s[0], s[2], s[3], s[1]]);
    const start = Date.now();
    let last;
    for (;;) {
      // The device reaches the snapshot a moment after it is added.
      // (Until then the portal answers "Authorization failed.", not JSON.)
      const hs = await box({ type: 'stb', action: 'handshake' });
      if (hs.status === 200 && hs.text.startsWith('{')) {
        const token = hs.json().js.token;
        await box({ type: 'stb', action: 'get_profile', sn: '1' }, token);
        const all = await box({ type: 'itv', action: 'get_all_channels' }, token);
        last = all.text.slice(0, 300);
        if (all.status === 200 && all.text.startsWith('{') && JSON.stringify(all.json().js.data.map((x) => Number(x.id))) === want) break;
      }
      assert.ok(Date.now() - start < 10000, `portal get_all_channels not in bouquet order ${want}: ${last}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
