// Signed stream URLs (issue 13 item 6, core/urlsign.h): with the setting on,
// get.php hands out /live|movie|series/TOKEN/ID.EXT URLs that carry no
// password; they play (ffprobe decodes the live one), the username/password
// URLs keep working, and a token refused for another stream, after tampering,
// after its expiry, from another /24, or signed with a key rotated out past
// its grace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LINES, PW, seedDemo, seedLines } from './lib/fixture.mjs';
import { get, qs, request } from './lib/http.mjs';
import { LAVFI_SMALL, ffprobe, getHeadOnly } from './lib/live.mjs';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';

const U = LINES.open.user;
let dataDir, srv, port, chan;

before(async () => {
  dataDir = await makeDataDir('sig');
  await seedDemo(dataDir);
  await seedLines(dataDir, ['open']);
  const r = await cliOk(['stream', 'add', 'Signed Pattern', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', dataDir]);
  chan = Number(r.stdout.trim());
  srv = await startServer(dataDir, ['--channel-idle', '3']);
  port = srv.port;
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

async function playlist(params = {}, opts) {
  const r = await get(port, `/get.php?${qs({ username: U, password: PW, type: 'm3u', ...params })}`, opts);
  assert.equal(r.status, 200, r.text.slice(0, 200));
  return r.text.split('\r\n').filter((l) => l.startsWith('http'));
}

const pathOf = (url) => new URL(url).pathname;
const tokenRe = /^\/(live|movie|series)\/(1~(\d+)~([^~/]+)~\d+~[lms]\d+~\d+~[01]~[A-Za-z0-9_-]{43})\/(\d+)\.(\w+)$/;

async function patchSettings(body) {
  const r = await request(port, 'PATCH', '/api/v1/settings', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, r.text);
  return r.json();
}

/** Polls get.php until its URLs satisfy pred (a settings change reaches the next snapshot). */
async function playlistWhen(pred, params, opts) {
  const { value } = await pollUntil(async () => {
    const urls = await playlist(params, opts);
    return pred(urls) ? urls : false;
  }, { timeoutMs: 20000 });
  return value;
}

const status = async (p, opts) => (await get(port, p, { headers: { Range: 'bytes=0-99' }, ...opts })).status;

describe('signed stream URLs', () => {
  let urls;

  it('off by default: get.php hands out username/password URLs', async () => {
    const u = await playlist();
    assert.ok(u.length > 3);
    for (const x of u) assert.ok(x.includes(`/${U}/${PW}/`), x);
  });

  it('turned on through the settings API: every URL is signed, none carries the password, and the key stays hidden', async () => {
    const s = await patchSettings({ signed_urls: 1 });
    assert.equal(s.signed_urls, 1);
    assert.ok(!JSON.stringify(s).includes('url_signing_keys'), 'the keys are not a setting');
    urls = await playlistWhen((u) => u.every((x) => tokenRe.test(pathOf(x))));
    for (const x of urls) {
      assert.ok(!x.includes(PW), `no password in ${x}`);
      const m = tokenRe.exec(pathOf(x));
      assert.equal(m[4], U, 'the token names the line');
      assert.equal(m[3], '1', 'first key');
    }
    const refused = await request(port, 'PATCH', '/api/v1/settings', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url_signing_keys: 'x' }) });
    assert.equal(refused.status, 422, 'the keys cannot be written as a setting');
  });

  it('a signed live URL plays (ffprobe decodes it); a signed movie URL serves bytes; the password URLs still work', async () => {
    const live = urls.map(pathOf).find((p) => p.startsWith('/live/') && p.endsWith(`/${chan}.ts`));
    assert.ok(live, 'the channel has a signed URL');
    const r = await getHeadOnly(port, live, { untilBytes: 400000, bodyMs: 20000, timeoutMs: 60000 });
    assert.equal(r.status, 200);
    const f = path.join(dataDir, 'signed.ts');
    await writeFile(f, r.raw);
    const p = await ffprobe(f);
    assert.ok(p.streams.some((s) => s.codec_type === 'video'), 'video decoded');
    const movie = urls.map(pathOf).find((x) => x.startsWith('/movie/'));
    assert.ok([200, 206].includes(await status(movie)), 'signed movie');
    const id = tokenRe.exec(movie)[5];
    const ext = tokenRe.exec(movie)[6];
    assert.ok([200, 206].includes(await status(`/movie/${U}/${PW}/${id}.${ext}`)), 'password movie URL');
  });

  it('refuses another stream, another kind, a tampered token and garbage with 401', async () => {
    const movies = urls.map(pathOf).filter((x) => x.startsWith('/movie/'));
    assert.ok(movies.length >= 2);
    const [a, b] = movies.map((x) => tokenRe.exec(x));
    assert.equal(await status(`/movie/${a[2]}/${b[5]}.${b[6]}`), 401, 'token of stream A on stream B');
    assert.equal(await status(`/series/${a[2]}/${a[5]}.${a[6]}`), 401, 'movie token on the series route');
    const t = a[2];
    const flipped = t.slice(0, -1) + (t.at(-1) === 'A' ? 'Q' : 'A');
    assert.equal(await status(`/movie/${flipped}/${a[5]}.${a[6]}`), 401, 'tampered MAC');
    const longer = t.replace(/~(\d+)~([01])~/, (m, e, bnd) => `~${Number(e) + 1000}~${bnd}~`);
    assert.equal(await status(`/movie/${longer}/${a[5]}.${a[6]}`), 401, 'extended expiry');
    assert.equal(await status(`/movie/1~garbage/${a[5]}.${a[6]}`), 401, 'garbage');
    assert.ok([200, 206].includes(await status(`/movie/${a[2]}/${a[5]}.${a[6]}`)), 'the genuine one still plays');
  });

  it('refuses an expired token with 403 (not a failed login) and counts it in /metrics', async () => {
    const movie = tokenRe.exec(urls.map(pathOf).find((x) => x.startsWith('/movie/')));
    const past = Math.floor(Date.now() / 1000) - 10;
    const r = await cliOk(['signing', 'url', U, 'movie', `${movie[5]}.${movie[6]}`, '--expires', String(past), '--data', dataDir]);
    const p = r.stdout.trim();
    assert.match(p, tokenRe);
    const res = await get(port, p);
    assert.equal(res.status, 403);
    assert.match(res.text, /expired/);
    const row = await pollUntil(async () => {
      const r2 = await request(port, 'GET', '/api/v1/access/refusals?reason=URL_EXPIRED');
      const items = r2.json().items ?? r2.json().data ?? r2.json();
      return Array.isArray(items) && items.length ? items[0] : false;
    }, { timeoutMs: 20000 });
    assert.equal(row.value.reason, 'URL_EXPIRED');
    assert.equal(row.value.username, U);
    const fresh = (await cliOk(['signing', 'url', U, 'movie', `${movie[5]}.${movie[6]}`, '--data', dataDir])).stdout.trim();
    assert.ok([200, 206].includes(await status(fresh)), 'a CLI-minted URL plays');
    const m = await get(port, '/metrics');
    assert.match(m.text, /xtreamd_signed_url_checks_total\{result="expired"\} [1-9]/);
    assert.match(m.text, /xtreamd_signed_url_checks_total\{result="wrong_stream"\} [1-9]/);
    assert.match(m.text, /xtreamd_signed_url_checks_total\{result="ok"\} [1-9]/);
  });

  it('binds to the client /24: another /24 is refused, the same /24 accepted', async () => {
    const movie = tokenRe.exec(urls.map(pathOf).find((x) => x.startsWith('/movie/')));
    const mint = async (ip) => (await cliOk(['signing', 'url', U, 'movie', `${movie[5]}.${movie[6]}`, '--ip', ip, '--data', dataDir])).stdout.trim();
    assert.ok([200, 206].includes(await status(await mint('127.0.0.77'))), 'same /24');
    assert.equal(await status(await mint('192.0.2.1')), 401, 'another /24');
    await patchSettings({ signed_url_bind_ip: 1 });
    const bound = await playlistWhen((u) => u.every((x) => /~1~[A-Za-z0-9_-]{43}\//.test(x)), { key: 'movie' });
    const p = pathOf(bound[0]);
    assert.ok([200, 206].includes(await status(p)), 'from the address it was handed to');
    assert.equal(await status(p, { localAddress: '127.0.1.1' }), 401, 'from 127.0.1.1 (another /24)');
    // Handed to 127.0.1.1: its own playlist works there only.
    const other = await playlist({ key: 'movie' }, { localAddress: '127.0.1.1' });
    assert.ok([200, 206].includes(await status(pathOf(other[0]), { localAddress: '127.0.1.9' })));
    assert.equal(await status(pathOf(other[0])), 401);
    await patchSettings({ signed_url_bind_ip: 0 });
    await playlistWhen((u) => u.every((x) => /~0~[A-Za-z0-9_-]{43}\//.test(x)), { key: 'movie' });
  });

  it('binds an IPv6 client to its /64 (through a trusted proxy): another /64 is refused, the same /64 accepted', async () => {
    const movie = tokenRe.exec(urls.map(pathOf).find((x) => x.startsWith('/movie/')));
    const rule = await request(port, 'POST', '/api/v1/access/rules', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'trusted_proxy', value: '127.0.0.9' }) });
    assert.equal(rule.status, 201, rule.text);
    const p = (await cliOk(['signing', 'url', U, 'movie', `${movie[5]}.${movie[6]}`, '--ip', '2001:db8:7:8::1', '--data', dataDir])).stdout.trim();
    const from = (xff) => status(p, { localAddress: '127.0.0.9', headers: { Range: 'bytes=0-99', 'X-Forwarded-For': xff } });
    // the proxy is believed once the snapshot has the rule
    await pollUntil(async () => [200, 206].includes(await from('2001:db8:7:8:ffff::2')), { timeoutMs: 20000 });
    assert.ok([200, 206].includes(await from('2001:db8:7:8::1')), 'the address it was minted for');
    assert.equal(await from('2001:db8:7:9::1'), 401, 'the next /64');
    assert.equal(await from('2001:db8:7::1'), 401, 'another /64 of the same /48');
    // the same header from a peer that is not a trusted proxy is not believed
    assert.equal(await status(p, { localAddress: '127.0.0.10', headers: { Range: 'bytes=0-99', 'X-Forwarded-For': '2001:db8:7:8::1' } }), 401);
    const del = await request(port, 'DELETE', `/api/v1/access/rules/${rule.json().id}`);
    assert.ok([200, 204].includes(del.status), del.text);
  });

  it('rotation (CLI, then the admin API): the previous key works within its grace, not after a rotation without grace', async () => {
    const before = (await playlist({ key: 'movie' })).map(pathOf);
    const old = before[0];
    const rot = await cliOk(['signing', 'rotate', '--data', dataDir]);
    const shown = JSON.parse(rot.stdout);
    assert.equal(shown.keys[0].id, 2);
    assert.equal(shown.keys[1].id, 1);
    assert.ok(shown.keys[1].valid_until > Date.now() / 1000, 'grace period');
    assert.ok(!rot.stdout.match(/[0-9a-f]{64}/), 'no key material printed');
    const after2 = await playlistWhen((u) => u.every((x) => tokenRe.exec(pathOf(x))[3] === '2'), { key: 'movie' });
    assert.ok([200, 206].includes(await status(pathOf(after2[0]))), 'new key');
    assert.ok([200, 206].includes(await status(old)), 'old key within its grace');
    await cliOk(['signing', 'set', '--grace', '0', '--data', dataDir]);
    const api = await request(port, 'POST', '/api/v1/settings/signing-key/rotate');
    assert.equal(api.status, 200, api.text);
    assert.deepEqual(api.json(), { key_id: 3, previous_key_grace: 0 });
    await playlistWhen((u) => u.every((x) => tokenRe.exec(pathOf(x))[3] === '3'), { key: 'movie' });
    assert.equal(await status(old), 401, 'key 1 revoked');
    assert.equal(await status(pathOf(after2[0])), 401, 'key 2 revoked (no grace)');
  });

  it('Enigma2 bouquets carry signed URLs too, and an HLS signed URL plays', async () => {
    const r = await get(port, `/get.php?${qs({ username: U, password: PW, type: 'enigma16', key: 'movie' })}`);
    assert.equal(r.status, 200);
    const paths = r.text.split('\n').filter((l) => l.startsWith('#SERVICE 4097:')).map((l) => pathOf(decodeURIComponent(l.split(':')[10])));
    assert.ok(paths.length > 0);
    for (const p of paths) assert.match(p, tokenRe);
    assert.ok(!r.text.includes(PW), 'no password in the bouquet');
    assert.ok([200, 206].includes(await status(paths[0])), 'a signed bouquet URL plays');
    const hls = (await playlist({ key: 'live', output: 'm3u8' })).map(pathOf).find((p) => p.endsWith(`/${chan}.m3u8`));
    assert.match(hls, tokenRe);
    const { value: pl } = await pollUntil(async () => {
      const x = await get(port, hls);
      return x.status === 200 && x.text.includes('#EXTINF') ? x : false;
    }, { timeoutMs: 60000, intervalMs: 250 });
    assert.match(pl.text, /^#EXTM3U/);
    assert.ok(!pl.text.includes(PW), 'no password in the media playlist');
  });

  it('turned off: plain URLs again; the CLI refuses bad input', async () => {
    await cliOk(['signing', 'set', '--enabled', 'off', '--data', dataDir]);
    const u = await playlistWhen((x) => x.every((y) => y.includes(`/${U}/${PW}/`)));
    assert.ok(u.length > 3);
    const bad = await runCli(['signing', 'url', U, 'radio', '1.ts', '--data', dataDir]);
    assert.equal(bad.code, 2);
    const noip = await runCli(['signing', 'url', U, 'movie', '1.mp4', '--ip', 'nope', '--data', dataDir]);
    assert.equal(noip.code, 1);
  });
});
