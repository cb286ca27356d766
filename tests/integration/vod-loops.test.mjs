// Movies on two I/O loops (issue 11): the accepting loop parses the request and hands a file
// body of 256 KiB or more, with its response head, to the loops in turn, itself included
// (http/offload.h): every other big body is written by loop 1 with sendfile, and the
// connection comes back to loop 0 for its next request. What a player sees must not change:
// the same bytes, keep-alive, every frame; a slow reader is not cut while the other loop makes
// progress, a stalled one is; a hang-up mid-movie frees the line's slot; a stop mid-movie is
// clean (LeakSanitizer, exit 0).
//
// The movie is a 2 s MPEG-TS clip repeated (a valid TS, ~32 MB: three times what loopback's
// socket buffers hold, so a slow reader keeps the writer busy for seconds, and one that stops
// reading really stalls it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { HOST, cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { RawClient, api, get, getJson, parseResponses, request } from './lib/http.mjs';
import { genLiveM3U, writeM3U } from './lib/gen.mjs';

const run = promisify(execFile);
const U = 'offload.user';
const PW = 'Pw.offload-1';
const SOLO = 'offload.solo'; // one connection at a time
const IDLE_S = 3; // --idle-timeout: also the write timeout of a stalled reader
const MIB = 1024 * 1024;
let dir, data, srv, movie, url, soloUrl, cutFile, cutUrl;

const sha = (b) => createHash('sha256').update(b).digest('hex');

before(async () => {
  dir = await makeDataDir('vodloops');
  const lib = path.join(dir, 'movies');
  data = path.join(dir, 'data');
  await mkdir(lib, { recursive: true });
  const clip = path.join(dir, 'clip.ts');
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
    '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '16M', '-minrate', '16M', '-maxrate', '16M',
    '-bufsize', '2M', '-pix_fmt', 'yuv420p', '-f', 'mpegts', clip]);
  const one = await readFile(clip);
  movie = Buffer.concat(Array.from({ length: Math.ceil((32 * MIB) / one.length) }, () => one));
  await writeFile(path.join(lib, 'Offload Film (2020).ts'), movie);
  cutFile = path.join(lib, 'Cut Film (2021).ts'); // truncated by a test while it is served
  await writeFile(cutFile, movie);
  const scan = await runCli(['vod', 'scan', lib, '--category', 'Films', '--data', data]);
  assert.equal(scan.code, 0, scan.stderr);
  const m3u = await writeM3U(dir, 'live.m3u', genLiveM3U({ channels: 4000, groups: 20, prefix: 'Offload' }).text);
  await cliOk(['import', 'm3u', '--data', data, m3u], { timeoutMs: 120000 });
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '8']);
  await cliOk(['line', 'add', SOLO, PW, '--data', data, '--max-connections', '1']);
  srv = await startServer(data, ['--loops', '2', '--idle-timeout', String(IDLE_S), '--stop-grace', '3']);
  const list = await getJson(srv.port, api(U, PW, 'get_vod_streams'));
  const m = list.find((x) => x.name.startsWith('Offload Film'));
  const cut = list.find((x) => x.name.startsWith('Cut Film'));
  assert.ok(m && cut, JSON.stringify(list.map((x) => x.name)));
  assert.equal(m.container_extension, 'ts');
  url = `/movie/${U}/${PW}/${m.stream_id}.ts`;
  cutUrl = `/movie/${U}/${PW}/${cut.stream_id}.ts`;
  soloUrl = `/movie/${SOLO}/${PW}/${m.stream_id}.ts`;
});

after(async () => {
  try {
    if (srv && !srv.alive() && !srv.stoppedByTest) console.error(srv.logs().slice(-4000));
    if (srv?.alive()) await srv.stopClean();
  } finally {
    await removeDir(dir);
  }
});

