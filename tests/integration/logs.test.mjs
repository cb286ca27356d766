// The log never carries a password or token, and no field can forge a line:
// every client route form (docs/api.md), plus forms with extra or missing
// segments that match no route, is requested with a known unique password and
// with a username holding CR/LF and terminal escapes; the server's log is then
// searched for the password and for lines that are not log lines.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliOk, makeDataDir, removeDir, startServer, pollUntil } from './lib/server.mjs';
import { get, postForm, qs, rawExchange } from './lib/http.mjs';

const SECRET = 'Zx9LogSweepSecret7q'; // unique: appears nowhere but in requests
const USER = 'logsweep';
const EVIL = 'evil\r\n2026-01-01T00:00:00.000Z info http: FORGED\x1b[2J\u009b31m';
const LINE_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) [a-z-]+: /;

let dataDir;
let srv;

before(async () => {
  dataDir = await makeDataDir('logs');
  await cliOk(['demo', '--data', dataDir]);
  await cliOk(['line', 'add', USER, SECRET, '--data', dataDir, '--expires', 'never']);
  srv = await startServer(dataDir);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

// Every form with user u (already URL-encoded for paths) and password p. Stream
// ids that do not exist keep ffmpeg out of it: only the logging matters.
function forms(u, p, uq, pq) {
  const q = (extra) => qs({ username: uq, password: pq, ...extra });
  return [
    `/player_api.php?${q({})}`,
    `/player_api.php?${q({ action: 'get_live_streams' })}`,
    `/player_api.php?${q({ action: 'get_short_epg', stream_id: 1 })}`,
    `/panel_api.php?${q({})}`,
    `/get.php?${q({ type: 'm3u_plus', output: 'ts' })}`,
    `/xmltv.php?${q({})}`,
    `/streaming/clients_live.php?${q({ stream: 999999, extension: 'ts' })}`,
    `/streaming/clients_movie.php?${q({ stream: '999999.mp4' })}`,
    `/streaming/timeshift.php?${q({ stream: 999999, start: '2024-01-01:00-00', duration: 60 })}`,
    `/player_api.php?${qs({ username: uq, pass: pq })}`,
    `/player_api.php?${qs({ username: uq, pwd: pq })}`,
    `/player_api.php?${qs({ username: uq, token: pq })}`,
    `/player_api/${u}/${p}`,
    `/player_api/${u}/${p}/get_live_categories`,
    `/player_api/${u}/${p}/a/b`,
    `/playlist/${u}/${p}`,
    `/playlist/${u}/${p}/m3u_plus`,
    `/epg/${u}/${p}`,
    `/epg/${u}/${p}/gz`,
    `/epg/${u}/${p}/x`,
    `/live/${u}/${p}/999999.ts`,
    `/live/${u}/${p}/999999.m3u8`,
    `/live/${u}/${p}/999999`,
    `/live/${u}/${p}/1.ts/x`,
    `/live/${u}/${p}`,
    `/created_live/${u}/${p}/999999.ts`,
    `/radio_streams/${u}/${p}/999999.ts`,
    `/movie/${u}/${p}/999999.mp4`,
    `/movie/${u}/${p}`,
    `/series/${u}/${p}/999999.mkv`,
    `/timeshift/${u}/${p}/60/2024-01-01:00-00/999999.ts`,
    `/timeshift/${u}/${p}/60/999999.ts`,
    `/timeshifts/${u}/${p}/60/999999/2024-01-01:00-00.ts`,
    `/timeshifts/${u}/${p}/60/999999`,
    `/${u}/${p}/999999.ts`,
    `/${u}/${p}/999999`,
    `/${u}/${p}/abc`,
    `/${u}/${p}`,
    `/${u}/${p}/1.ts/x/y`,
    `/get.php/${u}/${p}`,
    `/xmltv.php/${u}/${p}`,
    `/nowhere/${u}/${p}/x`,
    `/hls/${p}/1.ts`,
    `/images/${u}/${p}/x`,
    `/metrics/${p}/999999.ts`,
    `/api/${p}/999999.ts`,
    `/live/${p}/999999.ts`,
  ];
}

test('no request form puts a password in the log or forges a line', { timeout: 120000 }, async () => {
  const from = srv.logs().length;
  const enc = encodeURIComponent;
  const targets = [
    ...forms(USER, SECRET, USER, SECRET),
    ...forms(enc(EVIL), SECRET, EVIL, SECRET),
    ...forms(USER, enc(`${SECRET}\r\nX`), USER, `${SECRET}\r\nX`),
  ];
  for (const t of targets) {
    const r = await get(srv.port, t, { headers: { 'User-Agent': 'sweep/1 \u00e9 \u009b' } });
    assert.ok(r.status >= 200 && r.status < 600, t);
  }
  await postForm(srv.port, '/player_api.php', { username: USER, password: SECRET });
  await postForm(srv.port, '/player_api.php', { username: EVIL, password: SECRET });
  // A user agent and a target with raw control bytes, straight on the socket.
  await rawExchange(
    srv.port,
    Buffer.from(`GET /live/${USER}/${SECRET}/999999.ts HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\x1b[2J\x7f\xff"q\\\r\nConnection: close\r\n\r\n`, 'latin1'),
  ).catch(() => {});
  await get(srv.port, '/sweep-end-marker');
  await pollUntil(() => srv.logs().slice(from).includes('/sweep-end-marker'), { timeoutMs: 20000 });

  const log = srv.logs().slice(from);
  assert.ok(!log.includes(SECRET), `the password reached the log:\n${log.split('\n').filter((l) => l.includes(SECRET)).join('\n')}`);
  assert.ok(!log.includes(enc(SECRET)), 'the encoded password reached the log');
  assert.ok(!log.includes('\x1b'), 'a raw ESC reached the log');
  assert.ok(!log.includes('\u009b'), 'a raw C1 CSI reached the log');
  assert.ok(!log.includes('\r'), 'a raw CR reached the log');
  const lines = log.split('\n').filter((l) => l.length > 0);
  assert.ok(lines.length >= targets.length, `only ${lines.length} log lines for ${targets.length} requests`);
  for (const l of lines) assert.match(l, LINE_RE, `not a log line (forged?): ${JSON.stringify(l)}`);
  assert.ok(!lines.some((l) => l.includes(' http: FORGED') && !l.includes('\\x0a')), 'a forged line');
  // The failed logins name the hostile user, escaped, on one line.
  assert.ok(
    lines.some((l) => /warn auth: failed login for user "evil\\x0d\\x0a2026-01-01T00:00:00\.000Z info http: FORGED\\x1b\[2J\\xc2\\x9b31m"/.test(l)),
    `no escaped failed-login line:\n${lines.filter((l) => l.includes('failed login')).slice(0, 3).join('\n')}`,
  );
  // Access lines keep the username and the route, hide the password.
  assert.ok(lines.some((l) => l.includes(`"GET /live/${USER}/***/999999.ts" `)), 'access line of /live/U/P/ID');
  assert.ok(lines.some((l) => l.includes(`"GET /player_api.php?username=${USER}&password=***" `)), 'access line of player_api.php');
  assert.ok(lines.some((l) => l.includes('"sweep/1 \\xe9 \\x9b"')), 'user agent escaped (node sends it as Latin-1)');
});
