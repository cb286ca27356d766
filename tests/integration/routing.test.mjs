// The route table's client group (src/api/api.c api_routes, src/http/router.c):
// what no route takes and the methods no client route has answer exactly as
// the hand-written dispatch did — 405 with its text and Allow for any method
// but GET/HEAD/POST (on any path, with or without a route), the CORS
// preflight on any path, 404 "not found\n", CORS on every client answer but
// never on /metrics — and the precedence of the URL forms holds
// (prefixed forms before the short live form /U/P/ID, which needs a numeric
// id; /hls only exists with the live engine, which serve always
// has).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LINES, PW, world } from './lib/fixture.mjs';
import { get, request } from './lib/http.mjs';

const U = LINES.open.user;
const ORIGIN = 'http://player.test:3000';
let w;

before(async () => {
  w = await world({ tag: 'routing', lines: ['open'] });
});

after(async () => {
  await w?.cleanup();
});

const METHOD_TEXT = 'method not allowed: use GET, HEAD or POST\n';

describe('client group fallback', () => {
  it('any other method is 405 with the same text and Allow, whether a route has the path or not', async () => {
    for (const [method, target] of [
      ['PUT', '/player_api.php'],
      ['DELETE', `/live/${U}/${PW}/1.ts`],
      ['PATCH', '/no/such/path'],
      ['PUT', '/'],
      ['DELETE', '/metrics'],
    ]) {
      const r = await request(w.port, method, target, { headers: { Origin: ORIGIN } });
      assert.equal(r.status, 405, `${method} ${target}`);
      assert.equal(r.text, METHOD_TEXT, `${method} ${target}`);
      assert.equal(r.headers.allow, 'GET, HEAD, POST, OPTIONS', `${method} ${target}`);
      const cors = target === '/metrics' ? undefined : ORIGIN;
      assert.equal(r.headers['access-control-allow-origin'], cors, `${method} ${target}: CORS`);
    }
  });

  it('an unknown path is 404 "not found" with CORS', async () => {
    for (const target of ['/nothing', '/a/b/c/d/e/f/g/h', `/epg/${U}/${PW}/zip`, `/${U}/${PW}/abc`, '/images/movie/1/poster/x']) {
      const r = await get(w.port, target, { headers: { Origin: ORIGIN } });
      assert.equal(r.status, 404, target);
      assert.equal(r.text, 'not found\n', target);
      assert.equal(r.headers['access-control-allow-origin'], ORIGIN, target);
      assert.equal(r.headers['access-control-allow-credentials'], 'true', target);
    }
  });

  it('OPTIONS is a preflight on any client path; /metrics answers it without CORS', async () => {
    for (const target of ['/player_api.php', '/no/such/path', '/', '/metrics', '/api/admin/channels']) {
      const r = await request(w.port, 'OPTIONS', target, {
        headers: { Origin: ORIGIN, 'Access-Control-Request-Headers': 'x-custom' },
        adminToken: false,
      });
      assert.equal(r.status, 200, target);
      assert.equal(r.text, '', target);
      assert.equal(r.headers['access-control-allow-methods'], 'GET, HEAD, POST, OPTIONS', target);
      assert.equal(r.headers['access-control-allow-headers'], 'x-custom', target);
      assert.equal(r.headers['access-control-max-age'], '86400', target);
      const admin = target === '/metrics';
      assert.equal(r.headers['access-control-allow-origin'], admin ? undefined : ORIGIN, target);
    }
  });
});

describe('client routes', () => {
  it('/ answers the version text to GET, HEAD and POST', async () => {
    const r = await get(w.port, '/');
    assert.equal(r.status, 200);
    assert.match(r.text, /^xtreamd \d+\.\d+\.\d+\n$/);
    const p = await request(w.port, 'POST', '/', { body: '' });
    assert.equal(p.text, r.text);
    const h = await request(w.port, 'HEAD', '/');
    assert.equal(h.status, 200);
    assert.equal(h.text, '');
  });

  it('the short live form needs a numeric id; prefixed forms win over it', async () => {
    // Wrong password: the route took it and authenticated (401), with CORS.
    const s = await get(w.port, `/${U}/nope/123.ts`, { headers: { Origin: ORIGIN } });
    assert.equal(s.status, 401);
    assert.equal(s.headers['access-control-allow-origin'], ORIGIN);
    // /player_api/U/P is the player API, not a stream 'P' of user 'player_api'.
    const p = await get(w.port, `/player_api/${U}/${PW}`);
    assert.equal(p.status, 200);
    assert.equal(p.json().user_info.username, U);
  });

  it('/hls is the live engine\'s; /metrics carries no CORS; the removed /api/admin is a plain 404', async () => {
    const h = await get(w.port, '/hls/badtoken/1.ts', { headers: { Origin: ORIGIN } });
    assert.ok(h.status >= 400 && h.status < 500 && h.status !== 405, `hls: ${h.status}`);
    assert.equal(h.headers['access-control-allow-origin'], ORIGIN);
    const m = await get(w.port, '/metrics', { headers: { Origin: ORIGIN } });
    assert.equal(m.status, 200);
    assert.equal(m.headers['access-control-allow-origin'], undefined);
    const a = await get(w.port, '/api/admin/channels', { adminToken: false });
    assert.equal(a.status, 404);
    const v1 = await get(w.port, '/api/v1/channels');
    assert.equal(v1.status, 200);
    assert.ok(Array.isArray(v1.json().items));
});
});