async function offloads() {
  const r = await get(srv.port, '/metrics');
  assert.equal(r.status, 200);
  const num = (name) => {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.text);
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  };
  return {
    jobs: num('xtreamd_http_offloads_total'),
    bytes: num('xtreamd_http_offloaded_bytes_total'),
    heads: num('xtreamd_http_offloaded_heads_total'),
  };
}

const rangeReq = (target, a, b, close = false) =>
  `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\nRange: bytes=${a}-${b}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

// A reader of the whole movie that reads rate bytes per second (0: only the head, then nothing).
function reader(target, rate) {
  const sock = net.connect(srv.port, HOST);
  const chunks = [];
  let got = 0;
  let tickBytes = 0;
  let headSeen = false;
  let resolveHead;
  const head = new Promise((res) => (resolveHead = res));
  const timer = rate
    ? setInterval(() => {
        tickBytes = 0;
        sock.resume();
      }, 100)
    : null;
  const done = new Promise((res) => {
    sock.on('data', (c) => {
      chunks.push(c);
      got += c.length;
      tickBytes += c.length;
      if (!headSeen && Buffer.concat(chunks).indexOf('\r\n\r\n') >= 0) {
        headSeen = true;
        resolveHead();
      }
      if (headSeen && (!rate || tickBytes >= rate / 10)) sock.pause();
    });
    sock.on('close', () => {
      if (timer) clearInterval(timer);
      res({ buf: Buffer.concat(chunks), closedAt: performance.now() });
    });
    sock.on('error', () => {});
  });
  sock.write(`GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
  // resume(): reads the rest, up to the server's close (a paused socket never sees it)
  const resume = () => {
    rate = Infinity;
    sock.resume();
  };
  return { head, done, got: () => got, resume, destroy: () => sock.destroy() };
}

