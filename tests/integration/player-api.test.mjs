// player_api.php: login object, every action and alias, path forms, POST
// merging, category filters, info/not-found shapes, EPG actions, CORS.
// Authority: docs/xtream-api.md §1, §3, Appendix A and the project decisions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LINES, world } from './lib/fixture.mjs';
import { api, get, getJson, head, postForm, qs, request } from './lib/http.mjs';
import {
  assertCategories,
  assertLiveStreams,
  assertLoginObject,
  assertSeriesInfo,
  assertSeriesList,
  assertSeriesNotFound,
  assertVodInfo,
  assertVodStreams,
} from './lib/shapes.mjs';

const { user: U, pass: P } = LINES.open;
let w;
const cat = {}; // snapshot of the catalogue as alice sees it

before(async () => {
  w = await world({ tag: 'api', lines: ['open', 'msg'] });
  cat.live = await getJson(w.port, api(U, P, 'get_live_streams'));
  cat.vod = await getJson(w.port, api(U, P, 'get_vod_streams'));
  cat.series = await getJson(w.port, api(U, P, 'get_series'));
  cat.liveCats = await getJson(w.port, api(U, P, 'get_live_categories'));
  cat.vodCats = await getJson(w.port, api(U, P, 'get_vod_categories'));
  cat.seriesCats = await getJson(w.port, api(U, P, 'get_series_categories'));
});

after(async () => {
  await w?.cleanup();
});

describe('login object', () => {
  it('no action: 200 application/json with user_info + server_info in XC wire types', async () => {
    const r = await get(w.port, `/player_api.php?${qs({ username: U, password: P })}`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json\b/);
    const body = r.json();
    assertLoginObject(body, { username: U, password: P, port: w.port });
    assert.equal(body.user_info.active_cons, '0');
    assert.equal(body.user_info.max_connections, '2');
    assert.equal(body.user_info.exp_date, null, 'alice was added with --expires never');
    assert.equal(body.user_info.is_trial, '0');
    assert.equal(body.server_info.url, '127.0.0.1', 'url is the Host header host without scheme/port');
    assert.equal(body.server_info.server_protocol, 'http');
    for (const f of ['ts', 'm3u8']) assert.ok(body.user_info.allowed_output_formats.includes(f), `default outputs include ${f}`);
  });

  it('message is echoed from --message', async () => {
    const body = await getJson(w.port, api(LINES.msg.user, LINES.msg.pass));
    assertLoginObject(body, { username: LINES.msg.user, password: LINES.msg.pass });
    assert.equal(body.user_info.message, 'Hello from the test suite');
  });

  for (const action of ['', 'get_profile', 'get_server_info', 'get_account_info', 'no_such_action', '199', '210']) {
    it(`action=${JSON.stringify(action)} answers the login object`, async () => {
      const body = await getJson(w.port, api(U, P, action));
      assertLoginObject(body, { username: U, password: P, port: w.port });
    });
  }

  it('path form /player_api/U/P answers the login object', async () => {
    const body = await getJson(w.port, `/player_api/${U}/${P}`);
    assertLoginObject(body, { username: U, password: P, port: w.port });
  });
});

describe('categories', () => {
  it('get_live_categories: wire types, demo categories present', () => {
    assertCategories(cat.liveCats, 'get_live_categories');
    const names = cat.liveCats.map((c) => c.category_name);
    for (const n of ['Demo News', 'Demo Sports', 'Demo Music']) assert.ok(names.includes(n), `missing live category ${n} in ${names}`);
  });
  it('get_vod_categories: wire types, Demo Movies present', () => {
    assertCategories(cat.vodCats, 'get_vod_categories');
    assert.ok(cat.vodCats.some((c) => c.category_name === 'Demo Movies'));
  });
  it('get_series_categories: wire types, Demo Series present', () => {
    assertCategories(cat.seriesCats, 'get_series_categories');
    assert.ok(cat.seriesCats.some((c) => c.category_name === 'Demo Series'));
  });
  it('category ids are distinct across kinds where the lists are per kind', () => {
    // Not required by the spec, but ids must at least be unique within each list.
    for (const l of [cat.liveCats, cat.vodCats, cat.seriesCats]) {
      assert.equal(new Set(l.map((c) => c.category_id)).size, l.length);
    }
  });
});

