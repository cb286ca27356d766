// Abuse of the live engine (issue 9, items 7, 8, 12): open-and-drop bursts of
// channel starts are limited per line and per IP and never leave ffmpeg
// running, the cap on channels starting at once answers 503, the connection
// registry's bound refuses (503, counted) instead of silently not enforcing
// limits, admin lookups of channel ids create no engine state, and SIGKILL of
// the server during start bursts leaves no ffmpeg behind.
// ffmpeg children are recognised by a marker unique to this run in their
// command line (a lavfi filter instance name); leftovers are killed in after().
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { HOST, binPath, cliOk, makeDataDir, pollUntil, removeDir, startServer } from './lib/server.mjs';
import { get, withAdminToken } from './lib/http.mjs';
import { childPids, pidAlive } from './lib/live.mjs';
import { parseExposition, value } from './lib/prom.mjs';

const PW = 'Pw.abuse-1';
const MARK = `xtabuse${process.pid}x${Date.now() % 100000}`;
const CHANNELS = 60;

/** PIDs of processes whose command line contains the marker. */
function markedPids() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (cmd.includes(MARK) && !/\) Z /.test(st)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function killLeftovers() {
  for (const p of markedPids()) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

async function metrics(port) {
  const r = await get(port, '/metrics');
  assert.equal(r.status, 200);
  return parseExposition(r.text);
}

/** Opens a TS request and hangs up as soon as the status line is in. */
function openAndDrop(port, target, localAddress) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, path: target, agent: false, localAddress }, (res) => {
      const status = res.statusCode;
      let text = '';
      if (status !== 200) {
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        const types = res.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-type').length;
        res.on('end', () => resolve({ status, text, types, type: res.headers['content-type'], retryAfter: res.headers['retry-after'] }));
        return;
      }
      req.destroy();
      resolve({ status, text });
    });
    req.setTimeout(30000, () => req.destroy(new Error(`${target} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** A keep-alive client for many small GETs (admin lookups, p99 probes). */
function keepAliveGet(agent, port, target) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: HOST, port, path: target, agent, headers: withAdminToken(port, target) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.setTimeout(30000, () => req.destroy(new Error(`${target} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

let dataDir;
let ids = [];
const servers = [];

before(async () => {
  dataDir = await makeDataDir('live-abuse');
  await cliOk(['line', 'add', 'solo', PW, '--data', dataDir, '--max-connections', '1']);
  await cliOk(['line', 'add', 'fan', PW, '--data', dataDir, '--max-connections', '0']);
  const lines = ['#EXTM3U'];
  for (let i = 0; i < CHANNELS; i++) {
    // Cheap sources (tiny frames, 10 fps), each with a unique URL (imports
    // merge equal URLs) carrying the run's marker.
    lines.push(`#EXTINF:-1 group-title="Abuse",Abuse ${i}`);
    lines.push(`lavfi:testsrc@${MARK}c${i}=size=64x36:rate=10[out0]`);
  }
  const m3u = path.join(dataDir, 'abuse.m3u');
  await writeFile(m3u, lines.join('\n') + '\n');
  await cliOk(['import', 'm3u', m3u, '--data', dataDir]);
});

after(async () => {
  try {
    for (const s of servers) if (s.alive()) await s.stop();
  } finally {
    killLeftovers();
    await removeDir(dataDir);
  }
});

async function serve(extra) {
  const s = await startServer(dataDir, ['--channel-idle', '30', ...extra]);
  servers.push(s);
  if (!ids.length) {
    const r = await get(s.port, `/player_api.php?username=fan&password=${PW}&action=get_live_streams`);
    ids = r.json().map((x) => Number(x.stream_id));
    assert.equal(ids.length, CHANNELS);
  }
  return s;
}

describe('channel starts', () => {
  it('60 open-and-drop channel requests from one line: at most the allowed starts, no ffmpeg left, p99 of get_live_streams under 100 ms', async (t) => {
    const BURST = 4;
    const RATE = 6; // per minute: at most one more start every 10 s
    const srv = await serve(['--live', `start-burst=${BURST}`, '--live', `start-rate=${RATE}`, '--live', 'max-starting=8']);
    try {
      let maxProcs = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxProcs = Math.max(maxProcs, markedPids().length);
          await sleep(20);
        }
      })();
      // Normal requests, one at a time on a keep-alive connection: first alone
      // (the machine's own noise, measured the same way), then during the burst.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const target = `/player_api.php?username=fan&password=${PW}&action=get_live_streams`;
      await keepAliveGet(agent, srv.port, target); // warm: connection and response cache
      const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];
      const base = [];
      for (let i = 0; i < 100; i++) base.push((await keepAliveGet(agent, srv.port, target)).ms);
      const lat = [];
      let probing = true;
      const probe = (async () => {
        while (probing) {
          const r = await keepAliveGet(agent, srv.port, target);
          assert.equal(r.status, 200);
          lat.push(r.ms);
        }
      })();
      // 60 open-and-drop requests in about 3 s (the reported attack: 60 in 4 s).
      const t0 = Date.now();
      const results = [];
      for (let k = 0; k < CHANNELS; k += 5) {
        const batch = ids.slice(k, k + 5).map((id) => openAndDrop(srv.port, `/live/solo/${PW}/${id}.ts`));
        results.push(...(await Promise.all(batch)));
        await sleep(250); // pacing of the attack, not synchronisation
      }
      const burstMs = Date.now() - t0;
      probing = false;
      await probe;
      agent.destroy();
      const ok = results.filter((r) => r.status === 200).length;
      const refused = results.filter((r) => r.status === 429);
      const allowed = BURST + Math.ceil((burstMs * RATE) / 60000);
      assert.ok(ok >= 1 && ok <= allowed, `${ok} channel starts admitted in ${burstMs} ms (allowed ${allowed})`);
      assert.equal(ok + refused.length, CHANNELS, `statuses: ${JSON.stringify(results.map((r) => r.status))}`);
      assert.match(refused[0].text, /too many channel starts for this line/);
      assert.equal(refused[0].types, 1, 'one Content-Type');
      assert.match(refused[0].type, /^text\/plain/);
      assert.ok(Number(refused[0].retryAfter) > 0, 'Retry-After on a 429');
      // The dropped channels never delivered: they stop at once, well before the 30 s idle grace.
      await pollUntil(() => markedPids().length === 0, { timeoutMs: 15000, intervalMs: 50 });
      sampling = false;
      await sampler;
      assert.ok(maxProcs <= allowed, `at most ${allowed} ffmpeg at once, saw ${maxProcs}`);
      const m = await metrics(srv.port);
      assert.equal(value(m, 'xtreamd_live_starts_refused_total', { reason: 'line_rate' }), refused.length);
      assert.ok(value(m, 'xtreamd_live_early_stops_total') >= 1);
      assert.equal(value(m, 'xtreamd_channels_running'), 0);
      t.diagnostic(`get_live_streams p99 alone ${p99(base).toFixed(1)} ms, during the burst ${p99(lat).toFixed(1)} ms (${lat.length} requests)`);
      assert.ok(lat.length >= 50, `${lat.length} probes during the burst`);
      // Under 100 ms; on a machine so loaded that requests alone are slow, no
      // worse than twice that (the defect was multi-second stalls).
      const bound = Math.max(100, 2 * p99(base));
      assert.ok(p99(lat) < bound, `get_live_streams p99 ${p99(lat).toFixed(1)} ms during the burst (bound ${bound.toFixed(1)} ms; alone ${p99(base).toFixed(1)} ms)`);
    } finally {
      await srv.stopClean();
    }
  });

  it('beyond max-starting channels waiting for their first keyframe, a start is refused with 503 (counted); joining is not', async () => {
    const srv = await serve(['--live', 'start-burst=100', '--live', 'max-starting=2']);
    const viewers = [];
    try {
      // Requests for 8 channels at once: the first two start, the others find
      // both slots taken (a start holds its slot until its first keyframe).
      const opened = await Promise.all(
        ids.slice(0, 8).map(
          (id) =>
            new Promise((resolve, reject) => {
              const req = http.request({ host: HOST, port: srv.port, path: `/live/fan/${PW}/${id}.ts`, agent: false }, (res) => {
                let text = '';
                if (res.statusCode !== 200) {
                  res.setEncoding('utf8');
                  res.on('data', (d) => (text += d));
                  res.on('end', () => resolve({ status: res.statusCode, text }));
                } else {
                  viewers.push(req);
                  res.resume();
                  resolve({ status: 200, id });
                }
              });
              req.on('error', reject);
              req.end();
            }),
        ),
      );
      const started = opened.filter((r) => r.status === 200);
      const capped = opened.filter((r) => r.status === 503);
      assert.ok(started.length >= 2 && capped.length >= 1, JSON.stringify(opened.map((r) => r.status)));
      assert.match(capped[0].text, /too many channels are starting/);
      const m = await metrics(srv.port);
      assert.equal(value(m, 'xtreamd_live_starts_refused_total', { reason: 'starting' }), capped.length);
      // A second viewer of a running channel is no start: always admitted.
      const again = await openAndDrop(srv.port, `/live/fan/${PW}/${started[0].id}.ts`);
      assert.equal(again.status, 200);
    } finally {
      for (const v of viewers) v.destroy();
      await srv.stopClean();
    }
  });
});

