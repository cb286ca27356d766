// HTTP/1.1 over raw sockets: keep-alive, pipelining, size limits (414/431/413),
// malformed requests (400), slow clients and idle timeouts, thousands of idle
// connections. After every bad case the server must still answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LINES, PW, seedDemo, seedLines } from './lib/fixture.mjs';
import { RawClient, api, assertAlive, connect, getJson, parseResponses, rawExchange } from './lib/http.mjs';
import { makeDataDir, removeDir, startServer } from './lib/server.mjs';

const U = LINES.open.user;
let dataDir, A, B;
const HEADER_TIMEOUT = 2; // seconds, server B
const IDLE_TIMEOUT = 2; // seconds, server B

before(async () => {
  dataDir = await makeDataDir('http');
  await seedDemo(dataDir);
  await seedLines(dataDir, ['open']);
  A = await startServer(dataDir);
  B = await startServer(dataDir, ['--header-timeout', String(HEADER_TIMEOUT), '--idle-timeout', String(IDLE_TIMEOUT)]);
});

after(async () => {
  try {
    const results = await Promise.allSettled([A?.stopClean(), B?.stopClean()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } finally {
    await removeDir(dataDir);
  }
});

const reqLine = (target, extra = '') => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

describe('connection reuse', () => {
  it('keep-alive: two requests on one socket', async () => {
    const c = await RawClient.open(A.port);
    try {
      await c.write(reqLine(api(U, PW, 'get_live_categories')));
      const [r1] = await c.waitResponses(1);
      assert.equal(r1.status, 200);
      assert.ok(!/close/i.test(r1.headers.connection || ''), 'HTTP/1.1 defaults to keep-alive');
      assert.ok(r1.headers['content-length'] !== undefined, 'a keep-alive JSON response is length-delimited');
      assert.ok(!c.closed);
      await c.write(reqLine(api(U, PW, 'get_vod_categories')));
      const rs = await c.waitResponses(2);
      assert.equal(rs.length, 2);
      assert.equal(rs[1].status, 200);
      const cats = JSON.parse(rs[1].body.toString());
      assert.ok(cats.some((x) => x.category_name === 'Demo Movies'));
    } finally {
      c.destroy();
    }
  });

  it('pipelining: two requests in one write are answered in order', async () => {
    const data = reqLine(api(U, PW, 'get_vod_categories')) + reqLine(api(U, PW, 'get_live_categories')) + reqLine(api(U, PW, 'get_series_categories'));
    const { responses } = await rawExchange(A.port, data, { n: 3 });
    assert.equal(responses.length, 3);
    const names = responses.map((r) => JSON.parse(r.body.toString()).map((c) => c.category_name));
    assert.ok(names[0].includes('Demo Movies'), `1st answer is VOD categories: ${names[0]}`);
    assert.ok(names[1].includes('Demo News'), `2nd answer is live categories: ${names[1]}`);
    assert.ok(names[2].includes('Demo Series'), `3rd answer is series categories: ${names[2]}`);
  });

  it('pipelining with a HEAD in the middle keeps framing right', async () => {
    const data = reqLine(api(U, PW, 'get_vod_categories')) + `HEAD ${api(U, PW, 'get_live_categories')} HTTP/1.1\r\nHost: x\r\n\r\n` + reqLine(api(U, PW, 'get_series_categories'));
    const { responses } = await rawExchange(A.port, data, { n: 3, headRequests: [1] });
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200]);
    assert.equal(responses[1].body.length, 0);
    assert.ok(JSON.parse(responses[2].body.toString()).some((c) => c.category_name === 'Demo Series'));
  });

  // n: 99 waits for the server's close; the timeout only bounds a server that never closes.
  it('Connection: close → server closes after the response', async () => {
    const { responses, closed } = await rawExchange(A.port, reqLine(api(U, PW, 'get_live_categories'), 'Connection: close\r\n'), { n: 99, timeoutMs: 15000 });
    assert.equal(responses.length, 1);
    assert.equal(responses[0].status, 200);
    assert.ok(closed);
  });

  it('HTTP/1.0 without keep-alive → one response, then close', async () => {
    const { responses, closed } = await rawExchange(A.port, `GET ${api(U, PW, 'get_live_categories')} HTTP/1.0\r\n\r\n`, { n: 99, timeoutMs: 15000 });
    assert.equal(responses.length, 1);
    assert.equal(responses[0].status, 200);
    assert.ok(closed);
  });

  it('a request split into many small writes is assembled', async () => {
    const c = await RawClient.open(A.port);
    try {
      const data = reqLine(api(U, PW, 'get_live_categories'));
      for (let i = 0; i < data.length; i += 7) {
        await c.write(data.slice(i, i + 7));
        await sleep(2);
      }
      const [r] = await c.waitResponses(1);
      assert.equal(r.status, 200);
    } finally {
      c.destroy();
    }
  });
});