describe('stream lists', () => {
  it('get_live_streams: wire types; every stream in a listed live category', () => {
    assertLiveStreams(cat.live);
    assert.ok(cat.live.length >= 3, `demo has live channels, got ${cat.live.length}`);
    const ids = new Set(cat.liveCats.map((c) => c.category_id));
    for (const s of cat.live) assert.ok(ids.has(s.category_id), `stream ${s.stream_id} category ${s.category_id} not in get_live_categories`);
    for (const c of cat.liveCats.filter((c) => c.category_name.startsWith('Demo '))) {
      assert.ok(cat.live.some((s) => s.category_id === c.category_id), `demo live category ${c.category_name} has no channel`);
    }
  });

  it('get_vod_streams: wire types; Demo Movies has 4 movies (one MKV)', () => {
    assertVodStreams(cat.vod);
    const demo = cat.vodCats.find((c) => c.category_name === 'Demo Movies');
    const demoMovies = cat.vod.filter((m) => m.category_id === demo.category_id);
    assert.equal(demoMovies.length, 4);
    assert.deepEqual(demoMovies.map((m) => m.container_extension).sort(), ['mkv', 'mp4', 'mp4', 'mp4']);
  });

  it('get_series: wire types; Demo Series has one series', () => {
    assertSeriesList(cat.series);
    const demo = cat.seriesCats.find((c) => c.category_name === 'Demo Series');
    assert.equal(cat.series.filter((s) => s.category_id === demo.category_id).length, 1);
  });

  const FILTERED = [
    ['get_live_streams', 'liveCats', 'live', 'stream_id'],
    ['get_vod_streams', 'vodCats', 'vod', 'stream_id'],
    ['get_series', 'seriesCats', 'series', 'series_id'],
  ];
  for (const [action, catsKey, listKey, idKey] of FILTERED) {
    it(`${action}&category_id=N returns exactly that category's items`, async () => {
      const seen = new Set();
      for (const c of cat[catsKey]) {
        const list = await getJson(w.port, api(U, P, action, { category_id: c.category_id }));
        const expected = cat[listKey].filter((s) => s.category_ids.includes(Number(c.category_id))).map((s) => s[idKey]);
        assert.deepEqual(list.map((s) => s[idKey]).sort((a, b) => a - b), expected.sort((a, b) => a - b), `${action} category ${c.category_id}`);
        for (const s of list) {
          assert.ok(s.category_ids.includes(Number(c.category_id)));
          seen.add(s[idKey]);
        }
      }
      assert.equal(seen.size, cat[listKey].length, `the per-category lists of ${action} cover every item`);
    });
    it(`${action}&category_id=<unknown> returns [] (never 204)`, async () => {
      const r = await get(w.port, api(U, P, action, { category_id: 2147480000 }));
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), []);
    });
  }
});

