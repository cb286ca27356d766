// A live MPEG-TS source over HTTP for cluster tests: one small ffmpeg encode
// (the clock of a broadcast), fanned out to every client from the packet
// boundary where it joins, like a live HTTP/TS head end. Counts its clients.
import http from 'node:http';
import { spawn } from 'node:child_process';

const TS = 188;

/**
 * startTsSource({ gop }) → { url, clients (count of requests served), paused, close() }.
 * The stream is 160x90 at 10 fps with a keyframe every `gop` frames, and AAC. While
 * `paused` is true the encoder's packets are dropped: the clients' connections stay open
 * and silent (a stalled head end).
 */
export async function startTsSource({ gop = 10 } = {}) {
  const ff = spawn('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', String(gop),
    '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '32k', '-f', 'mpegts', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const subs = new Set();
  const src = { clients: 0, paths: [], paused: false };
  let carry = Buffer.alloc(0);
  ff.stdout.on('data', (d) => {
    // whole packets only, so that a client joining now starts on a packet
    const all = carry.length ? Buffer.concat([carry, d]) : d;
    const whole = all.length - (all.length % TS);
    carry = all.subarray(whole);
    if (!whole) return;
    const out = all.subarray(0, whole);
    if (src.paused) return;
    for (const res of subs) res.write(out);
  });
  const server = http.createServer((req, res) => {
    src.clients++;
    src.paths.push(req.url);
    res.writeHead(200, { 'Content-Type': 'video/mp2t' });
    subs.add(res);
    res.on('close', () => subs.delete(res));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  src.url = `http://127.0.0.1:${server.address().port}/live.ts`;
  src.close = async () => {
    ff.kill('SIGKILL');
    for (const res of subs) res.destroy();
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  };
  process.on('exit', () => ff.kill('SIGKILL'));
  return src;
}
