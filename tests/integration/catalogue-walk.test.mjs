// The whole catalogue walked by the conformance client @iptv/xtream-api (raw
// and with its standardized serializer), and the M3U (parsed with
// iptv-playlist-parser) checked against both the API and the generated source.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Xtream } from '@iptv/xtream-api';
import { standardizedSerializer } from '@iptv/xtream-api/standardized';
import { LINES, PW, seedDemo, seedLines } from './lib/fixture.mjs';
import { genLiveM3U, genMovieM3U, writeM3U } from './lib/gen.mjs';
import { assertPlaylistMatches, expectedEntries, fetchCatalog, fetchPlaylist } from './lib/catalog.mjs';
import { cliOk, makeDataDir, removeDir, startServer } from './lib/server.mjs';
import { assertLiveStreams, assertSeriesInfo, assertSeriesList, assertVodInfo, assertVodStreams } from './lib/shapes.mjs';

const U = LINES.open.user;
const liveGen = genLiveM3U({ channels: 300, groups: 12, prefix: 'Walk' });
const movieGen = genMovieM3U({ movies: 100, groups: 5, prefix: 'Reel' });
let dataDir, srv, port, base, cat;

before(async () => {
  dataDir = await makeDataDir('walk');
  await seedDemo(dataDir);
  await seedLines(dataDir, ['open']);
  await cliOk(['import', 'm3u', '--data', dataDir, await writeM3U(dataDir, 'live.m3u', liveGen.text)]);
  await cliOk(['import', 'm3u', '--data', dataDir, '--kind', 'movie', await writeM3U(dataDir, 'movies.m3u', movieGen.text)]);
  srv = await startServer(dataDir);
  port = srv.port;
  base = srv.base;
  cat = await fetchCatalog(port, U, PW);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

describe('catalogue vs generated source', () => {
  it('every generated channel is listed with its name, tvg-id, logo and group', () => {
    assertLiveStreams(cat.live);
    const byName = new Map(cat.live.map((s) => [s.name, s]));
    const catName = (id) => cat.liveCats.find((c) => c.category_id === id)?.category_name;
    for (const e of liveGen.entries) {
      const s = byName.get(e.name);
      assert.ok(s, `channel ${e.name} missing`);
      assert.equal(s.epg_channel_id, e.tvgId, e.name);
      assert.equal(s.stream_icon, e.logo, e.name);
      assert.equal(catName(s.category_id), e.group, e.name);
    }
    const groups = new Set(liveGen.entries.map((e) => e.group));
    assert.equal(groups.size, 12);
    for (const g of groups) assert.ok(cat.liveCats.some((c) => c.category_name === g), g);
  });

  it('every generated movie is listed with its name, poster, group and container', () => {
    assertVodStreams(cat.vod);
    const byName = new Map(cat.vod.map((s) => [s.title || s.name, s]));
    const catName = (id) => cat.vodCats.find((c) => c.category_id === id)?.category_name;
    for (const e of movieGen.entries) {
      const s = byName.get(e.name) ?? cat.vod.find((m) => m.name === e.name);
      assert.ok(s, `movie ${e.name} missing`);
      assert.equal(s.stream_icon, e.logo, e.name);
      assert.equal(catName(s.category_id), e.group, e.name);
      assert.equal(s.container_extension, e.ext, `${e.name}: container from the source URL extension`);
    }
  });
});

function client(serializer) {
  return new Xtream({ url: base + '/', username: U, password: PW, ...(serializer ? { serializer } : {}) });
}

describe('@iptv/xtream-api raw client walk', () => {
  it('profile and server info', async () => {
    const x = client();
    const p = await x.getProfile();
    assert.equal(p.username, U);
    assert.equal(p.password, PW);
    assert.equal(p.auth, 1);
    const si = await x.getServerInfo();
    assert.equal(si.port, String(port));
    assert.equal(si.timezone, 'UTC');
  });

  it('every category, every channel (per category and in total), with stream URLs', async () => {
    const x = client();
    const cats = await x.getChannelCategories();
    assert.deepEqual(cats, cat.liveCats);
    const all = await x.getChannels();
    assert.equal(all.length, cat.live.length);
    const seen = new Set();
    for (const c of cats) {
      const chans = await x.getChannels({ categoryId: c.category_id });
      assert.ok(chans.length > 0, `category ${c.category_name} is empty`);
      for (const ch of chans) {
        assert.ok(ch.category_ids.includes(Number(c.category_id)));
        assert.equal(ch.url, `${base}/live/${U}/${PW}/${ch.stream_id}.ts`);
        seen.add(ch.stream_id);
      }
    }
    assert.equal(seen.size, all.length, 'the per-category walk reaches every channel');
    const page2 = await x.getChannels({ page: 2, limit: 25 });
    assert.deepEqual(page2.map((c) => c.stream_id), all.slice(25, 50).map((c) => c.stream_id));
  });

  it('every movie category, every movie, and getMovie for each', async () => {
    const x = client();
    const cats = await x.getMovieCategories();
    assert.deepEqual(cats, cat.vodCats);
    const movies = await x.getMovies();
    assert.equal(movies.length, cat.vod.length);
    for (const c of cats) {
      const inCat = await x.getMovies({ categoryId: c.category_id });
      assert.ok(inCat.every((m) => m.category_ids.includes(Number(c.category_id))));
    }
    for (const m of movies) {
      assert.equal(m.url, `${base}/movie/${U}/${PW}/${m.stream_id}.${m.container_extension}`);
      const info = await x.getMovie({ movieId: m.stream_id });
      assertVodInfo(info, `getMovie(${m.stream_id})`);
      assert.equal(info.url, m.url);
    }
  });

  it('every show category, every show, and getShow for each (episodes with URLs)', async () => {
    const x = client();
    const cats = await x.getShowCategories();
    assert.deepEqual(cats, cat.seriesCats);
    const shows = await x.getShows();
    assertSeriesList(shows);
    assert.ok(shows.length >= 1);
    for (const c of cats) await x.getShows({ categoryId: c.category_id });
    for (const s of shows) {
      const show = await x.getShow({ showId: s.series_id });
      assertSeriesInfo(show, `getShow(${s.series_id})`);
      const eps = Object.values(show.episodes).flat();
      assert.ok(eps.length > 0);
      for (const e of eps) assert.equal(e.url, `${base}/series/${U}/${PW}/${e.id}.${e.container_extension}`);
    }
  });

  it('not-found detection: getMovie → "Movie Not Found", getShow → "Show Not Found"', async () => {
    const x = client();
    await assert.rejects(x.getMovie({ movieId: 2147480000 }), /Movie Not Found/);
    await assert.rejects(x.getShow({ showId: 2147480000 }), /Show Not Found/);
  });

  it('EPG calls return listings (the demo guide; full coverage in epg.test.mjs)', async () => {
    const x = client();
    for (const s of cat.live) {
      const short = await x.getShortEPG({ channelId: s.stream_id });
      const full = await x.getFullEPG({ channelId: s.stream_id });
      assert.ok(Array.isArray(short.epg_listings) && Array.isArray(full.epg_listings));
      // Demo channels carry the generated demo guide; generated ones have none.
      const demo = (s.epg_channel_id ?? '').endsWith('.xtreamd');
      assert.equal(short.epg_listings.length, demo ? 4 : 0, s.name);
      assert.equal(full.epg_listings.length > 0, demo, s.name);
    }
  });

  it('wrong credentials make the client throw', async () => {
    const x = new Xtream({ url: base, username: U, password: 'wrong' });
    await assert.rejects(x.getProfile());
    await assert.rejects(x.getChannels());
  });
});

describe('@iptv/xtream-api standardized serializer walk', () => {
  const validDate = (d, what) => assert.ok(d instanceof Date && !Number.isNaN(d.getTime()), `${what}: invalid date ${d}`);

  it('profile and server info', async () => {
    const x = client(standardizedSerializer);
    const p = await x.getProfile();
    assert.equal(p.username, U);
    assert.equal(p.isTrial, false);
    assert.equal(p.maxConnections, 2);
    assert.equal(p.activeConnections, 0);
    validDate(p.createdAt, 'profile.createdAt');
    assert.ok(Array.isArray(p.allowedOutputFormats) && p.allowedOutputFormats.length > 0);
    const si = await x.getServerInfo();
    validDate(si.timeNow, 'serverInfo.timeNow');
    assert.ok(Math.abs(si.timeNow.getTime() - Date.now()) < 60000);
  });

  it('categories, every channel, every movie (with getMovie), every show (with getShow)', async () => {
    const x = client(standardizedSerializer);
    for (const [fn, raw] of [['getChannelCategories', cat.liveCats], ['getMovieCategories', cat.vodCats], ['getShowCategories', cat.seriesCats]]) {
      const cs = await x[fn]();
      assert.deepEqual(cs, raw.map((c) => ({ id: c.category_id, name: c.category_name, parentId: '0' })), fn);
    }
    const chans = await x.getChannels();
    assert.equal(chans.length, cat.live.length);
    for (const ch of chans) {
      assert.match(ch.id, /^\d+$/);
      assert.equal(typeof ch.tvArchive, 'boolean');
      validDate(ch.createdAt, `channel ${ch.id} createdAt`);
      assert.ok(ch.categoryIds.length > 0);
      assert.equal(ch.url, `${base}/live/${U}/${PW}/${ch.id}.ts`);
    }
    const movies = await x.getMovies();
    assert.equal(movies.length, cat.vod.length);
    for (const m of movies) {
      validDate(m.createdAt, `movie ${m.id} createdAt`);
      const d = await x.getMovie({ movieId: m.id });
      assert.equal(d.id, m.id);
      assert.equal(typeof d.tmdbId, 'string');
      assert.deepEqual(d.categoryIds, m.categoryIds);
      validDate(d.createdAt, `movie ${m.id} detail createdAt`);
      assert.equal(d.url, m.url);
    }
    const shows = await x.getShows();
    assert.equal(shows.length, cat.series.length);
    for (const s of shows) {
      validDate(s.updatedAt, `show ${s.id} updatedAt`);
      const d = await x.getShow({ showId: s.id });
      assert.equal(d.id, s.id);
      assert.ok(d.seasons.length > 0, `show ${s.id} has seasons`);
      const eps = d.seasons.flatMap((se) => se.episodes);
      const rawInfo = cat.seriesInfo[s.id];
      assert.equal(eps.length, Object.values(rawInfo.episodes).flat().length, `show ${s.id}: every episode lands in a season`);
      for (const e of eps) {
        assert.ok(e.url.startsWith(`${base}/series/${U}/${PW}/`));
        validDate(e.createdAt, `episode ${e.id} createdAt`);
      }
    }
  });
});

describe('M3U vs catalogue', () => {
  it('get.php m3u_plus: every URL, tvg-id, tvg-name, tvg-logo and group match the API', async () => {
    const { playlist } = await fetchPlaylist(port, U, PW, { type: 'm3u_plus', output: 'ts' });
    const expected = expectedEntries(cat, base, U, PW);
    assert.equal(playlist.items.length, expected.length, 'one entry per channel, movie and episode');
    assertPlaylistMatches(playlist.items, expected);
  });

  it('get.php m3u_plus: every generated channel and movie is there as generated', async () => {
    const { playlist } = await fetchPlaylist(port, U, PW, { type: 'm3u_plus', output: 'ts' });
    const byName = new Map(playlist.items.map((i) => [i.name, i]));
    for (const e of liveGen.entries) {
      const it = byName.get(e.name);
      assert.ok(it, `M3U lacks ${e.name}`);
      assert.equal(it.tvg.id, e.tvgId);
      assert.equal(it.tvg.name, e.tvgName);
      assert.equal(it.tvg.logo, e.logo);
      assert.equal(it.group.title, e.group);
      assert.match(it.url, new RegExp(`^${base.replace(/\./g, '\\.')}/live/${U}/${PW.replace(/\./g, '\\.')}/\\d+\\.ts$`));
    }
    for (const e of movieGen.entries) {
      const it = byName.get(e.name) ?? playlist.items.find((i) => i.name.startsWith(e.name));
      assert.ok(it, `M3U lacks movie ${e.name}`);
      assert.equal(it.tvg.logo, e.logo);
      assert.equal(it.group.title, e.group);
      assert.ok(it.url.endsWith(`.${e.ext}`), it.url);
    }
  });
});
