// Response compression: the cached catalogue responses (get_live_streams,
// get_vod_streams, get_series, get.php) and the streamed guide (xmltv.php,
// /epg/U/P) are gzipped for clients whose Accept-Encoding accepts gzip, and
// the compressed bytes gunzip (node:zlib) to exactly the identity body.
// Refusals (gzip;q=0, no header, …) get identity; Vary, Content-Encoding and
// Content-Length are right; HEAD answers GET's headers; a catalogue change
// made by the CLI while the server runs is visible through the gzip variant
// (no stale compressed body); /gz stays a .xml.gz download; and
// @iptv/xtream-api, whose fetch asks for gzip, still reads everything.
// docs/internals/http.md (Content codings), docs/internals/api.md.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { link, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Xtream } from '@iptv/xtream-api';
import { genLiveM3U, genMovieM3U, writeM3U } from './lib/gen.mjs';
import { api, get, head, request } from './lib/http.mjs';
import { cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';

const run = promisify(execFile);
const U = 'gz.viewer';
const PW = 'Gz.pass-1';
const GZ = { 'Accept-Encoding': 'gzip' };

let dir;
let data;
let srv;
let port;

/** One tiny real clip, hard-linked as the single episode of several shows
 * (a long tvshow.nfo plot each), so that get_series is well over 1 KiB. */
async function seedShows(root) {
  const clip = path.join(root, 'clip.mp4');
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10',
    '-t', '0.5', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  const shows = path.join(root, 'shows');
  for (let i = 1; i <= 6; i++) {
    const show = path.join(shows, `Gzip Show ${i}`);
    await mkdir(path.join(show, 'Season 1'), { recursive: true });
    await link(clip, path.join(show, 'Season 1', `Gzip Show ${i} S01E01 Pilot.mp4`));
    const plot = `Gzip show number ${i}: ${'a synthetic plot that repeats itself, '.repeat(8)}the end.`;
    await writeFile(path.join(show, 'tvshow.nfo'), `<tvshow><title>Gzip Show ${i}</title><plot>${plot}</plot></tvshow>`);
  }
  return shows;
}

before(async () => {
  dir = await makeDataDir('gzip');
  data = path.join(dir, 'data');
  await cliOk(['demo', '--data', data]); // demo channels come with a week of guide
  const live = genLiveM3U({ channels: 300, groups: 10, prefix: 'Gz' });
  const movies = genMovieM3U({ movies: 120, groups: 4, prefix: 'Gzm' });
  await cliOk(['import', 'm3u', '--data', data, await writeM3U(dir, 'live.m3u', live.text)]);
  await cliOk(['import', 'm3u', '--data', data, '--kind', 'movie', await writeM3U(dir, 'movies.m3u', movies.text)]);
  await cliOk(['series', 'scan', await seedShows(dir), '--category', 'Gz Shows', '--data', data]);
  await cliOk(['line', 'add', U, PW, '--data', data]);
  srv = await startServer(data);
  port = srv.port;
});

after(async () => {
  await srv?.stopClean();
  await removeDir(dir);
});

const playlist = `/get.php?username=${U}&password=${PW}&type=m3u_plus&output=ts`;
// Cached responses, all well over the 1 KiB threshold.
const CACHED = {
  get_live_streams: api(U, PW, 'get_live_streams'),
  get_vod_streams: api(U, PW, 'get_vod_streams'),
  get_series: api(U, PW, 'get_series'),
  'get_live_streams (path form)': `/player_api/${U}/${PW}/get_live_streams`,
  'get.php m3u_plus': playlist,
  'get.php m3u': `/get.php?username=${U}&password=${PW}&type=m3u&output=m3u8`,
  '/playlist/U/P': `/playlist/${U}/${PW}/m3u_plus`,
};
// The whole demo guide lies inside this window, so every request renders the same document.
const XMLTV = `/xmltv.php?username=${U}&password=${PW}&prev_days=31&next_days=31`;

const varyList = (r) => (r.headers.vary || '').split(',').map((s) => s.trim().toLowerCase());

function assertIdentity(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.text.slice(0, 200)}`);
  assert.equal(r.headers['content-encoding'], undefined, `${what}: no Content-Encoding`);
  assert.ok(varyList(r).includes('accept-encoding'), `${what}: Vary ${r.headers.vary}`);
}

function assertGzip(r, identity, what) {
  assert.equal(r.status, 200, what);
  assert.equal(r.headers['content-encoding'], 'gzip', `${what}: Content-Encoding`);
  assert.ok(varyList(r).includes('accept-encoding'), `${what}: Vary ${r.headers.vary}`);
  assert.equal(r.raw[0], 0x1f, `${what}: gzip magic`);
  assert.equal(r.raw[1], 0x8b, `${what}: gzip magic`);
  const plain = gunzipSync(r.raw);
  assert.ok(plain.equals(identity.raw), `${what}: gunzipped body differs from the identity body`);
  assert.ok(r.raw.length < identity.raw.length / 3, `${what}: ${identity.raw.length} -> ${r.raw.length} bytes`);
}

describe('cached catalogue responses', () => {
  for (const [what, target] of Object.entries(CACHED)) {
    it(`${what}: gzip variant gunzips to exactly the identity body; lengths and headers right`, async () => {
      const id = await get(port, target);
      assertIdentity(id, what);
      assert.ok(id.raw.length > 1024, `${what}: body of ${id.raw.length} bytes is over the threshold`);
      assert.equal(Number(id.headers['content-length']), id.raw.length);
      // First gzip request compresses, the second is served from the cache: same bytes.
      const gz1 = await get(port, target, { headers: GZ });
      const gz2 = await get(port, target, { headers: GZ });
      for (const gz of [gz1, gz2]) {
        assertGzip(gz, id, what);
        assert.equal(Number(gz.headers['content-length']), gz.raw.length, `${what}: Content-Length of the compressed bytes`);
        assert.equal(gz.headers['content-type'], id.headers['content-type']);
        assert.equal(gz.headers['content-disposition'], id.headers['content-disposition']);
      }
      assert.ok(gz1.raw.equals(gz2.raw), `${what}: the cached gzip variant is stable`);
    });
  }

  it('refusals and absent headers get identity; other accepting forms get gzip', async () => {
    const target = CACHED.get_live_streams;
    const id = await get(port, target);
    for (const ae of ['gzip;q=0', 'GZIP; Q=0.000', 'identity', 'deflate, br', '*;q=0', 'gzip;q=0, *', '*, gzip;q=0', 'gzip;q=2', '']) {
      const r = await get(port, target, { headers: { 'Accept-Encoding': ae } });
      assertIdentity(r, `Accept-Encoding: ${JSON.stringify(ae)}`);
      assert.ok(r.raw.equals(id.raw), `Accept-Encoding: ${JSON.stringify(ae)}: identity body`);
      assert.equal(Number(r.headers['content-length']), id.raw.length);
    }
    for (const ae of ['GZIP', 'x-gzip', '*', 'deflate, gzip;q=0.5, br', 'gzip, deflate, br, zstd', ' gzip ;q=1.000']) {
      assertGzip(await get(port, target, { headers: { 'Accept-Encoding': ae } }), id, `Accept-Encoding: ${JSON.stringify(ae)}`);
    }
    // Repeated header fields form one list.
    assertGzip(await get(port, target, { headers: { 'Accept-Encoding': ['deflate', 'gzip'] } }), id, 'two fields');
    assertIdentity(await get(port, target, { headers: { 'Accept-Encoding': ['*', 'gzip;q=0'] } }), 'two fields, gzip refused');
  });

  it('HEAD answers exactly the headers of GET, for both variants', async () => {
    const same = ['content-type', 'content-length', 'content-encoding', 'vary', 'content-disposition'];
    for (const [what, target] of Object.entries(CACHED)) {
      for (const headers of [{}, GZ]) {
        const g = await get(port, target, { headers });
        const h = await head(port, target, { headers });
        assert.equal(h.status, 200);
        assert.equal(h.raw.length, 0, `${what}: HEAD has no body`);
        for (const k of same) assert.equal(h.headers[k], g.headers[k], `${what} ${JSON.stringify(headers)}: ${k}`);
      }
    }
  });

  it('a small cached response (under 1 KiB) stays identity, with Vary', async () => {
    const target = api(U, PW, 'get_series_categories');
    const r = await get(port, target, { headers: GZ });
    assertIdentity(r, 'get_series_categories');
    assert.ok(r.raw.length < 1024, `${r.raw.length} bytes`);
    assert.ok(Array.isArray(r.json()));
  });

  it('Vary keeps Origin (CORS echo) next to Accept-Encoding', async () => {
    const r = await get(port, CACHED.get_live_streams, { headers: { ...GZ, Origin: 'http://player.example' } });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.deepEqual(varyList(r).sort(), ['accept-encoding', 'origin']);
  });

  it('uncached (paged) lists are correct whatever the coding', async () => {
    const target = api(U, PW, 'get_live_streams', { 'params[offset]': 10, 'params[items_per_page]': 50 });
    const id = await get(port, target);
    const r = await get(port, target, { headers: GZ });
    assert.equal(r.status, 200);
    const body = r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.raw) : r.raw;
    assert.ok(body.equals(id.raw));
    assert.equal(JSON.parse(body).length, 50);
  });

  it('error responses are not compressed', async () => {
    const r = await get(port, api(U, 'wrong-password', 'get_live_streams'), { headers: GZ });
    assert.equal(r.status, 401);
    assert.equal(r.headers['content-encoding'], undefined);
    assert.deepEqual(JSON.parse(r.text), { user_info: { auth: 0 } });
  });
});

describe('streamed guide (xmltv.php, /epg/U/P)', () => {
  it('xmltv.php and /epg/U/P: Content-Encoding gzip that gunzips to the identity document', async () => {
    const id = await get(port, XMLTV);
    assertIdentity(id, 'xmltv.php');
    assert.match(id.headers['content-type'], /^application\/xml/);
    assert.match(id.text, /<programme /, 'the demo guide is in the document');
    const gz = await get(port, XMLTV, { headers: GZ });
    assertGzip(gz, id, 'xmltv.php');
    assert.equal(gz.headers['content-type'], id.headers['content-type']);
    assert.equal(gz.headers['content-length'], undefined, 'streamed: no Content-Length');

    const pathId = await get(port, `/epg/${U}/${PW}?prev_days=31&next_days=31`);
    const pathGz = await get(port, `/epg/${U}/${PW}?prev_days=31&next_days=31`, { headers: GZ });
    assertIdentity(pathId, '/epg/U/P');
    assertGzip(pathGz, pathId, '/epg/U/P');
    assert.ok(pathId.raw.equals(id.raw));

    for (const ae of ['gzip;q=0', 'br']) {
      const r = await get(port, XMLTV, { headers: { 'Accept-Encoding': ae } });
      assertIdentity(r, `xmltv.php, Accept-Encoding: ${ae}`);
      assert.ok(r.raw.equals(id.raw));
    }
  });

  it('/gz and gzip=1 stay a .xml.gz download, with or without Accept-Encoding', async () => {
    const id = await get(port, XMLTV);
    const targets = [`/epg/${U}/${PW}/gz?prev_days=31&next_days=31`, `${XMLTV}&gzip=1`];
    for (const t of targets) {
      for (const headers of [{}, GZ]) {
        const r = await get(port, t, { headers });
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], 'application/gzip', t);
        assert.match(r.headers['content-disposition'], /epg\.xml\.gz/);
        assert.equal(r.headers['content-encoding'], undefined, `${t}: a file download, not a content coding`);
        assert.ok(gunzipSync(r.raw).equals(id.raw), `${t} ${JSON.stringify(headers)}: the same document`);
      }
    }
  });

  it('HEAD on the guide answers GET\'s headers', async () => {
    for (const headers of [{}, GZ]) {
      const g = await get(port, XMLTV, { headers });
      const h = await head(port, XMLTV, { headers });
      assert.equal(h.raw.length, 0);
      for (const k of ['content-type', 'content-encoding', 'vary', 'content-length']) {
        assert.equal(h.headers[k], g.headers[k], `${JSON.stringify(headers)}: ${k}`);
      }
    }
  });
});

describe('catalogue changes reach the gzip variant', () => {
  it('a channel added by the CLI shows in the gzipped lists and playlist (no stale compressed body)', async () => {
    const live = CACHED.get_live_streams;
    // Fill both variants of the current snapshot first.
    const before = gunzipSync((await get(port, live, { headers: GZ })).raw).toString();
    gunzipSync((await get(port, playlist, { headers: GZ })).raw);
    assert.ok(!before.includes('Gz Late Channel'));
    await cliOk(['stream', 'add', 'Gz Late Channel', '--source', 'http://127.0.0.1:9/late.ts', '--category', 'Gz Group 001', '--data', data]);
    // Poll through the gzip variant only: a stale compressed body would never show it.
    await pollUntil(async () => {
      const r = await get(port, live, { headers: GZ });
      return r.headers['content-encoding'] === 'gzip' && gunzipSync(r.raw).toString().includes('"name":"Gz Late Channel"');
    }, { timeoutMs: 5000, intervalMs: 50 });
    const id = await get(port, live);
    assert.ok(id.text.includes('"name":"Gz Late Channel"'));
    assertGzip(await get(port, live, { headers: GZ }), id, 'get_live_streams after the change');
    // The playlist of the same snapshot too.
    const pl = await get(port, playlist);
    assert.ok(pl.text.includes(',Gz Late Channel\r\n'));
    assertGzip(await get(port, playlist, { headers: GZ }), pl, 'get.php after the change');
    // And a channel removed again disappears from the gzip variant.
    const added = JSON.parse(id.text).find((s) => s.name === 'Gz Late Channel');
    await cliOk(['stream', 'del', String(added.stream_id), '--data', data]);
    await pollUntil(async () => {
      const r = await get(port, live, { headers: GZ });
      return !gunzipSync(r.raw).toString().includes('Gz Late Channel');
    }, { timeoutMs: 5000, intervalMs: 50 });
  });
});

describe('@iptv/xtream-api (fetch asks for gzip and decompresses)', () => {
  it('reads every channel, movie and show; the server did compress them', async () => {
    const x = new Xtream({ url: srv.base + '/', username: U, password: PW });
    const [channels, movies, shows] = await Promise.all([x.getChannels(), x.getMovies(), x.getShows()]);
    assert.equal(channels.length, (await get(port, CACHED.get_live_streams)).json().length);
    assert.equal(movies.length, (await get(port, CACHED.get_vod_streams)).json().length);
    assert.equal(shows.length, (await get(port, CACHED.get_series)).json().length);
    assert.ok(channels.some((c) => c.name === 'Gz Channel 00300'));
    assert.ok(shows.some((s) => s.name === 'Gzip Show 6'));
    // What fetch itself negotiates with this server:
    const r = await fetch(srv.base + CACHED.get_live_streams);
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    assert.equal((await r.json()).length, channels.length);
  });

  it('the access log records the compressed sizes', async () => {
    const r = await request(port, 'GET', CACHED.get_vod_streams, { headers: GZ });
    assert.equal(r.headers['content-encoding'], 'gzip');
    await srv.waitForLog(new RegExp(`"GET /player_api\\.php\\?username=${U.replace('.', '\\.')}&password=\\*\\*\\*&action=get_vod_streams" 200 ${r.raw.length} `));
    assert.match(srv.logs(), /api: gzip get_vod_streams: \d+ -> \d+ bytes/);
  });
});
