// Local artwork found by a library scan reaches every place the API shows
// artwork, as xtreamd's own /images/{movie|series|episode}/ID/{poster|backdrop}
// URLs, and those URLs serve the exact image bytes: movie poster/backdrop
// (get_vod_streams, get_vod_info), series cover/backdrop_path (get_series,
// get_series_info.info), season covers, episode movie_image/cover_big (own thumb,
// else the series cover), and the tvg-logo of movies and episodes in get.php.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cliOk, makeDataDir, removeDir, runCli, startServer } from './lib/server.mjs';
import { api, get, getJson } from './lib/http.mjs';

const run = promisify(execFile);
const U = 'artist';
const PW = 'Pw.art-123';
let dir, data, srv;

async function clip(file) {
  await mkdir(path.dirname(file), { recursive: true });
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25',
    '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
}

// Distinct bytes per image, so that a URL pointing at the wrong file fails.
const IMAGES = {
  moviePoster: ['movies/Iota (2020)/poster.jpg', 'iota-poster-bytes'],
  movieBackdrop: ['movies/Iota (2020)/fanart.jpg', 'iota-fanart-bytes'],
  seriesPoster: ['shows/Zeta Show/poster.jpg', 'zeta-poster-bytes'],
  seriesBackdrop: ['shows/Zeta Show/fanart.png', 'zeta-fanart-bytes'],
  episodeThumb: ['shows/Zeta Show/Season 1/Zeta Show S01E01 Pilot-thumb.jpg', 'zeta-s01e01-thumb'],
};

before(async () => {
  dir = await makeDataDir('vodart');
  data = path.join(dir, 'data');
  await Promise.all([
    clip(path.join(dir, 'movies', 'Iota (2020)', 'Iota (2020).mp4')),
    clip(path.join(dir, 'movies', 'Kappa (2021).mp4')), // no artwork
    clip(path.join(dir, 'shows', 'Zeta Show', 'Season 1', 'Zeta Show S01E01 Pilot.mkv')),
    clip(path.join(dir, 'shows', 'Zeta Show', 'Season 1', 'Zeta Show S01E02 Second.mp4')),
    clip(path.join(dir, 'shows', 'Zeta Show', 'Season 2', 'Zeta Show S02E01.mp4')),
    clip(path.join(dir, 'shows', 'Bare Show', 'Season 1', 'Bare Show S01E01.mp4')), // no artwork
  ]);
  for (const [rel, text] of Object.values(IMAGES)) await writeFile(path.join(dir, rel), text);
  const vs = await runCli(['vod', 'scan', path.join(dir, 'movies'), '--data', data]);
  assert.equal(vs.code, 0, vs.stderr);
  const ss = await runCli(['series', 'scan', path.join(dir, 'shows'), '--data', data]);
  assert.equal(ss.code, 0, ss.stderr);
  assert.match(ss.stdout, /4 files in 2 shows: 4 added/);
  await cliOk(['line', 'add', U, PW, '--data', data]);
  srv = await startServer(data);
});

after(async () => {
  await srv?.stopClean();
  await removeDir(dir);
});

const imageUrl = (kind, id, which) => `${srv.base}/images/${kind}/${id}/${which}`;

/** Fetches an artwork URL from the API and checks it serves exactly that image. */
async function assertServes(url, image, type) {
  assert.ok(url.startsWith(`${srv.base}/images/`), `${url} points to xtreamd`);
  const r = await get(srv.port, new URL(url).pathname);
  assert.equal(r.status, 200, url);
  assert.equal(r.text, IMAGES[image][1], `${url} serves ${IMAGES[image][0]}`);
  assert.equal(r.headers['content-type'], type, url);
}

async function seriesByTitle(title) {
  const list = await getJson(srv.port, api(U, PW, 'get_series'));
  const s = list.find((x) => x.title === title);
  assert.ok(s, `series ${title} listed`);
  return s;
}

