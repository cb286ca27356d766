// What the panel's content pages need from the admin API (issue 12):
// artwork URLs on movies and series (stored, else the /images route of local
// artwork a scan found), the guide channels to map a stream to by hand
// (GET /epg/channels, searched and paged), and the order of bouquets
// (PUT /bouquets/order).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { request } from './lib/http.mjs';
import { pollUntil } from './lib/server.mjs';

const run = promisify(execFile);
const ROOT_PW = 'Root.pass-1234';
let w;
let c;
let tmp;

before(async () => {
  w = await world({ tag: 'admpanel', lines: [], seed: (dir) => addAdmin(dir, 'root', ROOT_PW) });
  c = new AdminClient(w.port);
  await c.login('root', ROOT_PW);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'xtreamd-admpanel-'));
});
after(async () => {
  await w?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function jobDone(accepted) {
  const { value } = await pollUntil(async () => {
    const j = await c.ok('GET', `/api/v1/jobs/${accepted.job.id}`);
    const job = j.job ?? j;
    return job.state === 'succeeded' || job.state === 'failed' ? job : null;
  }, { timeoutMs: 120000, intervalMs: 100 });
  return value;
}

describe('artwork URLs', () => {
  it('lists a scanned movie with the /images URL of its local poster, and a stored one as given', async () => {
    const dir = path.join(tmp, 'films', 'Poster Film (2020)');
    await mkdir(dir, { recursive: true });
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=25',
      '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(dir, 'Poster Film (2020).mp4')]);
    await writeFile(path.join(dir, 'poster.jpg'), Buffer.from('fake-jpeg-poster'));
    const res = await c.call('POST', '/api/v1/library/scan', { path: path.join(tmp, 'films'), kind: 'movie', category: 'Panel Films' });
    assert.equal(res.status, 202, res.text);
    const j = await jobDone(res.json());
    assert.equal(j.state, 'succeeded', JSON.stringify(j));
    assert.equal(j.progress, 100);

    const { value: film } = await pollUntil(async () => {
      const l = await c.ok('GET', '/api/v1/movies?q=Poster%20Film');
      const m = l.items[0];
      return m && m.poster_url ? m : null;
    }, { timeoutMs: 10000 });
    assert.equal(film.poster_url, `/images/movie/${film.id}/poster`);
    assert.equal(film.backdrop_url, '');
    const img = await request(w.port, 'GET', film.poster_url, { adminToken: false });
    assert.equal(img.status, 200);
    assert.equal(img.text, 'fake-jpeg-poster');
    const one = await c.ok('GET', `/api/v1/movies/${film.id}`);
    assert.equal(one.poster_url, film.poster_url, 'the single read carries it too');

    const stored = await c.ok('POST', '/api/v1/movies', { name: 'Stored Art', source: 'http://127.0.0.1:9/a.mp4', poster: 'http://127.0.0.1:9/p.jpg' });
    const got = await c.ok('GET', `/api/v1/movies/${stored.id}`);
    assert.equal(got.poster_url, 'http://127.0.0.1:9/p.jpg');
    const series = await c.ok('POST', '/api/v1/series', { name: 'Art Show', cover: 'http://127.0.0.1:9/c.jpg' });
    const list = await c.ok('GET', '/api/v1/series?q=Art%20Show');
    assert.equal(list.items.find((s) => s.id === series.id).cover_url, 'http://127.0.0.1:9/c.jpg');
  });
});

describe('guide channels', () => {
  it('lists the imported guide channels, searched by id or name, per source, paged', async () => {
    const xml = (ids) => `<?xml version="1.0"?><tv>${ids.map(([id, name]) =>
      `<channel id="${id}"><display-name>${name}</display-name><icon src="http://127.0.0.1:9/${id}.png"/></channel>`).join('')}</tv>`;
    const f1 = path.join(tmp, 'g1.xml');
    const f2 = path.join(tmp, 'g2.xml');
    await writeFile(f1, xml([['alpha.tv', 'Alpha Channel'], ['beta.tv', 'Beta News'], ['gamma.tv', 'Gamma Sport']]));
    await writeFile(f2, xml([['delta.tv', 'Delta Movies'], ['news.delta', 'Delta News']]));
    const s1 = await c.ok('POST', '/api/v1/epg/sources', { name: 'panel-g1', url: f1 });
    const s2 = await c.ok('POST', '/api/v1/epg/sources', { name: 'panel-g2', url: f2 });
    for (const s of [s1, s2]) {
      const j = await jobDone(await c.ok('POST', `/api/v1/epg/sources/${s.id}/import`));
      assert.equal(j.state, 'succeeded', JSON.stringify(j));
    }
    const all = await c.ok('GET', '/api/v1/epg/channels?page_size=1000');
    const mine = all.items.filter((x) => x.source_id === s1.id || x.source_id === s2.id);
    assert.equal(mine.length, 5);
    const alpha = mine.find((x) => x.epg_channel_id === 'alpha.tv');
    assert.deepEqual(alpha, {
      epg_channel_id: 'alpha.tv', display_name: 'Alpha Channel', icon: 'http://127.0.0.1:9/alpha.tv.png',
      source_id: s1.id, source_name: 'panel-g1', programmes: 0,
    });
    const news = await c.ok('GET', '/api/v1/epg/channels?q=NEWS');
    assert.deepEqual(news.items.map((x) => x.epg_channel_id).sort(), ['beta.tv', 'news.delta']);
    const bySource = await c.ok('GET', `/api/v1/epg/channels?source_id=${s2.id}&page_size=1`);
    assert.equal(bySource.total, 2);
    assert.equal(bySource.items.length, 1);
    assert.equal(bySource.items[0].epg_channel_id, 'delta.tv', 'ordered by id');
    const page2 = await c.ok('GET', `/api/v1/epg/channels?source_id=${s2.id}&page_size=1&page=2`);
    assert.equal(page2.items[0].epg_channel_id, 'news.delta');
    assertProblem(await c.call('GET', '/api/v1/epg/channels?source_id=abc'), 422, 'VALIDATION_FAILED', ['source_id']);
  });
});

describe('bouquet order', () => {
  it('gives the listed bouquets sort_order 1..n in one call', async () => {
    const ids = [];
    for (const name of ['Order A', 'Order B', 'Order C']) ids.push((await c.ok('POST', '/api/v1/bouquets', { name })).id);
    const want = [ids[2], ids[0], ids[1]];
    const res = await c.call('PUT', '/api/v1/bouquets/order', { ids: want });
    assert.equal(res.status, 204, res.text);
    const l = await c.ok('GET', '/api/v1/bouquets?sort=sort_order&q=Order&page_size=100');
    assert.deepEqual(l.items.map((b) => b.id), want);
    assert.deepEqual(l.items.map((b) => b.sort_order), [1, 2, 3]);
    const p = assertProblem(await c.call('PUT', '/api/v1/bouquets/order', { ids: [ids[0], 999999] }), 422, 'UNKNOWN_REFERENCE', ['ids[1]']);
    assert.match(p.errors[0].message, /bouquet/);
    assertProblem(await c.call('PUT', '/api/v1/bouquets/order', { ids: [ids[0], ids[0]] }), 422, 'VALIDATION_FAILED', ['ids[1]']);
    const after2 = await c.ok('GET', '/api/v1/bouquets?sort=sort_order&q=Order&page_size=100');
    assert.deepEqual(after2.items.map((b) => b.id), want, 'a refused order changes nothing');
    const audit = await c.ok('GET', '/api/v1/audit-log?page_size=20');
    assert.ok(audit.items.some((a) => a.action === 'reorder' && a.entity === 'bouquet'), 'audited');
  });
});