describe('memory and bounds', () => {
  it('admin lookups of 60 catalogue ids and 2,000 unknown ids create no engine state', async () => {
    const srv = await serve([]);
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      const targets = ids.map((id) => `/api/v1/streams/${id}/state`);
      for (let i = 0; i < 2000; i++) targets.push(`/api/v1/streams/${1000000 + i}/state`);
      const statuses = new Map();
      for (let k = 0; k < targets.length; k += 200) {
        const rs = await Promise.all(targets.slice(k, k + 200).map((t) => keepAliveGet(agent, srv.port, t)));
        for (const r of rs) statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
      }
      agent.destroy();
      assert.equal(statuses.get(200), ids.length, JSON.stringify([...statuses]));
      assert.equal(statuses.get(404), 2000, JSON.stringify([...statuses]));
      const one = (await get(srv.port, `/api/v1/streams/${ids[0]}/state`)).json();
      assert.equal(one.state, 'stopped');
      assert.equal(one.name, 'Abuse 0');
      const m = await metrics(srv.port);
      assert.equal(value(m, 'xtreamd_channels'), 0, 'a lookup created channel state');
      assert.equal(markedPids().length, 0, 'a lookup started a channel');
    } finally {
      await srv.stopClean();
    }
  });

  it('the connection registry at its bound refuses with 503 and counts it', async () => {
    const srv = await serve(['--live', 'registry-max=16']);
    const viewers = [];
    try {
      const target = `/live/fan/${PW}/${ids[0]}.ts`;
      for (let i = 0; i < 16; i++) {
        viewers.push(
          await new Promise((resolve, reject) => {
            const req = http.request({ host: HOST, port: srv.port, path: target, agent: false }, (res) => {
              assert.equal(res.statusCode, 200, `viewer ${i}`);
              res.resume();
              resolve(req);
            });
            req.on('error', reject);
            req.end();
          }),
        );
      }
      const r = await openAndDrop(srv.port, target);
      assert.equal(r.status, 503);
      assert.match(r.text, /too many connections on this server/);
      const m = await metrics(srv.port);
      assert.equal(value(m, 'xtreamd_connections_refused_total', { reason: 'registry_full' }), 1);
      assert.equal(value(m, 'xtreamd_connections_active'), 16);
    } finally {
      for (const v of viewers) v.destroy();
      await srv.stopClean();
    }
  });
});

