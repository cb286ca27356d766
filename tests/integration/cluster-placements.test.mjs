// GET|PUT /api/v1/streams/{id}/placements (issue 16, docs/api.md §Placements): where a channel
// runs in a cluster and which node each node pulls it from. The table and its rules are the
// same on SQLite and PostgreSQL; nodes are inserted with the database's own tool.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { cliOk, databaseOf, makeDataDir, removeDir, startServer } from './lib/server.mjs';
import { request } from './lib/http.mjs';

let dataDir;
let srv;
let chan;

function sql(dir, text) {
  const pg = databaseOf(dir);
  const [cmd, args] = pg ? ['psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', pg, '-c', text]] : ['sqlite3', [path.join(dir, 'xtreamd.db'), `PRAGMA foreign_keys=ON; ${text}`]];
  return new Promise((resolve, reject) => execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))));
}

const put = (id, body) => request(srv.port, 'PUT', `/api/v1/streams/${id}/placements`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const getP = (id) => request(srv.port, 'GET', `/api/v1/streams/${id}/placements`);

before(async () => {
  dataDir = await makeDataDir('placements');
  const r = await cliOk(['stream', 'add', 'Placed', '--source', 'http://127.0.0.1:9/none.ts', '--data', dataDir]);
  chan = Number(r.stdout.trim());
  srv = await startServer(dataDir);
  for (const [id, name] of [[1, 'origin'], [2, 'edge-a'], [3, 'edge-b']])
    await sql(dataDir, `INSERT INTO nodes (id, name, role, public_url, created_at) VALUES (${id}, '${name}', '${id === 1 ? 'main' : 'edge'}', 'http://127.0.0.1:1', 0)`);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

describe('stream placements', () => {
  it('none by default; PUT replaces the list and GET reads it back', async () => {
    let r = await getP(chan);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { stream_id: chan, placements: [] });
    const want = [
      { node_id: 1, mode: 'always', parent_node_id: null },
      { node_id: 2, mode: 'on_demand', parent_node_id: 1 },
      { node_id: 3, mode: 'on_demand', parent_node_id: 2 },
    ];
    r = await put(chan, [{ node_id: 3, parent_node_id: 2 }, { node_id: 1, mode: 'always' }, { node_id: 2, parent_node_id: 1 }]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { stream_id: chan, placements: want });
    r = await getP(chan);
    assert.deepEqual(r.json().placements, want);
    // the object form, and an empty list clears
    r = await put(chan, { placements: [{ node_id: 2 }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().placements, [{ node_id: 2, mode: 'on_demand', parent_node_id: null }]);
    r = await put(chan, []);
    assert.equal(r.status, 200);
    assert.deepEqual((await getP(chan)).json().placements, []);
  });

  it('refuses what cannot run: unknown nodes and streams, bad modes, lone parents, cycles, duplicates', async () => {
    // each refusal names the field of the item at fault
    const cases = [
      [[{ node_id: 99 }], 422, 'UNKNOWN_REFERENCE', 'node_id'],
      [[{ node_id: 1, mode: 'sometimes' }], 422, 'VALIDATION_FAILED', 'placements[0].mode'],
      [[{ node_id: 2, parent_node_id: 1 }], 422, 'VALIDATION_FAILED', 'placements[0].parent_node_id'], // parent not placed
      [[{ node_id: 2, parent_node_id: 3 }, { node_id: 3, parent_node_id: 2 }], 422, 'VALIDATION_FAILED', 'placements[0].parent_node_id'],
      [[{ node_id: 2 }, { node_id: 2 }], 422, 'VALIDATION_FAILED', 'placements[1].node_id'],
      [[{ node_id: 2, parent_node_id: 2 }], 422, 'VALIDATION_FAILED', 'placements[0].parent_node_id'],
      [[{ node_id: 'x' }], 422, 'VALIDATION_FAILED', 'placements[0].node_id'],
      [[{ node_id: 1, extra: true }], 422, 'VALIDATION_FAILED', 'placements[0]'],
      [{ node_id: 1 }, 400, 'MALFORMED_BODY', null],
    ];
    for (const [body, status, code, field] of cases) {
      const r = await put(chan, body);
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json().code, code, JSON.stringify(body));
      if (field) assert.equal(r.json().errors?.[0]?.field, field, `${JSON.stringify(body)}: ${r.text}`);
    }
    assert.deepEqual((await getP(chan)).json().placements, [], 'nothing written by a refusal');
    assert.equal((await getP(999999)).status, 404);
    assert.equal((await put(999999, [])).status, 404);
  });

  it('a deleted node leaves the placements; a deleted parent makes its children pull the source', async () => {
    let r = await put(chan, [{ node_id: 1 }, { node_id: 3, parent_node_id: 1 }]);
    assert.equal(r.status, 200, r.text);
    await sql(dataDir, 'DELETE FROM nodes WHERE id = 1');
    r = await getP(chan);
    assert.deepEqual(r.json().placements, [{ node_id: 3, mode: 'on_demand', parent_node_id: null }]);
  });
});
