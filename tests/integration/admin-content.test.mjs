// Admin API catalogue resources (issue 10, item 4): streams, categories,
// bouquets, movies, series/episodes and EPG sources end to end on the real
// binary — create (201 + Location + ETag), read, list with each filter, search
// and sort, merge patch leaving omitted fields alone, delete, 422 field
// errors, If-Match 412, the bouquet order PUT, the category order PUT, jobs
// (M3U import, EPG import, library scan) run to completion, the manual EPG
// mapping, and changes reaching player_api.php within 2 s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { world, LINES } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { request, api } from './lib/http.mjs';

const ROOT_PW = 'Root.pass-1234';
let w;
let c;
let tmp;

before(async () => {
  w = await world({
    tag: 'admcontent',
    lines: ['open'],
    seed: async (dir) => {
      await addAdmin(dir, 'root', ROOT_PW);
    },
  });
  c = new AdminClient(w.port);
  await c.login('root', ROOT_PW);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'xtreamd-admcontent-'));
});
after(async () => {
  await w?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Polls fn until it returns a truthy value, within ms (measured from the call). */
async function pollUntil(fn, what, ms = 2000) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for a job to end (generous: ASan on a loaded machine) and returns it. */
async function jobDone(accepted) {
  assert.ok(accepted.job && Number.isInteger(accepted.job.id), `a job: ${JSON.stringify(accepted)}`);
  return pollUntil(async () => {
    const r = await c.ok('GET', `/api/v1/jobs/${accepted.job.id}`);
    const j = r.job ?? r;
    return j.state === 'succeeded' || j.state === 'failed' ? j : null;
  }, `job ${accepted.job.id}`, 60000);
}

async function liveNames(user = LINES.open.user, pass = LINES.open.pass) {
  const r = await request(w.port, 'GET', api(user, pass, 'get_live_streams'), { adminToken: false });
  assert.equal(r.status, 200, r.text.slice(0, 200));
  return r.json().map((s) => s.name);
}

async function created(method, target, body) {
  const res = await c.call(method, target, body);
  assert.equal(res.status, 201, `${method} ${target}: ${res.text.slice(0, 400)}`);
  const o = res.json();
  assert.match(res.headers.location ?? '', new RegExp(`/${o.id}$`));
  assert.match(res.headers.etag ?? '', /^"/);
  return o;
}

describe('categories', () => {
  it('creates, lists by kind with search and sort, renames, reorders and refuses bad input', async () => {
    const a = await created('POST', '/api/v1/categories', { kind: 'live', name: 'API Alpha' });
    const b = await created('POST', '/api/v1/categories', { kind: 'live', name: 'API Beta' });
    const m = await created('POST', '/api/v1/categories', { kind: 'movie', name: 'API Films' });
    assert.equal(a.kind, 'live');
    assert.ok(b.sort_order > a.sort_order, 'new categories go to the end of their kind');

    const live = await c.ok('GET', '/api/v1/categories?kind=live&q=api%20&sort=-name&page_size=10');
    assert.deepEqual(live.items.map((x) => x.id), [b.id, a.id]);
    assert.equal(live.total, 2);
    const movies = await c.ok('GET', '/api/v1/categories?kind=movie&q=API');
    assert.deepEqual(movies.items.map((x) => x.id), [m.id]);
    const paged = await c.ok('GET', '/api/v1/categories?page=2&page_size=1&sort=id');
    assert.equal(paged.items.length, 1);
    assert.equal(paged.page, 2);

    assertProblem(await c.call('GET', '/api/v1/categories?kind=radio'), 422, 'VALIDATION_FAILED', ['kind']);
    assertProblem(await c.call('GET', '/api/v1/categories?sort=secret'), 422, 'VALIDATION_FAILED', ['sort']);
    assertProblem(await c.call('POST', '/api/v1/categories', { kind: 'radio', name: '' }), 422, 'VALIDATION_FAILED', ['kind', 'name']);
    assertProblem(await c.call('POST', '/api/v1/categories', { kind: 'live', name: 'API Alpha' }), 409, 'ALREADY_EXISTS', ['name']);
    assertProblem(await c.call('PATCH', `/api/v1/categories/${a.id}`, { kind: 'movie' }), 422, 'VALIDATION_FAILED', ['kind']);

    const renamed = await c.ok('PATCH', `/api/v1/categories/${a.id}`, { name: 'API Alpha 2' });
    assert.equal(renamed.name, 'API Alpha 2');
    assert.equal(renamed.sort_order, a.sort_order, 'omitted members stay');

    const order = await c.call('PUT', '/api/v1/categories/order', { ids: [b.id, a.id] });
    assert.equal(order.status, 204, order.text);
    const after1 = await c.ok('GET', '/api/v1/categories?kind=live&q=API&sort=sort_order');
    assert.deepEqual(after1.items.map((x) => x.id), [b.id, a.id]);
    assertProblem(await c.call('PUT', '/api/v1/categories/order', { ids: [b.id, 999999] }), 422, 'UNKNOWN_REFERENCE', ['ids[1]']);

    const del = await c.call('DELETE', `/api/v1/categories/${m.id}`);
    assert.equal(del.status, 204);
    assertProblem(await c.call('GET', `/api/v1/categories/${m.id}`), 404, 'NOT_FOUND');
  });
});

describe('streams', () => {
  it('runs create / read / list filters / merge patch / If-Match / delete, visible in player_api.php', async () => {
    const cat = await created('POST', '/api/v1/categories', { kind: 'live', name: 'API Streams' });
    const s = await created('POST', '/api/v1/streams', {
      name: 'API Channel One',
      category_id: cat.id,
      sources: ['http://example.invalid/one.ts', 'udp://239.0.0.1:1234'],
      epg_channel_id: 'api.one',
      tv_archive_days: 2,
    });
    assert.deepEqual(s.sources, ['http://example.invalid/one.ts', 'udp://239.0.0.1:1234']);
    assert.equal(s.enabled, true);
    const off = await created('POST', '/api/v1/streams', { name: 'API Channel Off', sources: ['http://example.invalid/off.ts'], enabled: false });

    await pollUntil(async () => (await liveNames()).includes('API Channel One'), 'new stream in get_live_streams');
    assert.ok(!(await liveNames()).includes('API Channel Off'), 'a disabled stream is not published');

    const read = await c.call('GET', `/api/v1/streams/${s.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.json().category_id, cat.id);

    const byCat = await c.ok('GET', `/api/v1/streams?category_id=${cat.id}`);
    assert.deepEqual(byCat.items.map((x) => x.id), [s.id]);
    const disabled = await c.ok('GET', '/api/v1/streams?enabled=false&q=API%20Channel');
    assert.deepEqual(disabled.items.map((x) => x.id), [off.id]);
    const sorted = await c.ok('GET', '/api/v1/streams?q=api%20channel&sort=-name');
    assert.deepEqual(sorted.items.map((x) => x.name), ['API Channel One', 'API Channel Off']);
    assert.equal(sorted.total, 2);
    assertProblem(await c.call('GET', '/api/v1/streams?enabled=maybe'), 422, 'VALIDATION_FAILED', ['enabled']);

    assertProblem(await c.call('POST', '/api/v1/streams', { name: 'x', sources: [''] }), 422, 'VALIDATION_FAILED', ['sources[0]']);
    assertProblem(await c.call('POST', '/api/v1/streams', { name: 'x' }), 422, 'VALIDATION_FAILED', ['sources']);
    assertProblem(await c.call('PATCH', `/api/v1/streams/${s.id}`, { colour: 'red', enabled: 'yes' }), 422, 'VALIDATION_FAILED', ['colour', 'enabled']);
    assertProblem(await c.call('PATCH', `/api/v1/streams/${s.id}`, { tv_archive_days: -1, added: '2020-01-01T00:00:00Z' }), 422, 'VALIDATION_FAILED', ['tv_archive_days', 'added']);
    assertProblem(await c.call('PATCH', `/api/v1/streams/${s.id}`, { category_id: 999999 }), 422, 'UNKNOWN_REFERENCE', ['category_id']);
    assertProblem(await c.call('PATCH', `/api/v1/streams/${s.id}`, '{"name":', { raw: true }), 400, 'MALFORMED_BODY');

    const patched = await c.call('PATCH', `/api/v1/streams/${s.id}`, { name: 'API Channel Renamed' }, { headers: { 'If-Match': read.headers.etag } });
    assert.equal(patched.status, 200, patched.text);
    const p = patched.json();
    assert.equal(p.name, 'API Channel Renamed');
    assert.deepEqual(p.sources, s.sources, 'omitted sources stay');
    assert.equal(p.epg_channel_id, 'api.one');
    assert.equal(p.tv_archive_days, 2);
    assert.notEqual(patched.headers.etag, read.headers.etag);
    assertProblem(await c.call('PATCH', `/api/v1/streams/${s.id}`, { name: 'stale' }, { headers: { 'If-Match': read.headers.etag } }), 412, 'PRECONDITION_FAILED');

    await pollUntil(async () => (await liveNames()).includes('API Channel Renamed'), 'renamed stream in get_live_streams');

    // The audit log has the create and the update with their before/after.
    const audit = await c.ok('GET', `/api/v1/audit-log?entity=stream&entity_id=${s.id}&sort=id`);
    assert.deepEqual(audit.items.map((a) => a.action), ['create', 'update']);
    assert.equal(audit.items[0].before, null);
    assert.equal(audit.items[0].after.name, 'API Channel One');
    assert.equal(audit.items[1].before.name, 'API Channel One');
    assert.equal(audit.items[1].after.name, 'API Channel Renamed');
    assert.equal(audit.items[1].admin_username, 'root');

    const src = await c.ok('PATCH', `/api/v1/streams/${s.id}`, { sources: ['http://example.invalid/two.ts'], epg_channel_id: null });
    assert.deepEqual(src.sources, ['http://example.invalid/two.ts']);
    assert.equal(src.epg_channel_id, null);

    assertProblem(await c.call('DELETE', `/api/v1/streams/${s.id}`, undefined, { headers: { 'If-Match': read.headers.etag } }), 412, 'PRECONDITION_FAILED');
    const current = (await c.call('GET', `/api/v1/streams/${s.id}`)).headers.etag;
    const del = await c.call('DELETE', `/api/v1/streams/${s.id}`, undefined, { headers: { 'If-Match': current } });
    assert.equal(del.status, 204, del.text);
    assertProblem(await c.call('GET', `/api/v1/streams/${s.id}`), 404, 'NOT_FOUND');
    await pollUntil(async () => !(await liveNames()).includes('API Channel Renamed'), 'deleted stream gone from get_live_streams');
  });
});

describe('scopes', () => {
  it('needs streams:write for streams and content:write for the rest; read reads', async () => {
    const token = async (scopes) => (await c.ok('POST', '/api/v1/tokens', { name: `t-${scopes[0]}`, scopes })).token;
    const reader = new AdminClient(w.port, { token: await token(['read']) });
    const streamer = new AdminClient(w.port, { token: await token(['streams:write']) });
    const curator = new AdminClient(w.port, { token: await token(['content:write']) });
    assert.equal((await reader.call('GET', '/api/v1/streams')).status, 200);
    assertProblem(await reader.call('POST', '/api/v1/streams', { name: 'x', sources: ['http://x.invalid/'] }), 403, 'FORBIDDEN');
    assertProblem(await streamer.call('POST', '/api/v1/categories', { kind: 'live', name: 'Scoped' }), 403, 'FORBIDDEN');
    assertProblem(await curator.call('POST', '/api/v1/streams', { name: 'x', sources: ['http://x.invalid/'] }), 403, 'FORBIDDEN');
    assertProblem(await reader.call('POST', '/api/v1/imports/m3u', { content: '#EXTM3U' }), 403, 'FORBIDDEN');
    const made = await streamer.call('POST', '/api/v1/streams', { name: 'API Scoped', sources: ['http://x.invalid/s.ts'] });
    assert.equal(made.status, 201, made.text);
    assert.equal((await curator.call('POST', '/api/v1/categories', { kind: 'live', name: 'API Scoped' })).status, 201);
  });
});

describe('bouquets', () => {
  it('creates with ordered items, replaces the order with PUT items, and checks references', async () => {
    const cat = await created('POST', '/api/v1/categories', { kind: 'live', name: 'API Bq Cat' });
    const s1 = await created('POST', '/api/v1/streams', { name: 'API Bq One', sources: ['http://example.invalid/b1.ts'] });
    const s2 = await created('POST', '/api/v1/streams', { name: 'API Bq Two', sources: ['http://example.invalid/b2.ts'] });
    const b = await created('POST', '/api/v1/bouquets', {
      name: 'API Bouquet',
      items: [{ kind: 'live', id: s1.id }, { kind: 'category', id: cat.id }],
    });
    assert.deepEqual(b.items, [{ kind: 'live', id: s1.id }, { kind: 'category', id: cat.id }]);
    assert.equal(b.line_count, 0);

    const put = await c.call('PUT', `/api/v1/bouquets/${b.id}/items`, { items: [{ kind: 'live', id: s2.id }, { kind: 'live', id: s1.id }] });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json().items, [{ kind: 'live', id: s2.id }, { kind: 'live', id: s1.id }]);
    assert.equal(put.json().name, 'API Bouquet');
    const read = await c.ok('GET', `/api/v1/bouquets/${b.id}`);
    assert.deepEqual(read.items.map((i) => i.id), [s2.id, s1.id]);

    assertProblem(await c.call('PUT', `/api/v1/bouquets/${b.id}/items`, [{ kind: 'movie', id: 987654 }]), 422, 'UNKNOWN_REFERENCE', ['items[0].id']);
    assertProblem(await c.call('PUT', `/api/v1/bouquets/${b.id}/items`, [{ kind: 'tv', id: 1 }, { kind: 'all', id: 3 }]), 422, 'VALIDATION_FAILED', ['items[0].kind', 'items[1].id']);
    assertProblem(await c.call('PUT', `/api/v1/bouquets/${b.id}/items`, [{ kind: 'all' }], { headers: { 'If-Match': '"stale"' } }), 412, 'PRECONDITION_FAILED');
    const unchanged = await c.ok('GET', `/api/v1/bouquets/${b.id}`);
    assert.deepEqual(unchanged.items, read.items, 'a refused PUT changes nothing');

    const list = await c.ok('GET', '/api/v1/bouquets?q=api%20bouquet');
    assert.deepEqual(list.items.map((x) => x.id), [b.id]);

    // A line on this bouquet sees exactly its items.
    await c.ok('POST', '/api/v1/lines', { username: 'bq.viewer', password: 'Bq.pass-123', bouquets: ['API Bouquet'] });
    const names = await pollUntil(async () => {
      const r = await request(w.port, 'GET', api('bq.viewer', 'Bq.pass-123', 'get_live_streams'), { adminToken: false });
      return r.status === 200 && r.json().length === 2 ? r.json().map((x) => x.name) : null;
    }, 'bouquet line sees its two channels');
    assert.deepEqual(names.sort(), ['API Bq One', 'API Bq Two']);
  });
});

describe('movies and series', () => {
  it('creates, filters and patches movies and series with episodes', async () => {
    const mc = await created('POST', '/api/v1/categories', { kind: 'movie', name: 'API Movies' });
    const sc = await created('POST', '/api/v1/categories', { kind: 'series', name: 'API Shows' });
    const m = await created('POST', '/api/v1/movies', {
      name: 'API Film',
      source: 'https://example.invalid/film.mp4',
      category_id: mc.id,
      year: 2001,
      rating: 7.5,
      plot: 'A plot.',
    });
    assert.equal(m.container_extension, 'mp4');
    assert.equal(m.year, 2001);
    const m2 = await created('POST', '/api/v1/movies', { name: 'API Other', source: 'https://example.invalid/other.mkv', container_extension: 'mkv' });

    const byCat = await c.ok('GET', `/api/v1/movies?category_id=${mc.id}`);
    assert.deepEqual(byCat.items.map((x) => x.id), [m.id]);
    const byName = await c.ok('GET', '/api/v1/movies?q=api%20&sort=-name');
    assert.deepEqual(byName.items.map((x) => x.id), [m2.id, m.id]);

    assertProblem(await c.call('POST', '/api/v1/movies', { name: 'Local', source: '/etc/passwd' }), 422, 'VALIDATION_FAILED', ['source']);
    assertProblem(await c.call('POST', '/api/v1/movies', { name: 'Dup', source: 'https://example.invalid/film.mp4' }), 409, 'ALREADY_EXISTS', ['source']);
    assertProblem(await c.call('PATCH', `/api/v1/movies/${m.id}`, { year: 1, rating: 11 }), 422, 'VALIDATION_FAILED', ['year', 'rating']);
    assertProblem(await c.call('PATCH', `/api/v1/movies/${m.id}`, { category_id: sc.id }), 422, 'VALIDATION_FAILED', ['category_id']);

    const p = await c.ok('PATCH', `/api/v1/movies/${m.id}`, { year: null, genre: 'Drama' });
    assert.equal(p.year, null);
    assert.equal(p.genre, 'Drama');
    assert.equal(p.plot, 'A plot.', 'omitted members stay');
    assert.equal(p.category_id, mc.id);

    await pollUntil(async () => {
      const r = await request(w.port, 'GET', api(LINES.open.user, LINES.open.pass, 'get_vod_streams'), { adminToken: false });
      return r.status === 200 && r.json().some((x) => x.name === 'API Film');
    }, 'movie in get_vod_streams');

    const s = await created('POST', '/api/v1/series', { name: 'API Show', category_id: sc.id, plot: 'Show plot' });
    const e1 = await created('POST', `/api/v1/series/${s.id}/episodes`, { season: 1, episode_num: 1, source: 'https://example.invalid/s1e1.mp4', title: 'Pilot' });
    const e2 = await created('POST', `/api/v1/series/${s.id}/episodes`, { season: 2, episode_num: 1, source: 'https://example.invalid/s2e1.mp4' });
    assert.equal(e1.series_id, s.id);
    const other = await created('POST', '/api/v1/series', { name: 'API Other Show' });
    const byShowCat = await c.ok('GET', `/api/v1/series?category_id=${sc.id}`);
    assert.deepEqual(byShowCat.items.map((x) => x.id), [s.id]);
    const showsByName = await c.ok('GET', '/api/v1/series?q=api&sort=-name');
    assert.deepEqual(showsByName.items.map((x) => x.id), [s.id, other.id]);
    const s2 = await c.ok('GET', `/api/v1/series/${s.id}/episodes?season=2`);
    assert.deepEqual(s2.items.map((x) => x.id), [e2.id]);
    const all = await c.ok('GET', `/api/v1/series/${s.id}/episodes?sort=-season`);
    assert.deepEqual(all.items.map((x) => x.id), [e2.id, e1.id]);
    assertProblem(await c.call('POST', `/api/v1/series/${s.id}/episodes`, { season: -1, episode_num: 1, source: 'https://x.invalid/a.mp4', series_id: 3 }), 422, 'VALIDATION_FAILED', ['season', 'series_id']);
    assertProblem(await c.call('GET', `/api/v1/series/${s.id + 1000}/episodes`), 404, 'NOT_FOUND');
    const ep = await c.ok('PATCH', `/api/v1/series/${s.id}/episodes/${e1.id}`, { title: 'Pilot (cut)' });
    assert.equal(ep.title, 'Pilot (cut)');
    assert.equal(ep.source, 'https://example.invalid/s1e1.mp4');
    const series = await c.ok('GET', `/api/v1/series/${s.id}`);
    assert.equal(series.episode_count, 2);
    await pollUntil(async () => {
      const r = await request(w.port, 'GET', api(LINES.open.user, LINES.open.pass, 'get_series'), { adminToken: false });
      return r.status === 200 && r.json().some((x) => x.name === 'API Show');
    }, 'series in get_series');
    assert.equal((await c.call('DELETE', `/api/v1/series/${s.id}/episodes/${e2.id}`)).status, 204);
    assert.equal((await c.call('DELETE', `/api/v1/series/${s.id}`)).status, 204);
    assertProblem(await c.call('GET', `/api/v1/series/${s.id}/episodes/${e1.id}`), 404, 'NOT_FOUND');
  });
});

describe('jobs and EPG', () => {
  it('imports an M3U playlist as a job, visible in player_api.php', async () => {
    const content = '#EXTM3U\n#EXTINF:-1 tvg-id="job.one" group-title="API Job",API Job Channel\nhttp://example.invalid/job.ts\n';
    const res = await c.call('POST', '/api/v1/imports/m3u', { content, kind: 'live' });
    assert.equal(res.status, 202, res.text);
    assert.match(res.headers.location ?? '', /\/api\/v1\/jobs\/\d+$/);
    const j = await jobDone(res.json());
    assert.equal(j.state, 'succeeded', JSON.stringify(j));
    assert.equal(j.progress, 100);
    assert.equal(j.result.entries, 1);
    await pollUntil(async () => (await liveNames()).includes('API Job Channel'), 'imported channel in get_live_streams');

    const bad = await c.call('POST', '/api/v1/imports/m3u', { content: '#EXTM3U\n#EXTINF:-1,Local\n/etc/passwd\n' });
    assert.equal(bad.status, 202);
    const bj = await jobDone(bad.json());
    assert.equal(bj.state, 'failed');
    assert.equal(bj.error.code, 'INPUT_REJECTED', JSON.stringify(bj.error));
    assert.ok(bj.error.errors.some((e) => e.field === 'line 3' && e.code === 'rejected'), JSON.stringify(bj.error));
    assert.ok(!(await liveNames()).includes('Local'), 'a failed import writes nothing');
    assertProblem(await c.call('POST', '/api/v1/imports/m3u', { kind: 'radio' }), 422, 'VALIDATION_FAILED', ['url']);
    assertProblem(await c.call('POST', '/api/v1/imports/m3u', { url: 'ftp://x/y.m3u' }), 422, 'VALIDATION_FAILED', ['url']);
  });

  it('imports an EPG source as a job, lists unmapped channels with candidates, maps one by hand', async () => {
    const now = new Date();
    const t = (h) => {
      const d = new Date(now.getTime() + h * 3600e3);
      return d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + ' +0000';
    };
    const xml = `<?xml version="1.0"?><tv><channel id="apiguide.one"><display-name>API Guide One</display-name></channel>
<programme start="${t(-1)}" stop="${t(1)}" channel="apiguide.one"><title>Now On</title></programme></tv>`;
    const file = path.join(tmp, 'guide.xml');
    await writeFile(file, xml);
    const src = await created('POST', '/api/v1/epg/sources', { name: 'api-guide', url: file, priority: 3 });
    assert.equal(src.last_import, null);
    assertProblem(await c.call('PATCH', `/api/v1/epg/sources/${src.id}`, { refresh_hours: 99999, channels: 3 }), 422, 'VALIDATION_FAILED', ['refresh_hours', 'channels']);

    const stream = await created('POST', '/api/v1/streams', { name: 'API Guide Once', sources: ['http://example.invalid/g.ts'] });
    const res = await c.call('POST', `/api/v1/epg/sources/${src.id}/import`);
    assert.equal(res.status, 202, res.text);
    const j = await jobDone(res.json());
    assert.equal(j.state, 'succeeded', JSON.stringify(j));
    assert.equal(j.result.channels, 1);
    const st = await c.ok('GET', `/api/v1/epg/sources/${src.id}`);
    assert.equal(st.channels, 1);
    assert.equal(st.programmes, 1);
    assert.match(st.last_import, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(st.last_status, /^ok/);
    const status = await c.ok('GET', `/api/v1/epg/sources/${src.id}/status`);
    assert.equal(status.ok, true);
    assert.equal(status.channels, 1);
    assert.equal(status.last_import, st.last_import);

    const un = await c.ok('GET', '/api/v1/epg/unmapped?page_size=1000');
    const mine = un.items.find((u) => u.stream_id === stream.id);
    assert.ok(mine, 'the new stream has no guide');
    assert.ok(mine.candidates.length >= 1 && mine.candidates.length <= 5);
    assert.equal(mine.candidates[0].epg_channel_id, 'apiguide.one');
    const paged = await c.ok('GET', '/api/v1/epg/unmapped?page_size=1');
    assert.equal(paged.items.length, 1);
    assert.equal(paged.total, un.total);

    const mapped = await c.ok('PUT', `/api/v1/streams/${stream.id}/epg`, { epg_channel_id: 'apiguide.one' });
    assert.equal(mapped.epg_channel_id, 'apiguide.one');
    const un2 = await c.ok('GET', '/api/v1/epg/unmapped?page_size=1000');
    assert.ok(!un2.items.some((u) => u.stream_id === stream.id), 'mapped stream leaves the unmapped list');
    assertProblem(await c.call('PUT', `/api/v1/streams/${stream.id}/epg`, { epg_channel_id: 5 }), 422, 'VALIDATION_FAILED', ['epg_channel_id']);
    assertProblem(await c.call('POST', '/api/v1/epg/sources/999999/import'), 404, 'NOT_FOUND');
  });

  it('scans a library folder as a job', async () => {
    const dir = path.join(tmp, 'library');
    await mkdir(dir);
    const res = await c.call('POST', '/api/v1/library/scan', { path: dir, kind: 'movie', category: 'API Scanned' });
    assert.equal(res.status, 202, res.text);
    const j = await jobDone(res.json());
    assert.equal(j.state, 'succeeded', JSON.stringify(j));
    assert.equal(j.result.files, 0);
    assert.equal(j.progress, 100);
    const missing = await c.call('POST', '/api/v1/library/scan', { path: path.join(tmp, 'missing') });
    assert.equal(missing.status, 202, missing.text);
    const mj = await jobDone(missing.json());
    assert.equal(mj.state, 'failed');
    assert.ok(mj.error.errors.some((e) => e.field === 'path'), JSON.stringify(mj.error));
    assertProblem(await c.call('POST', '/api/v1/library/scan', { path: 'relative/dir' }), 422, 'VALIDATION_FAILED', ['path']);
    assertProblem(await c.call('POST', '/api/v1/library/scan', { path: dir, kind: 'tv' }), 422, 'VALIDATION_FAILED', ['kind']);
  });
});
