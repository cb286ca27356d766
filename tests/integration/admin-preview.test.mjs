// Panel previews (issue 12): POST /api/v1/streams/{id}/preview (and the movie
// and episode twins) grant a short-lived URL the browser plays without a line;
// the preview is a real viewer (in /sessions as preview:<admin>, cut by
// DELETE /sessions/{id}); a token plays only its own item, a made-up one is
// refused; the grant needs an authenticated admin.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin } from './lib/admin.mjs';
import { get, request } from './lib/http.mjs';
import { pollUntil } from './lib/server.mjs';
import { LAVFI_SMALL, tsCheck, tsViewer } from './lib/live.mjs';

const ROOT_PW = 'Root.pass-1234';
let w;
let c;
let stream;

before(async () => {
  w = await world({ tag: 'admpreview', lines: [], seed: (dir) => addAdmin(dir, 'root', ROOT_PW) });
  c = new AdminClient(w.port);
  await c.login('root', ROOT_PW);
  stream = await c.ok('POST', '/api/v1/streams', { name: 'Preview Test', sources: [LAVFI_SMALL] });
});
after(async () => {
  await w?.cleanup();
});

/** The grant, once the new item is in the published catalogue (404 until then). */
async function grant(path) {
  let last;
  await pollUntil(async () => {
    last = await c.call('POST', path);
    return last.status !== 404;
  }, { timeoutMs: 10000 });
  assert.equal(last.status, 200, last.text);
  return last.json();
}

describe('live preview', () => {
  it('plays the stream as MPEG-TS, shows as a session of preview:root, and is cut from /sessions', async () => {
    const g = await grant(`/api/v1/streams/${stream.id}/preview`);
    assert.equal(g.kind, 'live');
    assert.equal(g.id, stream.id);
    assert.match(g.ts_url, new RegExp(`^/preview/[0-9a-f]{32}/${stream.id}\\.ts$`));
    assert.match(g.hls_url, new RegExp(`^/preview/[0-9a-f]{32}/${stream.id}\\.m3u8$`));
    assert.ok(Date.parse(g.expires_at) > Date.now() + 3 * 3600 * 1000, g.expires_at);
    const v = await tsViewer(w.port, g.ts_url);
    try {
      assert.equal(v.status, 200);
      await pollUntil(() => v.bytes >= 188 * 200, { timeoutMs: 60000 });
      assert.ok(tsCheck(v.buffer()).packets > 100, 'MPEG-TS packets');
      const { value: sess } = await pollUntil(async () => {
        const l = await c.ok('GET', `/api/v1/sessions?stream_id=${stream.id}`);
        return l.items.find((s) => s.username === 'preview:root');
      }, { timeoutMs: 10000 });
      assert.equal(sess.line_id, 0);
      assert.equal(sess.kind, 'live');
      await c.ok('DELETE', `/api/v1/sessions/${sess.id}`);
      await pollUntil(() => v.ended, { timeoutMs: 10000 });
    } finally {
      v.close();
    }
  });

  it('serves an HLS playlist whose segments play', async () => {
    const g = await grant(`/api/v1/streams/${stream.id}/preview`);
    const pl = await get(w.port, g.hls_url, { timeoutMs: 60000 });
    assert.equal(pl.status, 200, pl.text);
    assert.match(pl.headers['content-type'], /mpegurl/);
    const seg = pl.text.split('\n').find((l) => l && !l.startsWith('#'));
    assert.ok(seg, pl.text);
    const url = new URL(seg, `http://127.0.0.1:${w.port}${g.hls_url}`);
    const s = await request(w.port, 'GET', url.pathname, { adminToken: false });
    assert.equal(s.status, 200);
    assert.ok(s.raw.length >= 188 && s.raw[0] === 0x47, 'a TS segment');
  });

  it('refuses a made-up token and a token used for another item', async () => {
    const bad = await get(w.port, `/preview/${'0'.repeat(32)}/${stream.id}.ts`, { adminToken: false });
    assert.equal(bad.status, 403);
    const g = await grant(`/api/v1/streams/${stream.id}/preview`);
    const other = await get(w.port, g.ts_url.replace(`/${stream.id}.ts`, `/${stream.id + 1000}.ts`), { adminToken: false });
    assert.equal(other.status, 403);
    const m = await get(w.port, '/metrics');
    assert.match(m.text, /^xtreamd_preview_refused_total [1-9]/m);
    assert.match(m.text, /^xtreamd_preview_grants_total [1-9]/m);
  });

  it('needs an authenticated admin and an existing stream', async () => {
    const anon = await request(w.port, 'POST', `/api/v1/streams/${stream.id}/preview`, { adminToken: false });
    assert.equal(anon.status, 401);
    const missing = await c.call('POST', '/api/v1/streams/999999/preview');
    assert.equal(missing.status, 404);
  });
});

describe('VOD preview', () => {
  it('plays a movie file with Range', async () => {
    const movies = await c.ok('GET', '/api/v1/movies?page_size=1&sort=id');
    const m = movies.items[0];
    assert.ok(m, 'the demo has movies');
    const g = await grant(`/api/v1/movies/${m.id}/preview`);
    assert.equal(g.kind, 'movie');
    assert.match(g.url, new RegExp(`^/preview/[0-9a-f]{32}/${m.id}\\.\\w+$`));
    const r = await request(w.port, 'GET', g.url, { headers: { Range: 'bytes=0-99' }, adminToken: false });
    assert.equal(r.status, 206, r.text);
    assert.equal(r.raw.length, 100);
  });

  it('plays an episode', async () => {
    const series = await c.ok('GET', '/api/v1/series?page_size=1&sort=id');
    const s = series.items[0];
    const eps = await c.ok('GET', `/api/v1/series/${s.id}/episodes?page_size=1`);
    const e = eps.items[0];
    const g = await grant(`/api/v1/series/${s.id}/episodes/${e.id}/preview`);
    assert.equal(g.kind, 'episode');
    const r = await request(w.port, 'HEAD', g.url, { adminToken: false });
    assert.equal(r.status, 200);
    assert.ok(Number(r.headers['content-length']) > 0);
    const wrong = await c.call('POST', `/api/v1/series/${s.id + 1000}/episodes/${e.id}/preview`);
    assert.equal(wrong.status, 404);
  });
});
