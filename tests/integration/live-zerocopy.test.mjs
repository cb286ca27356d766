// Live TS by sendfile (issue 11, `--live write=sendfile`, the default): every
// chunk's bytes are also kept in the rendition's memfd at their stream offset,
// and plain-TCP viewers' slices are sent from it with sendfile(2); TLS viewers
// keep the copy path (writev/SSL_write from the chunks' refbufs). Checked here:
// a plain viewer and a TLS viewer receive the same bytes over many turns of a
// 1 MiB ring and a channel restart; the memfd stays bounded (/metrics); a
// paused viewer is skipped, and its slices whose bytes left the memfd go out by
// copy (counted) rather than as holes; `write=copy` keeps no memfd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { get } from './lib/http.mjs';
import { tsCheck, tsViewer } from './lib/live.mjs';
import { parseExposition, value } from './lib/prom.mjs';

const run = promisify(execFile);
const U = 'zcviewer';
const PW = 'Pw.zc-123';
let dir, data, srv, tport, chan, caPem;

const sha = (b) => createHash('sha256').update(b).digest('hex');
const url = (id) => `/live/${U}/${PW}/${id}.ts`;
const BOUND = (4 << 20) + 65536; // memfd bytes of a running channel with ring-mb=1

async function metrics(s = srv) {
  const r = await get(s.port, '/metrics');
  assert.equal(r.status, 200);
  return parseExposition(r.text);
}

/** A TLS TS viewer collecting what it receives (the copy path). */
function tlsViewer(target) {
  return new Promise((resolve, reject) => {
    const v = { bytes: 0, chunks: [], ended: false };
    const req = https.get({ host: '127.0.0.1', port: tport, path: target, ca: caPem, agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`TLS viewer: ${res.statusCode}`));
      res.on('data', (c) => {
        v.bytes += c.length;
        v.chunks.push(c);
      });
      const end = () => (v.ended = true);
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
      resolve(v);
    });
    v.close = () => req.destroy();
    v.buffer = () => Buffer.concat(v.chunks);
    req.on('error', (e) => {
      v.ended = true;
      reject(e);
    });
  });
}

/**
 * a and b are windows of the same stream (each a viewer's bytes from its
 * start): where one's first 64 KiB occur in the other, the overlap. Returns
 * its length and whether both sides hash the same (noise video: no false
 * match).
 */
function overlap(a, b) {
  for (const [x, y] of [[a, b], [b, a]]) {
    const k = x.indexOf(y.subarray(0, 65536));
    if (k >= 0) {
      const n = Math.min(x.length - k, y.length);
      return { n, same: sha(x.subarray(k, k + n)) === sha(y.subarray(0, n)) };
    }
  }
  return { n: 0, same: false };
}

async function makeCert() {
  const key = path.join(dir, 'tls.key');
  const crt = path.join(dir, 'tls.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=zc.test', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { key, crt };
}

before(async () => {
  dir = await makeDataDir('zerocopy');
  data = path.join(dir, 'data');
  // ~6 Mbit/s of incompressible video (lossless noise, 160x120): several turns
  // of a 1 MiB ring within seconds, from a tiny picture that costs no encoding.
  const clip = path.join(dir, 'noise.ts');
  const [{ key, crt }] = await Promise.all([
    makeCert(),
    run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25,noise=alls=100:allf=t',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0',
      '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', '-y', clip], { timeout: 120000 }),
  ]);
  caPem = await readFile(crt, 'utf8');
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '0']);
  chan = Number((await cliOk(['stream', 'add', 'Noise', '--source', clip, '--category', 'Tests', '--data', data])).stdout.trim());
  // The default loops (one per CPU): a plain viewer moved to loop 1 is written with sendfile
  // from loop 0's memfd too (live.md, "Zero-copy on fan loops").
  srv = await startServer(data, ['--channel-idle', '30', '--live', 'ring-mb=1', '--live', 'ring-seconds=30',
    '--live', 'max-skips=50', '--listen-tls', '127.0.0.1:0', '--tls-cert', crt, '--tls-key', key]);
  tport = Number((await srv.waitForLog(/listening on 127\.0\.0\.1:(\d+) \(https\)/)).at(1));
});

after(async () => {
  await srv?.stopClean();
  await removeDir(dir);
});

