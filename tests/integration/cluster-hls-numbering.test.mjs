// Identical HLS numbering on every node (issue 16, docs/internals/live.md
// §Cluster numbering): two standalone xtreamd reading the same live HTTP/TS
// source, the second started seconds after the first, publish the segments
// they both list under the same media sequence numbers, with the same
// durations and the same first PTS (ffprobe), whenever each started.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import HLS from 'hls-parser';
import { cliOk, makeDataDir, removeDir, startServer } from './lib/server.mjs';
import { get } from './lib/http.mjs';
import { startTsSource } from './lib/tssource.mjs';

const execFileP = promisify(execFile);
const PW = 'Pw.numbering-1';
let source;
const nodes = [];

async function firstPts(dir, name, raw) {
  const f = path.join(dir, name);
  await writeFile(f, raw);
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', '-read_intervals', '%+#1', f], { timeout: 30000 });
  return Number(stdout.trim().split('\n')[0].split(',')[0]);
}

async function startNode(tag) {
  const dataDir = await makeDataDir(tag);
  await cliOk(['line', 'add', 'viewer', PW, '--data', dataDir, '--max-connections', '0']);
  const r = await cliOk(['stream', 'add', 'Same Source', '--source', source.url, '--data', dataDir]);
  const chan = Number(r.stdout.trim());
  const srv = await startServer(dataDir, ['--live', 'hls-segment=2']);
  const node = { dataDir, chan, srv };
  nodes.push(node);
  return node;
}

/** The playlist of a node: { seq: MEDIA-SEQUENCE, segs: [{n, uri, dur}] }, n implicit. */
async function playlist(node) {
  const r = await get(node.srv.port, `/live/viewer/${PW}/${node.chan}.m3u8`, { timeoutMs: 40000 });
  assert.equal(r.status, 200, r.text);
  const pl = HLS.parse(r.text);
  const segs = pl.segments.map((s, i) => {
    const n = pl.mediaSequenceBase + i;
    // the URL's number is the implicit one: no gap inside a playlist
    assert.equal(Number(s.uri.match(/\/(\d+)\.ts$/)[1]), n, r.text);
    return { n, uri: s.uri, dur: s.duration };
  });
  return { seq: pl.mediaSequenceBase, segs };
}

before(async () => {
  source = await startTsSource({ gop: 10 });
});

after(async () => {
  try {
    for (const n of nodes) await n.srv.stopClean();
  } finally {
    for (const n of nodes) await removeDir(n.dataDir);
    await source.close();
  }
});

describe('HLS numbering across nodes', () => {
  it('two nodes started apart list the same segments under the same numbers', async () => {
    const a = await startNode('num-a');
    // a runs and has published segments before b starts
    let pa = await playlist(a);
    const deadlineA = Date.now() + 40000;
    while (pa.segs.length < 2 && Date.now() < deadlineA) {
      await sleep(500);
      pa = await playlist(a);
    }
    assert.ok(pa.segs.length >= 2, 'node a publishes segments');
    const b = await startNode('num-b');
    let pb = await playlist(b);
    // both playlists until they share three numbers
    const deadline = Date.now() + 60000;
    let common = [];
    while (Date.now() < deadline) {
      pa = await playlist(a);
      pb = await playlist(b);
      const inB = new Map(pb.segs.map((s) => [s.n, s]));
      common = pa.segs.filter((s) => inB.has(s.n)).map((s) => [s, inB.get(s.n)]);
      if (common.length >= 3) break;
      await sleep(500);
    }
    assert.ok(common.length >= 3, `overlap: a ${JSON.stringify(pa.segs.map((s) => s.n))} b ${JSON.stringify(pb.segs.map((s) => s.n))}`);
    for (const [sa, sb] of common) {
      assert.equal(sa.dur, sb.dur, `segment ${sa.n}: same duration`);
      const [ra, rb] = await Promise.all([get(a.srv.port, sa.uri), get(b.srv.port, sb.uri)]);
      assert.equal(ra.status, 200);
      assert.equal(rb.status, 200);
      const [fa, fb] = await Promise.all([firstPts(a.dataDir, `a${sa.n}.ts`, ra.raw), firstPts(b.dataDir, `b${sb.n}.ts`, rb.raw)]);
      assert.ok(Number.isFinite(fa), `segment ${sa.n} has a video PTS`);
      assert.equal(fa, fb, `segment ${sa.n}: the same first PTS on both nodes`);
    }
    // the source was opened by each node (no origin here)
    assert.ok(source.clients >= 2);
  });
});