describe('movies on two loops', () => {
  it('four 1 MiB ranges on one keep-alive connection: two written by loop 1, every byte right', { timeout: 90000 }, async () => {
    const before = await offloads();
    const c = await RawClient.open(srv.port);
    try {
      const starts = [0, 3 * MIB + 17, 7 * MIB + 5, 5 * MIB];
      for (let i = 0; i < starts.length; i++) {
        const a = starts[i];
        await c.write(rangeReq(url, a, a + MIB - 1));
        const rs = await c.waitResponses(i + 1, 30000);
        const r = rs[i];
        assert.equal(r.status, 206, `range ${i}`);
        assert.equal(r.headers['content-range'], `bytes ${a}-${a + MIB - 1}/${movie.length}`);
        assert.equal(sha(r.body), sha(movie.subarray(a, a + MIB)), `range ${i}: the file's bytes`);
        assert.equal(c.closed, false, 'keep-alive: the connection serves the next range');
      }
    } finally {
      c.destroy();
    }
    const now = await offloads();
    // the loops take turns, this one included: two of four bodies went to loop 1
    assert.equal(now.jobs - before.jobs, 2, 'bodies handed to loop 1');
    assert.equal(now.bytes - before.bytes, 2 * MIB, 'bytes loop 1 sent');
    // and their heads, in one segment with the body's first bytes (not one send on each loop)
    assert.equal(now.heads - before.heads, 2, 'heads sent by loop 1 with their bodies');
  });

  it('a pipelined small request behind a body written by loop 1 is answered after it, in order', { timeout: 90000 }, async () => {
    const before = await offloads();
    // two big bodies in a row, so one of them is written by loop 1 whatever the turn is
    const wire = rangeReq(url, 0, 2 * MIB - 1) + rangeReq(url, MIB, 3 * MIB - 1) + rangeReq(url, 10, 19, true);
    const c = await RawClient.open(srv.port);
    try {
      await c.write(wire);
      await c.waitClose(30000);
      const rs = parseResponses(c.buf).responses;
      assert.equal(rs.length, 3);
      assert.ok(rs[0].body.equals(movie.subarray(0, 2 * MIB)));
      assert.ok(rs[1].body.equals(movie.subarray(MIB, 3 * MIB)));
      assert.ok(rs[2].body.equals(movie.subarray(10, 20)));
    } finally {
      c.destroy();
    }
    assert.equal((await offloads()).jobs - before.jobs, 1);
  });

  it('ffprobe reads every frame of the movie, twice (one of the two bodies from loop 1)', { timeout: 90000 }, async () => {
    const before = await offloads();
    const count = async (target) => {
      const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0',
        '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', target], { timeout: 120000 });
      return Number(stdout.trim().split(/\s+/)[0]); // a stream is printed once per program too
    };
    const local = await count(path.join(dir, 'movies', 'Offload Film (2020).ts'));
    assert.ok(local >= 50, `the file has its frames (${local})`);
    assert.equal(await count(`http://${HOST}:${srv.port}${url}`), local);
    assert.equal(await count(`http://${HOST}:${srv.port}${url}`), local);
    const now = await offloads();
    assert.ok(now.jobs > before.jobs, 'at least one of the bodies was written by loop 1');
  });

  it('slow readers are not cut while their loop makes progress; stalled ones are', { timeout: 90000 }, async () => {
    const before = await offloads();
    // The loops take turns: slow, stalled, stalled, slow puts one slow and one stalled
    // reader on each loop, whichever loop's turn it is first.
    const slow = [];
    const stalled = [];
    for (const kind of ['slow', 'stalled', 'stalled', 'slow']) {
      const r = reader(url, kind === 'slow' ? 3 * MIB : 0);
      await r.head;
      if (kind === 'slow') slow.push(r);
      else stalled.push({ r, at: performance.now() });
    }
    assert.equal((await offloads()).jobs - before.jobs, 2, 'two of the four bodies went to loop 1');
    const started = performance.now();
    for (const s of slow) {
      const { buf } = await s.done;
      const r = parseResponses(buf).responses[0];
      assert.equal(r?.status, 200);
      assert.equal(r.body.length, movie.length, 'the slow reader got the whole movie');
      assert.equal(sha(r.body), sha(movie));
    }
    // the test means something only if reading took longer than the write timeout
    assert.ok(performance.now() - started > IDLE_S * 1000, 'the slow readers read for longer than the timeout');
    // A stalled reader that wakes up IDLE_S + 5 s after its head finds the connection cut:
    // it reads what was in flight, then the close (not cut, it would get the whole movie).
    for (const { r, at } of stalled) {
      const wait = at + (IDLE_S + 5) * 1000 - performance.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      r.resume();
      const { buf } = await r.done;
      assert.ok(buf.length < movie.length, `a stalled reader was cut (${buf.length} of ${movie.length} bytes)`);
    }
  });

  it('a viewer who hangs up mid-movie frees the line for its next request, on either loop', { timeout: 90000 }, async () => {
    const before = await offloads();
    for (let i = 0; i < 2; i++) {
      const r = reader(soloUrl, 4 * MIB);
      await r.head;
      await pollUntil(() => r.got() > MIB, { timeoutMs: 20000 });
      r.destroy();
      // the line allows one connection: the next request is served once this one is gone
      await pollUntil(async () => (await get(srv.port, soloUrl, { headers: { Range: 'bytes=0-99' } })).status === 206, {
        timeoutMs: 15000,
        intervalMs: 200,
      });
    }
    assert.ok((await offloads()).jobs - before.jobs >= 1, 'one of the hung-up bodies was loop 1\'s');
  });

  it('the admin API cuts a movie whichever loop writes it, and its session goes', { timeout: 90000 }, async () => {
    const before = await offloads();
    const rs = [reader(url, 0), reader(url, 0)]; // stalled: one body on each loop
    await Promise.all(rs.map((r) => r.head));
    assert.equal((await offloads()).jobs - before.jobs, 1);
    const mine = async () =>
      (await getJson(srv.port, '/api/v1/sessions?page_size=1000')).items.filter((x) => x.username === U && x.kind === 'movie');
    const listed = await mine();
    assert.equal(listed.length, 2, JSON.stringify(listed));
    for (const x of listed) assert.equal((await request(srv.port, 'DELETE', `/api/v1/sessions/${x.id}`)).status, 204);
    for (const r of rs) {
      r.resume();
      const { buf } = await r.done; // closed by the server: a paused reader would otherwise wait
      assert.ok(buf.length < movie.length, `cut mid-movie (${buf.length} bytes)`);
    }
    await pollUntil(async () => (await mine()).length === 0, { timeoutMs: 10000, intervalMs: 200 });
  });

  it('a big cached list goes to loop 1 in turn too: four answers on one connection, the same bytes', { timeout: 90000 }, async () => {
    const target = api(U, PW, 'get_live_streams');
    const c = await RawClient.open(srv.port);
    let before;
    let body;
    try {
      // Whichever loop accepted the connection, a request only loop 0 answers (a 404)
      // moves it there (docs/internals/core.md, "Requests on every loop"): loop 0 then
      // hands its big bodies out in turn. (Loop 1 writes the lists it answers itself.)
      await c.write(`GET /no/such/path HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      assert.equal((await c.waitResponses(1))[0].status, 404);
      for (let i = 0; i < 5; i++) {
        if (i === 1) before = await offloads(); // the first answer rendered and cached the list
        await c.write(`GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
        const r = (await c.waitResponses(i + 2, 60000))[i + 1];
        assert.equal(r.status, 200);
        if (i === 0) {
          body = r.body;
          assert.equal(JSON.parse(body.toString()).length, 4000);
          assert.ok(body.length >= 256 * 1024, `the list is big enough to go to another loop (${body.length} bytes)`);
        } else {
          assert.ok(r.body.equals(body), `answer ${i}: the cached list, byte for byte`);
        }
      }
    } finally {
      c.destroy();
    }
    const now = await offloads();
    assert.equal(now.jobs - before.jobs, 2, 'two of the four cached answers were written by loop 1');
    assert.equal(now.bytes - before.bytes, 2 * body.length);
    assert.equal(now.heads - before.heads, 2, 'their heads went with them');
  });

  it('a movie truncated while both loops send it: short bodies, closed, logged, and the server goes on', { timeout: 90000 }, async () => {
    const before = await offloads();
    const from = srv.logs().length;
    // readers that keep reading (no write timeout can end them first), one body on each loop
    const rs = [reader(cutUrl, 8 * MIB), reader(cutUrl, 8 * MIB)];
    await Promise.all(rs.map((r) => r.head));
    await truncate(cutFile, MIB); // each writer then reaches the end early, wherever it was
    assert.equal((await offloads()).jobs - before.jobs, 1);
    for (const r of rs) {
      const { buf } = await r.done;
      assert.ok(buf.length < movie.length, `a short body, then the close (${buf.length} bytes)`);
    }
    // Each response ends with a log line saying why: the sendfile that found the end early
    // (this loop or loop 1), or vod.c's check that the file changed, whichever comes first.
    const why = /file ended early while sending|was removed or replaced while being sent/g;
    await pollUntil(() => (srv.logs().slice(from).match(why) || []).length >= 2, { timeoutMs: 10000 });
    const again = await get(srv.port, url, { headers: { Range: 'bytes=0-99' } });
    assert.equal(again.status, 206);
    assert.ok(again.raw.equals(movie.subarray(0, 100)));
  });

  it('stopping the server while loop 1 writes a stalled body is clean', { timeout: 90000 }, async () => {
    const before = await offloads();
    const rs = [reader(url, 0), reader(url, 0)];
    await Promise.all(rs.map((r) => r.head));
    assert.equal((await offloads()).jobs - before.jobs, 1);
    const r = await srv.stopClean(); // LeakSanitizer and exit 0
    assert.equal(r.code, 0);
    for (const x of rs) {
      x.resume();
      const { buf } = await x.done; // the server closed them, mid-movie
      assert.ok(buf.length < movie.length);
    }
  });
});