describe('artwork URLs', () => {
  it('movies: stream_icon, movie_image/cover_big and backdrop_path', async () => {
    const list = await getJson(srv.port, api(U, PW, 'get_vod_streams'));
    const iota = list.find((m) => m.title === 'Iota');
    const kappa = list.find((m) => m.title === 'Kappa');
    assert.ok(iota && kappa);
    assert.equal(iota.stream_icon, imageUrl('movie', iota.stream_id, 'poster'));
    assert.equal(kappa.stream_icon, '');
    const info = await getJson(srv.port, api(U, PW, 'get_vod_info', { vod_id: iota.stream_id }));
    assert.equal(info.info.movie_image, iota.stream_icon);
    assert.equal(info.info.cover_big, iota.stream_icon);
    assert.deepEqual(info.info.backdrop_path, [imageUrl('movie', iota.stream_id, 'backdrop')]);
    await assertServes(iota.stream_icon, 'moviePoster', 'image/jpeg');
    await assertServes(info.info.backdrop_path[0], 'movieBackdrop', 'image/jpeg');
    const bare = await getJson(srv.port, api(U, PW, 'get_vod_info', { vod_id: kappa.stream_id }));
    assert.deepEqual(bare.info.backdrop_path, []);
  });

  it('get_series: cover and backdrop_path point to /images/series', async () => {
    const zeta = await seriesByTitle('Zeta Show');
    assert.equal(zeta.cover, imageUrl('series', zeta.series_id, 'poster'));
    assert.deepEqual(zeta.backdrop_path, [imageUrl('series', zeta.series_id, 'backdrop')]);
    await assertServes(zeta.cover, 'seriesPoster', 'image/jpeg');
    await assertServes(zeta.backdrop_path[0], 'seriesBackdrop', 'image/png');
    const bare = await seriesByTitle('Bare Show');
    assert.equal(bare.cover, '');
    assert.deepEqual(bare.backdrop_path, []);
  });

  it('get_series_info: info, season covers, episode images (own thumb, else the series cover)', async () => {
    const zeta = await seriesByTitle('Zeta Show');
    const cover = imageUrl('series', zeta.series_id, 'poster');
    const body = await getJson(srv.port, api(U, PW, 'get_series_info', { series_id: zeta.series_id }));
    assert.equal(body.info.cover, cover);
    assert.deepEqual(body.info.backdrop_path, [imageUrl('series', zeta.series_id, 'backdrop')]);
    assert.equal(body.seasons.length, 2);
    for (const se of body.seasons) {
      assert.equal(se.cover, cover, `season ${se.season_number} cover`);
      assert.equal(se.cover_big, cover, `season ${se.season_number} cover_big`);
    }
    const [pilot, second] = body.episodes['1'];
    const [s2e1] = body.episodes['2'];
    assert.equal(pilot.info.movie_image, imageUrl('episode', pilot.id, 'poster'));
    assert.equal(pilot.info.cover_big, pilot.info.movie_image);
    await assertServes(pilot.info.movie_image, 'episodeThumb', 'image/jpeg');
    for (const e of [second, s2e1]) {
      assert.equal(e.info.movie_image, cover, `${e.title}: the series cover`);
      assert.equal(e.info.cover_big, cover, `${e.title}: the series cover`);
    }
    assert.equal((await get(srv.port, `/images/episode/${second.id}/poster`)).status, 404, 'no thumb of its own');
    assert.equal((await get(srv.port, `/images/episode/${pilot.id}/backdrop`)).status, 404);

    const bare = await seriesByTitle('Bare Show');
    const b = await getJson(srv.port, api(U, PW, 'get_series_info', { series_id: bare.series_id }));
    assert.equal(b.info.cover, '');
    assert.deepEqual(b.info.backdrop_path, []);
    assert.equal(b.seasons[0].cover, '');
    assert.equal(b.episodes['1'][0].info.movie_image, '');
  });

  it('get.php m3u_plus: tvg-logo of movies and episodes', async () => {
    const r = await get(srv.port, `/get.php?username=${U}&password=${PW}&type=m3u_plus&output=ts`);
    assert.equal(r.status, 200);
    const logos = new Map();
    for (const m of r.text.matchAll(/tvg-name="([^"]*)" tvg-logo="([^"]*)"/g)) logos.set(m[1], m[2]);
    const movies = await getJson(srv.port, api(U, PW, 'get_vod_streams'));
    const iota = movies.find((m) => m.title === 'Iota');
    assert.equal(logos.get('Iota (2020)'), imageUrl('movie', iota.stream_id, 'poster'));
    assert.equal(logos.get('Kappa (2021)'), '');
    const zeta = await seriesByTitle('Zeta Show');
    const body = await getJson(srv.port, api(U, PW, 'get_series_info', { series_id: zeta.series_id }));
    assert.equal(logos.get('Zeta Show S01E01'), imageUrl('episode', body.episodes['1'][0].id, 'poster'));
    assert.equal(logos.get('Zeta Show S01E02'), imageUrl('series', zeta.series_id, 'poster'));
    assert.equal(logos.get('Bare Show S01E01'), '');
  });
});
