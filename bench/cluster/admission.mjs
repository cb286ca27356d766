// Admission latency at a cluster's main and the time a redirect adds (issue 16 "How it is
// checked"): a throwaway PostgreSQL, a main (drained: every start is a redirect) and one edge
// enrolled with `xtreamd node enrol`. Prints
//   - p50/p99 of N concurrent stream starts at the main (time to the 302: choice, one admission
//     transaction on the thread pool, token signing), N = $STARTS (default 1000);
//   - the extra time to first byte a redirect adds: median of sequential starts' 302 round trip,
//     against the median TTFB of the edge's /c/ URL itself (channel warm).
// Run by admission.sh; XTREAMD_BIN picks the binary (a release build gives the real figures).
import http from 'node:http';
import { cliOk, freePort, makeDataDir, pollUntil, removeDir, runCli, startServer } from '../../tests/integration/lib/server.mjs';
import { request } from '../../tests/integration/lib/http.mjs';
import { startPgCluster } from '../../tests/integration/lib/pg.mjs';
import { LAVFI_SMALL } from '../../tests/integration/lib/live.mjs';

const STARTS = Number(process.env.STARTS || 1000);
const PW = 'Pw.bench-1';
const json = (b) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function timed(port, path, untilFirstByte = false) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const done = () => {
        resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6, location: res.headers.location });
        req.destroy();
      };
      // The answer's head is the measure: a 302's, or (while the main's view still shows it
      // undrained) a 200 whose live stream never ends — waiting for its end hung the bench.
      if (untilFirstByte) res.once('data', done);
      else done();
    });
    req.on('error', reject);
  });
}
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const env = {};
let pg, dirs = [], main, edge;
try {
  pg = await startPgCluster();
  env.XTREAMD_DATABASE = pg.url;
  const dm = await makeDataDir('bench-main'), de = await makeDataDir('bench-edge');
  dirs = [dm, de];
  main = await startServer(dm, ['--cluster-role', 'main', '--public-url', 'http://127.0.0.1:9'], { env });
  await cliOk(['line', 'add', 'bench', PW, '--data', dm, '--max-connections', '0'], { env });
  const chan = Number((await cliOk(['stream', 'add', 'Pattern', '--source', LAVFI_SMALL, '--category', 'B', '--data', dm], { env })).stdout.trim());
  const code = (await request(main.port, 'POST', '/api/v1/nodes/enrol-codes', json({}))).json().code;
  const ep = await freePort();
  const en = await runCli(['node', 'enrol', main.base, code, '--name', 'edge', '--public-url', `http://127.0.0.1:${ep}`, '--data-dir', de]);
  if (en.code !== 0) throw new Error(en.stderr);
  edge = await startServer(de, [], { port: ep });
  const self = (await request(main.port, 'GET', '/api/v1/nodes')).json().items.find((n) => n.role === 'main');
  await request(main.port, 'POST', `/api/v1/nodes/${self.id}/drain`);
  await pollUntil(async () => (await request(main.port, 'GET', '/api/v1/nodes')).json().items.filter((n) => n.fresh).length === 2, { timeoutMs: 30000 });
  const path = `/live/bench/${PW}/${chan}.ts`;
  await pollUntil(async () => (await timed(main.port, path)).status === 302, { timeoutMs: 30000, intervalMs: 200 });

  // 1. concurrent starts
  const t0 = Date.now();
  const all = await Promise.all(Array.from({ length: STARTS }, () => timed(main.port, path)));
  const wall = Date.now() - t0;
  const ok = all.filter((r) => r.status === 302).map((r) => r.ms);
  console.log(`admission: ${STARTS} concurrent starts, ${ok.length} answered 302 in ${wall} ms: p50 ${pct(ok, 50).toFixed(1)} ms, p99 ${pct(ok, 99).toFixed(1)} ms`);

  // 2. the redirect's extra time to first byte (the channel warm: one viewer keeps it running)
  const warm = await timed(main.port, path);
  const keep = http.get(new URL(warm.location), { agent }, (res) => res.resume());
  await new Promise((r) => setTimeout(r, 3000));
  const hop = [], direct = [];
  for (let i = 0; i < 30; i++) {
    const r = await timed(main.port, path);
    hop.push(r.ms);
    const u = new URL(r.location);
    direct.push((await timed(Number(u.port), u.pathname, true)).ms);
  }
  keep.destroy();
  console.log(`redirect: the 302 at the main adds median ${pct(hop, 50).toFixed(1)} ms (p99 ${pct(hop, 99).toFixed(1)}) to the edge's own TTFB median ${pct(direct, 50).toFixed(1)} ms`);
} finally {
  for (const s of [edge, main]) if (s) await s.stop();
  for (const d of dirs) await removeDir(d);
  if (pg) await pg.stop();
}
