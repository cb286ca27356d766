// The dashboard's data (issue 10, item 4): /api/v1/stats/summary (viewers,
// bandwidth, CPU, memory, channels by state), /api/v1/stats/timeseries (10 s
// resolution, aggregated by step, field errors on a bad step/range) and
// /api/v1/events: a Server-Sent Events stream that sends `counters` every
// second and a `change` event for every entity changed through the API.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin, assertProblem } from './lib/admin.mjs';
import { HOST } from './lib/server.mjs';

const PW = 'Dash.pass-12345';
let w;
let c;
before(async () => {
  w = await world({ tag: 'admdash', lines: [], seed: (dir) => addAdmin(dir, 'dash', PW) });
  c = new AdminClient(w.port);
  await c.login('dash', PW);
});
after(async () => {
  await w?.cleanup();
});

it('summarises the server now', async () => {
  const s = await c.ok('GET', '/api/v1/stats/summary');
  assert.equal(typeof s.viewers.total, 'number');
  assert.ok(s.memory_rss_bytes > 1e6, 'the RSS of a running server');
  assert.equal(typeof s.cpu_percent, 'number');
  assert.ok(Array.isArray(s.top_channels));
  assert.ok('running' in s.channels);
});

it('serves the time series and names a bad step or range', async () => {
  const now = Math.floor(Date.now() / 1000);
  const t = await c.ok('GET', `/api/v1/stats/timeseries?from=${now - 600}&to=${now}&step=60`);
  assert.equal(t.step, 60);
  assert.equal(t.columns[0], 'time');
  for (const p of t.points) assert.equal(p.length, t.columns.length);
  assertProblem(await c.call('GET', '/api/v1/stats/timeseries?step=7'), 422, 'VALIDATION_FAILED', ['step']);
  assertProblem(await c.call('GET', `/api/v1/stats/timeseries?from=${now}&to=${now - 10}`), 422, 'VALIDATION_FAILED', ['from']);
});

/** Opens the event stream; returns { events, close, next(pred, ms) }. */
function openEvents(client) {
  const events = [];
  const waiters = [];
  let buf = '';
  const req = http.request({ host: HOST, port: w.port, path: '/api/v1/events', headers: client.headers('GET'), agent: false });
  const ready = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      resolve(res);
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { type: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) ev.type = line.slice(6).trim();
            else if (line.startsWith('data:')) ev.data += line.slice(5).trim();
            else if (line.startsWith('id:')) ev.id = Number(line.slice(3).trim());
          }
          if (!ev.data) continue;
          ev.json = JSON.parse(ev.data);
          events.push(ev);
          for (const wt of [...waiters]) if (wt.pred(ev)) {
            waiters.splice(waiters.indexOf(wt), 1);
            wt.resolve(ev);
          }
        }
      });
    });
    req.on('error', reject);
  });
  req.end();
  return {
    events,
    ready,
    close: () => req.destroy(),
    next(pred, ms = 10000) {
      const have = events.find(pred);
      if (have) return Promise.resolve(have);
      return new Promise((resolve, reject) => {
        const wt = { pred, resolve };
        waiters.push(wt);
        setTimeout(() => reject(new Error(`no matching event within ${ms} ms; got ${events.map((e) => e.type).join(',')}`)), ms);
      });
    },
  };
}

it('streams counters every second and a change event for an API change', async () => {
  const s = openEvents(c);
  try {
    const res = await s.ready;
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'], /^text\/event-stream/);
    const first = await s.next((e) => e.type === 'counters');
    const second = await s.next((e) => e.type === 'counters' && e.id > first.id);
    assert.ok(second.json.time_epoch >= first.json.time_epoch);
    assert.ok('viewers' in second.json && 'bandwidth' in second.json);
    const line = await c.ok('POST', '/api/v1/lines', { username: 'evented' });
    const ch = await s.next((e) => e.type === 'change' && e.json.entity === 'line' && e.json.id === line.id);
    assert.equal(ch.json.action, 'create');
  } finally {
    s.close();
  }
});

it('refuses the stream without credentials', async () => {
  const res = await new AdminClient(w.port).call('GET', '/api/v1/events');
  assertProblem(res, 401, 'NOT_AUTHENTICATED');
});

it('lists streams with their live state (stopped until the engine runs them)', async () => {
  const list = await c.ok('GET', '/api/v1/streams?page_size=5');
  assert.ok(list.items.length > 0, 'the demo has streams');
  for (const s of list.items) {
    assert.equal(typeof s.live, 'object');
    assert.equal(typeof s.live.viewers, 'number');
    assert.equal(typeof s.live.input_kbps, 'number');
  }
  assert.ok(list.items.every((s) => s.live.state === 'stopped'), 'nothing was started');
  // Starting one through the API shows in the list.
  const id = list.items[0].id;
  await c.ok('POST', `/api/v1/streams/${id}/start`);
  const after = await c.ok('GET', `/api/v1/streams?page_size=5`);
  assert.notEqual(after.items.find((s) => s.id === id).live.state, 'stopped');
  await c.ok('POST', `/api/v1/streams/${id}/stop`);
});
