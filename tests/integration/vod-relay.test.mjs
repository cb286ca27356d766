// Remote movies (an http(s) source imported with `import m3u --kind movie`):
// relayed through xtreamd by default with Range passed through, or redirected
// with `serve --remote-vod redirect`. The upstream is a Range-capable node
// HTTP server on 127.0.0.1 that records what it was asked and how much it
// sent, so back-pressure and cancellation can be checked from its side.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { api, connect, get, getJson, head } from './lib/http.mjs';

const run = promisify(execFile);
const U = 'relayer';
const PW = 'Pw.relay-123';
const sha = (b) => createHash('sha256').update(b).digest('hex');

// A large virtual file: a 1 MiB + 7 block repeated (ranges never line up with
// the repetition, so an offset error changes the bytes).
const BLOCK = randomBytes(1024 * 1024 + 7);
const HUGE = 128 * 1024 * 1024;
function hugeSlice(start, end) {
  const out = Buffer.allocUnsafe(end - start);
  for (let o = 0; o < out.length; ) {
    const pos = (start + o) % BLOCK.length;
    const n = Math.min(BLOCK.length - pos, out.length - o);
    BLOCK.copy(out, o, pos, pos + n);
    o += n;
  }
  return out;
}

/** Parses a single Range against size: {start,end} (end exclusive), 'bad' or null. */
function parseRange(h, size) {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h);
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  let start, end;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  return start >= size || end <= start ? 'bad' : { start, end };
}

function upstream() {
  const files = new Map();
  const seen = [];
  const sent = new Map(); // path -> bytes written to sockets
  const closed = new Map(); // path -> number of responses whose socket closed early
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    seen.push({ method: req.method, path: url.pathname, range: req.headers.range, ifRange: req.headers['if-range'], ua: req.headers['user-agent'] });
    if (url.pathname === '/redirect.mp4') {
      res.writeHead(302, { Location: '/film.mp4' }).end();
      return;
    }
    if (url.pathname === '/to-loopback.mp4') {
      // The same upstream under a name the server was not told to allow.
      res.writeHead(302, { Location: `http://localhost:${req.socket.localPort}/film.mp4` }).end();
      return;
    }
    if (url.pathname === '/slow-head.mp4') {
      await sleep(4000);
      if (!res.destroyed) res.writeHead(200, { 'Content-Length': 4 }).end('late');
      return;
    }
    if (url.pathname === '/cut.bin') {
      res.writeHead(200, { 'Content-Length': 1024 * 1024, 'Content-Type': 'video/mp4' });
      res.write(Buffer.alloc(100 * 1024, 7));
      setTimeout(() => res.socket.destroy(), 200);
      return;
    }
    if (url.pathname === '/teapot.mp4') {
      res.writeHead(418, { 'Content-Type': 'text/plain' }).end('no');
      return;
    }
    const f = files.get(url.pathname);
    if (!f) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not here');
      return;
    }
    const size = f.size;
    const base = { 'Accept-Ranges': 'bytes', ETag: f.etag, 'Last-Modified': 'Wed, 01 Jan 2025 00:00:00 GMT', 'Content-Type': f.type };
    let r = parseRange(req.headers.range, size);
    if (r && req.headers['if-range'] && req.headers['if-range'] !== f.etag) r = null;
    if (r === 'bad') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    const start = r ? r.start : 0;
    const end = r ? r.end : size;
    const hdrs = { ...base, 'Content-Length': end - start };
    if (r) hdrs['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
    res.writeHead(r ? 206 : 200, hdrs);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.on('close', () => {
      if (!res.writableFinished) closed.set(url.pathname, (closed.get(url.pathname) || 0) + 1);
    });
    for (let pos = start; pos < end && !res.destroyed; ) {
      const n = Math.min(64 * 1024, end - pos);
      const chunk = f.body ? f.body.subarray(pos, pos + n) : hugeSlice(pos, pos + n);
      pos += n;
      sent.set(url.pathname, (sent.get(url.pathname) || 0) + n);
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    if (!res.destroyed) res.end();
  });
  return { server, files, seen, sent, closed };
}

