// HTTPS (issue 15): the TLS listener beside the plain one. TLS 1.2 and 1.3 with
// curl, ALPN with openssl s_client, TLS 1.1 refused, live TS / HLS / VOD over
// HTTPS decoded by ffprobe or compared byte for byte, server_info and playlists
// following the client's scheme, the admin-API redirect, and a certificate
// reload (SIGHUP) under a request loop with no failed request and no dropped
// viewer. The certificates are made here with `openssl req`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { promisify } from 'node:util';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { api, get, getJson } from './lib/http.mjs';
import { LAVFI_SMALL, tsCheck } from './lib/live.mjs';
import { parseExposition, value } from './lib/prom.mjs';

const run = promisify(execFile);
const U = 'tlsviewer';
const PW = 'Pw.tls-123';
let dir, data, srv, tport, chan, movie, moviePath;
let caPem; // the certificate clients trust (self-signed: it is its own CA)

async function makeCert(stem, cn) {
  const key = path.join(dir, `${stem}.key`);
  const crt = path.join(dir, `${stem}.crt`);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  return { key, crt };
}

/** curl over HTTPS; resolves { code, stdout (Buffer), stderr } without throwing. */
function curl(args, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--cacert', path.join(dir, 'trust.crt'), ...args],
      { encoding: 'buffer', maxBuffer: 64 << 20, timeout: timeoutMs },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr: stderr.toString() }));
  });
}

/** One HTTPS request on a fresh connection (a full handshake each time). */
function httpsGet(target, { headers = {}, timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: tport, path: target, ca: caPem, agent: false, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks),
        cert: res.socket.getPeerCertificate?.() }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`https GET ${target} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The certificate a fresh TLS handshake presents, as its fingerprint. */
function peerFingerprint() {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: tport, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const fp = s.getPeerX509Certificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.setTimeout(10000, () => s.destroy(new Error('handshake timed out')));
    s.on('error', reject);
  });
}

async function metrics() {
  const r = await get(srv.port, '/metrics');
  assert.equal(r.status, 200);
  return parseExposition(r.text);
}

const fp = (pemText) => new X509Certificate(pemText).fingerprint256;
const sha = (b) => createHash('sha256').update(b).digest('hex');

before(async () => {
  dir = await makeDataDir('tls');
  data = path.join(dir, 'data');
  await mkdir(path.join(dir, 'movies', 'Secure Film (2020)'), { recursive: true });
  moviePath = path.join(dir, 'movies', 'Secure Film (2020)', 'Secure Film (2020).mp4');
  const [first] = await Promise.all([
    makeCert('first', 'first.test'),
    // Big enough for many 16 KiB TLS records and a 1 MiB write budget.
    run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast',
      '-b:v', '3M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', moviePath]),
  ]);
  // The served files are tls.crt/tls.key; reload swaps their content.
  await copyFile(first.crt, path.join(dir, 'tls.crt'));
  await copyFile(first.key, path.join(dir, 'tls.key'));
  await copyFile(first.crt, path.join(dir, 'trust.crt'));
  caPem = await readFile(first.crt, 'utf8');
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '0']);
  const r = await cliOk(['stream', 'add', 'Secure Pattern', '--source', LAVFI_SMALL, '--category', 'Tests', '--data', data]);
  chan = Number(r.stdout.trim());
  const scan = await runCli(['vod', 'scan', path.join(dir, 'movies'), '--category', 'Films', '--data', data]);
  assert.equal(scan.code, 0, scan.stderr);
  srv = await startServer(data, ['--channel-idle', '5', '--listen-tls', '127.0.0.1:0',
    '--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key'), '--https-redirect-admin']);
  tport = Number((await srv.waitForLog(/listening on 127\.0\.0\.1:(\d+) \(https\)/)).at(1));
  assert.ok(tport > 0);
  const movies = await getJson(srv.port, api(U, PW, 'get_vod_streams'));
  movie = movies.find((m) => m.name.startsWith('Secure Film'));
  assert.ok(movie, 'the movie is listed');
});

after(async () => {
  await srv?.stopClean();
  assert.doesNotMatch(srv?.stderr ?? '', /PRIVATE KEY|BEGIN EC/, 'no key material in the log');
  await removeDir(dir);
});

describe('handshake', () => {
  it('TLS 1.2 and TLS 1.3 with curl, verified against the certificate', async () => {
    const url = `https://127.0.0.1:${tport}${api(U, PW, '')}`;
    const v12 = await curl(['-v', '--tlsv1.2', '--tls-max', '1.2', '-o', '/dev/null', '-w', '%{http_code}', url]);
    assert.equal(v12.code, 0, v12.stderr);
    assert.equal(v12.stdout.toString(), '200');
    assert.match(v12.stderr, /SSL connection using TLSv1\.2 \/ ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)/);
    assert.match(v12.stderr, /ALPN: server accepted http\/1\.1/);
    const v13 = await curl(['-v', '--tlsv1.3', '-o', '/dev/null', '-w', '%{http_code}', url]);
    assert.equal(v13.code, 0, v13.stderr);
    assert.equal(v13.stdout.toString(), '200');
    assert.match(v13.stderr, /SSL connection using TLSv1\.3 \/ TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)/);
  });

  it('openssl s_client negotiates ALPN http/1.1; a client offering only h2 gets no ALPN', async () => {
    const sc = (alpn) => new Promise((resolve) => {
      const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${tport}`, '-alpn', alpn, '-ign_eof', '-CAfile', path.join(dir, 'trust.crt')],
        { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      const t = setTimeout(() => p.kill('SIGKILL'), 20000);
      p.on('close', () => {
        clearTimeout(t);
        resolve(out);
      });
      p.stdin.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    const yes = await sc('http/1.1');
    assert.match(yes, /ALPN protocol: http\/1\.1/);
    assert.match(yes, /Verify return code: 0 \(ok\)/);
    assert.match(yes, /HTTP\/1\.1 \d{3} /, 'an HTTP answer over the TLS session');
    const no = await sc('h2');
    assert.match(no, /No ALPN negotiated/);
  });

  it('TLS 1.1 is refused (protocol version alert), and the failure is counted', async () => {
    const before1 = value(await metrics(), 'xtreamd_tls_handshake_failures_total');
    const r = await curl(['-k', '--tlsv1.1', '--tls-max', '1.1', `https://127.0.0.1:${tport}/`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /protocol version|unsupported protocol|no protocols available/i);
    // Not TLS at all: a plain HTTP request on the TLS port.
    const s = net.connect(tport, '127.0.0.1');
    s.on('error', () => {});
    s.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await pollUntil(async () => value(await metrics(), 'xtreamd_tls_handshake_failures_total') >= before1 + 2, { timeoutMs: 10000 });
    const m = await metrics();
    assert.equal(value(m, 'xtreamd_tls_ktls_available'), 0, 'this kernel has no tls ULP');
    assert.ok(value(m, 'xtreamd_tls_connections_total', { path: 'userspace' }) > 0);
    assert.match(srv.stderr, /tls: user-space TLS/, 'the chosen path is logged');
  });
});