describe('limits and malformed requests', () => {
  async function expectStatus(data, status, what) {
    const { responses } = await rawExchange(A.port, data, { n: 1, timeoutMs: 5000 });
    assert.ok(responses.length >= 1, `${what}: no response`);
    assert.equal(responses[0].status, status, `${what}`);
    await assertAlive(A, `after ${what}`);
    return responses[0];
  }

  it('request line > 8 KiB → 414', async () => {
    const long = api(U, PW, 'get_live_categories') + '&pad=' + 'a'.repeat(9000);
    await expectStatus(reqLine(long), 414, 'long request line');
  });

  it('request line just under 8 KiB is accepted', async () => {
    const t = api(U, PW, 'get_live_categories') + '&pad=';
    const target = t + 'a'.repeat(8000 - t.length);
    await expectStatus(reqLine(target), 200, '8000-byte target');
  });

  it('headers > 16 KiB → 431 (one huge header, and many headers)', async () => {
    await expectStatus(reqLine(api(U, PW), `X-Big: ${'b'.repeat(17000)}\r\n`), 431, 'one 17 KB header');
    let many = '';
    for (let i = 0; i < 400; i++) many += `X-H${i}: ${'v'.repeat(50)}\r\n`;
    await expectStatus(reqLine(api(U, PW), many), 431, '400 headers (22 KB)');
  });

  it('body > 1 MiB → 413 (declared by Content-Length)', async () => {
    const head = `POST /player_api.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`;
    await expectStatus(head + 'username=a&password=b&x=', 413, '2 MiB body');
  });

  it('body of exactly 1 MiB is accepted', async () => {
    const body = 'x='.padEnd(1024 * 1024, 'y');
    const data = `POST ${api(U, PW, 'get_live_categories')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    await expectStatus(data, 200, '1 MiB body');
  });

  const MALFORMED = [
    ['garbage', 'GARBAGE\r\n\r\n'],
    ['no HTTP version', 'GET /player_api.php\r\n\r\n'],
    ['bad version', 'GET / HTTP/x.y\r\nHost: x\r\n\r\n'],
    ['header without colon', 'GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['NUL in request line', 'GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['bad Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
    ['negative Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'],
    ['conflicting Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n'],
    ['two Host headers (RFC 9112 §3.2)', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['bad percent-encoding in path', 'GET /player_api/%zz/%G1/x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['control chars in target', 'GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n'],
  ];
  for (const [name, data] of MALFORMED) {
    it(`malformed: ${name} → 400`, async () => {
      await expectStatus(data, 400, name);
    });
  }

  it('Content-Length + Transfer-Encoding → rejected (400, or 501 if chunked is unsupported)', async () => {
    const { responses } = await rawExchange(A.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.ok([400, 501].includes(responses[0]?.status), `got ${responses[0]?.status}`);
    await assertAlive(A);
  });

  it('binary junk and a half request then close never kill the server', async () => {
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
    for (const data of [junk, Buffer.from('GET /player_api.php?username='), Buffer.from('\r\n\r\n\r\n'), Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort')]) {
      const s = await connect(A.port);
      s.on('error', () => {});
      s.write(data);
      await sleep(50);
      s.destroy();
    }
    await sleep(100);
    await assertAlive(A, 'after junk + resets');
  });

  it('unknown method → not a crash, a 4xx/5xx answer', async () => {
    const { responses } = await rawExchange(A.port, `BREW ${api(U, PW)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.ok(responses[0].status >= 400 && responses[0].status !== 500, `BREW → ${responses[0].status}`);
    await assertAlive(A);
  });
});

describe('timeouts', () => {
  // Lower bounds are measured from a moment the server's clock for the
  // connection cannot precede (before connecting / before sending), upper
  // bounds from after the client saw its own step complete, so a slow,
  // loaded machine can only make the lower bounds easier to meet; the upper
  // bounds leave 3 s for the 250 ms sweep and scheduling delays.
  it(`slow-loris: a partial header that stalls is closed after --header-timeout (${HEADER_TIMEOUT}s)`, async () => {
    const t0 = Date.now();
    const c = await RawClient.open(B.port);
    try {
      await c.write('GET /player_api.php?username=a&password=b HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      await c.waitClose((HEADER_TIMEOUT + 3) * 1000);
      const took = c.closedAt - t0;
      assert.ok(took >= HEADER_TIMEOUT * 1000 - 300, `closed too early (${took} ms)`);
      const rs = parseResponses(c.buf).responses;
      if (rs.length) assert.equal(rs[0].status, 408, 'if anything is sent it is 408');
    } finally {
      c.destroy();
    }
    await assertAlive(B);
  });

  it('slow-loris: a header trickled one byte at a time is still cut at --header-timeout', async () => {
    const c = await RawClient.open(B.port);
    const t0 = Date.now();
    const data = 'GET /player_api.php HTTP/1.1\r\nHost: x\r\n' + 'X-Drip: ' + 'd'.repeat(200);
    try {
      // Keeps dripping well past the bound below, so a server that restarts
      // the timer on every byte is caught.
      for (const ch of data) {
        if (c.closed) break;
        await c.write(ch);
        await sleep(100);
        if (Date.now() - t0 > (HEADER_TIMEOUT + 6) * 1000) break;
      }
      await c.waitClose(2000);
      const took = c.closedAt - t0;
      assert.ok(took <= (HEADER_TIMEOUT + 3) * 1000, `a trickling client kept its connection for ${took} ms`);
    } finally {
      c.destroy();
    }
    await assertAlive(B);
  });

  it('a connection that never sends anything is closed after --header-timeout', async () => {
    const c = await RawClient.open(B.port);
    try {
      await c.waitClose((HEADER_TIMEOUT + 3) * 1000);
    } finally {
      c.destroy();
    }
  });

  it(`idle keep-alive is closed after --idle-timeout (${IDLE_TIMEOUT}s), not before`, async () => {
    const c = await RawClient.open(B.port);
    try {
      // The server starts the idle clock once the response is sent, after tSent.
      const tSent = Date.now();
      await c.write(reqLine(api(U, PW, 'get_live_categories')));
      await c.waitResponses(1);
      const t0 = Date.now();
      await c.waitClose((IDLE_TIMEOUT + 4) * 1000);
      const idle = c.closedAt - tSent;
      assert.ok(idle >= IDLE_TIMEOUT * 1000 - 100, `closed before the idle timeout (${idle} ms after the request)`);
      const took = c.closedAt - t0;
      assert.ok(took <= (IDLE_TIMEOUT + 3) * 1000, `idle close took ${took} ms`);
    } finally {
      c.destroy();
    }
  });

  it('a keep-alive connection used again before the idle timeout keeps working', async () => {
    const c = await RawClient.open(B.port);
    try {
      // 4 pauses of 0.4 × the idle timeout: together well past it, each far
      // enough below it that a late timer on a loaded machine does not matter.
      for (let i = 1; i <= 4; i++) {
        await c.write(reqLine(api(U, PW, 'get_live_categories')));
        const rs = await c.waitResponses(i);
        assert.equal(rs.length, i, `response ${i} on the reused connection (closed=${c.closed})`);
        assert.equal(rs[i - 1].status, 200);
        await sleep(IDLE_TIMEOUT * 1000 * 0.4);
      }
      assert.ok(!c.closed);
    } finally {
      c.destroy();
    }
  });
});

describe('many connections', () => {
  it('2,000 idle connections do not stop the server from answering', async () => {
    const N = 2000;
    const socks = [];
    try {
      for (let i = 0; i < N; i += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, N - i) }, () => connect(A.port, { timeoutMs: 10000 })));
        for (const s of batch) {
          s.on('error', () => {});
          socks.push(s);
        }
      }
      // Half of them have sent a partial request head.
      socks.forEach((s, i) => i % 2 && s.write('GET /player_api.php?username=x'));
      await sleep(200);
      const t0 = Date.now();
      const cats = await getJson(A.port, api(U, PW, 'get_live_categories'));
      assert.ok(cats.length >= 3);
      assert.ok(Date.now() - t0 < 3000, `answer took ${Date.now() - t0} ms with ${N} idle connections`);
      // And several fresh clients at once.
      const rs = await Promise.all(Array.from({ length: 20 }, () => getJson(A.port, api(U, PW, 'get_vod_categories'))));
      assert.equal(rs.length, 20);
      const open = socks.filter((s) => !s.destroyed && s.readyState === 'open').length;
      assert.ok(open >= N * 0.99, `server dropped idle connections early: ${open}/${N} still open`);
    } finally {
      for (const s of socks) s.destroy();
    }
    await sleep(300);
    await assertAlive(A, 'after 2,000 connections closed');
  });
});