describe('crash safety', () => {
  it('xtreamd __child runs nothing when its parent is not the recorded one, and dies with its parent', async () => {
    const prog = ['sh', '-c', 'while :; do sleep 1; done', `${MARK}w`];
    // The server died between fork and prctl: the recorded pid is not the parent.
    const orphan = spawn(binPath(), ['__child', '2', ...prog], { stdio: 'ignore' });
    const code = await new Promise((resolve) => orphan.on('exit', (c) => resolve(c)));
    assert.equal(code, 0);
    assert.equal(markedPids().length, 0, 'the program ran although its server was gone');
    // A live parent (a shell standing in for the server), then SIGKILLed.
    const parent = spawn('sh', ['-c', `"$0" __child $$ "$@" & wait`, binPath(), ...prog], { stdio: 'ignore' });
    let child = 0;
    try {
      // The program, once the wrapper exec'd it: the shell's child running the loop.
      const { value: pid } = await pollUntil(
        () =>
          childPids(parent.pid).find((p) => {
            try {
              return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sh\0-c\0while');
            } catch {
              return false;
            }
          }),
        { timeoutMs: 15000 },
      );
      child = pid;
      parent.kill('SIGKILL');
      await pollUntil(() => !pidAlive(child), { timeoutMs: 10000 });
    } finally {
      parent.kill('SIGKILL');
      if (child && pidAlive(child)) process.kill(child, 'SIGKILL');
    }
  });

  it('at start, the server kills marked children of its data directory whose server is gone', async () => {
    // Stands in for an ffmpeg a SIGKILLed server left behind: the mark names
    // a server pid that is not its parent.
    const orphan = spawn('sh', ['-c', 'while :; do sleep 1; done', `${MARK}o`], {
      stdio: 'ignore',
      env: { ...process.env, XTREAMD_CHILD_OF: `999999:${realpathSync(dataDir)}` },
    });
    // Same mark for another data directory: not ours to kill.
    const other = spawn('sh', ['-c', 'while :; do sleep 1; done', `${MARK}x`], {
      stdio: 'ignore',
      env: { ...process.env, XTREAMD_CHILD_OF: `999999:${realpathSync(dataDir)}-other` },
    });
    try {
      const srv = await serve([]);
      try {
        await pollUntil(() => orphan.exitCode !== null || orphan.signalCode !== null, { timeoutMs: 10000 });
        assert.equal(orphan.signalCode, 'SIGKILL');
        assert.equal(other.exitCode, null, 'a process of another data directory was killed');
        const m = await metrics(srv.port);
        // the shell, and its `sleep` if one was running (it inherits the mark)
        assert.ok(value(m, 'xtreamd_ffmpeg_orphans_reaped_total') >= 1);
        assert.match(srv.stderr, /killing ffmpeg pid \d+ left behind by server pid 999999/);
      } finally {
        await srv.stopClean();
      }
    } finally {
      orphan.kill('SIGKILL');
      other.kill('SIGKILL');
    }
  });

  it('repeated SIGKILL of the server during channel-start bursts leaves no ffmpeg', async () => {
    for (let round = 0; round < 5; round++) {
      const srv = await serve(['--live', 'start-burst=100', '--live', 'max-starting=100']);
      const reqs = [];
      // A burst of starts; the server is killed while children are being spawned.
      for (const id of ids.slice(round * 12, round * 12 + 12)) {
        const req = http.request({ host: HOST, port: srv.port, path: `/live/fan/${PW}/${id}.ts`, agent: false }, (res) => res.resume());
        req.on('error', () => {});
        req.end();
        reqs.push(req);
      }
      await pollUntil(() => srv.stderr.includes('ffmpeg pid'), { timeoutMs: 15000, intervalMs: 5 });
      await sleep(round * 40); // at different points of the burst
      srv.child.kill('SIGKILL');
      await srv.waitExit(10000);
      for (const r of reqs) r.destroy();
      try {
        await pollUntil(() => markedPids().length === 0, { timeoutMs: 10000, intervalMs: 50 });
      } catch {
        const left = markedPids();
        killLeftovers();
        assert.fail(`round ${round}: ${left.length} ffmpeg outlived the killed server: ${left.join(' ')}`);
      }
    }
  });
});