describe('info actions', () => {
  it('get_vod_info for every movie: found shape, movie_data matches the list', async () => {
    assert.ok(cat.vod.length > 0);
    for (const m of cat.vod) {
      const body = await getJson(w.port, api(U, P, 'get_vod_info', { vod_id: m.stream_id }));
      assertVodInfo(body, `get_vod_info ${m.stream_id}`);
      assert.equal(body.movie_data.stream_id, m.stream_id);
      assert.equal(body.movie_data.container_extension, m.container_extension);
      assert.equal(body.movie_data.category_id, m.category_id);
    }
  });

  it('get_vod_info not found / missing vod_id / junk vod_id → exactly {"info":[]}', async () => {
    for (const extra of [{ vod_id: 2147480000 }, {}, { vod_id: 'abc' }, { vod_id: '' }]) {
      const r = await get(w.port, api(U, P, 'get_vod_info', extra));
      assert.equal(r.status, 200, JSON.stringify(extra));
      assert.equal(r.text.replace(/\s/g, ''), '{"info":[]}', `${JSON.stringify(extra)} → ${r.text.slice(0, 200)}`);
    }
  });

  it('get_series_info for the demo series: 2 seasons x 3 episodes, episodes keyed by season strings', async () => {
    const s = cat.series.find((x) => x.category_id === cat.seriesCats.find((c) => c.category_name === 'Demo Series').category_id);
    const body = await getJson(w.port, api(U, P, 'get_series_info', { series_id: s.series_id }));
    assertSeriesInfo(body);
    assert.deepEqual(Object.keys(body.episodes).sort(), ['1', '2']);
    assert.equal(body.seasons.length, 2);
    for (const k of ['1', '2']) {
      assert.equal(body.episodes[k].length, 3, `season ${k}`);
      assert.deepEqual(body.episodes[k].map((e) => e.episode_num), ['1', '2', '3']);
    }
    assert.equal(body.info.name, s.name);
    assert.deepEqual(body.info.category_ids, s.category_ids);
    const epIds = Object.values(body.episodes).flat().map((e) => e.id);
    assert.equal(new Set(epIds).size, 6, 'episode ids are distinct');
  });

  it('get_series_info not found / missing series_id → info fields null, name null', async () => {
    for (const extra of [{ series_id: 2147480000 }, {}, { series_id: 'x' }]) {
      const body = await getJson(w.port, api(U, P, 'get_series_info', extra));
      assertSeriesNotFound(body);
    }
  });
});

describe('EPG actions (full coverage in epg.test.mjs)', () => {
  it('get_short_epg and get_simple_data_table: listings for a guide channel, [] otherwise', async () => {
    const id = cat.live[0].stream_id; // a demo channel: it has the generated demo guide
    for (const [action, extra, empty] of [
      ['get_short_epg', { stream_id: id }, false],
      ['get_short_epg', { stream_id: id, limit: 10 }, false],
      ['get_short_epg', {}, true],
      ['get_simple_data_table', { stream_id: id }, false],
      ['get_simple_data_table', { stream_id: 2147480000 }, true],
    ]) {
      const body = await getJson(w.port, api(U, P, action, extra));
      assert.deepEqual(Object.keys(body), ['epg_listings'], `${action} ${JSON.stringify(extra)}`);
      assert.ok(Array.isArray(body.epg_listings));
      assert.equal(body.epg_listings.length === 0, empty, `${action} ${JSON.stringify(extra)}`);
    }
    const short = await getJson(w.port, api(U, P, 'get_short_epg', { stream_id: id }));
    assert.equal(short.epg_listings.length, 4);
  });
  it('get_epg → a bare array', async () => {
    const body = await getJson(w.port, api(U, P, 'get_epg', { stream_id: cat.live[0].stream_id }));
    assert.ok(Array.isArray(body) && body.length > 0);
    assert.deepEqual(await getJson(w.port, api(U, P, 'get_epg', { stream_id: 2147480000 })), []);
  });
});

describe('numeric action aliases 200–209', () => {
  const ALIASES = {
    200: 'get_vod_categories',
    201: 'get_live_categories',
    202: 'get_live_streams',
    203: 'get_vod_streams',
    204: 'get_series_info',
    205: 'get_short_epg',
    206: 'get_series_categories',
    207: 'get_simple_data_table',
    208: 'get_series',
    209: 'get_vod_info',
  };
  for (const [num, name] of Object.entries(ALIASES)) {
    it(`action=${num} is ${name}`, async () => {
      const extra = {
        get_series_info: { series_id: cat.series[0]?.series_id },
        get_short_epg: { stream_id: cat.live[0].stream_id },
        get_simple_data_table: { stream_id: cat.live[0].stream_id },
        get_vod_info: { vod_id: cat.vod[0]?.stream_id },
      }[name] || {};
      const a = await getJson(w.port, api(U, P, num, extra));
      const b = await getJson(w.port, api(U, P, name, extra));
      assert.deepEqual(a, b);
      assert.ok(!('server_info' in (Array.isArray(a) ? {} : a)), `alias ${num} answered the login object`);
    });
  }
});

