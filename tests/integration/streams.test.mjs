// Stream URL routes (docs/xtream-api.md §2.2, §2.3, §4.2): every form is
// authenticated (401/403/405/406/404); authorised live requests stream (200;
// the live engine itself is tested in live*.test.mjs). HEAD mirrors GET on
// every route and is never 405.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LINES, PW, world } from './lib/fixture.mjs';
import { api, assertAlive, get as getFull, getJson, head, qs } from './lib/http.mjs';
import { getHeadOnly } from './lib/live.mjs';

// Live responses never end: read the status, headers and whatever body comes
// within a moment, then hang up.
const get = (port, target, opts) => getHeadOnly(port, target, opts);
void getFull;

let w;
const ids = {};

before(async () => {
  w = await world({ tag: 'streams' });
  const U = LINES.open.user;
  const live = await getJson(w.port, api(U, PW, 'get_live_streams'));
  const cats = await getJson(w.port, api(U, PW, 'get_live_categories'));
  const news = cats.find((c) => c.category_name === 'Demo News');
  const sports = cats.find((c) => c.category_name === 'Demo Sports');
  ids.news = live.find((s) => s.category_id === news.category_id).stream_id;
  ids.sports = live.find((s) => s.category_id === sports.category_id).stream_id;
  const vod = await getJson(w.port, api(U, PW, 'get_vod_streams'));
  ids.movie = vod[0].stream_id;
  ids.movieExt = vod[0].container_extension;
  const series = await getJson(w.port, api(U, PW, 'get_series'));
  const info = await getJson(w.port, api(U, PW, 'get_series_info', { series_id: series[0].series_id }));
  const ep = Object.values(info.episodes).flat()[0];
  ids.episode = ep.id;
  ids.episodeExt = ep.container_extension;
});

after(async () => {
  await w?.cleanup();
});

/** Every URL form that plays `ids.news` (a live channel) for user u/p. */
function liveForms(u, p, id = ids.news) {
  return [
    `/live/${u}/${p}/${id}.ts`,
    `/live/${u}/${p}/${id}.m3u8`,
    `/live/${u}/${p}/${id}`,
    `/${u}/${p}/${id}`,
    `/${u}/${p}/${id}.ts`,
    `/streaming/clients_live.php?${qs({ username: u, password: p, stream: id, extension: 'ts' })}`,
  ];
}
function vodForms(u, p) {
  return [`/movie/${u}/${p}/${ids.movie}.${ids.movieExt}`, `/series/${u}/${p}/${ids.episode}.${ids.episodeExt}`];
}

async function expectStatus(target, status, { bodyRe } = {}) {
  const g = await get(w.port, target);
  assert.equal(g.status, status, `GET ${target}: expected ${status}, got ${g.status} ${g.text.slice(0, 200)}`);
  if (bodyRe) assert.match(g.text, bodyRe, `GET ${target} body`);
  const h = await head(w.port, target);
  assert.equal(h.status, status, `HEAD ${target}: expected ${status} like GET, got ${h.status}`);
  assert.equal(h.raw.length, 0, `HEAD ${target} has a body`);
  assert.equal(h.headers['content-type'], g.headers['content-type'], `HEAD ${target} Content-Type differs from GET`);
  if (g.headers['content-length'] !== undefined) {
    assert.equal(h.headers['content-length'], g.headers['content-length'], `HEAD ${target} Content-Length differs from GET`);
  }
  return g;
}

const NOT_YET = /not available|not yet|unavailable/i;

describe('authorised requests', () => {
  it('every live URL form → 200 (a live stream)', async () => {
    for (const t of liveForms(LINES.open.user, PW)) await expectStatus(t, 200);
  });
  it('movie and episode URLs → 200 (the demo files; VOD delivery is tested in vod.test.mjs)', async () => {
    for (const t of vodForms(LINES.open.user, PW)) await expectStatus(t, 200);
  });
  it('credentials in path segments are percent-decoded', async () => {
    await expectStatus(`/live/trial%40erin/${PW}/${ids.news}.ts`, 200);
  });
});

