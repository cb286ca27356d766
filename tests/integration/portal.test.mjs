// Issue 13 item 7: MAC-bound devices and the MAG portal (shared/docs
// wave2-research.md §E, xtream-api.md §8). A box's start-up sequence is
// replayed as a MAG sends it (its User-Agent and X-User-Agent, the mac
// cookie, the bearer token from the handshake) through get_profile, the
// genres, the ordered list and create_link, and the returned link is played
// and decoded with ffprobe (a lavfi channel). An unknown MAC is refused with a
// MAC_UNKNOWN refusal row; devices are managed with the CLI and the API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { request } from './lib/http.mjs';
import { LAVFI_SMALL, ffprobe, tsViewer } from './lib/live.mjs';

const PW = 'Pw.portal-1';
const MAC = '00:1A:79:00:00:01';
const POLL = { timeoutMs: 20000, intervalMs: 100 };
const UA = 'Mozilla/5.0 (QtEmbedded; U; Linux; C) AppleWebKit/533.3 (KHTML, like Gecko) MAG200 stbapp ver: 2 rev: 250 Safari/533.3';
let dataDir;
let srv;
let chan;

before(async () => {
  dataDir = await makeDataDir('portal');
  await cliOk(['demo', '--data', dataDir]); // movies, a series and a guide
  await cliOk(['line', 'add', 'hotel-room-12', PW, '--data', dataDir, '--max-connections', '0']);
  const r = await cliOk(['stream', 'add', 'Lobby TV', '--source', LAVFI_SMALL, '--category', 'Hotel', '--data', dataDir]);
  chan = Number(r.stdout.trim());
  // The MAC in another accepted form: stored upper case with colons.
  const add = await cliOk(['device', 'add', '--line', 'hotel-room-12', '--mac', '00-1a-79-00-00-01', '--model', 'MAG250', '--data', dataDir]);
  assert.match(add.stdout, /00:1A:79:00:00:01 bound to line hotel-room-12/);
  srv = await startServer(dataDir, ['--channel-idle', '3']);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

/** One portal call as a MAG box makes it. */
function box(endpoint, params, { mac = MAC, token, from } = {}) {
  const q = new URLSearchParams({ ...params, JsHttpRequest: '1-xml' });
  const headers = {
    'User-Agent': UA,
    'X-User-Agent': 'Model: MAG250; Link: Ethernet',
    Cookie: `mac=${encodeURIComponent(mac)}; stb_lang=en; timezone=Europe/Paris`,
    Referer: `http://127.0.0.1:${srv.port}/c/`,
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  return request(srv.port, 'GET', `${endpoint}?${q}`, { headers, adminToken: false, localAddress: from });
}

function js(res) {
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.match(res.headers['content-type'], /^text\/javascript/);
  assert.match(res.headers['cache-control'], /no-cache/);
  const body = res.json();
  assert.ok('js' in body, `a {"js": ...} body: ${res.text.slice(0, 200)}`);
  return body;
}

async function adminOk(method, target, body) {
  const res = await request(srv.port, method, target, {
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${target}: ${res.status} ${res.text.slice(0, 400)}`);
  return res.status === 204 ? null : res.json();
}

describe('a MAG box', () => {
  it('loads our own portal page at /c/', async () => {
    for (const p of ['/c/', '/stalker_portal/c/']) {
      const res = await request(srv.port, 'GET', p, { headers: { 'User-Agent': UA }, adminToken: false });
      assert.equal(res.status, 200, p);
      assert.match(res.headers['content-type'], /^text\/html/);
      assert.match(res.text, /portal\.php/);
      assert.match(res.text, /action=handshake/);
      assert.doesNotMatch(res.text, /Stalker Middleware|Infomir/i);
      // The page calls <its own directory>/portal.php: that route answers.
      assert.match(res.text, /location\.pathname\.replace\(\/\\\/\(index\\\.html\)\?\$\/, ''\) \+ '\/portal\.php'/);
      const api = `${p.replace(/\/(index\.html)?$/, '')}/portal.php`;
      assert.match(js(await box(api, { type: 'stb', action: 'handshake' })).js.token, /^[0-9a-f]{32}$/, api);
    }
  });

  it('replays the start-up sequence to a link that ffprobe decodes', async (t) => {
    // The portal is reached under every URL boxes use; the sequence runs on /portal.php.
    const hs = js(await box('/portal.php', { type: 'stb', action: 'handshake', token: '', prehash: '0' }));
    const token = hs.js.token;
    assert.match(token, /^[0-9a-f]{32}$/);

    const prof = js(await box('/portal.php', { type: 'stb', action: 'get_profile', hd: '1', sn: '0123456789ABC', stb_type: 'MAG250', ver: 'ImageDescription: 0.2.18-r14-pub-250', device_id: '', device_id2: '', signature: '', auth_second_step: '1', not_valid_token: '0', hw_version: '1.7-BD-00' }, { token }));
    assert.equal(prof.js.status, 0);
    assert.equal(prof.js.mac, MAC);
    assert.equal(typeof prof.js.watchdog_timeout, 'number');
    assert.equal(prof.js.timeslot, 40);
    assert.equal(prof.js.store_auth_data_on_stb, false);

    const acct = js(await box('/portal.php', { type: 'account_info', action: 'get_main_info' }, { token }));
    assert.equal(acct.js.mac, MAC);
    assert.equal(acct.js.phone, 'Unlimited');

    const genres = js(await box('/server/load.php', { type: 'itv', action: 'get_genres' }, { token }));
    assert.equal(genres.js[0].id, '*');
    const hotel = genres.js.find((g) => g.title === 'Hotel');
    assert.ok(hotel, JSON.stringify(genres.js));
    assert.equal(typeof hotel.id, 'string');

    const list = js(await box('/stalker_portal/server/load.php', { type: 'itv', action: 'get_ordered_list', genre: hotel.id, fav: '0', sortby: 'number', p: '1' }, { token }));
    assert.equal(list.js.total_items, 1);
    assert.equal(list.js.max_page_items, 14);
    assert.equal(list.js.cur_page, 1);
    const ch = list.js.data[0];
    assert.equal(ch.id, chan);
    assert.equal(ch.name, 'Lobby TV');
    assert.equal(typeof ch.number, 'string', 'number is a string (pvr.stalker reads it with asCString)');
    assert.match(ch.cmd, /^ffmpeg http:\/\/localhost\/ch\/\d+_$/);
    assert.equal(ch.tv_genre_id, hotel.id);

    const all = js(await box('/portal.php', { type: 'itv', action: 'get_all_channels' }, { token }));
    assert.ok(all.js.data.some((c) => c.id === chan));
    assert.equal(all.js.total_items, all.js.data.length);

    const link = js(await box('/portal.php', { type: 'itv', action: 'create_link', cmd: ch.cmd, forced_storage: 'undefined', disable_ad: '0' }, { token }));
    assert.equal(link.js.error, '');
    assert.equal(link.streamer_id, 0, 'the keys beside js');
    const url = link.js.cmd.replace(/^[^ ]* /, '');
    assert.match(url, /\/play\/[0-9a-f]+$/);
    assert.ok(!url.includes(PW), 'the link never carries the password');

    const target = new URL(url).pathname;
    const v = await tsViewer(srv.port, target);
    assert.equal(v.status, 200);
    assert.equal(v.headers['content-type'], 'video/mp2t');
    // A cold channel: wait for 200 KB of TS on a loaded machine, then decode it.
    await pollUntil(() => v.bytes > 200000 || v.ended, { timeoutMs: 60000, intervalMs: 100 });
    v.close();
    const f = path.join(dataDir, 'portal.ts');
    await writeFile(f, v.buffer());
    const probe = await ffprobe(f);
    t.diagnostic(`codecs ${probe.streams.map((s) => s.codec_name)}`);
    assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);

    const ev = js(await box('/portal.php', { type: 'watchdog', action: 'get_events', init: '0', cur_play_type: '1', event_active_id: '0' }, { token }));
    assert.deepEqual(ev.js, { data: { msgs: 0, additional_services_on: 1 } });
    const out = js(await box('/portal.php', { type: 'stb', action: 'logout' }, { token }));
    assert.equal(out.js, true);
  });

  it('refuses a call without the bearer token, and a forged or expired play link', async () => {
    const res = await box('/portal.php', { type: 'itv', action: 'get_genres' });
    assert.equal(res.text, 'Authorization failed.');
    const bad = await request(srv.port, 'GET', `/play/${'ab'.repeat(39)}`, { adminToken: false });
    assert.equal(bad.status, 403);
  });

  it('refuses an unknown MAC with status 1 and a MAC_UNKNOWN refusal row', async () => {
    const other = '00:1A:79:FF:FF:FE';
    const hs = js(await box('/portal.php', { type: 'stb', action: 'handshake' }, { mac: other }));
    assert.match(hs.js.token, /^[0-9a-f]{32}$/, 'the same shape as for a known MAC');
    const prof = js(await box('/portal.php', { type: 'stb', action: 'get_profile', sn: '1' }, { mac: other, token: hs.js.token }));
    assert.equal(prof.js.status, 1);
    assert.ok(prof.js.block_msg);
    const genres = await box('/portal.php', { type: 'itv', action: 'get_genres' }, { mac: other, token: hs.js.token });
    assert.equal(genres.text, 'Authorization failed.');
    const { value: row } = await pollUntil(async () => {
      const r = await adminOk('GET', '/api/v1/access/refusals?reason=MAC_UNKNOWN');
      return r.items.find((x) => x.detail?.includes(other));
    }, POLL);
    assert.equal(row.route, '/portal.php');
    assert.equal(row.ip, '127.0.0.1');
    assert.equal(row.user_agent, UA);
  });

  it('stb do_auth with an unknown MAC answers false, as a wrong login does; without the token a bound and an unknown MAC get the same refusal', async () => {
    const other = '00:1A:79:FF:FF:FD';
    const hs = js(await box('/portal.php', { type: 'stb', action: 'handshake' }, { mac: other }));
    const auth = js(await box('/portal.php', { type: 'stb', action: 'do_auth', login: 'hotel-room-12', password: PW }, { mac: other, token: hs.js.token }));
    assert.equal(auth.js, false, 'an unknown MAC is not bound by logging in');
    const { value: row } = await pollUntil(async () => {
      const r = await adminOk('GET', '/api/v1/access/refusals?reason=MAC_UNKNOWN');
      return r.items.find((x) => x.detail?.includes(other));
    }, POLL);
    assert.equal(row.route, '/portal.php');
    // no bearer token: the answer does not tell whether the MAC is bound
    for (const mac of [MAC, other]) {
      for (const action of ['get_profile', 'do_auth']) {
        const res = await box('/portal.php', { type: 'stb', action, login: 'hotel-room-12', password: PW }, { mac });
        assert.equal(res.status, 200);
        assert.equal(res.text, 'Authorization failed.', `${mac} ${action}`);
      }
    }
  });
});

describe('global access rules', () => {
  it('a denied address is refused before its MAC is looked at, with its refusal row', async () => {
    const rule = await adminOk('POST', '/api/v1/access/rules', { kind: 'ip_deny', value: '127.0.0.9/32', note: 'portal test' });
    try {
      let last;
      await pollUntil(async () => {
        last = await box('/portal.php', { type: 'stb', action: 'handshake' }, { from: '127.0.0.9' });
        return last.status === 403;
      }, POLL);
      assert.match(last.text, /access denied \(IP_DENIED\)/);
      // The same box from another address is served.
      js(await box('/portal.php', { type: 'stb', action: 'handshake' }, { from: '127.0.0.8' }));
      const { value: row } = await pollUntil(async () => {
        const r = await adminOk('GET', '/api/v1/access/refusals?reason=IP_DENIED&ip=127.0.0.9');
        return r.items[0];
      }, POLL);
      assert.equal(row.route, '/portal.php');
    } finally {
      await adminOk('DELETE', `/api/v1/access/rules/${rule.id}`);
    }
  });
});

describe('guide, movies and series', () => {
  let token;
  before(async () => {
    token = js(await box('/portal.php', { type: 'stb', action: 'handshake' })).js.token;
  });
  const call = async (params) => js(await box('/portal.php', params, { token })).js;

  it('get_short_epg and get_epg_info come from the guide', async () => {
    const all = await call({ type: 'itv', action: 'get_all_channels' });
    const withGuide = all.data.filter((c) => c.xmltv_id);
    assert.ok(withGuide.length > 0, 'the demo maps its channels to its guide');
    const ch = withGuide[0];
    const short = await call({ type: 'itv', action: 'get_short_epg', ch_id: String(ch.id), size: '3' });
    assert.equal(short.length, 3, JSON.stringify(short).slice(0, 300));
    const now = Date.now() / 1000;
    assert.ok(short[0].start_timestamp <= now && short[0].stop_timestamp > now, 'the first is on air');
    for (const p of short) {
      assert.equal(p.ch_id, String(ch.id));
      assert.match(p.time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.match(p.t_time, /^\d\d:\d\d$/);
      assert.equal(p.duration, p.stop_timestamp - p.start_timestamp);
      assert.equal(p.real_id, `${ch.id}_${p.start_timestamp}`);
      assert.ok(p.name);
    }
    const info = await call({ type: 'itv', action: 'get_epg_info', period: '2' });
    const progs = info.data[String(ch.id)];
    assert.ok(Array.isArray(progs) && progs.length >= 1, JSON.stringify(info).slice(0, 300));
    assert.ok(progs.every((p) => p.start_timestamp < now + 2 * 3600));
  });

  it('vod categories, ordered list and a movie link that plays', async () => {
    const cats = await call({ type: 'vod', action: 'get_categories' });
    assert.equal(cats[0].id, '*');
    const demo = cats.find((c) => c.title === 'Demo Movies');
    assert.ok(demo, JSON.stringify(cats));
    const list = await call({ type: 'vod', action: 'get_ordered_list', category: demo.id, p: '1', sortby: 'added' });
    assert.equal(list.total_items, 4);
    assert.equal(list.data.length, 4);
    const m = list.data[0];
    assert.equal(m.is_movie, 1);
    const link = await call({ type: 'vod', action: 'create_link', cmd: m.cmd });
    assert.equal(link.error, '');
    const url = new URL(link.cmd.replace(/^[^ ]* /, ''));
    const res = await request(srv.port, 'GET', url.pathname, { headers: { Range: 'bytes=0-99' }, adminToken: false });
    assert.equal(res.status, 206, res.text.slice(0, 200));
    assert.equal(res.raw.length, 100);
  });

  it('series categories, seasons and an episode link', async () => {
    const cats = await call({ type: 'series', action: 'get_categories' });
    const demo = cats.find((c) => c.title === 'Demo Series');
    assert.ok(demo, JSON.stringify(cats));
    const list = await call({ type: 'series', action: 'get_ordered_list', category: demo.id, p: '1' });
    assert.ok(list.total_items >= 1);
    const show = list.data[0];
    assert.equal(show.is_series, 1);
    const seasons = await call({ type: 'series', action: 'get_ordered_list', movie_id: show.id });
    assert.equal(seasons.total_items, 2, JSON.stringify(seasons).slice(0, 300));
    const s1 = seasons.data[0];
    assert.ok(s1.series.length >= 1);
    const link = await call({ type: 'vod', action: 'create_link', cmd: s1.cmd, series: String(s1.series[0]) });
    assert.equal(link.error, '');
    const url = new URL(link.cmd.replace(/^[^ ]* /, ''));
    const res = await request(srv.port, 'GET', url.pathname, { headers: { Range: 'bytes=0-99' }, adminToken: false });
    assert.equal(res.status, 206, res.text.slice(0, 200));
    const none = await call({ type: 'vod', action: 'create_link', cmd: s1.cmd, series: '999' });
    assert.equal(none.error, 'player_file_missing');
  });
});

/** Gives the first demo channel with a guide 2 days of archive (PATCH), once the snapshot has it. */
let archived;
async function archiveChannel(token) {
  if (archived) return archived;
  const all = js(await box('/portal.php', { type: 'itv', action: 'get_all_channels' }, { token })).js;
  const ch = all.data.find((c) => c.xmltv_id);
  assert.ok(ch, 'a demo channel with a guide');
  await adminOk('PATCH', `/api/v1/streams/${ch.id}`, { tv_archive_days: 2 });
  await pollUntil(async () => {
    const l = js(await box('/portal.php', { type: 'itv', action: 'get_all_channels' }, { token })).js;
    const c = l.data.find((x) => x.id === ch.id);
    return c.archive === 1 && c.tv_archive_duration === 48;
  }, POLL);
  archived = ch;
  return ch;
}

const ymd = (t) => new Date(t * 1000).toISOString().slice(0, 10);
const xcStart = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ':').replace(/:(\d\d)$/, '-$1');

describe('guide week, day table, catch-up links, do_auth and p=0', () => {
  let token;
  before(async () => {
    token = js(await box('/portal.php', { type: 'stb', action: 'handshake' })).js.token;
  });
  const call = async (params) => js(await box('/portal.php', params, { token })).js;

  it('epg get_week: 16 days back to 9 ahead, today marked', async () => {
    const week = await call({ type: 'epg', action: 'get_week' });
    assert.equal(week.length, 26);
    const today = week.filter((d) => d.today === 1);
    assert.equal(today.length, 1);
    assert.equal(today[0].f_mysql, ymd(Date.now() / 1000));
    assert.equal(week.indexOf(today[0]), 16);
    for (const d of week) {
      assert.match(d.f_mysql, /^\d{4}-\d\d-\d\d$/);
      assert.match(d.f_human, /^[A-Z][a-z]{2} \d\d [A-Z][a-z]+$/);
    }
  });

  it('epg get_simple_data_table: p=0 is the page of the programme on air; ended ones in the archive are marked', async () => {
    const ch = await archiveChannel(token);
    const now = Date.now() / 1000;
    const t = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now), p: '0' });
    assert.equal(t.max_page_items, 10);
    assert.ok(t.total_items >= 24, `a day of 30/60-minute slots: ${t.total_items}`);
    assert.ok(t.selected_item >= 1 && t.selected_item <= 10, JSON.stringify(t).slice(0, 300));
    const cur = t.data[t.selected_item - 1];
    assert.equal(cur.open, 1);
    assert.ok(cur.start_timestamp <= now && cur.stop_timestamp > now, 'the selected row is on air');
    assert.equal(cur.id, `${cur.id.split('_')[0]}_${ch.id}`);
    assert.equal(cur.real_id, `${ch.id}_${cur.start_timestamp}`);
    assert.equal(cur.mark_archive, 0, 'not ended yet');
    // an explicit page, yesterday: every programme ended within the 2 days kept
    const y = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now - 86400), p: '2' });
    assert.equal(y.cur_page, 2);
    assert.equal(y.selected_item, 0);
    assert.equal(y.data.length, 10);
    assert.ok(y.data.every((r) => r.mark_archive === 1 && r.open === 0 && ymd(r.start_timestamp) === ymd(now - 86400)));
    // a channel without archive marks nothing
    const all = await call({ type: 'itv', action: 'get_all_channels' });
    const other = all.data.find((c) => c.xmltv_id && c.id !== ch.id);
    const o = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(other.id), date: ymd(now - 86400), p: '1' });
    assert.ok(o.data.length > 0 && o.data.every((r) => r.mark_archive === 0));
  });

  it('tv_archive create_link: the /timeshift/U/P/DUR/START/ID.ts form of an archived programme', async () => {
    const ch = await archiveChannel(token);
    const now = Date.now() / 1000;
    const y = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now - 86400), p: '1' });
    const prog = y.data[3];
    const link = await call({ type: 'tv_archive', action: 'create_link', cmd: `auto /media/${prog.id}.mpg` });
    assert.equal(link.error, '');
    const url = new URL(link.cmd.replace(/^[^ ]* /, ''));
    assert.equal(url.pathname, `/timeshift/hotel-room-12/${encodeURIComponent(PW)}/${prog.duration / 60}/${xcStart(prog.start_timestamp)}/${ch.id}.ts`);
    assert.equal(url.search, '', 'an ordinary line: no play token');
    for (const k of ['storage_id', 'download_cmd', 'to_file']) assert.ok(k in link, k);
    // a programme not yet aired, and one of a channel without archive: nothing to play
    const t = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now + 86400), p: '1' });
    const future = await call({ type: 'tv_archive', action: 'create_link', cmd: `auto /media/${t.data[0].id}.mpg` });
    assert.equal(future.error, 'nothing_to_play');
    assert.equal(future.cmd, '');
  });

  it('tv_archive get_link_for_channel: the channel\'s archive from the hour\'s start, with position: and media_len:', async () => {
    const ch = await archiveChannel(token);
    const link = await call({ type: 'tv_archive', action: 'get_link_for_channel', ch_id: String(ch.id) });
    assert.equal(link.error, '');
    for (const k of ['id', 'storage_id', 'load']) assert.ok(k in link, k);
    const m = /^ffmpeg (\S+) position:(\d+) media_len:(\d+)$/.exec(link.cmd);
    assert.ok(m, link.cmd);
    const [, raw, pos, len] = m;
    assert.equal(pos, len, 'the media so far is as long as the position (the live edge)');
    assert.ok(Number(pos) < 3600, pos);
    const url = new URL(raw);
    const seg = /^\/timeshift\/hotel-room-12\/([^/]+)\/(\d+)\/(\d{4}-\d\d-\d\d:\d\d-\d\d)\/(\d+)\.ts$/.exec(url.pathname);
    assert.ok(seg, url.pathname);
    assert.equal(decodeURIComponent(seg[1]), PW);
    assert.equal(Number(seg[4]), ch.id);
    assert.match(seg[3], /-00$/, 'an hour boundary');
    const start = Date.parse(`${seg[3].replace(':', 'T').replace(/-(\d\d)$/, ':$1')}:00Z`) / 1000;
    assert.ok(Math.abs(start + Number(pos) - Date.now() / 1000) < 120, `${seg[3]} + ${pos} s is now`);
    assert.equal(Number(seg[2]), Math.ceil(Number(pos) / 60) + 180, 'three hours past now');
    // The catch-up route serves the link as it is: once the channel's
    // recording has its first segments (it started when the archive was
    // switched on), the pause-live range plays (ffprobe decodes it).
    let last;
    await pollUntil(async () => {
      last = await request(srv.port, 'GET', url.pathname, { adminToken: false, headers: { Range: 'bytes=0-187999' } });
      assert.ok(![400, 401, 403].includes(last.status), `GET ${url.pathname}: ${last.status} ${last.text.slice(0, 200)}`);
      return last.status === 206;
    }, { timeoutMs: 90000, intervalMs: 500 }).catch((e) => assert.fail(`no recording to play: last ${last?.status} ${last?.text?.slice(0, 200)} (${e.message})`));
    const probe = await ffprobe(url.href);
    assert.ok(probe.streams.some((x) => x.codec_type === 'video'), JSON.stringify(probe.streams));
    // a channel without archive, and no channel: nothing to play
    const all = await call({ type: 'itv', action: 'get_all_channels' });
    const other = all.data.find((c) => c.id !== ch.id && c.archive === 0);
    for (const id of [String(other.id), '999999', '']) {
      const none = await call({ type: 'tv_archive', action: 'get_link_for_channel', ch_id: id });
      assert.equal(none.error, 'nothing_to_play', id);
      assert.equal(none.cmd, '');
    }
  });

  it('tv_archive get_next_part_url: the next archived programme after real_id, false past the archive', async () => {
    const ch = await archiveChannel(token);
    const now = Date.now() / 1000;
    const y = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now - 86400), p: '1' });
    const [cur, next] = [y.data[3], y.data[4]];
    assert.equal(cur.stop_timestamp, next.start_timestamp, 'the demo guide has no breaks');
    const part = await call({ type: 'tv_archive', action: 'get_next_part_url', id: cur.real_id });
    assert.equal(typeof part, 'string', JSON.stringify(part));
    const url = new URL(part.replace(/^ffmpeg /, ''));
    assert.equal(url.pathname, `/timeshift/hotel-room-12/${encodeURIComponent(PW)}/${next.duration / 60}/${xcStart(next.start_timestamp)}/${ch.id}.ts`);
    // the programme on air has nothing recorded after it; tomorrow's, an
    // unknown channel and a malformed id neither
    const t = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now), p: '0' });
    const onAir = t.data[t.selected_item - 1];
    const tomorrow = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now + 86400), p: '1' });
    for (const id of [onAir.real_id, tomorrow.data[0].real_id, `999999_${cur.start_timestamp}`, 'x', '']) {
      assert.equal(await call({ type: 'tv_archive', action: 'get_next_part_url', id }), false, id);
    }
  });

  it('tv_archive create_link of a programme longer than a day: the catch-up route\'s longest range (1440 minutes), not a refused one', async () => {
    // A channel whose guide has one 30-hour programme, started 26 hours ago.
    const t = Math.floor(Date.now() / 1000);
    const xt = (sec) => `${new Date(sec * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)} +0000`;
    await writeFile(path.join(dataDir, 'marathon.xml'), `<?xml version="1.0" encoding="UTF-8"?>\n<tv><channel id="marathon.test"><display-name>Marathon</display-name></channel>\n<programme start="${xt(t - 26 * 3600)}" stop="${xt(t + 4 * 3600)}" channel="marathon.test"><title>Marathon</title></programme>\n</tv>\n`);
    const id = Number((await cliOk(['stream', 'add', 'Marathon', '--source', LAVFI_SMALL, '--epg-id', 'marathon.test', '--archive-days', '2', '--data', dataDir])).stdout.trim());
    try {
      await cliOk(['epg', 'add', 'marathon', path.join(dataDir, 'marathon.xml'), '--data', dataDir]);
      await cliOk(['epg', 'import', '--data', dataDir]);
      const { value: prog } = await pollUntil(async () => {
        const d = await call({ type: 'epg', action: 'get_simple_data_table', ch_id: String(id), date: ymd(t - 26 * 3600), p: '1' });
        return d.data?.find((r) => r.name === 'Marathon');
      }, POLL);
      const link = await call({ type: 'tv_archive', action: 'create_link', cmd: `auto /media/${prog.id}.mpg` });
      assert.equal(link.error, '');
      const url = new URL(link.cmd.replace(/^[^ ]* /, ''));
      assert.equal(url.pathname, `/timeshift/hotel-room-12/${encodeURIComponent(PW)}/1440/${xcStart(prog.start_timestamp)}/${id}.ts`);
      const res = await request(srv.port, 'HEAD', url.pathname, { adminToken: false });
      assert.notEqual(res.status, 400, 'a range the route accepts');
    } finally {
      await cliOk(['stream', 'set', String(id), '--archive-days', '0', '--data', dataDir]);
    }
  });

  it('stb do_auth: true for the line\'s login and password, false otherwise', async () => {
    assert.equal(await call({ type: 'stb', action: 'do_auth', login: 'hotel-room-12', password: PW, device_id: '', device_id2: '' }), true);
    assert.equal(await call({ type: 'stb', action: 'do_auth', login: 'hotel-room-12', password: 'wrong' }), false);
    assert.equal(await call({ type: 'stb', action: 'do_auth', login: 'someone-else', password: PW }), false);
  });

  it('itv get_ordered_list p=0: the page of the box\'s last channel (set_last_id), selected_item its row', async () => {
    const first = await call({ type: 'itv', action: 'get_ordered_list', genre: '*', sortby: 'number', p: '0' });
    assert.equal(first.cur_page, 1);
    assert.equal(first.selected_item, 0, 'no last channel yet');
    assert.ok(first.data.length >= 3, JSON.stringify(first).slice(0, 200));
    const third = first.data[2];
    assert.equal(await call({ type: 'itv', action: 'set_last_id', id: String(third.id) }), true);
    const again = await call({ type: 'itv', action: 'get_ordered_list', genre: '*', sortby: 'number', p: '0' });
    assert.equal(again.cur_page, 1);
    assert.equal(again.selected_item, 3);
    assert.equal(again.data[again.selected_item - 1].id, third.id);
    const p1 = await call({ type: 'itv', action: 'get_ordered_list', genre: '*', sortby: 'number', p: '1' });
    assert.equal(p1.selected_item, 0, 'an explicit page selects nothing');
    const prof = await call({ type: 'stb', action: 'get_profile' });
    assert.equal(prof.last_itv_id, third.id);
    // Persisted: a restarted server opens the box's list at its channel.
    await srv.stopClean();
    srv = await startServer(dataDir, ['--channel-idle', '3']);
    token = js(await box('/portal.php', { type: 'stb', action: 'handshake' })).js.token;
    const after = await call({ type: 'stb', action: 'get_profile' });
    assert.equal(after.last_itv_id, third.id, 'last_itv_id after a restart');
    const list = await call({ type: 'itv', action: 'get_ordered_list', genre: '*', sortby: 'number', p: '0' });
    assert.equal(list.data[list.selected_item - 1].id, third.id);
  });
});

describe('devices', () => {
  it('the API lists, creates, refuses duplicates and bad MACs, and deletes', async () => {
    const list = await adminOk('GET', '/api/v1/devices');
    const d = list.items.find((x) => x.mac === MAC);
    assert.ok(d, JSON.stringify(list));
    assert.equal(d.username, 'hotel-room-12');
    assert.equal(d.model, 'MAG250');

    const lineId = d.line_id;
    const created = await adminOk('POST', '/api/v1/devices', { line_id: lineId, mac: '001a79000002' });
    assert.equal(created.mac, '00:1A:79:00:00:02');
    const dup = await request(srv.port, 'POST', '/api/v1/devices', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'hotel-room-12', mac: '00:1a:79:00:00:02' }) });
    assert.equal(dup.status, 409, dup.text);
    const bad = await request(srv.port, 'POST', '/api/v1/devices', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ line_id: lineId, mac: '00:1A:79:00:00' }) });
    assert.equal(bad.status, 422, bad.text);
    assert.equal(bad.json().errors[0].field, 'mac');

    // The new box is let in once the next snapshot has it.
    const mac2 = '00:1A:79:00:00:02';
    await pollUntil(async () => {
      const hs = js(await box('/portal.php', { type: 'stb', action: 'handshake' }, { mac: mac2 }));
      const p = js(await box('/portal.php', { type: 'stb', action: 'get_profile' }, { mac: mac2, token: hs.js.token }));
      return p.js.status === 0;
    }, POLL);

    await adminOk('DELETE', `/api/v1/devices/${created.id}`);
    const gone = await request(srv.port, 'GET', `/api/v1/devices/${created.id}`);
    assert.equal(gone.status, 404);
  });

  it('the CLI lists as JSON, refuses a bad MAC by field, and deletes', async () => {
    const l = JSON.parse((await cliOk(['device', 'list', '--json', '--data', dataDir])).stdout);
    assert.ok(l.some((x) => x.mac === MAC && x.username === 'hotel-room-12'));
    const bad = await runCli(['device', 'add', '--line', 'hotel-room-12', '--mac', 'zz:1a:79:00:00:03', '--data', dataDir]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--mac: not a MAC address/);
    const noline = await runCli(['device', 'add', '--line', 'nobody', '--mac', '00:1a:79:00:00:03', '--data', dataDir]);
    assert.notEqual(noline.code, 0);
    assert.match(noline.stderr, /--line: no line 'nobody'/);
    await cliOk(['device', 'add', '--line', 'hotel-room-12', '--mac', '00:1a:79:00:00:03', '--data', dataDir]);
    await cliOk(['device', 'del', '--mac', '00:1A:79:00:00:03', '--data', dataDir]);
    const after = JSON.parse((await cliOk(['device', 'list', '--line', 'hotel-room-12', '--json', '--data', dataDir])).stdout);
    assert.ok(!after.some((x) => x.mac === '00:1A:79:00:00:03'));
  });
});

describe('devices last_seen', () => {
  it('is written when the box talks to the portal, shown by the CLI and the API', async () => {
    const mac = '00:1A:79:00:00:07';
    await cliOk(['device', 'add', '--line', 'hotel-room-12', '--mac', mac, '--data', dataDir]);
    const before = JSON.parse((await cliOk(['device', 'list', '--json', '--data', dataDir])).stdout).find((x) => x.mac === mac);
    assert.equal(before.last_seen, null, 'never seen yet');
    const t0 = Math.floor(Date.now() / 1000);
    // get_profile answers status 0 once the snapshot has the new device.
    await pollUntil(async () => {
      const hs = js(await box('/portal.php', { type: 'stb', action: 'handshake' }, { mac }));
      const p = js(await box('/portal.php', { type: 'stb', action: 'get_profile' }, { mac, token: hs.js.token }));
      return p.js.status === 0;
    }, POLL);
    // Written in a batch off the loop: poll the CLI (another process) for it.
    const { value: seen } = await pollUntil(async () => {
      const l = JSON.parse((await cliOk(['device', 'list', '--json', '--data', dataDir])).stdout);
      const d = l.find((x) => x.mac === mac);
      return d?.last_seen ? d : undefined;
    }, POLL);
    const at = Date.parse(seen.last_seen) / 1000;
    assert.ok(at >= t0 - 1 && at <= Date.now() / 1000 + 1, `${seen.last_seen} is now`);
    const api = await adminOk('GET', `/api/v1/devices/${seen.id}`);
    assert.equal(api.last_seen, seen.last_seen);
    // The table listing (not JSON) shows it too.
    const text = (await cliOk(['device', 'list', '--data', dataDir])).stdout;
    assert.match(text, /LAST SEEN/);
    assert.ok(text.split('\n').some((l) => l.includes(mac) && l.includes(seen.last_seen)), text);
  });
});

describe('a MAG line (lines.is_mag)', () => {
  // XUI/XCVM refuse a MAG line's credentials on get.php and the player API
  // (DEVICE_NOT_ALLOWED): its boxes use the portal and its /play/ links only.
  const MAG_MAC = '00:1A:79:00:00:05';
  const MPW = 'Pw.mag-line-1';
  let lineId;
  before(async () => {
    await cliOk(['line', 'add', 'mag-room', MPW, '--data', dataDir, '--max-connections', '0']);
    await cliOk(['device', 'add', '--line', 'mag-room', '--mac', MAG_MAC, '--data', dataDir]);
    const shown = JSON.parse((await cliOk(['access', 'line', 'mag-room', '--mag', 'on', '--data', dataDir])).stdout);
    assert.equal(shown.is_mag, true);
    lineId = shown.line_id;
  });

  it('is refused on the player API, get.php and stream URLs, and served through the portal', async () => {
    const papi = `/player_api.php?username=mag-room&password=${MPW}`;
    let res;
    await pollUntil(async () => {
      res = await request(srv.port, 'GET', papi, { adminToken: false });
      return res.status === 403;
    }, POLL);
    assert.match(res.text, /access denied \(DEVICE_NOT_ALLOWED\)/);
    const m3u = await request(srv.port, 'GET', `/get.php?username=mag-room&password=${MPW}&type=m3u_plus`, { adminToken: false });
    assert.equal(m3u.status, 403);
    const live = await request(srv.port, 'GET', `/live/mag-room/${MPW}/${chan}.ts`, { adminToken: false });
    assert.equal(live.status, 403);
    assert.match(live.text, /DEVICE_NOT_ALLOWED/);
    const { value: row } = await pollUntil(async () => {
      const r = await adminOk('GET', '/api/v1/access/refusals?reason=DEVICE_NOT_ALLOWED');
      return r.items.find((x) => x.username === 'mag-room' && x.route === '/get.php');
    }, POLL);
    assert.equal(row.line_id, lineId);

    // The box itself: profile, a movie link that plays.
    const token = js(await box('/portal.php', { type: 'stb', action: 'handshake' }, { mac: MAG_MAC })).js.token;
    const prof = js(await box('/portal.php', { type: 'stb', action: 'get_profile' }, { mac: MAG_MAC, token }));
    assert.equal(prof.js.status, 0);
    assert.equal(prof.js.name, 'mag-room');
    const cats = js(await box('/portal.php', { type: 'vod', action: 'get_ordered_list', p: '1' }, { mac: MAG_MAC, token })).js;
    const link = js(await box('/portal.php', { type: 'vod', action: 'create_link', cmd: cats.data[0].cmd }, { mac: MAG_MAC, token })).js;
    assert.equal(link.error, '');
    const url = new URL(link.cmd.replace(/^[^ ]* /, ''));
    const play = await request(srv.port, 'GET', url.pathname, { headers: { Range: 'bytes=0-99' }, adminToken: false });
    assert.equal(play.status, 206, play.text.slice(0, 200));
  });

  it('a catch-up link handed to the box carries a play_token that the timeshift route accepts', async () => {
    const token = js(await box('/portal.php', { type: 'stb', action: 'handshake' }, { mac: MAG_MAC })).js.token;
    const ch = await archiveChannel(token);
    const now = Date.now() / 1000;
    const y = js(await box('/portal.php', { type: 'epg', action: 'get_simple_data_table', ch_id: String(ch.id), date: ymd(now - 86400), p: '1' }, { mac: MAG_MAC, token })).js;
    const link = js(await box('/portal.php', { type: 'tv_archive', action: 'create_link', cmd: `auto /media/${y.data[0].id}.mpg` }, { mac: MAG_MAC, token })).js;
    assert.equal(link.error, '');
    const url = new URL(link.cmd.replace(/^[^ ]* /, ''));
    assert.match(url.search, /^\?play_token=[0-9a-f]{48}$/);
    // The token lets the MAG line through to the timeshift route's own checks
    // (whatever the archive then answers, it is not the MAG refusal) ...
    const ok = await request(srv.port, 'GET', `${url.pathname}${url.search}`, { adminToken: false, headers: { Range: 'bytes=0-99' } });
    assert.doesNotMatch(ok.text.slice(0, 200), /DEVICE_NOT_ALLOWED/);
    assert.notEqual(ok.status, 401);
    // ... and nothing else: no token, a token for another path, a forged one.
    const bare = await request(srv.port, 'GET', url.pathname, { adminToken: false });
    assert.equal(bare.status, 403);
    assert.match(bare.text, /DEVICE_NOT_ALLOWED/);
    const other = url.pathname.replace(/\/\d+\.ts$/, `/${ch.id + 1}.ts`);
    const moved = await request(srv.port, 'GET', `${other}${url.search}`, { adminToken: false });
    assert.equal(moved.status, 403);
    const forged = url.search.slice(0, -1) + (url.search.endsWith('0') ? '1' : '0');
    assert.equal((await request(srv.port, 'GET', `${url.pathname}${forged}`, { adminToken: false })).status, 403);
    // get_link_for_channel's pause-live link carries one too
    const live = js(await box('/portal.php', { type: 'tv_archive', action: 'get_link_for_channel', ch_id: String(ch.id) }, { mac: MAG_MAC, token })).js;
    const lurl = new URL(live.cmd.replace(/^ffmpeg /, '').replace(/ position:.*$/, ''));
    assert.match(lurl.search, /^\?play_token=[0-9a-f]{48}$/);
    const head = await request(srv.port, 'HEAD', `${lurl.pathname}${lurl.search}`, { adminToken: false });
    assert.ok(![401, 403].includes(head.status), `HEAD: ${head.status}`);
  });

  it('the admin API shows and clears is_mag; the line is then an ordinary one', async () => {
    const acc = await adminOk('GET', `/api/v1/lines/${lineId}/access`);
    assert.equal(acc.is_mag, true);
    const patched = await adminOk('PATCH', `/api/v1/lines/${lineId}/access`, { is_mag: false });
    assert.equal(patched.is_mag, false);
    await pollUntil(async () => {
      const r = await request(srv.port, 'GET', `/player_api.php?username=mag-room&password=${MPW}`, { adminToken: false });
      return r.status === 200 && r.json().user_info?.auth === 1;
    }, POLL);
    const bad = await request(srv.port, 'PATCH', `/api/v1/lines/${lineId}/access`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ is_mag: 'yes' }) });
    assert.equal(bad.status, 422, bad.text);
  });
});