let dir, data, up, upPort, srv, ids, film;

async function importMovies(entries) {
  const lines = ['#EXTM3U'];
  for (const [name, url] of entries) lines.push(`#EXTINF:-1 tvg-name="${name}" group-title="Remote",${name}`, url);
  const file = path.join(dir, 'remote.m3u');
  await import('node:fs/promises').then((fs) => fs.writeFile(file, lines.join('\n') + '\n'));
  await cliOk(['import', 'm3u', '--data', data, '--kind', 'movie', file]);
}

const movieUrl = (id, ext = 'mp4') => `/movie/${U}/${PW}/${id}.${ext}`;

before(async () => {
  dir = await makeDataDir('relay');
  data = path.join(dir, 'data');
  const clip = path.join(dir, 'film.mp4');
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip]);
  film = await readFile(clip);
  up = upstream();
  const big = randomBytes(8 * 1024 * 1024 + 123);
  up.files.set('/film.mp4', { body: film, size: film.length, etag: '"film-1"', type: 'video/mp4' });
  up.files.set('/big.bin', { body: big, size: big.length, etag: '"big-1"', type: 'application/octet-stream' });
  up.files.set('/huge.mkv', { size: HUGE, etag: '"huge-1"', type: 'video/x-matroska' });
  up.big = big;
  up.server.listen(0, '127.0.0.1');
  await once(up.server, 'listening');
  upPort = up.server.address().port;
  // Nothing listens on the discard port (the suite's dead sources use it too);
  // a port that is merely free now could be taken by another file's server.
  const deadPort = 9;
  const base = `http://127.0.0.1:${upPort}`;
  await importMovies([
    ['Relay Film', `${base}/film.mp4`],
    ['Relay Big', `${base}/big.bin`],
    ['Relay Huge', `${base}/huge.mkv`],
    ['Relay Gone', `${base}/gone.mp4`],
    ['Relay Redirect', `${base}/redirect.mp4`],
    ['Relay Dead', `http://127.0.0.1:${deadPort}/dead.mp4`],
    ['Relay Cut', `${base}/cut.bin`],
    ['Relay Slow', `${base}/slow-head.mp4`],
    ['Relay Teapot', `${base}/teapot.mp4`],
    ['Relay Escape', `${base}/to-loopback.mp4`],
  ]);
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '1']);
  // The upstream is on loopback, which the relay refuses unless allowed:
  // every relay below also tests that --allow-host works.
  srv = await startServer(data, ['--allow-host', '127.0.0.1']);
  const list = await getJson(srv.port, api(U, PW, 'get_vod_streams'));
  ids = Object.fromEntries(list.map((m) => [m.name.replace('Relay ', '').toLowerCase(), m.stream_id]));
  assert.ok(ids.film && ids.big && ids.huge && ids.slow, `movies listed: ${JSON.stringify(ids)}`);
});

after(async () => {
  await srv?.stopClean();
  up?.server.closeAllConnections();
  up?.server.close();
  await removeDir(dir);
});