describe('request forms', () => {
  it('/player_api/U/P/ACTION equals the query form', async () => {
    for (const action of ['get_live_categories', 'get_vod_streams', 'get_series']) {
      const a = await getJson(w.port, `/player_api/${U}/${P}/${action}`);
      const b = await getJson(w.port, api(U, P, action));
      assert.deepEqual(a, b, action);
    }
  });

  it('/player_api/U/P/ACTION accepts extra query parameters (category_id)', async () => {
    const c = cat.liveCats[0].category_id;
    const a = await getJson(w.port, `/player_api/${U}/${P}/get_live_streams?category_id=${c}`);
    const b = await getJson(w.port, api(U, P, 'get_live_streams', { category_id: c }));
    assert.deepEqual(a, b);
  });

  it('POST form body carries credentials and action', async () => {
    const r = await postForm(w.port, '/player_api.php', { username: U, password: P, action: 'get_live_categories' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), cat.liveCats);
  });

  it('POST form values override query values (action and password)', async () => {
    const r = await postForm(w.port, `/player_api.php?${qs({ username: U, password: 'wrong-pass', action: 'get_vod_categories' })}`, {
      password: P,
      action: 'get_series_categories',
    });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.deepEqual(r.json(), cat.seriesCats);
  });

  it('POST with only query parameters and an empty form body works', async () => {
    const r = await postForm(w.port, api(U, P, 'get_vod_categories'), {});
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), cat.vodCats);
  });

  it('POST multipart/form-data body is merged too', async () => {
    const boundary = '----xtreamdTestBoundary7MA4YWxk';
    const part = (k, v) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
    const body = part('username', U) + part('password', P) + part('action', 'get_live_categories') + `--${boundary}--\r\n`;
    const r = await request(w.port, 'POST', '/player_api.php', {
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': Buffer.byteLength(body) },
      body,
    });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.deepEqual(r.json(), cat.liveCats);
  });
});

describe('headers', () => {
  it('every action answers Content-Type application/json', async () => {
    for (const a of ['', 'get_live_categories', 'get_live_streams', 'get_vod_categories', 'get_vod_streams', 'get_series_categories', 'get_series', 'get_vod_info', 'get_series_info', 'get_short_epg', 'get_simple_data_table', 'get_epg']) {
      const r = await get(w.port, api(U, P, a));
      assert.equal(r.status, 200, a);
      assert.match(r.headers['content-type'] || '', /^application\/json\b/, a);
      r.json();
    }
  });

  it('CORS: Origin is echoed with Allow-Credentials true', async () => {
    const origin = 'http://player.test:3000';
    const r = await get(w.port, api(U, P, 'get_live_categories'), { headers: { Origin: origin } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
  });

  it('CORS on the 401 answer too (a browser client must be able to read it)', async () => {
    const origin = 'http://player.test:3000';
    const r = await get(w.port, api(U, 'nope', 'get_live_categories'), { headers: { Origin: origin } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['access-control-allow-origin'], origin);
  });

  it('OPTIONS preflight is answered (2xx, allows GET/POST, echoes Origin)', async () => {
    const origin = 'http://player.test:3000';
    const r = await request(w.port, 'OPTIONS', '/player_api.php', {
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.ok(r.status === 200 || r.status === 204, `OPTIONS status ${r.status}`);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    const methods = (r.headers['access-control-allow-methods'] || '').toUpperCase();
    assert.ok(methods.includes('GET') && methods.includes('POST'), `Allow-Methods: ${methods}`);
    assert.ok(/content-type/i.test(r.headers['access-control-allow-headers'] || ''), `Allow-Headers: ${r.headers['access-control-allow-headers']}`);
  });

  it('HEAD answers like GET without a body', async () => {
    for (const target of [api(U, P), api(U, P, 'get_live_streams'), api(U, 'bad')]) {
      const g = await get(w.port, target);
      const h = await head(w.port, target);
      assert.equal(h.status, g.status, target);
      assert.equal(h.raw.length, 0, 'HEAD has no body');
      assert.equal(h.headers['content-type'], g.headers['content-type'], target);
      if (g.headers['content-length'] !== undefined) assert.equal(h.headers['content-length'], g.headers['content-length'], target);
    }
  });
});