describe('authentication and authorisation on stream routes', () => {
  it('bad credentials → 401 on every form', async () => {
    for (const t of [...liveForms(LINES.open.user, 'wrong'), ...vodForms(LINES.open.user, 'wrong'), ...liveForms('nobody', PW)]) {
      await expectStatus(t, 401);
    }
  });
  for (const key of ['expired', 'banned', 'disabled']) {
    it(`${key} line → 403 on every form`, async () => {
      for (const t of [...liveForms(LINES[key].user, PW), ...vodForms(LINES[key].user, PW)]) await expectStatus(t, 403);
    });
  }
  it('extension not in allowed outputs → 405 (ts-only line asks for m3u8)', async () => {
    const u = LINES.tsonly.user;
    await expectStatus(`/live/${u}/${PW}/${ids.news}.m3u8`, 405);
    await expectStatus(`/${u}/${PW}/${ids.news}.m3u8`, 405);
    await expectStatus(`/live/${u}/${PW}/${ids.news}.ts`, 200);
    await expectStatus(`/streaming/clients_live.php?${qs({ username: u, password: PW, stream: ids.news, extension: 'm3u8' })}`, 405);
  });
  it('a live extension that is no output format at all → 405', async () => {
    await expectStatus(`/live/${LINES.open.user}/${PW}/${ids.news}.mp4`, 405);
    await expectStatus(`/live/${LINES.open.user}/${PW}/${ids.news}.flv`, 405);
  });
  it('VOD accepts any extension (the stored container is only advertised)', async () => {
    const other = ids.movieExt === 'mkv' ? 'mp4' : 'mkv';
    await expectStatus(`/movie/${LINES.open.user}/${PW}/${ids.movie}.${other}`, 200);
  });
  it('extension not in allowed outputs → 405 (m3u8-only line asks for ts, incl. the implicit ts forms)', async () => {
    const u = LINES.hlsonly.user;
    await expectStatus(`/live/${u}/${PW}/${ids.news}.ts`, 405);
    await expectStatus(`/live/${u}/${PW}/${ids.news}`, 405);
    await expectStatus(`/${u}/${PW}/${ids.news}`, 405);
    await expectStatus(`/streaming/clients_live.php?${qs({ username: u, password: PW, stream: ids.news, extension: 'ts' })}`, 405);
    await expectStatus(`/live/${u}/${PW}/${ids.news}.m3u8`, 200);
  });
  it('stream not in the line\'s bouquets → 406', async () => {
    const u = LINES.news.user;
    await expectStatus(`/live/${u}/${PW}/${ids.sports}.ts`, 406);
    await expectStatus(`/${u}/${PW}/${ids.sports}`, 406);
    await expectStatus(`/movie/${u}/${PW}/${ids.movie}.${ids.movieExt}`, 406);
    await expectStatus(`/series/${u}/${PW}/${ids.episode}.${ids.episodeExt}`, 406);
    await expectStatus(`/live/${u}/${PW}/${ids.news}.ts`, 200);
  });
  it('unknown stream id → 404', async () => {
    const u = LINES.open.user;
    for (const t of [
      `/live/${u}/${PW}/2147480000.ts`,
      `/live/${u}/${PW}/2147480000`,
      `/${u}/${PW}/2147480000`,
      `/movie/${u}/${PW}/2147480000.mp4`,
      `/series/${u}/${PW}/2147480000.mp4`,
      `/streaming/clients_live.php?${qs({ username: u, password: PW, stream: 2147480000, extension: 'ts' })}`,
    ]) {
      await expectStatus(t, 404);
    }
  });
  it('the extension is what follows the LAST dot: ID.5.ts names stream "ID.5", which does not exist → 404', async () => {
    const u = LINES.open.user;
    await expectStatus(`/live/${u}/${PW}/${ids.news}.5.ts`, 404);
    await expectStatus(`/movie/${u}/${PW}/${ids.movie}.5.${ids.movieExt}`, 404);
    await expectStatus(`/series/${u}/${PW}/${ids.episode}.5.${ids.episodeExt}`, 404);
  });
  it('non-numeric ids and hostile paths never crash the server', async () => {
    const u = LINES.open.user;
    for (const t of [
      `/live/${u}/${PW}/abc.ts`,
      `/live/${u}/${PW}/-1.ts`,
      `/live/${u}/${PW}/99999999999999999999999.ts`,
      `/live/${u}/${PW}/1.ts.ts`,
      `/live/${u}/${PW}/..%2f..%2fetc%2fpasswd`,
      `/movie/${u}/${PW}/../../etc/passwd`,
      `/live/${u}/${PW}/%00.ts`,
      `/series/${u}/${PW}/.mp4`,
      `/live/${u}`,
      `/live/`,
      `/${u}/${PW}/1/2/3/4/5`,
    ]) {
      const r = await get(w.port, t);
      assert.ok(r.status >= 400 && r.status < 500, `${t} → ${r.status}`);
      await assertAlive(w.srv, `after GET ${t}`);
    }
  });
});

describe('HEAD is never 405', () => {
  it('HEAD on every client route returns the GET status', async () => {
    const u = LINES.open.user;
    const targets = [
      api(u, PW),
      `/panel_api.php?${qs({ username: u, password: PW })}`,
      `/get.php?${qs({ username: u, password: PW, type: 'm3u_plus', output: 'ts' })}`,
      `/xmltv.php?${qs({ username: u, password: PW })}`,
      ...liveForms(u, PW),
      ...vodForms(u, PW),
      '/no/such/route/at/all',
      '/',
    ];
    for (const t of targets) {
      const g = await get(w.port, t);
      const h = await head(w.port, t);
      assert.notEqual(h.status, 405, `HEAD ${t} → 405`);
      assert.equal(h.status, g.status, `HEAD ${t}`);
      assert.equal(h.raw.length, 0);
      if (g.headers['content-length'] !== undefined) assert.equal(h.headers['content-length'], g.headers['content-length'], `HEAD ${t} Content-Length`);
    }
  });
});
