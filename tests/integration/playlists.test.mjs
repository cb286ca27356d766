// panel_api.php (§3.12), get.php (§5) and xmltv.php (§6).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseXmltv } from '@iptv/xmltv';
import { LINES, PW, seedDemo, seedLines } from './lib/fixture.mjs';
import { genLiveM3U, writeM3U } from './lib/gen.mjs';
import { assertAlive, get, getJson, head, qs } from './lib/http.mjs';
import { assertPlaylistMatches, expectedEntries, fetchCatalog, fetchPlaylist } from './lib/catalog.mjs';
import { cliOk, makeDataDir, removeDir, startServer } from './lib/server.mjs';
import { assertCategories, checkUserInfo } from './lib/shapes.mjs';

const U = LINES.open.user;
let dataDir, srv, port, base, cat;
const SPECIAL = 'Amp & Co <Lt> Gt \'Apos\' Ümlaut \\ back'; // a channel name that needs escaping
const QUOTED = 'Say "Hi", Then Bye'; // quotes and a comma in a display name

before(async () => {
  dataDir = await makeDataDir('pl');
  await seedDemo(dataDir);
  await seedLines(dataDir, ['open', 'news', 'tsonly', 'hlsonly', 'expired']);
  const gen = genLiveM3U({ channels: 24, groups: 3, prefix: 'Pl' });
  await cliOk(['import', 'm3u', '--data', dataDir, await writeM3U(dataDir, 'pl.m3u', gen.text)]);
  const special = `#EXTM3U\r\n#EXTINF:-1 tvg-id="special.amp.test" tvg-name="${SPECIAL}" tvg-logo="http://127.0.0.1:9/logo.png?a=1&b=2" group-title="Pl Special & Co",${SPECIAL}\r\nhttp://127.0.0.1:9/special.ts\r\n#EXTINF:-1 tvg-id="special.quote.test" group-title="Pl Special & Co",${QUOTED}\r\nhttp://127.0.0.1:9/quoted.ts\r\n`;
  await cliOk(['import', 'm3u', '--data', dataDir, await writeM3U(dataDir, 'special.m3u', special)]);
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

describe('panel_api.php', () => {
  it('user_info, reduced server_info, categories {live,movie,series}, available_channels keyed by stream id', async () => {
    const body = await getJson(port, `/panel_api.php?${qs({ username: U, password: PW })}`);
    const c = checkUserInfo(body.user_info, { username: U, password: PW });
    c.done();
    const si = body.server_info;
    assert.ok(si && typeof si === 'object', 'server_info');
    assert.equal(si.url, '127.0.0.1');
    assert.equal(si.port, String(port));
    assert.equal(typeof si.https_port, 'string');
    assert.equal(si.server_protocol, 'http');
    assert.ok(body.categories && typeof body.categories === 'object' && !Array.isArray(body.categories));
    assertCategories(body.categories.live, 'categories.live');
    assertCategories(body.categories.movie, 'categories.movie');
    assertCategories(body.categories.series, 'categories.series');
    assert.deepEqual(body.categories.live, cat.liveCats);
    assert.deepEqual(body.categories.movie, cat.vodCats);
    assert.deepEqual(body.categories.series, cat.seriesCats);
    const ac = body.available_channels;
    assert.ok(ac && typeof ac === 'object' && !Array.isArray(ac), 'available_channels is an object');
    for (const s of cat.live) {
      const e = ac[String(s.stream_id)];
      assert.ok(e, `available_channels lacks live stream ${s.stream_id}`);
      assert.equal(Number(e.stream_id), s.stream_id);
      assert.equal(e.name, s.name);
      assert.equal(String(e.category_id), s.category_id);
      for (const f of ['num', 'name', 'stream_type', 'stream_id', 'stream_icon', 'epg_channel_id', 'added', 'category_name', 'category_id', 'tv_archive', 'direct_source', 'tv_archive_duration']) {
        assert.ok(f in e, `available_channels[${s.stream_id}] lacks ${f}`);
      }
      assert.equal(e.category_name, cat.liveCats.find((x) => x.category_id === s.category_id).category_name);
    }
    for (const [k, e] of Object.entries(ac)) assert.equal(String(e.stream_id), k, 'keyed by its own stream id');
  });

  it('bad credentials → 401, expired → 403', async () => {
    assert.equal((await get(port, `/panel_api.php?${qs({ username: U, password: 'x' })}`)).status, 401);
    assert.equal((await get(port, `/panel_api.php?${qs({ username: LINES.expired.user, password: PW })}`)).status, 403);
  });
});

/** The guide URL an m3u_plus playlist announces on its header line (docs/api.md, xtream-api.md §5.3). */
function guideUrl(text) {
  const m = /^#EXTM3U url-tvg="([^"]*)" x-tvg-url="([^"]*)"\r\n/.exec(text);
  assert.ok(m, `first line: ${text.slice(0, 200)}`);
  assert.equal(m[1], m[2], 'url-tvg and x-tvg-url agree');
  return m[1];
}

describe('get.php', () => {
  it('default type is m3u_plus: headers, CRLF, #EXTM3U url-tvg/x-tvg-url, entries match the catalogue', async () => {
    const { r, playlist } = await fetchPlaylist(port, U, PW);
    assert.equal(r.headers['content-type'], 'audio/x-mpegurl');
    assert.match(r.headers['content-disposition'] || '', /^attachment; ?filename="tv_channels_alice_plus\.m3u"$/);
    assert.ok(!/(^|[^\r])\n/.test(r.text), 'every line ends with CRLF');
    assert.ok(r.text.endsWith('\r\n'));
    const epg = `${base}/xmltv.php?username=${U}&password=${PW}`;
    const lines = r.text.split('\r\n');
    assert.equal(lines[0], `#EXTM3U url-tvg="${epg}" x-tvg-url="${epg}"`);
    assert.equal(guideUrl(r.text), epg);
    assert.equal(playlist.header.attrs['url-tvg'], epg);
    assert.equal(playlist.header.attrs['x-tvg-url'], epg);
    for (const [i, l] of lines.entries()) {
      if (!l.startsWith('#EXTINF')) continue;
      // Live entries carry tvg-id (even empty); movies and episodes none.
      const tvgId = lines[i + 1].includes('/live/') ? 'tvg-id="[^"]*" ' : '';
      assert.match(l, new RegExp(`^#EXTINF:-1 ${tvgId}tvg-name="[^"]*" tvg-logo="[^"]*" group-title="[^"]*",[^\r\n]+$`), `m3u_plus entry form: ${l}`);
    }
    assertPlaylistMatches(playlist.items, expectedEntries(cat, base, U, PW));
    if (r.headers['content-length'] !== undefined) assert.equal(Number(r.headers['content-length']), r.raw.length);
  });

  it('explicit type=m3u_plus&output=ts equals the default', async () => {
    const a = await fetchPlaylist(port, U, PW);
    const b = await fetchPlaylist(port, U, PW, { type: 'm3u_plus', output: 'ts' });
    assert.equal(b.r.text, a.r.text);
    const c = await fetchPlaylist(port, U, PW, { type: 'm3u_plus', output: 'mpegts' });
    assert.equal(c.r.text, a.r.text, 'mpegts is an alias of ts');
  });

  it('live entries follow get_live_streams order; episodes come after live and movies', async () => {
    const { playlist } = await fetchPlaylist(port, U, PW);
    const urls = playlist.items.map((i) => i.url);
    const liveUrls = urls.filter((x) => x.includes('/live/'));
    assert.deepEqual(liveUrls, cat.live.map((s) => `${base}/live/${U}/${PW}/${s.stream_id}.ts`));
    const lastNonEpisode = Math.max(...urls.map((x, i) => (x.includes('/series/') ? -1 : i)));
    const firstEpisode = urls.findIndex((x) => x.includes('/series/'));
    assert.ok(firstEpisode > lastNonEpisode, 'series episodes are appended after live and VOD items');
  });

  for (const output of ['m3u8', 'hls']) {
    it(`output=${output} → live URLs end in .m3u8; VOD keeps its container`, async () => {
      const { playlist } = await fetchPlaylist(port, U, PW, { type: 'm3u_plus', output });
      assertPlaylistMatches(playlist.items, expectedEntries(cat, base, U, PW, { ext: 'm3u8' }));
    });
  }

  it('unknown output → 400', async () => {
    for (const output of ['flv', 'rtmp2', 'TS ']) {
      const r = await get(port, `/get.php?${qs({ username: U, password: PW, type: 'm3u_plus', output })}`);
      assert.equal(r.status, 400, `output=${output}`);
    }
  });

  it('type=m3u: bare #EXTINF:-1,Name entries, filename tv_channels_<user>.m3u', async () => {
    const { r, playlist } = await fetchPlaylist(port, U, PW, { type: 'm3u', output: 'ts' });
    assert.match(r.headers['content-disposition'] || '', /filename="tv_channels_alice\.m3u"/);
    const lines = r.text.split('\r\n');
    assert.equal(lines[0], '#EXTM3U');
    for (const l of lines.filter((x) => x.startsWith('#EXTINF'))) assert.match(l, /^#EXTINF:-1,[^\r\n]+$/, l);
    const exp = expectedEntries(cat, base, U, PW).map((e) => ({ ...e, tvgId: '', tvgName: '', logo: '', group: '' }));
    assertPlaylistMatches(playlist.items, exp);
  });

  it('base URL comes from the Host header when no --public-url', async () => {
    const host = 'tv.example.test:8181';
    const { r, playlist } = await fetchPlaylist(port, U, PW, {}, { Host: host });
    assert.ok(playlist.items.length > 0);
    for (const it of playlist.items) assert.ok(it.url.startsWith(`http://${host}/`), it.url);
    assert.equal(guideUrl(r.text), `http://${host}/xmltv.php?username=${U}&password=${PW}`);
  });

  it('an invalid Host header is never echoed into the playlist, XMLTV or server_info', async () => {
    const evil = 'a"b<c>&d';
    const r = await get(port, `/get.php?${qs({ username: U, password: PW })}`, { headers: { Host: evil } });
    assert.ok(r.status === 400 || r.status === 200, `get.php with Host ${evil} → ${r.status}`);
    assert.ok(!r.text.includes('a"b') && !r.text.includes('<c>'), 'Host header injected into the M3U');
    const x = await get(port, `/xmltv.php?${qs({ username: U, password: PW })}`, { headers: { Host: evil } });
    if (x.status === 200) assert.equal(XMLValidator.validate(x.text), true, 'XMLTV broken by the Host header');
    const l = await get(port, `/player_api.php?${qs({ username: U, password: PW })}`, { headers: { Host: evil } });
    if (l.status === 200) assert.ok(!/[<>"&]/.test(l.json().server_info.url), `server_info.url ${l.json().server_info.url}`);
  });

  it('attribute values never contain a raw double quote or line break', async () => {
    const { r } = await fetchPlaylist(port, U, PW);
    const special = r.text.split('\r\n').find((l) => l.includes('special.amp.test'));
    assert.ok(special, 'special channel present');
    assert.match(special, /tvg-logo="http:\/\/127\.0\.0\.1:9\/logo\.png\?a=1&b=2"/);
    assert.ok(special.endsWith(`,${SPECIAL}`), special);
    const quoted = r.text.split('\r\n').find((l) => l.includes('special.quote.test'));
    assert.match(quoted, /^#EXTINF:-1 tvg-id="special\.quote\.test" tvg-name="[^"]*" tvg-logo="[^"]*" group-title="[^"]*",/, quoted);
    assert.ok(quoted.endsWith(`,${QUOTED}`), `the display name after the comma is kept as is: ${quoted}`);
  });

  it('restricted line: only its bouquet, and the ts-only line still gets a playlist', async () => {
    const newsCat = cat.liveCats.find((c) => c.category_name === 'Demo News');
    const { playlist } = await fetchPlaylist(port, LINES.news.user, PW);
    assert.ok(playlist.items.length > 0);
    const expected = cat.live.filter((s) => s.category_id === newsCat.category_id).map((s) => `${base}/live/${LINES.news.user}/${PW}/${s.stream_id}.ts`);
    assert.deepEqual(playlist.items.map((i) => i.url).sort(), expected.sort());
    const ts = await fetchPlaylist(port, LINES.tsonly.user, PW);
    assert.ok(ts.playlist.items.length > 0);
  });

  it('bad credentials → 401; expired → 403; server alive', async () => {
    assert.equal((await get(port, `/get.php?${qs({ username: U, password: 'x', type: 'm3u_plus' })}`)).status, 401);
    assert.equal((await get(port, `/get.php?${qs({ username: LINES.expired.user, password: PW, type: 'm3u_plus' })}`)).status, 403);
    assert.equal((await get(port, `/get.php?${qs({ type: 'm3u_plus' })}`)).status, 401);
    await assertAlive(srv);
  });

  it('HEAD get.php: same status and headers, no body', async () => {
    const t = `/get.php?${qs({ username: U, password: PW })}`;
    const g = await get(port, t);
    const h = await head(port, t);
    assert.equal(h.status, 200);
    assert.equal(h.raw.length, 0);
    assert.equal(h.headers['content-type'], g.headers['content-type']);
    assert.equal(h.headers['content-disposition'], g.headers['content-disposition']);
    if (g.headers['content-length'] !== undefined) assert.equal(h.headers['content-length'], g.headers['content-length']);
  });
});

describe('--public-url', () => {
  it('get.php and server_info use --public-url as the base', async () => {
    const dir = await makeDataDir('pub');
    let s2;
    try {
      await seedDemo(dir);
      await seedLines(dir, ['open']);
      s2 = await startServer(dir, ['--public-url', 'http://tv.example.test:8080']);
      const { r, playlist } = await fetchPlaylist(s2.port, U, PW);
      assert.ok(playlist.items.length > 0);
      for (const it of playlist.items) assert.ok(it.url.startsWith('http://tv.example.test:8080/'), it.url);
      assert.equal(guideUrl(r.text), `http://tv.example.test:8080/xmltv.php?username=${U}&password=${PW}`);
      const login = await getJson(s2.port, `/player_api.php?${qs({ username: U, password: PW })}`);
      assert.equal(login.server_info.url, 'tv.example.test');
      assert.equal(login.server_info.port, '8080');
      assert.equal(login.server_info.server_protocol, 'http');
    } finally {
      try {
        if (s2) await s2.stopClean();
      } finally {
        await removeDir(dir);
      }
    }
  });
});

describe('xmltv.php', () => {
  const fxp = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => ['channel', 'programme', 'display-name', 'icon'].includes(n) });

  async function fetchXmltv(u) {
    const r = await get(port, `/xmltv.php?${qs({ username: u, password: PW })}`);
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.match(r.headers['content-type'] || '', /^(application|text)\/xml\b/);
    const v = XMLValidator.validate(r.text);
    assert.equal(v, true, `XMLTV is not well-formed: ${JSON.stringify(v)}`);
    const doc = fxp.parse(r.text);
    assert.ok(doc.tv !== undefined, 'root element is <tv>');
    const parsed = parseXmltv(r.text); // the @iptv/xmltv client must accept it
    // A <channel> without programme makes XMLTV validators reject the guide:
    // every listed channel has one, every programme's channel is listed.
    const withProg = new Set((doc.tv?.programme ?? []).map((p) => p['@channel']));
    const listed = new Set((doc.tv?.channel ?? []).map((c) => c['@id']));
    for (const id of listed) assert.ok(withProg.has(id), `channel ${id} is listed without a programme`);
    for (const id of withProg) assert.ok(listed.has(id), `programmes of ${id} without its <channel>`);
    return { r, channels: doc.tv?.channel ?? [], parsed, withProg };
  }

  it('valid XMLTV with one <channel> per mapped channel of the line that has programmes, names escaped', async () => {
    const { channels, parsed } = await fetchXmltv(U);
    const expected = new Map();
    for (const s of cat.live) if (s.epg_channel_id) expected.set(s.epg_channel_id, s);
    const got = channels.map((c) => c['@id']);
    assert.equal(new Set(got).size, got.length, 'channel ids are unique');
    for (const id of got) assert.ok(expected.has(id), `channel ${id} is a mapped channel of the line`);
    assert.ok(got.length > 0 && got.every((id) => id.endsWith('.xtreamd')), `the demo guide's channels: ${got.join(' ')}`);
    assert.ok(!got.includes('special.amp.test'), 'a mapped channel without programme is left out');
    for (const c of channels) {
      const s = expected.get(c['@id']);
      const names = c['display-name'].map((d) => (typeof d === 'object' ? d['#text'] : String(d)));
      assert.ok(names.includes(s.name), `channel ${c['@id']} display-name ${JSON.stringify(names)} != ${s.name}`);
      if (s.stream_icon) assert.equal(c.icon?.[0]?.['@src'], s.stream_icon, `channel ${c['@id']} icon`);
    }
    assert.equal(parsed.channels.length, channels.length);
  });

  it('restricted line: only its bouquet\'s channels', async () => {
    const newsCat = cat.liveCats.find((c) => c.category_name === 'Demo News');
    const { channels } = await fetchXmltv(LINES.news.user);
    const all = await fetchXmltv(U);
    const expected = cat.live.filter((s) => s.category_id === newsCat.category_id && s.epg_channel_id && all.withProg.has(s.epg_channel_id))
      .map((s) => s.epg_channel_id);
    assert.ok(expected.length > 0);
    assert.deepEqual(channels.map((c) => c['@id']).sort(), [...new Set(expected)].sort());
  });

  it('bad credentials → 401; expired → 403', async () => {
    assert.equal((await get(port, `/xmltv.php?${qs({ username: U, password: 'x' })}`)).status, 401);
    assert.equal((await get(port, `/xmltv.php?${qs({ username: LINES.expired.user, password: PW })}`)).status, 403);
  });
});
