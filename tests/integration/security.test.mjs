// Issue 9 security defects: SSRF through the VOD relay and every outbound
// fetch (item 1), local files published as movies (2), cross-site requests
// and DNS rebinding against the admin routes (3), file modes of the data
// folder (5), and the per-IP brute-force brake on failed logins (6).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { api, get, getJson, request } from './lib/http.mjs';

const U = 'secure';
const PW = 'Pw.secure-123';
const mode = async (p) => (await stat(p)).mode & 0o777;
const octal = (m) => m.toString(8).padStart(4, '0');

// A loopback HTTP server that records every request: a canary that must
// never be reached when the relay or a download is refused, and a source
// of playlists and guides when it is allowed.
function canary() {
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url);
    if (req.url === '/list.m3u') {
      res.writeHead(200, { 'Content-Type': 'audio/x-mpegurl' });
      res.end('#EXTM3U\n#EXTINF:-1 group-title="Fetched",Fetched One\nhttp://192.0.2.1/one.ts\n');
    } else if (req.url === '/guide.xml') {
      res.writeHead(200, { 'Content-Type': 'application/xml' });
      res.end('<?xml version="1.0"?><tv><channel id="c.test"><display-name>C</display-name></channel></tv>');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"secret":"canary"}');
    }
  });
  return { server, hits };
}

let dir, data, lib, can, canPort, srv;

async function m3u(name, entries) {
  const file = path.join(dir, name);
  await writeFile(file, ['#EXTM3U', ...entries.flatMap(([n, u]) => [`#EXTINF:-1 group-title="Sec",${n}`, u])].join('\n') + '\n');
  return file;
}

async function vodIds(port) {
  const list = await getJson(port, api(U, PW, 'get_vod_streams'));
  return Object.fromEntries(list.map((m) => [m.name, m.stream_id]));
}

before(async () => {
  dir = await makeDataDir('sec');
  data = path.join(dir, 'data');
  lib = path.join(dir, 'library');
  await mkdir(lib);
  can = canary();
  can.server.listen(0, '127.0.0.1');
  await once(can.server, 'listening');
  canPort = can.server.address().port;
  await cliOk(['line', 'add', U, PW, '--data', data, '--max-connections', '4']);
});

after(async () => {
  await srv?.stopClean();
  can?.server.close();
  await removeDir(dir);
});