// Connections of the line the server holds open right now (active_cons also
// counts a session for 10 s after it ended, by design: a player's next seek).
const openConns = async () => (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items.filter((c) => c.username === U).length;
const lastSeen = (p) => [...up.seen].reverse().find((s) => s.path === p);

describe('remote VOD relay', () => {
  it('a whole file comes through with the upstream headers, not a redirect', async () => {
    const r = await get(srv.port, movieUrl(ids.big, 'bin'), { headers: { 'User-Agent': 'RelayTest/1.0' }, timeoutMs: 30000 });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.equal(r.headers.location, undefined);
    assert.equal(Number(r.headers['content-length']), up.big.length);
    assert.equal(sha(r.raw), sha(up.big));
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.headers.etag, '"big-1"');
    assert.equal(r.headers['last-modified'], 'Wed, 01 Jan 2025 00:00:00 GMT');
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.equal(lastSeen('/big.bin').ua, 'RelayTest/1.0', "the viewer's User-Agent goes upstream");
  });

  it('ranges are passed through: first, middle, open-ended, suffix', async () => {
    const size = up.big.length;
    const cases = [
      ['bytes=0-99', 0, 100],
      ['bytes=1000003-2000002', 1000003, 2000003],
      [`bytes=${size - 5000}-`, size - 5000, size],
      ['bytes=-777', size - 777, size],
    ];
    for (const [range, start, end] of cases) {
      const r = await get(srv.port, movieUrl(ids.big, 'bin'), { headers: { Range: range }, timeoutMs: 30000 });
      assert.equal(r.status, 206, `${range}: ${r.text.slice(0, 100)}`);
      assert.equal(r.headers['content-range'], `bytes ${start}-${end - 1}/${size}`, range);
      assert.equal(Number(r.headers['content-length']), end - start, range);
      assert.equal(sha(r.raw), sha(up.big.subarray(start, end)), `${range}: exact bytes`);
      assert.equal(lastSeen('/big.bin').range, range, 'the Range header reaches the upstream unchanged');
    }
  });

  it('If-Range: a stale validator gets the whole file', async () => {
    const r = await get(srv.port, movieUrl(ids.big, 'bin'), { headers: { Range: 'bytes=0-9', 'If-Range': '"old"' }, timeoutMs: 30000 });
    assert.equal(r.status, 200);
    assert.equal(r.raw.length, up.big.length);
    assert.equal(lastSeen('/big.bin').ifRange, '"old"');
  });

  it('an unsatisfiable range is a 416 with the size', async () => {
    const r = await get(srv.port, movieUrl(ids.big, 'bin'), { headers: { Range: 'bytes=99999999-' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], `bytes */${up.big.length}`);
  });

  it('HEAD gives the upstream length and type without a body', async () => {
    const before = up.seen.length;
    const r = await head(srv.port, movieUrl(ids.film));
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), film.length);
    assert.equal(r.headers['content-type'], 'video/mp4');
    assert.equal(r.raw.length, 0);
    assert.ok(up.seen.slice(before).some((s) => s.method === 'HEAD' && s.path === '/film.mp4'), 'the upstream got a HEAD');
  });

  it('ffprobe plays the relayed movie (seeking with ranges)', async () => {
    const url = `http://127.0.0.1:${srv.port}${movieUrl(ids.film)}`;
    const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-count_packets', url]);
    const streams = JSON.parse(stdout).streams;
    assert.ok(streams.some((s) => s.codec_name === 'h264' && Number(s.nb_read_packets) >= 70), 'video packets');
    assert.ok(streams.some((s) => s.codec_name === 'aac'), 'audio stream');
  });

  it('upstream redirects are followed; errors map to clear statuses', async () => {
    const red = await get(srv.port, movieUrl(ids.redirect));
    assert.equal(red.status, 200);
    assert.equal(sha(red.raw), sha(film));
    const gone = await get(srv.port, movieUrl(ids.gone));
    assert.equal(gone.status, 404);
    assert.match(gone.text, /not available at the source/);
    const dead = await get(srv.port, movieUrl(ids.dead));
    assert.equal(dead.status, 502);
    assert.match(dead.text, /unreachable/);
    const teapot = await get(srv.port, movieUrl(ids.teapot));
    assert.equal(teapot.status, 502);
    assert.match(teapot.text, /answered 418/);
  });

  it('a redirect from the allowed upstream to a loopback name that is not allowed is refused', async () => {
    const films = () => up.seen.filter((x) => x.path === '/film.mp4').length;
    const before = films();
    const from = srv.logs().length;
    const esc = await get(srv.port, movieUrl(ids.escape));
    assert.equal(esc.status, 502);
    assert.match(esc.text, /not allowed/);
    await srv.waitForLog(/relay: .*refused to connect to (127\.0\.0\.1|::1) \(loopback\)/, { from });
    assert.equal(films(), before, 'the redirect target was never requested');
  });

  it('a source that breaks off mid-body ends the response short, and the server keeps serving', async () => {
    await assert.rejects(get(srv.port, movieUrl(ids.cut, 'bin'), { timeoutMs: 15000 }), /aborted|ECONNRESET|socket hang up/);
    const ok = await get(srv.port, movieUrl(ids.film));
    assert.equal(sha(ok.raw), sha(film));
  });

  it('a viewer that stops reading pauses the upstream instead of buffering the film', async () => {
    const c = await connect(srv.port);
    try {
      c.write(`GET ${movieUrl(ids.huge, 'mkv')} HTTP/1.1\r\nHost: x\r\n\r\n`);
      let got = 0;
      const onData = (d) => (got += d.length);
      c.on('data', onData);
      await pollUntil(() => got > 0, { timeoutMs: 10000 });
      c.pause();
      // Let every buffer on the way fill (client socket, server socket, relay, upstream socket).
      let last = -1;
      await pollUntil(async () => {
        const now = up.sent.get('/huge.mkv') || 0;
        const stable = now === last;
        last = now;
        await sleep(400);
        return stable;
      }, { timeoutMs: 20000, intervalMs: 0 });
      const sent = up.sent.get('/huge.mkv');
      assert.ok(sent < 64 * 1024 * 1024, `upstream sent ${sent} bytes of ${HUGE} to a viewer that reads nothing`);
      const login = await getJson(srv.port, api(U, PW, 'get_user_info'));
      assert.equal(login.user_info.active_cons, '1', 'a relayed download is a connection of the line');
      const listed = (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items.filter((x) => x.username === U);
      assert.equal(listed.length, 1, JSON.stringify(listed));
      assert.equal(listed[0].kind, 'movie');
      assert.equal(listed[0].stream_id, ids.huge);
      assert.ok(listed[0].bytes > 0, 'bytes sent so far are reported');
      // Reading again resumes the upstream and the bytes are exact.
      const chunks = [];
      c.off('data', onData);
      c.on('data', (d) => chunks.push(d));
      c.resume();
      await pollUntil(() => (up.sent.get('/huge.mkv') || 0) === HUGE, { timeoutMs: 60000 });
      await pollUntil(() => chunks.reduce((n, b) => n + b.length, 0) + got >= HUGE, { timeoutMs: 60000 });
    } finally {
      c.destroy();
    }
  });

  it('a viewer that leaves mid-download closes the upstream transfer and frees its connection slot', async () => {
    const closedBefore = up.closed.get('/huge.mkv') || 0;
    const c = await connect(srv.port);
    c.write(`GET ${movieUrl(ids.huge, 'mkv')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let got = 0;
    c.on('data', (d) => (got += d.length));
    await pollUntil(() => got > 1024 * 1024, { timeoutMs: 10000 });
    c.destroy();
    await pollUntil(() => (up.closed.get('/huge.mkv') || 0) > closedBefore, { timeoutMs: 10000 });
    await pollUntil(async () => (await openConns()) === 0, { timeoutMs: 5000 });
  });

  it('the operator can kill a relayed download (xtreamd connections --kill)', async () => {
    const c = await connect(srv.port);
    let closed = false;
    c.on('close', () => (closed = true));
    c.on('data', () => {});
    c.write(`GET ${movieUrl(ids.huge, 'mkv')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    try {
      const { value: entry } = await pollUntil(async () => (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items.find((x) => x.username === U), { timeoutMs: 5000 });
      const { runCli } = await import('./lib/server.mjs');
      const r = await runCli(['connections', '--data', data, '--kill', String(entry.id)]);
      assert.equal(r.code, 0, r.stderr);
      await pollUntil(() => closed, { timeoutMs: 5000 });
    } finally {
      c.destroy();
    }
  });

  it('the connection limit closes the older relayed download', async () => {
    const first = await connect(srv.port);
    let firstClosed = false;
    first.on('close', () => (firstClosed = true));
    first.on('data', () => {});
    first.pause();
    first.write(`GET ${movieUrl(ids.huge, 'mkv')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await pollUntil(() => (up.sent.get('/huge.mkv') || 0) > 0 && lastSeen('/huge.mkv'), { timeoutMs: 10000 });
    await sleep(200);
    try {
      // A different viewer (another IP cannot be faked here, so another title).
      const r = await get(srv.port, movieUrl(ids.film));
      assert.equal(r.status, 200);
      first.resume();
      await pollUntil(() => firstClosed, { timeoutMs: 10000 });
    } finally {
      first.destroy();
    }
  });

  it('a download of a line that gets disabled is cut, and the line works again once enabled', async () => {
    const c = await connect(srv.port);
    let closed = false;
    c.on('close', () => (closed = true));
    c.on('data', () => {});
    c.pause(); // a viewer that has paused playback still holds the download
    c.write(`GET ${movieUrl(ids.huge, 'mkv')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    try {
      await pollUntil(async () => (await openConns()) === 1, { timeoutMs: 5000 });
      await cliOk(['line', 'set', U, '--disabled', '--data', data]);
      // Still paused: the download can only end because the server cut it.
      await pollUntil(async () => (await openConns()) === 0, { timeoutMs: 15000 });
      c.resume();
      await pollUntil(() => closed, { timeoutMs: 10000 });
    } finally {
      c.destroy();
      await cliOk(['line', 'set', U, '--enabled', '--data', data]);
    }
    await pollUntil(async () => (await get(srv.port, movieUrl(ids.film))).status === 200, { timeoutMs: 5000 });
  });

  it('a viewer that hangs up while the source has not answered yet is cleaned up', async () => {
    const c = await connect(srv.port);
    c.write(`GET ${movieUrl(ids.slow)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await pollUntil(() => lastSeen('/slow-head.mp4'), { timeoutMs: 5000 });
    assert.equal(await openConns(), 1, 'the waiting viewer is registered');
    c.destroy();
    await pollUntil(async () => (await openConns()) === 0, { timeoutMs: 5000 });
  });

  it('SIGTERM while a relay waits for its source exits cleanly', async () => {
    const s2 = await startServer(data, ['--allow-host', '127.0.0.1']);
    try {
      const c = await connect(s2.port);
      c.on('error', () => {});
      const before = up.seen.length;
      c.write(`GET ${movieUrl(ids.slow)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await pollUntil(() => up.seen.slice(before).some((s) => s.path === '/slow-head.mp4'), { timeoutMs: 5000 });
      await s2.stopClean();
      c.destroy();
    } finally {
      await s2.stop();
    }
  });
});

describe('serve --remote-vod redirect', () => {
  it('answers 302 to the source instead', async () => {
    const s2 = await startServer(data, ['--remote-vod', 'redirect']);
    try {
      const r = await get(s2.port, movieUrl(ids.film));
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, `http://127.0.0.1:${upPort}/film.mp4`);
      await s2.stopClean();
      // The second server on this data directory leaves the first one's serve.json alone.
      const { runCli } = await import('./lib/server.mjs');
      const c = await runCli(['connections', '--data', data]);
      assert.equal(c.code, 0, `xtreamd connections after a second server stopped: ${c.stderr}`);
    } finally {
      await s2.stop();
    }
  });

  it('rejects an unknown mode naming the option', async () => {
    const { runCli } = await import('./lib/server.mjs');
    const r = await runCli(['serve', '--data', data, '--remote-vod', 'teleport']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--remote-vod "teleport"/);
  });
});
