// Movies and series (issue 4): library scan (ffprobe, names, .nfo, artwork),
// the API fields built from it, and delivery with Range/If-Range/HEAD, path
// safety, incremental re-scans and files removed while being served.
// Media is generated here with ffmpeg (2–3 s clips, MP4 and MKV).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, truncate, unlink, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Xtream } from '@iptv/xtream-api';
import { cliOk, makeDataDir, removeDir, runCli, startServer } from './lib/server.mjs';
import { api, get, getJson, head, request } from './lib/http.mjs';

const run = promisify(execFile);
const U = 'vodder';
const PW = 'Pw.vod-123';
let dir, lib, shows, data, srv;

async function clip(file, { secs = 2, src = 'testsrc2', lang = 'eng', size = '320x240' } = {}) {
  await mkdir(path.dirname(file), { recursive: true });
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `${src}=size=${size}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(secs), '-c:v', 'libx264',
    '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-metadata:s:a:0', `language=${lang}`, file]);
}
async function ffprobe(target) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', target]);
  return JSON.parse(stdout);
}
const sha = (buf) => createHash('sha256').update(buf).digest('hex');

before(async () => {
  dir = await makeDataDir('vod');
  lib = path.join(dir, 'movies');
  shows = path.join(dir, 'shows');
  data = path.join(dir, 'data');
  await Promise.all([
    clip(path.join(lib, 'Alpha Film (2019)', 'Alpha Film (2019).mp4'), { secs: 3 }),
    clip(path.join(lib, 'Beta.Movie.2021.1080p.mkv'), { src: 'smptebars', lang: 'fra' }),
    clip(path.join(shows, 'Gamma Show', 'Season 1', 'Gamma Show S01E01 Pilot.mkv')),
    clip(path.join(shows, 'Gamma Show', 'Season 1', 'Gamma Show 1x02 Second.mp4')),
    clip(path.join(shows, 'Gamma Show', 'Season 02', 'S2E1.mp4')),
  ]);
  await writeFile(path.join(lib, 'Alpha Film (2019)', 'movie.nfo'),
    '<movie><title>Alpha &amp; Omega</title><year>2018</year><plot>A test plot.</plot><genre>Drama</genre><genre>Test</genre>' +
    '<director>Ann Director</director><actor><name>Ann</name></actor><actor><name>Bob</name></actor><rating>7.5</rating></movie>');
  await writeFile(path.join(lib, 'Alpha Film (2019)', 'poster.jpg'), Buffer.from('fake-jpeg-poster'));
  await writeFile(path.join(shows, 'Gamma Show', 'tvshow.nfo'), '<tvshow><title>Gamma!</title><plot>Show plot</plot></tvshow>');
  await writeFile(path.join(lib, 'broken.mp4'), 'not a video at all');
  await writeFile(path.join(dir, 'secret.txt'), 'outside the library');
  const scan = await runCli(['vod', 'scan', lib, '--category', 'Films', '--data', data]);
  assert.equal(scan.code, 0, scan.stderr);
  assert.match(scan.stdout, /3 files: 2 added/);
  assert.match(scan.stderr, /broken\.mp4: /, 'an unprobeable file is reported by path');
  assert.match(scan.stderr, /scan: 3\/3 files, 1 errors/);
  const ss = await runCli(['series', 'scan', shows, '--category', 'Shows', '--data', data]);
  assert.equal(ss.code, 0, ss.stderr);
  assert.match(ss.stdout, /3 files in 1 shows: 3 added/);
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '1']);
  srv = await startServer(data);
});

after(async () => {
  await srv?.stopClean();
  await removeDir(dir);
});

async function movies() {
  return getJson(srv.port, api(U, PW, 'get_vod_streams'));
}
async function movieByTitle(t) {
  const m = (await movies()).find((x) => x.title === t);
  assert.ok(m, `movie ${t} listed`);
  return m;
}

describe('scan and API', () => {
  it('movies carry names, NFO metadata and ffprobe facts', async () => {
    const list = await movies();
    assert.equal(list.length, 2);
    const alpha = await movieByTitle('Alpha & Omega');
    assert.equal(alpha.year, '2018');
    assert.equal(alpha.container_extension, 'mp4');
    assert.equal(alpha.genre, 'Drama, Test');
    assert.match(alpha.stream_icon, /\/images\/movie\/\d+\/poster/);
    const beta = await movieByTitle('Beta Movie');
    assert.equal(beta.year, '2021');
    assert.equal(beta.container_extension, 'mkv');
    const info = await getJson(srv.port, api(U, PW, 'get_vod_info', { vod_id: beta.stream_id }));
    const probe = await ffprobe(path.join(lib, 'Beta.Movie.2021.1080p.mkv'));
    const v = probe.streams.find((s) => s.codec_type === 'video');
    const a = probe.streams.find((s) => s.codec_type === 'audio');
    assert.equal(info.info.video.codec_name, v.codec_name);
    assert.equal(info.info.video.width, v.width);
    assert.equal(info.info.video.height, v.height);
    assert.equal(info.info.audio.codec_name, a.codec_name);
    assert.equal(info.info.audio.channels, a.channels);
    assert.equal(info.info.audio.tags.language, 'fra');
    assert.equal(info.info.duration_secs, Math.round(Number(probe.format.duration)));
    assert.equal(info.info.bitrate, Math.floor(Number(probe.format.bit_rate) / 1000));
    assert.equal(typeof info.info.duration, 'string');
    assert.ok(Array.isArray(info.info.backdrop_path));
    assert.equal(info.movie_data.container_extension, 'mkv');
  });
  it('poster artwork is served by id with an image Content-Type', async () => {
    const alpha = await movieByTitle('Alpha & Omega');
    const r = await get(srv.port, new URL(alpha.stream_icon).pathname);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.equal(r.text, 'fake-jpeg-poster');
    assert.equal((await get(srv.port, '/images/movie/999999/poster.jpg')).status, 404);
  });
  it('series: seasons, episodes keyed by season, probe facts', async () => {
    const list = await getJson(srv.port, api(U, PW, 'get_series'));
    assert.equal(list.length, 1);
    assert.equal(list[0].title, 'Gamma!');
    const info = await getJson(srv.port, api(U, PW, 'get_series_info', { series_id: list[0].series_id }));
    assert.deepEqual(Object.keys(info.episodes).sort(), ['1', '2']);
    assert.deepEqual(info.episodes['1'].map((e) => Number(e.episode_num)), [1, 2]);
    assert.equal(info.episodes['1'][1].container_extension, 'mp4');
    assert.equal(info.episodes['1'][0].container_extension, 'mkv');
    assert.equal(info.seasons.length, 2);
    const e = info.episodes['2'][0];
    assert.equal(typeof e.id, 'string');
    assert.equal(e.info.video.codec_name, 'h264');
    assert.equal(e.info.duration_secs, 2);
  });
});

describe('delivery', () => {
  it('@iptv/xtream-api URLs play in ffprobe (movies and episodes)', async () => {
    const x = new Xtream({ url: srv.base, username: U, password: PW });
    const ms = await x.getMovies();
    assert.equal(ms.length, 2);
    for (const m of ms) {
      const p = await ffprobe(m.url);
      assert.ok(Number(p.format.duration) > 1, m.url);
    }
    const showsList = await x.getShows();
    const show = await x.getShow({ showId: showsList[0].series_id });
    const eps = Object.values(show.episodes).flat();
    assert.equal(eps.length, 3);
    for (const e of eps) {
      const url = `${srv.base}/series/${U}/${PW}/${e.id}.${e.container_extension}`;
      const p = await ffprobe(url);
      assert.ok(p.streams.some((s) => s.codec_type === 'video'), url);
    }
  });
  it('Range returns the exact bytes (first, middle, last, suffix); 416; HEAD', async () => {
    const alpha = await movieByTitle('Alpha & Omega');
    const file = await readFile(path.join(lib, 'Alpha Film (2019)', 'Alpha Film (2019).mp4'));
    const size = file.length;
    const t = `/movie/${U}/${PW}/${alpha.stream_id}.mp4`;
    const full = await get(srv.port, t);
    assert.equal(full.status, 200);
    assert.equal(full.headers['accept-ranges'], 'bytes');
    assert.equal(sha(full.raw), sha(file));
    const mid = Math.floor(size / 2);
    const cases = [
      ['bytes=0-99', 0, 99],
      [`bytes=${mid}-${mid + 4095}`, mid, mid + 4095],
      [`bytes=${size - 100}-`, size - 100, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1],
    ];
    for (const [range, a, b] of cases) {
      const r = await get(srv.port, t, { headers: { Range: range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers['content-range'], `bytes ${a}-${b}/${size}`, range);
      assert.equal(Number(r.headers['content-length']), b - a + 1);
      assert.equal(sha(r.raw), sha(file.subarray(a, b + 1)), range);
    }
    const bad = await get(srv.port, t, { headers: { Range: `bytes=${size}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], `bytes */${size}`);
    const multi = await get(srv.port, t, { headers: { Range: 'bytes=0-1,5-6' } });
    assert.equal(multi.status, 200, 'several ranges: the whole file');
    const h = await head(srv.port, t);
    assert.equal(h.status, 200);
    assert.equal(Number(h.headers['content-length']), size);
    assert.equal(h.raw.length, 0);
    const etag = full.headers.etag;
    assert.ok(etag && full.headers['last-modified']);
    const ok = await get(srv.port, t, { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
    assert.equal(ok.status, 206);
    const stale = await get(srv.port, t, { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
    assert.equal(stale.status, 200);
    const byDate = await get(srv.port, t, { headers: { Range: 'bytes=0-9', 'If-Range': full.headers['last-modified'] } });
    assert.equal(byDate.status, 206);
    const q = await get(srv.port, `/streaming/clients_movie.php?username=${U}&password=${PW}&stream=${alpha.stream_id}.mp4&type=movie`,
      { headers: { Range: 'bytes=10-19' } });
    assert.equal(q.status, 206);
    assert.equal(sha(q.raw), sha(file.subarray(10, 20)));
  });
  it('path traversal in any URL component → 404, never a file outside the library', async () => {
    const alpha = await movieByTitle('Alpha & Omega');
    const targets = [
      `/movie/${U}/${PW}/..%2F..%2Fsecret.txt`,
      `/movie/${U}/${PW}/../../secret.txt`,
      `/movie/${U}/${PW}/${alpha.stream_id}%2F..%2F..%2Fsecret.txt`,
      `/images/movie/..%2F..%2Fsecret.txt/poster`,
      `/images/movie/${alpha.stream_id}/..%2F..%2F..%2Fsecret.txt`,
      `/images/..%2Fsecret.txt/${alpha.stream_id}/poster`,
      `/series/${U}/${PW}/..%2F..%2F..%2Fetc%2Fpasswd`,
    ];
    for (const t of targets) {
      const r = await get(srv.port, t);
      assert.ok(r.status === 404 || r.status === 400, `${t} → ${r.status}`);
      assert.doesNotMatch(r.text, /outside the library|root:/);
    }
  });
  it('several range connections of one player count as one viewer; a new title from a second player wins', async () => {
    const [a, b] = await movies();
    const t1 = `/movie/${U}/${PW}/${a.stream_id}.${a.container_extension}`;
    for (let i = 0; i < 3; i++) assert.equal((await get(srv.port, t1, { headers: { Range: `bytes=${i}-` } })).status, 206);
    // Every range request has ended: active_cons is the count at this moment
    // (the seek linger only keeps the session for max_connections).
    const login = await getJson(srv.port, `/player_api.php?username=${U}&password=${PW}`);
    assert.equal(login.user_info.active_cons, '0');
    const t2 = `/movie/${U}/${PW}/${b.stream_id}.${b.container_extension}`;
    assert.equal((await get(srv.port, t2)).status, 200);
  });
});