describe('SSRF: the relay refuses loopback, link-local and this server', () => {
  // Every spelling curl accepts for loopback, plus the cloud metadata address.
  let ids;
  const targets = () => [
    ['Ssrf Dotted', `http://127.0.0.1:${canPort}/api/admin/connections`],
    ['Ssrf Short', `http://127.1:${canPort}/api/admin/connections`],
    ['Ssrf Decimal', `http://2130706433:${canPort}/metrics`],
    ['Ssrf Hex', `http://0x7f000001:${canPort}/metrics`],
    ['Ssrf Octal', `http://0177.0.0.1:${canPort}/metrics`],
    ['Ssrf V6', `http://[::1]:${canPort}/metrics`],
    ['Ssrf Mapped', `http://[::ffff:127.0.0.1]:${canPort}/metrics`],
    ['Ssrf Localhost', `http://localhost:${canPort}/metrics`],
    ['Ssrf Zero', `http://0.0.0.0:${canPort}/metrics`],
    ['Ssrf Metadata', 'http://169.254.169.254/latest/meta-data/'],
  ];

  before(async () => {
    await cliOk(['import', 'm3u', '--data', data, '--kind', 'movie', await m3u('ssrf.m3u', targets())]);
    srv = await startServer(data);
    ids = await vodIds(srv.port);
  });

  it('each loopback/link-local spelling is refused before any byte reaches it', async () => {
    for (const [name] of targets()) {
      assert.ok(ids[name], `${name} listed`);
      const from = srv.logs().length;
      const r = await get(srv.port, `/movie/${U}/${PW}/${ids[name]}.mp4`);
      assert.equal(r.status, 502, `${name}: ${r.status} ${r.text}`);
      assert.match(r.text, /not allowed/, name);
      assert.doesNotMatch(r.text, /canary|xtreamd_/, name);
      await srv.waitForLog(/relay: .*refused to connect to \S+ \((loopback|link-local|unspecified)/, { from });
    }
    assert.deepEqual(can.hits, [], 'the canary was never contacted');
  });

  it("the server's own admin routes and /metrics are never reached, even on an allowed host", async () => {
    const s2 = await startServer(data, ['--allow-host', '127.0.0.1']);
    try {
      await cliOk(['import', 'm3u', '--data', data, '--kind', 'movie',
        await m3u('self.m3u', [['Ssrf Self', `http://127.0.0.1:${s2.port}/metrics`]])]);
      const { value: id } = await pollUntil(async () => (await vodIds(s2.port))['Ssrf Self'], { timeoutMs: 10000 });
      const r = await get(s2.port, `/movie/${U}/${PW}/${id}.mp4`);
      assert.equal(r.status, 502, r.text);
      assert.doesNotMatch(r.text, /xtreamd_build_info/);
      await s2.waitForLog(/refused to connect to 127\.0\.0\.1 \(this server's own listening port\)/);
      // The allowed host itself does work (the canary answers).
      const ok = await get(s2.port, `/movie/${U}/${PW}/${ids['Ssrf Dotted']}.mp4`);
      assert.equal(ok.status, 200);
      assert.match(ok.text, /canary/);
    } finally {
      await s2.stopClean();
    }
  });

  it('import m3u from a loopback URL is refused unless --allow-host names it', async () => {
    const url = `http://127.0.0.1:${canPort}/list.m3u`;
    const before = can.hits.length;
    const no = await runCli(['import', 'm3u', '--data', data, url]);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /download refused: the URL leads to 127\.0\.0\.1 \(loopback\)/);
    assert.equal(can.hits.length, before, 'nothing was requested');
    const yes = await cliOk(['import', 'm3u', '--data', data, '--allow-host', '127.0.0.1', url]);
    assert.match(yes.stdout, /Imported 1 channel/);
  });

  it('an XMLTV URL on loopback is refused unless --allow-host names it', async () => {
    await cliOk(['epg', 'add', 'Loop', `http://localhost:${canPort}/guide.xml`, '--data', data]);
    const before = can.hits.length;
    const no = await runCli(['epg', 'import', 'Loop', '--data', data]);
    assert.equal(no.code, 1, no.stderr);
    assert.match(no.stderr, /download refused: the URL leads to \S+ \(loopback\)/);
    assert.equal(can.hits.length, before, 'nothing was requested');
    const yes = await cliOk(['epg', 'import', 'Loop', '--allow-host', 'localhost', '--data', data]);
    assert.match(yes.stdout, /1 channels/);
  });
});

describe('local files as movies: library roots only, never the data directory', () => {
  it('/etc/passwd and the database are refused at import, naming the line and path', async () => {
    const file = await m3u('local.m3u', [['Passwd', '/etc/passwd'], ['Db', path.join(data, 'xtreamd.db')]]);
    const r = await runCli(['import', 'm3u', '--data', data, '--kind', 'movie', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 2: movie file '\/etc\/passwd' is outside the library roots/);
    assert.match(r.stderr, /line 4: movie file '.*xtreamd\.db' is inside the data directory/);
    assert.match(r.stderr, /nothing was imported/);
    // A symlink inside a root that leads out of it is no way around.
    await cliOk(['vod', 'root', 'add', lib, '--data', data]);
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/passwd', path.join(lib, 'Sneaky (2020).mkv'));
    const s = await runCli(['import', 'm3u', '--data', data, '--kind', 'movie', await m3u('sym.m3u', [['Sneaky', path.join(lib, 'Sneaky (2020).mkv')]])]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /is outside the library roots/);
    // Nor is a hard link to the database inside a root.
    await link(path.join(data, 'xtreamd.db'), path.join(lib, 'Linked (2020).mkv'));
    const h = await runCli(['import', 'm3u', '--data', data, '--kind', 'movie', await m3u('hl.m3u', [['Linked', path.join(lib, 'Linked (2020).mkv')]])]);
    assert.equal(h.code, 1);
    assert.match(h.stderr, /the database itself/);
    await rm(path.join(lib, 'Linked (2020).mkv'));
    // The data directory cannot become a root.
    const d = await runCli(['vod', 'root', 'add', data, '--data', data]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /data directory/);
  });

  it('delivery refuses files outside the roots and the database, and the server keeps seeing CLI changes', async () => {
    // Bypass the import check the way an old database or a later change
    // would: a root that is removed again, and a file swapped for a hard
    // link to the database after its import.
    await cliOk(['vod', 'root', 'add', '/etc', '--data', data]);
    await cliOk(['import', 'm3u', '--data', data, '--kind', 'movie', await m3u('etc.m3u', [['Was Etc', '/etc/passwd']])]);
    await cliOk(['vod', 'root', 'remove', '/etc', '--data', data]);
    const swap = path.join(lib, 'Swap (2021).mkv');
    await writeFile(swap, 'a film');
    await cliOk(['import', 'm3u', '--data', data, '--kind', 'movie', await m3u('swap.m3u', [['Swapped', swap]])]);
    await rm(swap);
    await link(path.join(data, 'xtreamd.db'), swap);
    const s = await startServer(data);
    try {
      const ids = await vodIds(s.port);
      assert.ok(ids['Was Etc'] && ids.Swapped, JSON.stringify(ids));
      for (let i = 0; i < 3; i++) {
        const etc = await get(s.port, `/movie/${U}/${PW}/${ids['Was Etc']}.mp4`);
        assert.equal(etc.status, 404);
        assert.doesNotMatch(etc.text, /root:/);
        const db = await get(s.port, `/movie/${U}/${PW}/${ids.Swapped}.mkv`);
        assert.equal(db.status, 404);
        assert.doesNotMatch(db.text, /SQLite format/);
      }
      await s.waitForLog(/refused to serve a local file outside the library roots/);
      await s.waitForLog(/refused to serve a local file: it is the database/);
      // The server's SQLite locks are intact: it still sees a CLI change.
      await cliOk(['line', 'add', 'after.lock', PW, '--data', data]);
      await pollUntil(async () => (await get(s.port, api('after.lock', PW))).status === 200, { timeoutMs: 10000 });
      const m = (await get(s.port, '/metrics')).text;
      assert.match(m, /^xtreamd_vod_local_refused_total [1-9]/m);
    } finally {
      await s.stopClean();
      await rm(swap);
    }
  });
});

describe('admin API: token, same origin, own Host', () => {
  it('needs a token: the per-run one of serve.json (0600), which the CLI uses', async () => {
    const st = JSON.parse(await readFile(path.join(data, 'serve.json'), 'utf8'));
    assert.match(st.token, /^[0-9a-f]{64}$/);
    assert.equal(await mode(path.join(data, 'serve.json')), 0o600);
    const no = await request(srv.port, 'GET', '/api/v1/sessions', { adminToken: false });
    assert.equal(no.status, 401);
    const bad = await request(srv.port, 'GET', '/api/v1/sessions', { headers: { Authorization: `Bearer ${'0'.repeat(64)}` } });
    assert.equal(bad.status, 401);
    assert.equal((await request(srv.port, 'GET', '/api/v1/sessions')).status, 200);
    const cli = await cliOk(['connections', '--json', '--data', data]);
    assert.ok(Array.isArray(JSON.parse(cli.stdout)));
    await cliOk(['channel', 'list', '--data', data]);
  });

  it('a cross-site request is refused even with the token', async () => {
    const before = (await getJson(srv.port, '/api/v1/channels')).total;
    for (const headers of [{ Origin: 'http://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }, { Origin: 'null' }]) {
      const r = await request(srv.port, 'DELETE', '/api/v1/sessions/1', { headers });
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.status} ${r.text}`);
      assert.match(r.text, /cross-site/);
    }
    const same = await request(srv.port, 'DELETE', '/api/v1/sessions/999999', { headers: { Origin: `http://127.0.0.1:${srv.port}`, 'Sec-Fetch-Site': 'same-origin' } });
    assert.equal(same.status, 404, same.text);
    assert.equal((await getJson(srv.port, '/api/v1/channels')).total, before);
  });

  it('a foreign Host (DNS rebinding) is refused on /metrics and on the API without a token', async () => {
    for (const host of ['evil.example', `evil.example:${srv.port}`, 'localhost:1']) {
      const r = await request(srv.port, 'GET', '/metrics', { headers: { Host: host } });
      assert.equal(r.status, 403, `/metrics Host ${host}: ${r.status}`);
      assert.doesNotMatch(r.text, /xtreamd_build_info/);
      const a = await request(srv.port, 'GET', '/api/v1/sessions', { headers: { Host: host }, adminToken: false });
      assert.equal(a.status, 401, `/api/v1/sessions Host ${host}: ${a.status}`);
      assert.doesNotMatch(a.text, /username/);
    }
    for (const host of [`127.0.0.1:${srv.port}`, `localhost:${srv.port}`]) {
      const r = await request(srv.port, 'GET', '/metrics', { headers: { Host: host } });
      assert.equal(r.status, 200, `/metrics Host ${host}: ${r.status} ${r.text}`);
    }
    const m = (await get(srv.port, '/metrics')).text;
    assert.match(m, /^xtreamd_admin_refused_total [1-9]/m);
  });
});

describe('data folder modes', () => {
  it('demo and serve leave an owner-only folder and files', async () => {
    const d = path.join(dir, 'demo-data');
    await cliOk(['demo', '--data', d]);
    assert.equal(octal(await mode(d)), '0700');
    assert.equal(octal(await mode(path.join(d, 'xtreamd.db'))), '0600');
    const s = await startServer(d);
    try {
      for (const f of ['xtreamd.db', 'xtreamd.db-wal', 'xtreamd.db-shm', 'serve.json']) {
        assert.equal(octal(await mode(path.join(d, f))), '0600', f);
      }
      assert.equal(octal(await mode(d)), '0700');
    } finally {
      await s.stopClean();
    }
  });

  it('a pre-existing 0644 database in a 0755 folder is fixed at start, with a notice', async () => {
    const d = path.join(dir, 'old-data');
    await cliOk(['line', 'add', 'old', PW, '--data', d]);
    await chmod(d, 0o755);
    await chmod(path.join(d, 'xtreamd.db'), 0o644);
    const s = await startServer(d);
    try {
      assert.match(s.logs(), /old-data was mode 0755 \(readable by others\): now 0700/);
      assert.match(s.logs(), /xtreamd\.db was mode 0644 \(readable by others\): now 0600/);
      assert.equal(octal(await mode(d)), '0700');
      assert.equal(octal(await mode(path.join(d, 'xtreamd.db'))), '0600');
    } finally {
      await s.stopClean();
    }
  });
});

describe('brute force: failed logins of an IP are braked', () => {
  let s, d;
  const WINDOW = 4; // seconds
  before(async () => {
    d = path.join(dir, 'brake-data');
    await cliOk(['line', 'add', 'victim', PW, '--data', d]);
    s = await startServer(d, ['--login-free', '5', '--login-window', String(WINDOW)]);
  });
  after(async () => {
    await s?.stopClean();
  });

  it('1,000 wrong logins from one IP are mostly refused unchecked; another IP logs in at once; it resets after the window', async () => {
    const forms = [
      api('victim', 'wrong'),
      `/get.php?username=victim&password=wrong&type=m3u_plus`,
      `/xmltv.php?username=victim&password=wrong`,
      `/live/victim/wrong/1.ts`,
      `/panel_api.php?username=victim&password=wrong`,
    ];
    const counts = {};
    const t0 = Date.now();
    let checked = 0;
    for (let i = 0; i < 1000; i++) {
      const r = await get(s.port, forms[i % forms.length]);
      counts[r.status] = (counts[r.status] || 0) + 1;
      if (r.status !== 429) checked++;
      else assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After on 429');
    }
    const secs = (Date.now() - t0) / 1000;
    // 5 free, then one check per block of 1 s, 2 s, 4 s (capped at the window).
    const bound = 5 + Math.ceil(secs) + 2;
    const rate = checked / secs;
    console.log(`brute force: 1000 wrong logins in ${secs.toFixed(1)} s, ${checked} checked (${rate.toFixed(1)}/s), statuses ${JSON.stringify(counts)}`);
    assert.ok(checked <= bound, `at most ${bound} of 1000 were checked, got ${checked}`);
    assert.ok(counts[429] >= 1000 - bound);
    // The right password from the blocked IP is refused too while blocked
    // (once blocked again: on a slow machine the last block may be over).
    await pollUntil(async () => {
      await pollUntil(async () => (await get(s.port, api('victim', 'wrong'))).status === 429, { timeoutMs: 20000, intervalMs: 10 });
      return (await get(s.port, api('victim', PW))).status === 429;
    }, { timeoutMs: 60000, intervalMs: 10 });
    // …but another IP is not slowed at all.
    const t1 = Date.now();
    const other = await get(s.port, api('victim', PW), { localAddress: '127.0.0.2' });
    assert.equal(other.status, 200);
    assert.ok(Date.now() - t1 < 3000, `other IP answered in ${Date.now() - t1} ms`);
    const m = (await get(s.port, '/metrics')).text;
    assert.match(m, /^xtreamd_auth_throttled_total (\d+)/m);
    assert.ok(Number(/^xtreamd_auth_throttled_total (\d+)/m.exec(m)[1]) >= 1000 - bound);
    // After the window without failures the IP starts afresh: the table
    // forgets it (its right logins in between are not failures).
    const { elapsedMs } = await pollUntil(
      async () => (await get(s.port, api('victim', PW))).status === 200 && /^xtreamd_auth_failure_ips 0$/m.test((await get(s.port, '/metrics')).text),
      { timeoutMs: (WINDOW + 15) * 1000, intervalMs: 250 },
    );
    console.log(`brute force: the blocked IP logged in again after ${elapsedMs} ms`);
    // Without the reset the first of these would start a block again.
    for (let i = 0; i < 3; i++) {
      const wrong = await get(s.port, api('victim', 'wrong-again'));
      assert.equal(wrong.status, 401, `failure ${i + 1} after the window is checked again`);
    }
  });
});
