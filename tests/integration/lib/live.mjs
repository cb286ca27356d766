// Live-engine test helpers: header-only GETs for never-ending responses, a TS
// viewer that counts bytes and checks continuity, ffprobe, generated sources
// (ffmpeg lavfi test patterns, small and cheap), and child-process checks.
import { spawn, execFile } from 'node:child_process';
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { HOST } from './server.mjs';

const execFileP = promisify(execFile);

/** A small test pattern with audio as a lavfi: source (video [out0], audio [out1]). */
export const LAVFI_SMALL = 'lavfi:testsrc=size=192x108:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]';

/**
 * GET that resolves with the status, headers and whatever body arrives within
 * bodyMs (or until the end, or as soon as untilBytes have arrived), then hangs
 * up. For live responses.
 */
export function getHeadOnly(port, target, { headers = {}, bodyMs = 300, untilBytes = Infinity, timeoutMs = 30000, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method: 'GET', path: target, headers, agent: false, localAddress }, (res) => {
      const chunks = [];
      let got = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(t);
        clearTimeout(timer);
        const raw = Buffer.concat(chunks);
        res.destroy();
        resolve({ status: res.statusCode, headers: res.headers, raw, text: raw.toString('utf8') });
      };
      const t = setTimeout(finish, bodyMs);
      res.on('data', (c) => {
        chunks.push(c);
        got += c.length;
        if (got >= untilBytes) finish();
      });
      res.on('end', finish);
      res.on('error', () => finish());
    });
    const timer = setTimeout(() => req.destroy(new Error(`GET ${target} timed out`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

/** Continuity-counter errors per PID in a TS buffer (PIDs in `pids`, or all but PSI). */
export function tsCheck(buf) {
  const last = new Map();
  let ccErrors = 0;
  let packets = 0;
  let badSync = 0;
  for (let i = 0; i + 188 <= buf.length; i += 188) {
    if (buf[i] !== 0x47) {
      badSync++;
      continue;
    }
    packets++;
    const pid = ((buf[i + 1] & 0x1f) << 8) | buf[i + 2];
    const afc = (buf[i + 3] >> 4) & 3;
    const cc = buf[i + 3] & 0x0f;
    if (pid === 0 || pid === 0x1fff || pid === 4096 || !(afc & 1)) continue; // PSI copies may repeat
    const discont = afc & 2 && buf[i + 4] > 0 && buf[i + 5] & 0x80;
    if (last.has(pid) && !discont && cc !== last.get(pid) && cc !== ((last.get(pid) + 1) & 15)) ccErrors++;
    last.set(pid, cc);
  }
  const firstPid = buf.length >= 3 ? ((buf[1] & 0x1f) << 8) | buf[2] : -1;
  return { packets, ccErrors, badSync, firstPid, aligned: buf.length % 188 === 0 };
}

/** A streaming TS viewer: .bytes, .chunks, .ended, .close(); resolves once headers arrived. */
export function tsViewer(port, target, { localAddress, keep = true, pause = false } = {}) {
  return new Promise((resolve, reject) => {
    const v = { bytes: 0, chunks: [], ended: false, status: 0, headers: null, res: null };
    const req = http.request({ host: HOST, port, method: 'GET', path: target, agent: false, localAddress }, (res) => {
      v.status = res.statusCode;
      v.headers = res.headers;
      v.res = res;
      if (pause) res.pause();
      res.on('data', (c) => {
        v.bytes += c.length;
        if (keep) v.chunks.push(c);
      });
      const end = () => (v.ended = true);
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
      resolve(v);
    });
    v.close = () => {
      req.destroy();
      v.res?.destroy();
    };
    v.buffer = () => Buffer.concat(v.chunks);
    req.on('error', (e) => {
      v.ended = true;
      if (!v.res) reject(e);
    });
    req.end();
  });
}

/** ffprobe a file: { streams: [{codec_name,...}], format: {duration} }. */
export async function ffprobe(file) {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file], { timeout: 30000 });
  return JSON.parse(stdout);
}

const kids = new Set();
process.on('exit', () => {
  for (const k of kids) {
    try {
      k.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** ffmpeg pushing a small test pattern as MPEG-TS to udp://127.0.0.1:port (killed at exit). */
export function pushUdp(port, { freq = 440, size = '192x108' } = {}) {
  const child = spawn('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`, '-f', 'lavfi', '-i', `sine=frequency=${freq}:sample_rate=48000`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', `udp://127.0.0.1:${port}?pkt_size=1316`], { stdio: 'ignore' });
  kids.add(child);
  child.on('exit', () => kids.delete(child));
  return child;
}

/** PIDs of the direct children of pid (from /proc). */
export function childPids(pid) {
  const out = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    }
  } catch {
    /* process gone */
  }
  return out;
}

export function pidAlive(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(st);
  } catch {
    return false;
  }
}
