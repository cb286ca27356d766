// GET /metrics (docs/operator-guide.md, "Metrics"): the whole exposition is
// parsed by a strict Prometheus text-format parser (lib/prom.mjs) — every
// sample has its family's HELP and TYPE, families are contiguous, no series
// repeats, label values are escaped — and the values are checked against what
// happens: a running lavfi channel with one TS viewer, channels the engine
// knows but never started, names with quotes, backslashes, a newline and
// non-ASCII, local and relayed VOD responses in flight, a few hundred channels
// (the per-channel families are streamed in pieces). One server, on
// 127.0.0.1 like every test (no test reaches a non-loopback address).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { genLiveM3U, writeM3U } from './lib/gen.mjs';
import { get, getJson, api, rawExchange, withAdminToken } from './lib/http.mjs';
import { LAVFI_SMALL, tsViewer } from './lib/live.mjs';
import { parseExposition, samples, value } from './lib/prom.mjs';
import { assertNoSanitizerReport, cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';

const run = promisify(execFile);
const U = 'watcher';
const PW = 'Pw.metrics-1';
const TRICKY = 'Quote " and \\ back\\\\slash';
const MULTI = 'Télé "Ünï"\nZweite Zeile';
const STATES = ['stopped', 'starting', 'running', 'failing', 'slate'];
const HUGE = 256 * 1024 * 1024;
const MANY = 300;

let dir, data, srv, up, live, idle, multi, filmId, remoteId, filmSize;

/** An upstream for relayed movies: /huge.mkv, HUGE zero bytes, sent as fast as read. */
function upstream() {
  const block = Buffer.alloc(64 * 1024);
  return http.createServer(async (req, res) => {
    if (req.url !== '/huge.mkv') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Length': HUGE, 'Content-Type': 'video/x-matroska', 'Accept-Ranges': 'bytes' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    for (let pos = 0; pos < HUGE && !res.destroyed; pos += block.length) {
      if (!res.write(block)) {
        await new Promise((resolve) => {
          const go = () => {
            res.off('drain', go).off('close', go);
            resolve();
          };
          res.on('drain', go).on('close', go);
        });
      }
    }
    if (!res.destroyed) res.end();
  });
}

/** Scrapes /metrics and parses it strictly; returns { families, raw, text, status, headers }. */
async function scrape() {
  const r = await get(srv.port, '/metrics', { timeoutMs: 30000 });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  return { ...r, families: parseExposition(r.raw) };
}

const ch = (id) => ({ channel: String(id) });

before(async () => {
  dir = await makeDataDir('metrics');
  data = path.join(dir, 'data');
  await mkdir(data);
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '0']);
  const add = async (name, source) => Number((await cliOk(['stream', 'add', name, '--source', source, '--data', data])).stdout.trim());
  live = await add(TRICKY, LAVFI_SMALL);
  idle = await add('Idle', path.join(dir, 'missing-source.ts'));
  multi = await add(MULTI, path.join(dir, 'missing-source.ts'));
  // Many more channels, imported: made known to the engine below.
  const { text } = genLiveM3U({ channels: MANY, prefix: 'Many', logo: false, epg: false });
  await cliOk(['import', 'm3u', '--data', data, await writeM3U(dir, 'many.m3u', text)]);

  // A local movie big enough (~40 MB) to stay in flight behind a paused reader.
  const lib = path.join(dir, 'movies');
  await mkdir(lib);
  const clip = path.join(dir, 'clip.ts');
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-f', 'mpegts', clip]);
  const one = await readFile(clip);
  const film = Buffer.concat(Array(Math.ceil((40 << 20) / one.length)).fill(one));
  filmSize = film.length;
  await writeFile(path.join(lib, 'Metric Film (2020).ts'), film);
  await cliOk(['vod', 'scan', lib, '--category', 'Movies', '--data', data], { timeoutMs: 120000 });

  up = upstream();
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  const m3u = `#EXTM3U\n#EXTINF:-1 group-title="Remote",Remote Huge\nhttp://127.0.0.1:${up.address().port}/huge.mkv\n`;
  await writeFile(path.join(dir, 'remote.m3u'), m3u);
  await cliOk(['import', 'm3u', '--data', data, '--kind', 'movie', path.join(dir, 'remote.m3u')]);

  srv = await startServer(data, ['--allow-host', '127.0.0.1']); // the relay's upstream is on loopback
  const movies = await getJson(srv.port, api(U, PW, 'get_vod_streams'));
  filmId = movies.find((m) => /Metric Film/.test(m.name))?.stream_id;
  remoteId = movies.find((m) => m.name === 'Remote Huge')?.stream_id;
  assert.ok(filmId && remoteId, `movies listed: ${JSON.stringify(movies.map((m) => m.name))}`);
  // Channels enter the engine's table when first started (a lookup creates
  // nothing: issue 9, item 12); these are started and stopped at once.
  for (const id of [idle, multi]) await knowChannel(id);
});

