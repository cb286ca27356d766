// An admin API call whose client leaves while its work runs off the loop: the connection
// closes while the call is in flight, and the answer finds it closing. The call's memory
// is freed once, by whichever of the two comes last (src/admin/admin.c call_after /
// call_abort); freeing it in call_after while the connection's abort was still to come
// was a heap-use-after-free under ASan (seen from the panel when a page was left).
// Hundreds of clients hang up at staggered moments after their request, so that some
// hang-ups land in the same loop turn as their call's answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, adminTokens, makeDataDir, removeDir, startServer } from './lib/server.mjs';
import { get } from './lib/http.mjs';

let dataDir;
let srv;
before(async () => {
  dataDir = await makeDataDir('admabort');
  srv = await startServer(dataDir, []);
});
after(async () => {
  try {
    if (srv?.alive()) await srv.stop();
  } finally {
    await removeDir(dataDir);
  }
});

/** Sends one admin request and hangs up after delayMs without reading the answer. */
async function callAndLeave(delayMs) {
  const s = net.connect({ host: HOST, port: srv.port });
  s.on('error', () => {}); // the server may reset first: only the server's health matters here
  await new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  s.write(`GET /api/v1/lines HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${adminTokens.get(srv.port)}\r\n\r\n`);
  if (delayMs) await sleep(delayMs); // the stagger, not synchronisation
  s.destroy();
}

describe('admin calls whose client leaves', () => {
  it('400 calls abandoned while in flight: the server stays up and stops clean (no use after free)', async () => {
    for (let i = 0; i < 400; i++) {
      assert.ok(srv.alive(), `the server died at call ${i}: ${srv.logs().slice(-3000)}`);
      await callAndLeave((i % 20) * 0.1);
    }
    const r = await get(srv.port, '/api/v1/lines');
    assert.equal(r.status, 200, 'a later call is answered');
    await srv.stopClean(); // exit 0, no sanitizer report
  });
});
