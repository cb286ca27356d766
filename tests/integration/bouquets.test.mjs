// Bouquet restrictions across every list (player_api, get.php, panel_api,
// xmltv), and CLI changes made while the server runs becoming visible within
// 2 s without a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PW, seedDemo } from './lib/fixture.mjs';
import { genLiveM3U, genMovieM3U, writeM3U } from './lib/gen.mjs';
import { api, get, getJson, qs } from './lib/http.mjs';
import { expectedEntries, fetchCatalog, fetchPlaylist, assertPlaylistMatches } from './lib/catalog.mjs';
import { cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';

let dataDir, srv, port, base, full;
const live = genLiveM3U({ channels: 30, groups: 3, prefix: 'Bq' });
const movies = genMovieM3U({ movies: 10, groups: 2, prefix: 'Bqm' });
const G = (i) => `Bq Group 00${i}`;
const S = (i) => `Bqm Shelf 0${i}`;

const cli = (...args) => cliOk([...args, '--data', dataDir]);

before(async () => {
  dataDir = await makeDataDir('bq');
  await seedDemo(dataDir);
  await cli('import', 'm3u', await writeM3U(dataDir, 'live.m3u', live.text));
  await cli('import', 'm3u', '--kind', 'movie', await writeM3U(dataDir, 'movies.m3u', movies.text));
  await cli('bouquet', 'add', 'B-One', '--category', G(1));
  await cli('bouquet', 'add', 'B-Two', '--category', G(2), '--category', S(1));
  await cli('bouquet', 'add', 'B-Everything', '--all');
  await cli('line', 'add', 'only.one', PW, '--bouquet', 'B-One');
  await cli('line', 'add', 'one.two', PW, '--bouquet', 'B-One', '--bouquet', 'B-Two');
  await cli('line', 'add', 'no.bouquet', PW);
  await cli('line', 'add', 'all.bouquet', PW, '--bouquet', 'B-Everything');
  srv = await startServer(dataDir);
  port = srv.port;
  base = srv.base;
  full = await fetchCatalog(port, 'no.bouquet', PW);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

/** The part of the full catalogue a line with these category names may see. */
function restrict(names) {
  const liveCats = full.liveCats.filter((c) => names.includes(c.category_name));
  const vodCats = full.vodCats.filter((c) => names.includes(c.category_name));
  const seriesCats = full.seriesCats.filter((c) => names.includes(c.category_name));
  const ids = (cs) => new Set(cs.map((c) => c.category_id));
  const lc = ids(liveCats);
  const vc = ids(vodCats);
  const sc = ids(seriesCats);
  const series = full.series.filter((s) => sc.has(s.category_id));
  const renum = (l) => l.map((x, i) => ({ ...x, num: i + 1 }));
  return {
    liveCats,
    vodCats,
    seriesCats,
    live: renum(full.live.filter((s) => lc.has(s.category_id))),
    vod: renum(full.vod.filter((s) => vc.has(s.category_id))),
    series: renum(series),
    seriesInfo: Object.fromEntries(series.map((s) => [s.series_id, full.seriesInfo[s.series_id]])),
  };
}

async function assertSees(user, exp) {
  const got = await fetchCatalog(port, user, PW);
  for (const k of ['liveCats', 'vodCats', 'seriesCats']) assert.deepEqual(got[k], exp[k], `${user}: ${k}`);
  const ids = (l, f) => l.map((x) => x[f]).sort((a, b) => a - b);
  assert.deepEqual(ids(got.live, 'stream_id'), ids(exp.live, 'stream_id'), `${user}: live streams`);
  assert.deepEqual(ids(got.vod, 'stream_id'), ids(exp.vod, 'stream_id'), `${user}: vod streams`);
  assert.deepEqual(ids(got.series, 'series_id'), ids(exp.series, 'series_id'), `${user}: series`);
  // num is the running position in the restricted list.
  got.live.forEach((s, i) => assert.equal(s.num, i + 1, `${user}: live num`));
  // M3U
  const { playlist } = await fetchPlaylist(port, user, PW);
  assertPlaylistMatches(playlist.items, expectedEntries(exp, base, user, PW), `${user} M3U`);
  // panel_api
  const panel = await getJson(port, `/panel_api.php?${qs({ username: user, password: PW })}`);
  assert.deepEqual(panel.categories.live, exp.liveCats, `${user}: panel_api categories.live`);
  assert.deepEqual(panel.categories.movie, exp.vodCats, `${user}: panel_api categories.movie`);
  assert.deepEqual(panel.categories.series, exp.seriesCats, `${user}: panel_api categories.series`);
  const liveIds = new Set(exp.live.map((s) => String(s.stream_id)));
  const panelLive = Object.entries(panel.available_channels).filter(([, e]) => e.stream_type === 'live' || e.live === 1 || e.live === '1');
  for (const [k] of panelLive) assert.ok(liveIds.has(k), `${user}: panel_api available_channels has foreign live stream ${k}`);
  for (const id of liveIds) assert.ok(id in panel.available_channels, `${user}: panel_api lacks ${id}`);
  // xmltv
  const x = await get(port, `/xmltv.php?${qs({ username: user, password: PW })}`);
  assert.equal(x.status, 200);
  const xmlIds = [...x.text.matchAll(/<channel id="([^"]*)"/g)].map((m) => m[1]);
  const expIds = new Set(exp.live.map((s) => s.epg_channel_id).filter(Boolean));
  // Only channels with a programme are listed (tv_validate_file rejects the
  // others): none outside the line's view, each with its programmes.
  for (const id of xmlIds) {
    assert.ok(expIds.has(id), `${user}: xmltv lists ${id}, outside the line's view`);
    assert.ok(x.text.includes(`channel="${id}"`), `${user}: xmltv lists ${id} without a programme`);
  }
  return got;
}

describe('bouquet restrictions', () => {
  it('the full catalogue includes the imported groups', () => {
    for (const i of [1, 2, 3]) assert.ok(full.liveCats.some((c) => c.category_name === G(i)), G(i));
    for (const i of [1, 2]) assert.ok(full.vodCats.some((c) => c.category_name === S(i)), S(i));
    assert.equal(full.live.filter((s) => s.name.startsWith('Bq Channel')).length, 30);
    assert.equal(full.vod.filter((s) => s.name.startsWith('Bqm Title')).length, 10);
  });

  it('a line with one bouquet sees exactly that category, in every list', async () => {
    const got = await assertSees('only.one', restrict([G(1)]));
    assert.equal(got.live.length, 10);
    assert.deepEqual(got.vod, []);
    assert.deepEqual(got.series, []);
    assert.deepEqual(got.seriesCats, []);
  });

  it('a line with two bouquets sees their union', async () => {
    const got = await assertSees('one.two', restrict([G(1), G(2), S(1)]));
    assert.equal(got.live.length, 20);
    assert.equal(got.vod.length, 5);
  });

  it('a line with no bouquet sees everything; so does an --all bouquet', async () => {
    const everything = restrict([...full.liveCats, ...full.vodCats, ...full.seriesCats].map((c) => c.category_name));
    await assertSees('no.bouquet', everything);
    await assertSees('all.bouquet', everything);
  });

  it('category_id filter of a category outside the bouquets → []', async () => {
    const other = full.liveCats.find((c) => c.category_name === G(3));
    assert.deepEqual(await getJson(port, api('only.one', PW, 'get_live_streams', { category_id: other.category_id })), []);
  });
});

describe('CLI changes are visible within 2 s without a restart', () => {
  async function within2s(what, probe) {
    const { elapsedMs } = await pollUntil(probe, { timeoutMs: 4000, intervalMs: 25 });
    assert.ok(elapsedMs < 2000, `${what} took ${elapsedMs} ms to become visible`);
  }

  it('line add → login works', async () => {
    await cli('line', 'add', 'hot.add', PW);
    await within2s('line add', async () => (await get(port, api('hot.add', PW))).status === 200);
  });

  it('line set --disabled → Disabled; --enabled → Active', async () => {
    await cli('line', 'set', 'hot.add', '--disabled');
    await within2s('line set --disabled', async () => (await get(port, api('hot.add', PW))).json().user_info?.status === 'Disabled');
    assert.equal((await get(port, api('hot.add', PW, 'get_live_streams'))).status, 403);
    await cli('line', 'set', 'hot.add', '--enabled');
    await within2s('line set --enabled', async () => (await get(port, api('hot.add', PW))).json().user_info?.status === 'Active');
  });

  it('line set --password → old password 401, new one 200', async () => {
    await cli('line', 'set', 'hot.add', '--password', 'New.pass-2');
    await within2s('line set --password', async () => (await get(port, api('hot.add', 'New.pass-2'))).status === 200);
    assert.equal((await get(port, api('hot.add', PW))).status, 401);
  });

  it('line set --expires (past) → Expired; --max-connections → reflected', async () => {
    await cli('line', 'set', 'hot.add', '--expires', '2021-06-01', '--max-connections', '7');
    await within2s('line set --expires', async () => {
      const ui = (await get(port, api('hot.add', 'New.pass-2'))).json().user_info;
      return ui?.status === 'Expired' && ui.max_connections === '7';
    });
    await cli('line', 'set', 'hot.add', '--expires', 'never');
    await within2s('line set --expires never', async () => (await get(port, api('hot.add', 'New.pass-2'))).json().user_info?.exp_date === null);
  });

  it('line set --banned / --unbanned, --trial / --no-trial, --outputs', async () => {
    await cli('line', 'set', 'hot.add', '--banned');
    await within2s('--banned', async () => (await get(port, api('hot.add', 'New.pass-2'))).json().user_info?.status === 'Banned');
    await cli('line', 'set', 'hot.add', '--unbanned', '--trial', '--outputs', 'm3u8');
    await within2s('--unbanned --trial --outputs', async () => {
      const ui = (await get(port, api('hot.add', 'New.pass-2'))).json().user_info;
      return ui?.status === 'Active' && ui.is_trial === '1' && JSON.stringify(ui.allowed_output_formats) === '["m3u8"]';
    });
    await cli('line', 'set', 'hot.add', '--no-trial');
    await within2s('--no-trial', async () => (await get(port, api('hot.add', 'New.pass-2'))).json().user_info?.is_trial === '0');
  });

  it('import m3u → new category and channels appear', async () => {
    const extra = genLiveM3U({ channels: 5, groups: 1, prefix: 'Hot' });
    await cli('import', 'm3u', await writeM3U(dataDir, 'hot.m3u', extra.text));
    await within2s('import', async () => {
      const cats = await getJson(port, api('no.bouquet', PW, 'get_live_categories'));
      const c = cats.find((x) => x.category_name === 'Hot Group 001');
      if (!c) return false;
      const l = await getJson(port, api('no.bouquet', PW, 'get_live_streams', { category_id: c.category_id }));
      return l.length === 5;
    });
  });

  it('line set --bouquet restricts; --no-bouquets lifts it', async () => {
    await cli('line', 'set', 'hot.add', '--bouquet', 'B-One');
    const one = full.liveCats.find((c) => c.category_name === G(1)).category_id;
    await within2s('line set --bouquet', async () => {
      const cats = await getJson(port, api('hot.add', 'New.pass-2', 'get_live_categories'));
      return cats.length === 1 && cats[0].category_id === one;
    });
    await cli('line', 'set', 'hot.add', '--no-bouquets');
    await within2s('line set --no-bouquets', async () => (await getJson(port, api('hot.add', 'New.pass-2', 'get_live_categories'))).length > 3);
  });

  it('bouquet add + changing a bouquet\'s line membership is visible', async () => {
    await cli('bouquet', 'add', 'B-Three', '--category', G(3));
    await cli('line', 'set', 'hot.add', '--bouquet', 'B-Three');
    const three = full.liveCats.find((c) => c.category_name === G(3)).category_id;
    await within2s('bouquet add + line set', async () => {
      const cats = await getJson(port, api('hot.add', 'New.pass-2', 'get_live_categories'));
      return cats.length === 1 && cats[0].category_id === three;
    });
  });

  it('bouquet del → the line no longer sees that bouquet\'s streams', async () => {
    await cli('line', 'add', 'bq.del', PW, '--bouquet', 'B-One', '--bouquet', 'B-Two');
    await within2s('line add', async () => (await get(port, api('bq.del', PW))).status === 200);
    await cli('bouquet', 'del', 'B-Two');
    const one = full.liveCats.find((c) => c.category_name === G(1)).category_id;
    await within2s('bouquet del', async () => {
      const cats = await getJson(port, api('bq.del', PW, 'get_live_categories'));
      return cats.length === 1 && cats[0].category_id === one;
    });
  });

  it('line del → 401', async () => {
    await cli('line', 'del', 'hot.add');
    await within2s('line del', async () => (await get(port, api('hot.add', 'New.pass-2'))).status === 401);
  });
});