describe('re-scan and removal', () => {
  it('a file removed mid-download ends that download; the server keeps serving', async () => {
    const big = path.join(lib, 'Delta Big (2020).mkv');
    await clip(big, { secs: 3, size: '1280x720' });
    await runCli(['vod', 'scan', lib, '--data', data]);
    await srv.waitCatalog?.();
    let m;
    for (let i = 0; i < 40 && !m; i++) {
      m = (await movies()).find((x) => x.title === 'Delta Big');
      if (!m) await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(m, 'rescanned movie appears');
    // Larger than every socket buffer between us: the server is still sending when the file goes.
    await appendFile(big, Buffer.alloc(64 << 20));
    const size = (await stat(big)).size;
    const http = await import('node:http');
    const got = await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: srv.port, path: `/movie/${U}/${PW}/${m.stream_id}.mkv`, agent: false }, (res) => {
        let n = 0;
        res.once('data', async (c) => {
          n += c.length;
          res.pause();
          await unlink(big);
          setTimeout(() => res.resume(), 1500);
        });
        res.on('data', (c) => (n += c.length));
        res.on('end', () => resolve({ n, complete: res.complete }));
        res.on('close', () => resolve({ n, complete: res.complete }));
        res.on('error', () => resolve({ n, complete: false }));
      });
      req.on('error', reject);
    });
    assert.ok(got.n < size && !got.complete, `download ended early (${got.n} of ${size})`);
    assert.equal((await get(srv.port, '/')).status, 200);
  });
  it('incremental re-scan: added, changed, removed files', async () => {
    await clip(path.join(lib, 'Epsilon (2022).mp4'));
    await appendFile(path.join(lib, 'Beta.Movie.2021.1080p.mkv'), Buffer.alloc(10)); // changed size
    await rm(path.join(lib, 'Alpha Film (2019)'), { recursive: true });
    const r = await runCli(['vod', 'scan', lib, '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 added, 1 updated, 0 unchanged, 1 failed, 2 marked unavailable/);
    let titles = [];
    for (let i = 0; i < 40; i++) {
      titles = (await movies()).map((x) => x.title).sort();
      if (titles.join() === 'Beta Movie,Epsilon') break;
      await new Promise((res) => setTimeout(res, 150));
    }
    assert.deepEqual(titles, ['Beta Movie', 'Epsilon']);
    const again = await runCli(['vod', 'scan', lib, '--data', data]);
    assert.match(again.stdout, /0 added, 0 updated, 2 unchanged/);
  });
});

describe('edge cases', () => {
  it('scanning an empty folder succeeds with nothing found (no undefined behaviour)', async () => {
    const empty = path.join(dir, 'empty-folder');
    await mkdir(empty, { recursive: true });
    const r = await runCli(['vod', 'scan', empty, '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 files: 0 added/);
    assert.doesNotMatch(r.stderr, /runtime error|AddressSanitizer/);
  });
});