describe('live TS by sendfile', () => {
  it('a plain (sendfile) and a TLS (copy) viewer get the same bytes over ring turns and a restart; the memfd stays bounded', async () => {
    const p0m = await metrics();
    assert.equal(value(p0m, 'xtreamd_live_memfd_bytes'), 0, 'no memfd before a channel runs');
    const plain = await tsViewer(srv.port, url(chan));
    assert.equal(plain.status, 200);
    const secure = await tlsViewer(url(chan));
    await pollUntil(() => plain.bytes > 3e6 && secure.bytes > 3e6, { timeoutMs: 90000, intervalMs: 200 });
    const m = await metrics();
    const held = value(m, 'xtreamd_live_memfd_bytes');
    // The ring (1 MiB) plus the punch margin (1 MiB), the 2 MiB punch unit and a chunk.
    assert.ok(held > 0, 'the chunks are in a memfd');
    assert.ok(held <= BOUND, `memfd bounded: ${held} bytes`);
    assert.equal(value(m, 'xtreamd_live_memfd_errors_total'), 0);

    const pid = JSON.parse((await cliOk(['channel', 'show', String(chan), '--data', data])).stdout).pid;
    await cliOk(['channel', 'restart', String(chan), '--data', data]);
    await pollUntil(async () => {
      const s = JSON.parse((await cliOk(['channel', 'show', String(chan), '--data', data])).stdout);
      return s.pid > 0 && s.pid !== pid && s.state === 'running';
    }, { timeoutMs: 30000, intervalMs: 250 });
    const p0 = plain.bytes, s0 = secure.bytes;
    await pollUntil(() => plain.bytes > p0 + 2e6 && secure.bytes > s0 + 2e6, { timeoutMs: 90000, intervalMs: 200 });
    assert.ok(!plain.ended && !secure.ended, 'both viewers survive the restart');
    plain.close();
    secure.close();

    const a = plain.buffer(), b = secure.buffer();
    const chk = tsCheck(a);
    assert.equal(chk.badSync, 0, 'every packet of the sendfile viewer is a TS packet (no holes)');
    const o = overlap(a, b);
    assert.ok(o.n > 4e6, `the two viewers overlap over several ring turns (${o.n} bytes)`);
    assert.ok(o.same, 'sendfile and copy viewers received identical bytes');
    const m2 = await metrics();
    assert.ok(value(m2, 'xtreamd_live_memfd_bytes') <= BOUND);
    // The plain viewer's bytes went out by sendfile (the TLS viewer's never do).
    assert.ok(value(m2, 'xtreamd_live_memfd_sent_bytes_total') >= a.length * 0.9,
      `sent with sendfile: ${value(m2, 'xtreamd_live_memfd_sent_bytes_total')} of the plain viewer's ${a.length}`);
  });

  it('a paused viewer is skipped; its queued slices whose bytes left the memfd go out by copy, never as holes', async () => {
    const before0 = await metrics();
    const skips0 = value(before0, 'xtreamd_live_skips_total');
    const fb0 = value(before0, 'xtreamd_live_memfd_copy_fallbacks_total');
    const fast = await tsViewer(srv.port, url(chan));
    const slow = await tsViewer(srv.port, url(chan), { pause: true });
    assert.equal(slow.status, 200);
    // Paused: its socket fills, it lags past slow-lag + slow-grace and is
    // skipped (the skip moves its cursor; the slices already queued stay).
    await pollUntil(async () => value(await metrics(), 'xtreamd_live_skips_total') > skips0, { timeoutMs: 60000, intervalMs: 250 });
    const f0 = fast.bytes;
    await pollUntil(() => fast.bytes > f0 + 4e6, { timeoutMs: 60000, intervalMs: 200 }); // the memfd moved on (ring + margin + punch unit)
    slow.res.resume();
    const s0 = slow.bytes;
    await pollUntil(() => slow.bytes > s0 + 2e6, { timeoutMs: 60000, intervalMs: 200 });
    assert.ok(!slow.ended, 'the skipped viewer is still connected');
    const f1 = fast.bytes;
    await pollUntil(() => fast.bytes > f1 + 1e6, { timeoutMs: 60000, intervalMs: 200 });
    slow.close();
    // The fast viewer reads on past the slow one's last bytes: on another loop, or a batch
    // (write-interval) later, it may not have had them yet.
    const f2 = fast.bytes;
    await pollUntil(() => fast.bytes > f2 + 1e6, { timeoutMs: 60000, intervalMs: 200 });
    fast.close();
    const s = slow.buffer();
    assert.equal(tsCheck(s).badSync, 0, 'no hole (zeros) reached the slow viewer');
    assert.ok(value(await metrics(), 'xtreamd_live_memfd_copy_fallbacks_total') > fb0, 'slices whose bytes were punched went out by copy (counted)');
    // What it received after its last skip is the stream the fast viewer got. Its last
    // 512 KiB: after the resume it drains what was queued before the skip (a junction at a
    // keyframe), catches up (up to a GOP) and then reads live for over 1 MB; a longer tail
    // could reach back over the junction, whose two sides are not consecutive bytes.
    const tail = s.subarray(s.length - 524288);
    const o = overlap(fast.buffer(), tail);
    assert.ok(o.n === tail.length && o.same, `the slow viewer's bytes after the skip are the stream (${o.n} bytes compared)`);
  });
});

describe('write=copy', () => {
  it('keeps no memfd: TS viewers are served from the refbufs by writev', async () => {
    await srv.stopClean();
    srv = await startServer(data, ['--live', 'write=copy', '--live', 'ring-mb=1']);
    const v = await tsViewer(srv.port, url(chan));
    await pollUntil(() => v.bytes > 1e6, { timeoutMs: 90000, intervalMs: 200 });
    v.close();
    assert.equal(tsCheck(v.buffer()).badSync, 0);
    const m = await metrics();
    assert.equal(value(m, 'xtreamd_live_memfd_bytes'), 0);
    assert.equal(value(m, 'xtreamd_live_memfd_errors_total'), 0);
    assert.equal(value(m, 'xtreamd_live_memfd_sent_bytes_total'), 0);
  });
});
