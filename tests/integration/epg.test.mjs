// EPG: XMLTV sources (plain, gzip, several priorities, UTC offsets, a DST
// change, a malformed document) imported with the CLI, then every guide
// output checked with clients no one here wrote: tv_validate_file (xmltv-util)
// and @iptv/xmltv on xmltv.php, @iptv/xtream-api (standardized serializer)
// on get_short_epg / get_simple_data_table, plus the raw wire types.
process.env.TZ = 'UTC'; // @iptv/xtream-api parses "YYYY-MM-DD HH:MM:SS" as local time

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseXmltv } from '@iptv/xmltv';
import { Xtream } from '@iptv/xtream-api';
import { standardizedSerializer } from '@iptv/xtream-api/standardized';
import { PW } from './lib/fixture.mjs';
import { get, getJson } from './lib/http.mjs';
import { cliOk, makeDataDir, removeDir, runCli, startServer } from './lib/server.mjs';

const run = promisify(execFile);
const U = 'epg.all';
const LIM = 'epg.sport';
const HOUR = 3600;

const NOW = Math.floor(Date.now() / 1000);
const BASE = NOW - (NOW % HOUR) - 6 * HOUR; // programmes from 6 h ago

/** "YYYYMMDDHHMMSS +HHMM" of a UTC time shown in a zone offset by offMin. */
function xt(utc, offMin = 0) {
  const d = new Date((utc + offMin * 60) * 1000);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const sign = offMin < 0 ? '-' : '+';
  const a = Math.abs(offMin);
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())} ${sign}${p(Math.floor(a / 60))}${p(a % 60)}`;
}
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Programmes: [{ ch, start, stop, title, desc, off }] -> XMLTV text. */
function xmltvDoc(channels, progs) {
  let s = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv>\n';
  for (const [id, name] of channels) s += `<channel id="${id}"><display-name>${esc(name)}</display-name></channel>\n`;
  for (const p of progs) {
    s += `<programme start="${xt(p.start, p.off ?? 0)}" stop="${xt(p.stop, p.off ?? 0)}" channel="${p.ch}">`;
    s += `<title lang="en">${esc(p.title)}</title><desc>${esc(p.desc ?? '')}</desc></programme>\n`;
  }
  return s + '</tv>\n';
}

/** count hourly programmes on ch from BASE, titles prefix+i. */
function hourly(ch, prefix, count, off = 0, len = HOUR) {
  return Array.from({ length: count }, (_, i) => ({
    ch, start: BASE + i * len, stop: BASE + (i + 1) * len, title: `${prefix} ${i}`, desc: `${prefix} — détail ${i} <&>`, off,
  }));
}

/** The last Sunday of March next year, 01:00 UTC: the EU DST change. */
function nextDst() {
  const y = new Date(NOW * 1000).getUTCFullYear() + 1;
  const d = new Date(Date.UTC(y, 2, 31, 1));
  d.setUTCDate(31 - d.getUTCDay());
  return d.getTime() / 1000;
}
const DST = nextDst();

/**
 * Every programme starts and ends on the hour. A test that compares what is
 * airing at its `now` with what the server says at each request must not run
 * across an hour change: if one is less than `ms` away, wait until it passed.
 */
async function clearOfProgrammeChange(ms = 30000) {
  const toNext = HOUR * 1000 - (Date.now() % (HOUR * 1000));
  if (toNext < ms) await sleep(toNext + 1000);
}

const expected = {}; // channel id -> programmes as served (UTC)
let dataDir;
let srv;
let port;
let sources;

async function setup() {
  dataDir = await makeDataDir('epg');
  await cliOk(['demo', '--data', dataDir]);
  const m3u = ['#EXTM3U',
    '#EXTINF:-1 tvg-id="news1.test" group-title="News",News One', 'http://127.0.0.1:9/news1',
    '#EXTINF:-1 tvg-id="sport.test" group-title="Sport",Sport Zone', 'http://127.0.0.1:9/sport',
    '#EXTINF:-1 group-title="Sport",Télé Été HD', 'http://127.0.0.1:9/tele',
    '#EXTINF:-1 group-title="Movies",CANAL CINEMA fhd', 'http://127.0.0.1:9/canal',
    '#EXTINF:-1 tvg-id="berlin.de" group-title="News",Berlin Eins', 'http://127.0.0.1:9/berlin',
    '#EXTINF:-1 tvg-id="keep.test" group-title="News",Keep Channel', 'http://127.0.0.1:9/keep',
    '#EXTINF:-1 group-title="News",Canal Cinema Plus', 'http://127.0.0.1:9/nothing',
  ].join('\r\n') + '\r\n';
  const m3uPath = path.join(dataDir, 'live.m3u');
  await writeFile(m3uPath, m3u);
  await cliOk(['import', 'm3u', m3uPath, '--data', dataDir]);

  // Source A: plain, priority 0, several zones.
  const aProgs = [
    ...hourly('news1.test', 'A news', 30),
    ...hourly('sport.test', 'Sport', 30, 330), // +0530
    ...hourly('tele.fr', 'Tele', 30, -300), // -0500
    ...hourly('canalcinema.fr', 'Cinema', 30, 60),
    // Berlin: hourly across the spring-forward, written in local time.
    ...Array.from({ length: 6 }, (_, i) => {
      const start = DST - 3 * HOUR + i * HOUR;
      const stop = start + HOUR;
      return { ch: 'berlin.de', start, stop, title: `Berlin ${i}`, off: start < DST ? 60 : 120 };
    }),
    ...hourly('berlin.de', 'Berlin now', 20, 60),
  ];
  await writeFile(path.join(dataDir, 'a.xml'), xmltvDoc(
    [['news1.test', 'News 1'], ['sport.test', 'Sport Zone'], ['tele.fr', 'Tele Ete'],
      ['canalcinema.fr', 'Canal Cinéma'], ['berlin.de', 'Berlin 1']], aProgs));
  // Source B: gzip, priority 10, overrides news1.test.
  const bProgs = hourly('news1.test', 'B news', 30, -480);
  await writeFile(path.join(dataDir, 'b.xml.gz'), gzipSync(xmltvDoc([['news1.test', 'News One']], bProgs)));
  // Source C: good first, malformed later.
  const cProgs = hourly('keep.test', 'Old guide', 30);
  await writeFile(path.join(dataDir, 'c.xml'), xmltvDoc([['keep.test', 'Keep']], cProgs));

  for (const p of [...aProgs.filter((p) => p.ch !== 'news1.test'), ...bProgs, ...cProgs]) {
    (expected[p.ch] ??= []).push(p);
  }
  for (const k of Object.keys(expected)) expected[k].sort((x, y) => x.start - y.start);

  await cliOk(['epg', 'add', 'A', path.join(dataDir, 'a.xml'), '--data', dataDir]);
  await cliOk(['epg', 'add', 'B', path.join(dataDir, 'b.xml.gz'), '--priority', '10', '--data', dataDir]);
  await cliOk(['epg', 'add', 'C', path.join(dataDir, 'c.xml'), '--refresh-hours', '0', '--data', dataDir]);
  await cliOk(['epg', 'import', '--data', dataDir]);

  // C turns malformed: the import fails with a position, the old guide stays.
  await writeFile(path.join(dataDir, 'c.xml'), xmltvDoc([['keep.test', 'Keep']], hourly('keep.test', 'New guide', 30))
    .replace('</title><desc>', '</titel><desc>'));
  const bad = await runCli(['epg', 'import', 'C', '--data', dataDir]);
  sources = { badImport: bad };

  // A playlist re-import must not lose the automatic mapping.
  await cliOk(['import', 'm3u', m3uPath, '--data', dataDir]);

  await cliOk(['bouquet', 'add', 'SportOnly', '--category', 'Sport', '--kind', 'live', '--data', dataDir]);
  await cliOk(['line', 'add', U, PW, '--data', dataDir]);
  await cliOk(['line', 'add', LIM, PW, '--bouquet', 'SportOnly', '--data', dataDir]);
  srv = await startServer(dataDir);
  port = srv.port;
}

async function liveStreams(user) {
  return getJson(port, `/player_api.php?username=${user}&password=${PW}&action=get_live_streams`);
}

async function xmltv(user, extra = '') {
  const r = await get(port, `/xmltv.php?username=${user}&password=${PW}${extra}`);
  assert.equal(r.status, 200);
  return r;
}

describe('EPG', () => {
  before(setup);
  after(async () => {
    if (srv) await srv.stopClean();
    await removeDir(dataDir);
  });

  it('a malformed document is rejected with line and column and the old guide stays', async () => {
    const bad = sources.badImport;
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /C: malformed XMLTV: line \d+, column \d+: mismatched tag/);
    const list = JSON.parse((await cliOk(['epg', 'list', '--json', '--data', dataDir])).stdout);
    const c = list.find((s) => s.name === 'C');
    assert.match(c.last_status, /line \d+, column \d+/);
    assert.equal(c.programmes, 30);
    const streams = await liveStreams(U);
    const keep = streams.find((s) => s.name === 'Keep Channel');
    const j = await getJson(port, `/player_api.php?username=${U}&password=${PW}&action=get_simple_data_table&stream_id=${keep.stream_id}`);
    assert.equal(j.epg_listings.length, 30);
    for (const l of j.epg_listings) assert.match(Buffer.from(l.title, 'base64').toString(), /^Old guide/);
  });

  it('automatic mapping matches case, accents and HD suffixes, and survives re-imports', async () => {
    const streams = await liveStreams(U);
    const by = Object.fromEntries(streams.map((s) => [s.name, s]));
    assert.equal(by['Télé Été HD'].epg_channel_id, 'tele.fr');
    assert.equal(by['CANAL CINEMA fhd'].epg_channel_id, 'canalcinema.fr');
    assert.equal(by['News One'].epg_channel_id, 'news1.test');
    assert.ok(!by['Canal Cinema Plus'].epg_channel_id);
    const un = JSON.parse((await cliOk(['epg', 'unmapped', '--json', '--data', dataDir])).stdout);
    const names = un.map((u) => u.name);
    assert.ok(names.includes('Canal Cinema Plus'), names.join(','));
    assert.ok(!names.includes('Télé Été HD'));
    const cp = un.find((u) => u.name === 'Canal Cinema Plus');
    assert.ok(cp.candidates.length > 0 && cp.candidates[0].id === 'canalcinema.fr', JSON.stringify(cp));
  });

  it('xmltv.php passes tv_validate_file and parses with @iptv/xmltv; times are UTC', async () => {
    const r = await xmltv(U, '&prev_days=1&next_days=7');
    assert.match(r.headers['content-type'], /application\/xml/);
    const file = path.join(dataDir, 'out.xml');
    await writeFile(file, r.raw);
    const v = await run('tv_validate_file', [file], { env: { ...process.env, XMLTV_SUPPLEMENT: '/usr/share/xmltv' } })
      .catch((e) => e);
    assert.ok(!(v instanceof Error), `tv_validate_file failed: ${v.stdout ?? ''}${v.stderr ?? ''}`);

    const doc = parseXmltv(r.text);
    const ids = new Set(doc.channels.map((c) => c.id));
    for (const id of ['news1.test', 'sport.test', 'tele.fr', 'canalcinema.fr', 'berlin.de', 'keep.test', 'demo-clock.xtreamd']) {
      assert.ok(ids.has(id), `channel ${id} missing`);
    }
    for (const ch of ['sport.test', 'tele.fr', 'news1.test', 'keep.test']) {
      const got = doc.programmes.filter((p) => p.channel === ch)
        .map((p) => [p.start.getTime() / 1000, p.stop.getTime() / 1000, p.title[0]._value]);
      const exp = expected[ch].filter((p) => p.start >= NOW - 86400 - 60 && p.start < NOW + 7 * 86400)
        .map((p) => [p.start, p.stop, p.title]);
      assert.deepEqual(got, exp, ch);
    }
    // Priority: B (10) wins over A for news1.test.
    assert.ok(doc.programmes.filter((p) => p.channel === 'news1.test').every((p) => p.title[0]._value.startsWith('B news')));
    assert.match(r.text, /start="\d{14} \+0000"/);
  });

  it('gzip forms give the same document', async () => {
    const plain = (await xmltv(U)).text;
    const gz1 = await get(port, `/epg/${U}/${PW}/gz`);
    assert.equal(gz1.status, 200);
    const gz2 = await get(port, `/xmltv.php?username=${U}&password=${PW}&gzip=1`);
    for (const g of [gz1, gz2]) {
      const text = gunzipSync(g.raw).toString();
      assert.equal(parseXmltv(text).programmes.length, parseXmltv(plain).programmes.length);
    }
    const path1 = await get(port, `/epg/${U}/${PW}`);
    assert.equal(path1.status, 200);
  });

  it('a line only sees its own channels', async () => {
    const doc = parseXmltv((await xmltv(LIM)).text);
    const ids = new Set(doc.channels.map((c) => c.id));
    assert.deepEqual([...ids].sort(), ['sport.test', 'tele.fr']);
    assert.ok(doc.programmes.every((p) => ids.has(p.channel)));
    const all = await liveStreams(U);
    const news = all.find((s) => s.name === 'News One');
    const j = await getJson(port, `/player_api.php?username=${LIM}&password=${PW}&action=get_short_epg&stream_id=${news.stream_id}`);
    assert.deepEqual(j, { epg_listings: [] });
  });

  it('@iptv/xtream-api reads short EPG and the full table of every channel', async () => {
    const x = new Xtream({ url: srv.base + '/', username: U, password: PW, serializer: standardizedSerializer });
    await clearOfProgrammeChange();
    const streams = await liveStreams(U);
    const now = Date.now();
    let checked = 0;
    for (const s of streams) {
      const short = await x.getShortEPG({ channelId: s.stream_id });
      const full = await x.getFullEPG({ channelId: s.stream_id });
      const exp = expected[s.epg_channel_id];
      if (!s.epg_channel_id || s.name.startsWith('Demo')) {
        if (s.name.startsWith('Demo')) assert.ok(full.length > 100, `demo guide for ${s.name}`);
        continue;
      }
      assert.ok(exp, `no expectation for ${s.name}`);
      assert.equal(full.length, exp.length, s.name);
      full.forEach((p, i) => {
        assert.equal(p.start.getTime() / 1000, exp[i].start, `${s.name} start ${i}`);
        assert.equal(p.end.getTime() / 1000, exp[i].stop, `${s.name} end ${i}`);
        assert.equal(p.title, Buffer.from(exp[i].title).toString('latin1'));
        assert.equal(p.nowPlaying, exp[i].start * 1000 <= now && now < exp[i].stop * 1000);
        assert.equal(p.channelId, s.epg_channel_id);
      });
      const future = exp.filter((p) => p.stop * 1000 > now + 5000);
      assert.equal(short.length, Math.min(4, future.length), s.name);
      short.forEach((p, i) => {
        assert.equal(p.start.getTime() / 1000, future[i].start);
        assert.equal(p.end.getTime() / 1000, future[i].stop);
      });
      checked++;
    }
    assert.ok(checked >= 6, `checked ${checked}`);
  });

  it('wire types of get_short_epg, get_simple_data_table and get_epg (spec §3.9–3.11)', async () => {
    const streams = await liveStreams(U);
    const sport = streams.find((s) => s.name === 'Sport Zone');
    const q = `/player_api.php?username=${U}&password=${PW}&stream_id=${sport.stream_id}`;
    const short = await getJson(port, `${q}&action=get_short_epg&limit=2`);
    assert.equal(short.epg_listings.length, 2);
    for (const l of short.epg_listings) {
      for (const k of ['id', 'epg_id', 'title', 'lang', 'start', 'end', 'description', 'channel_id', 'start_timestamp', 'stop_timestamp', 'stop']) {
        assert.equal(typeof l[k], 'string', k);
      }
      assert.match(l.start, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.match(l.end, /^\d+$/);
      assert.equal(l.end, l.stop_timestamp);
      assert.equal(Date.parse(l.start + 'Z') / 1000, Number(l.start_timestamp));
      assert.equal(Date.parse(l.stop + 'Z') / 1000, Number(l.stop_timestamp));
      assert.equal(l.lang, 'en');
      assert.match(Buffer.from(l.description, 'base64').toString(), /^Sport — détail \d+ <&>$/);
    }
    const table = await getJson(port, `${q}&action=get_simple_data_table`);
    const playing = table.epg_listings.filter((l) => l.now_playing === 1);
    assert.equal(playing.length, 1);
    for (const l of table.epg_listings) {
      assert.equal(typeof l.now_playing, 'number');
      assert.equal(typeof l.has_archive, 'number');
      assert.match(l.end, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    }
    const full = await getJson(port, `${q}&action=get_epg`);
    assert.ok(Array.isArray(full));
    assert.equal(typeof full[0].start, 'number');
    assert.equal(typeof full[0].end, 'number');
    const fromNow = await getJson(port, `${q}&action=get_epg&from_now=1`);
    assert.ok(fromNow.length < full.length && fromNow.every((l) => l.end > NOW));
    const multi = await getJson(port, `/player_api.php?username=${U}&password=${PW}&action=get_short_epg&stream_id=${sport.stream_id},999999`);
    assert.equal(multi.epg_listings[String(sport.stream_id)].length, 4);
    assert.deepEqual(multi.epg_listings['999999'], []);
  });

  it('times are right across a DST change (+0100 -> +0200)', async () => {
    const streams = await liveStreams(U);
    const b = streams.find((s) => s.name === 'Berlin Eins');
    const full = await getJson(port, `/player_api.php?username=${U}&password=${PW}&action=get_epg&stream_id=${b.stream_id}`);
    const dst = full.filter((l) => Buffer.from(l.title, 'base64').toString().match(/^Berlin \d$/));
    assert.equal(dst.length, 6);
    dst.forEach((l, i) => {
      assert.equal(l.start, DST - 3 * HOUR + i * HOUR);
      assert.equal(l.end, l.start + HOUR);
    });
  });
});