describe('responses over HTTPS', () => {
  it('server_info reports https_port and the scheme of the connection; playlists use it', async () => {
    const overTls = JSON.parse((await httpsGet(api(U, PW, ''))).body);
    assert.equal(overTls.server_info.server_protocol, 'https');
    assert.equal(overTls.server_info.https_port, String(tport));
    assert.equal(overTls.server_info.port, String(srv.port));
    const plain = await getJson(srv.port, api(U, PW, ''));
    assert.equal(plain.server_info.server_protocol, 'http');
    assert.equal(plain.server_info.port, String(srv.port));
    assert.equal(plain.server_info.https_port, String(tport));
    const m3u = (await httpsGet(`/get.php?username=${U}&password=${PW}&type=m3u_plus&output=ts`, {
      headers: { Host: `localhost:${tport}` },
    })).body.toString();
    assert.match(m3u, new RegExp(`^https://localhost:${tport}/(live/)?${U}/`, 'm'));
    assert.doesNotMatch(m3u, /^http:\/\//m);
    const plainM3u = (await get(srv.port, `/get.php?username=${U}&password=${PW}&type=m3u_plus&output=ts`)).text;
    assert.match(plainM3u, /^http:\/\/127\.0\.0\.1:\d+\//m);
  });

  it('a live TS channel over HTTPS: continuous packets that ffprobe decodes; HLS over HTTPS too', async () => {
    // The channel starts cold: collect the first 400 kB (a few seconds), then hang up.
    const buf = await new Promise((resolve, reject) => {
      const chunks = [];
      let got = 0;
      const req = https.get({ host: '127.0.0.1', port: tport, path: `/live/${U}/${PW}/${chan}.ts`, ca: caPem, agent: false }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-type'], 'video/mp2t');
        res.on('data', (c) => {
          chunks.push(c);
          got += c.length;
          if (got >= 400000) {
            req.destroy();
            resolve(Buffer.concat(chunks));
          }
        });
        res.on('end', () => reject(new Error(`live body ended after ${got} bytes`)));
      });
      req.setTimeout(60000, () => req.destroy(new Error(`live over HTTPS: ${got} bytes in 60 s`)));
      req.on('error', (e) => (got >= 400000 ? null : reject(e)));
    });
    const file = path.join(dir, 'live.ts');
    await writeFile(file, buf);
    const c = tsCheck(buf.subarray(0, buf.length - (buf.length % 188)));
    assert.equal(c.badSync, 0);
    assert.equal(c.ccErrors, 0);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', file]);
    const codecs = JSON.parse(stdout).streams.map((s) => s.codec_name).sort();
    assert.deepEqual(codecs, ['aac', 'h264']);
    // ffprobe itself over HTTPS, on the HLS playlist (segments fetched over TLS).
    const hls = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams',
      `https://127.0.0.1:${tport}/live/${U}/${PW}/${chan}.m3u8`], { timeout: 60000 });
    assert.deepEqual(JSON.parse(hls.stdout).streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  });

  it('a VOD file over HTTPS, whole and by Range, byte-exact; ffprobe reads it over HTTPS', async () => {
    const file = await readFile(moviePath);
    assert.ok(file.length > 1 << 20, 'the clip spans more than the 1 MiB write budget');
    const t = `/movie/${U}/${PW}/${movie.stream_id}.${movie.container_extension}`;
    const whole = await httpsGet(t);
    assert.equal(whole.status, 200);
    assert.equal(sha(whole.body), sha(file));
    const n = file.length;
    for (const [range, a, b] of [['bytes=0-99', 0, 99], ['bytes=100000-500000', 100000, 500000],
      [`bytes=${n - 70000}-`, n - 70000, n - 1], ['bytes=-1', n - 1, n - 1]]) {
      const r = await curl(['-r', range.slice(6), '-D', '-', '-o', path.join(dir, 'part'), `https://127.0.0.1:${tport}${t}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout.toString(), /^HTTP\/1\.1 206 /);
      assert.match(r.stdout.toString(), new RegExp(`Content-Range: bytes ${a}-${b}/${n}`, 'i'));
      const part = await readFile(path.join(dir, 'part'));
      assert.equal(sha(part), sha(file.subarray(a, b + 1)), range);
    }
    const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', `https://127.0.0.1:${tport}${t}`]);
    assert.ok(Number(JSON.parse(stdout).format.duration) > 5);
    const m = await metrics();
    assert.ok(value(m, 'xtreamd_tls_file_bytes_total', { path: 'userspace' }) >= n);
  });
});

describe('https-redirect-admin', () => {
  it('plain /api/v1 requests get 308 to HTTPS; client and stream routes stay on both', async () => {
    const r = await get(srv.port, '/api/v1/streams?limit=1');
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, `https://127.0.0.1:${tport}/api/v1/streams?limit=1`);
    const viaTls = await httpsGet('/api/v1/streams?limit=1', {
      headers: { Host: `127.0.0.1:${tport}`, Authorization: `Bearer ${srv.token}` },
    });
    assert.equal(viaTls.status, 200, viaTls.body.toString());
    assert.equal((await get(srv.port, api(U, PW, 'get_live_categories'))).status, 200);
    assert.equal((await get(srv.port, '/metrics')).status, 200);
  });
});

describe('certificate reload (SIGHUP)', () => {
  it('a request loop sees no failure, a viewer is not dropped, new handshakes get the new certificate', async () => {
    const second = await makeCert('second', 'second.test');
    // Clients trust both while the server switches.
    await writeFile(path.join(dir, 'trust.crt'), caPem + (await readFile(second.crt, 'utf8')));
    caPem = await readFile(path.join(dir, 'trust.crt'), 'utf8');
    const oldFp = fp(await readFile(path.join(dir, 'first.crt'), 'utf8'));
    const newFp = fp(await readFile(second.crt, 'utf8'));
    assert.equal(await peerFingerprint(), oldFp);

    // A live viewer over TLS that must survive the reload.
    let viewerBytes = 0;
    let viewerEnded = false;
    const viewer = https.get({ host: '127.0.0.1', port: tport, path: `/live/${U}/${PW}/${chan}.ts`, ca: caPem, agent: false }, (res) => {
      res.on('data', (c) => (viewerBytes += c.length));
      res.on('end', () => (viewerEnded = true));
      res.on('error', () => (viewerEnded = true));
    });
    viewer.on('error', () => (viewerEnded = true));
    await pollUntil(() => viewerBytes > 0, { timeoutMs: 30000 });

    let ok = 0;
    const failures = [];
    let stop = false;
    const loop = async () => {
      while (!stop) {
        try {
          const r = await httpsGet(api(U, PW, 'get_live_categories'));
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status}`);
        } catch (e) {
          failures.push(e.message);
        }
      }
    };
    const loops = [loop(), loop()];
    await pollUntil(() => ok >= 10, { timeoutMs: 30000 });
    await copyFile(second.crt, path.join(dir, 'tls.crt'));
    await copyFile(second.key, path.join(dir, 'tls.key'));
    const from = srv.stderr.length;
    srv.child.kill('SIGHUP');
    await srv.waitForLog(/tls: reloaded: now serving certificate \/CN=second\.test/, { from, timeoutMs: 10000 });
    await pollUntil(async () => (await peerFingerprint()) === newFp, { timeoutMs: 10000 });
    const atReload = ok;
    await pollUntil(() => ok >= atReload + 10, { timeoutMs: 30000 });

    // A bad certificate: the reload fails, says why, and the current one stays.
    const from2 = srv.stderr.length;
    await writeFile(path.join(dir, 'tls.crt'), 'not a certificate\n');
    srv.child.kill('SIGHUP');
    await srv.waitForLog(/certificate reload failed, keeping the current certificate: certificate .*tls\.crt/, { from: from2, timeoutMs: 10000 });
    const atBad = ok;
    await pollUntil(() => ok >= atBad + 10, { timeoutMs: 30000 });
    assert.equal(await peerFingerprint(), newFp);
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, [], 'no request failed across the reloads');

    const bytesAtEnd = viewerBytes;
    await pollUntil(() => viewerBytes > bytesAtEnd, { timeoutMs: 20000 });
    assert.equal(viewerEnded, false, 'the viewer connected before the reload still streams');
    viewer.destroy();
    const m = await metrics();
    assert.equal(value(m, 'xtreamd_tls_reloads_total', { result: 'ok' }), 1);
    assert.equal(value(m, 'xtreamd_tls_reloads_total', { result: 'failed' }), 1);
  });
});

describe('settings', () => {
  it('listen-tls without a certificate, or with a key that does not match, refuses to start and says why', async () => {
    const d = path.join(dir, 'data-bad');
    const noCert = await runCli(['serve', '--data', d, '--listen', '127.0.0.1:0', '--listen-tls', '127.0.0.1:0'], { timeoutMs: 30000 });
    assert.notEqual(noCert.code, 0);
    assert.match(noCert.stderr, /needs both a certificate \(tls-cert\) and a key \(tls-key\)/);
    const other = await makeCert('other', 'other.test');
    const mismatch = await runCli(['serve', '--data', d, '--listen', '127.0.0.1:0', '--listen-tls', '127.0.0.1:0',
      '--tls-cert', path.join(dir, 'first.crt'), '--tls-key', other.key], { timeoutMs: 30000 });
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.stderr, /cannot load the TLS certificate: key .*other\.key: .*key values mismatch/);
    assert.doesNotMatch(mismatch.stderr, /BEGIN|PRIVATE/);
  });
  it('a configured public URL wins over the scheme the client used', async () => {
    const d = path.join(dir, 'data-pub');
    await cliOk(['line', 'add', U, PW, '--data', d]);
    const pub = await startServer(d, ['--public-url', 'http://tv.example.com:8080', '--listen-tls', '127.0.0.1:0',
      '--tls-cert', path.join(dir, 'first.crt'), '--tls-key', path.join(dir, 'first.key')]);
    try {
      const p = Number((await pub.waitForLog(/listening on 127\.0\.0\.1:(\d+) \(https\)/)).at(1));
      const body = await new Promise((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: p, path: api(U, PW, ''), ca: caPem, agent: false }, (res) => {
          let t = '';
          res.on('data', (c) => (t += c));
          res.on('end', () => resolve(JSON.parse(t)));
        }).on('error', reject);
      });
      assert.equal(body.server_info.server_protocol, 'http');
      assert.equal(body.server_info.url, 'tv.example.com');
      assert.equal(body.server_info.port, '8080');
      assert.equal(body.server_info.https_port, '', 'behind a public URL the other port is unknown');
    } finally {
      await pub.stopClean();
    }
  });
});