/**
 * Makes the engine know a channel without running it: POST start and POST
 * stop pipelined in one write, so the stop is normally handled in the same
 * loop turn, before the queued ffmpeg spawn (if the bytes arrive split, an
 * ffmpeg runs briefly on the channel's dead source: same end state).
 */
async function knowChannel(id) {
  const auth = withAdminToken(srv.port, '/api/v1/').Authorization;
  const one = (act) => `POST /api/v1/streams/${id}/${act} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: ${auth}\r\nContent-Length: 0\r\n\r\n`;
  const { responses } = await rawExchange(srv.port, one('start') + one('stop'), { n: 2, timeoutMs: 15000 });
  assert.deepEqual(responses.map((r) => r.status), [200, 200], `start+stop of channel ${id}`);
}

after(async () => {
  try {
    if (srv) {
      const r = await srv.stop();
      assertNoSanitizerReport(srv.stderr);
      assert.equal(r.code, 0, `xtreamd serve exited with ${JSON.stringify(r)}; stderr tail:\n${srv.stderr.slice(-3000)}`);
    }
  } finally {
    up?.closeAllConnections();
    up?.close();
    await removeDir(dir);
  }
});

describe('/metrics', () => {
  it('parses strictly; every family has HELP and TYPE and a conventional name', async () => {
    const { families, headers } = await scrape();
    assert.match(headers['content-type'], /^text\/plain; version=0\.0\.4/);
    for (const [name, f] of families) {
      assert.ok(f.help && f.help.length > 5, `${name} has a HELP text`);
      assert.ok(f.type === 'counter' || f.type === 'gauge', `${name}: ${f.type}`);
      assert.match(name, /^xtreamd_[a-z_]+$/);
      assert.equal(f.type === 'counter', name.endsWith('_total'), `${name}: _total is for counters only`);
      if (/bytes/.test(name)) assert.match(name, /_bytes(_in|_out)?_total$|_bytes$/, `${name}: bytes in the unit position`);
    }
    const expected = [
      // engine-wide, names that predate the per-channel series
      'xtreamd_channels_running', 'xtreamd_live_viewers', 'xtreamd_hls_sessions', 'xtreamd_live_bytes_in_total',
      'xtreamd_live_bytes_out_total', 'xtreamd_live_skips_total', 'xtreamd_channel_restarts_total', 'xtreamd_viewers_total',
      'xtreamd_viewers_kicked_total', 'xtreamd_hls_segment_requests_total', 'xtreamd_connections_active', 'xtreamd_channel_viewers',
      // engine-wide, new
      'xtreamd_build_info', 'xtreamd_channels', 'xtreamd_live_failovers_total', 'xtreamd_hls_playlist_requests_total',
      'xtreamd_hls_segment_bytes_total',
      // per channel
      'xtreamd_channel_state', 'xtreamd_channel_ts_viewers', 'xtreamd_channel_hls_sessions', 'xtreamd_channel_input_bits_per_second',
      'xtreamd_channel_bytes_in_total', 'xtreamd_channel_bytes_out_total', 'xtreamd_channel_ingest_restarts_total',
      'xtreamd_channel_failovers_total', 'xtreamd_channel_skips_total', 'xtreamd_channel_source_index', 'xtreamd_channel_uptime_seconds',
      // VOD
      'xtreamd_vod_responses', 'xtreamd_vod_responses_total', 'xtreamd_vod_file_bytes_out_total', 'xtreamd_vod_relay_bytes_out_total', 'xtreamd_vod_relay_transfers',
      // the admin event stream (admin/events.c, through api_add_metrics)
      'xtreamd_events_subscribers', 'xtreamd_events_published_total', 'xtreamd_events_slow_dropped_total', 'xtreamd_events_refused_total',
    ];
    for (const name of expected) assert.ok(families.has(name), `${name} is exposed`);
    assert.equal(value(families, 'xtreamd_build_info'), 1);
    // The stats sampler publishes a counters event every second from the start.
    await pollUntil(async () => value((await scrape()).families, 'xtreamd_events_published_total') >= 2, { timeoutMs: 20000, intervalMs: 500 });
  });

  it('a running channel with one TS viewer: state, viewers, bitrate, bytes, source, uptime', async () => {
    const v = await tsViewer(srv.port, `/live/${U}/${PW}/${live}.ts`, { keep: false });
    try {
      await pollUntil(() => v.bytes > 0, { timeoutMs: 20000 });
      // The input bitrate is measured over 2 s windows.
      const { value: first } = await pollUntil(async () => {
        const s = await scrape();
        return value(s.families, 'xtreamd_channel_input_bits_per_second', ch(live)) > 0 && s;
      }, { timeoutMs: 15000, intervalMs: 250 });
      const f = first.families;
      for (const st of STATES) assert.equal(value(f, 'xtreamd_channel_state', { ...ch(live), state: st }), st === 'running' ? 1 : 0, st);
      assert.equal(value(f, 'xtreamd_channel_ts_viewers', ch(live)), 1);
      assert.equal(value(f, 'xtreamd_channel_hls_sessions', ch(live)), 0);
      assert.equal(value(f, 'xtreamd_channel_viewers', { ...ch(live), state: 'running' }), 1, 'the legacy series is still there');
      assert.equal(value(f, 'xtreamd_channel_source_index', ch(live)), 0);
      assert.ok(value(f, 'xtreamd_channel_uptime_seconds', ch(live)) > 0);
      assert.ok(value(f, 'xtreamd_channel_bytes_in_total', ch(live)) > 0);
      assert.ok(value(f, 'xtreamd_live_viewers') >= 1);
      assert.ok(value(f, 'xtreamd_channels_running') >= 1);
      // The same numbers as `xtreamd channel show`.
      const a = await getJson(srv.port, `/api/v1/streams/${live}/state`);
      assert.equal(a.viewers, 1);
      assert.equal(a.restarts, value(f, 'xtreamd_channel_ingest_restarts_total', ch(live)));
      assert.equal(a.failovers, value(f, 'xtreamd_channel_failovers_total', ch(live)));
      assert.ok(a.bytes_out >= value(f, 'xtreamd_channel_bytes_out_total', ch(live)));
      // Counters grow between scrapes while the viewer reads.
      const out1 = value(f, 'xtreamd_channel_bytes_out_total', ch(live));
      const up1 = value(f, 'xtreamd_channel_uptime_seconds', ch(live));
      const { value: second } = await pollUntil(async () => {
        const s = await scrape();
        return value(s.families, 'xtreamd_channel_bytes_out_total', ch(live)) > out1 && s;
      }, { timeoutMs: 10000, intervalMs: 250 });
      assert.ok(value(second.families, 'xtreamd_channel_uptime_seconds', ch(live)) > up1);
      assert.ok(value(second.families, 'xtreamd_live_bytes_out_total') >= value(second.families, 'xtreamd_channel_bytes_out_total', ch(live)));
    } finally {
      v.close();
    }
  });

  it('a channel the engine knows but never started is listed as stopped, with zeros', async () => {
    const { families: f } = await scrape();
    for (const st of STATES) assert.equal(value(f, 'xtreamd_channel_state', { ...ch(idle), state: st }), st === 'stopped' ? 1 : 0, st);
    for (const name of ['xtreamd_channel_ts_viewers', 'xtreamd_channel_input_bits_per_second', 'xtreamd_channel_uptime_seconds', 'xtreamd_channel_bytes_out_total'])
      assert.equal(value(f, name, ch(idle)), 0, name);
    assert.equal(samples(f, 'xtreamd_channel_state', ch(idle))[0].labels.name, 'Idle');
  });

  it('channel names are escaped in label values (quote, backslash, newline; UTF-8 kept)', async () => {
    const { families: f, text } = await scrape();
    assert.equal(samples(f, 'xtreamd_channel_ts_viewers', ch(live))[0].labels.name, TRICKY);
    assert.equal(samples(f, 'xtreamd_channel_ts_viewers', ch(multi))[0].labels.name, MULTI);
    assert.ok(text.includes(`xtreamd_channel_ts_viewers{channel="${live}",name="Quote \\" and \\\\ back\\\\\\\\slash"} `), 'the raw escaped form');
    assert.ok(text.includes(`{channel="${multi}",name="Télé \\"Ünï\\"\\nZweite Zeile"}`), 'newline as \\n, UTF-8 as is');
  });

  it(`${MANY} more channels: every per-channel family has exactly one series per channel`, async () => {
    const known = async () => (await getJson(srv.port, '/api/v1/channels?page_size=1000')).items;
    const already = new Set((await known()).map((c) => c.id));
    const streams = await getJson(srv.port, api(U, PW, 'get_live_streams'));
    assert.equal(streams.length, MANY + 3);
    const ids = streams.map((s) => Number(s.stream_id)).filter((id) => !already.has(id));
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < ids.length) await knowChannel(ids[next++]);
      }),
    );
    const all = await known();
    assert.equal(all.length, MANY + 3, 'the engine knows every channel now');
    const { families: f, raw } = await scrape();
    assert.ok(raw.length > 4 * 64 * 1024, 'larger than a few pulls of the body stream');
    assert.equal(value(f, 'xtreamd_channels'), all.length);
    for (const [name, fam] of f) {
      if (!name.startsWith('xtreamd_channel_') || name === 'xtreamd_channel_restarts_total') continue;
      const per = new Map();
      for (const s of fam.samples) per.set(s.labels.channel, (per.get(s.labels.channel) || 0) + 1);
      assert.equal(per.size, all.length, `${name}: one channel label per known channel`);
      const want = name === 'xtreamd_channel_state' ? STATES.length : 1;
      for (const [id, n] of per) assert.equal(n, want, `${name} channel ${id}`);
    }
    for (const c of all.filter((x) => x.id !== live)) assert.equal(value(f, 'xtreamd_channel_state', { channel: String(c.id), state: c.state }), 1, `channel ${c.id} ${c.state}`);
  });

  it('VOD: a local file response in flight is counted and measured, then its bytes stay counted', async () => {
    const url = `/movie/${U}/${PW}/${filmId}.ts`;
    const f0 = (await scrape()).families;
    const started0 = value(f0, 'xtreamd_vod_responses_total', { source: 'file' });
    const bytes0 = value(f0, 'xtreamd_vod_file_bytes_out_total');
    const v = await tsViewer(srv.port, url, { keep: false, pause: true });
    let inFlight;
    try {
      assert.equal(v.status, 200);
      ({ value: inFlight } = await pollUntil(async () => {
        const f = (await scrape()).families;
        return value(f, 'xtreamd_vod_responses', { source: 'file' }) === 1 && value(f, 'xtreamd_vod_file_bytes_out_total') > bytes0 && f;
      }, { timeoutMs: 10000, intervalMs: 200 }));
      assert.equal(value(inFlight, 'xtreamd_vod_responses_total', { source: 'file' }), started0 + 1);
      assert.equal(value(inFlight, 'xtreamd_vod_responses', { source: 'relay' }), 0);
    } finally {
      v.close();
    }
    const { value: closed } = await pollUntil(async () => {
      const f = (await scrape()).families;
      return value(f, 'xtreamd_vod_responses', { source: 'file' }) === 0 && f;
    }, { timeoutMs: 10000, intervalMs: 200 });
    const bytes1 = value(closed, 'xtreamd_vod_file_bytes_out_total');
    assert.ok(bytes1 >= value(inFlight, 'xtreamd_vod_file_bytes_out_total'), 'the counter never goes back');
    const whole = await get(srv.port, url, { timeoutMs: 60000 });
    assert.equal(whole.raw.length, filmSize);
    const { value: done } = await pollUntil(async () => {
      const f = (await scrape()).families;
      return value(f, 'xtreamd_vod_responses', { source: 'file' }) === 0 && f;
    }, { timeoutMs: 10000, intervalMs: 200 });
    const delta = value(done, 'xtreamd_vod_file_bytes_out_total') - bytes1;
    assert.ok(delta >= filmSize && delta < filmSize + 4096, `a whole download adds its size (+ headers): ${delta} for ${filmSize}`);
    assert.equal(value(done, 'xtreamd_vod_responses_total', { source: 'file' }), started0 + 2);
  });

  it('VOD: a relayed response in flight is counted, with its upstream transfer', async () => {
    const f0 = (await scrape()).families;
    const started0 = value(f0, 'xtreamd_vod_responses_total', { source: 'relay' });
    const v = await tsViewer(srv.port, `/movie/${U}/${PW}/${remoteId}.mkv`, { keep: false, pause: true });
    try {
      assert.equal(v.status, 200);
      const { value: f } = await pollUntil(async () => {
        const g = (await scrape()).families;
        return value(g, 'xtreamd_vod_responses', { source: 'relay' }) === 1 && g;
      }, { timeoutMs: 10000, intervalMs: 200 });
      assert.ok(value(f, 'xtreamd_vod_relay_transfers') >= 1);
      assert.equal(value(f, 'xtreamd_vod_responses_total', { source: 'relay' }), started0 + 1);
      assert.ok(value(f, 'xtreamd_vod_relay_bytes_out_total') > value(f0, 'xtreamd_vod_relay_bytes_out_total'), 'relayed bytes are counted while in flight');
    } finally {
      v.close();
    }
    const { value: g } = await pollUntil(async () => {
      const h = (await scrape()).families;
      return value(h, 'xtreamd_vod_responses', { source: 'relay' }) === 0 && value(h, 'xtreamd_vod_relay_transfers') === 0 && h;
    }, { timeoutMs: 15000, intervalMs: 200 });
    assert.ok(value(g, 'xtreamd_vod_relay_bytes_out_total') > value(f0, 'xtreamd_vod_relay_bytes_out_total'), 'and stay counted after it ended');
  });

});
