// Issue 13, items 1-5: access control. Each rule with its refused and allowed
// case and its refusal-log row: CIDR v4 and v6, lock to the first IP and its
// reset, the distinct-IP cap, the global deny list, a trusted proxy's
// X-Forwarded-For against the same header from an untrusted peer, user-agent
// rules, country rules on a database the test builds (lib/mmdb.mjs), a ban
// after N failed logins with its expiry and its survival across a restart
// (and lifting it through the API and the CLI), an account flagged by many
// failing addresses, and 429 under a flood while another address is served.
// Distinct clients are distinct loopback addresses (127.0.0.N) bound as the
// client socket's local address.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { world, PW } from './lib/fixture.mjs';
import { cliOk, makeDataDir, pollUntil, removeDir, runCli, startServer } from './lib/server.mjs';
import { api, request } from './lib/http.mjs';
import { buildCountryMmdb } from './lib/mmdb.mjs';
import { parseExposition, value } from './lib/prom.mjs';

const LINES = ['c4', 'c6', 'lock', 'daily', 'daily2', 'ua', 'cc', 'victim', 'free'];
const POLL = { timeoutMs: 20000, intervalMs: 100 };

function login(port, user, { from = '127.0.0.1', ua = 'test-player/1.0', pass = PW, headers = {} } = {}) {
  return request(port, 'GET', api(user, pass), { localAddress: from, headers: { 'User-Agent': ua, ...headers } });
}

async function adminOk(port, method, target, body) {
  const res = await request(port, method, target, {
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${target}: ${res.status} ${res.text.slice(0, 400)}`);
  return res.status === 204 ? null : res.json();
}

async function lineIds(port) {
  const page = await adminOk(port, 'GET', '/api/v1/lines?page_size=200');
  return Object.fromEntries(page.items.map((l) => [l.username, l.id]));
}

/** Polls the refusal log until a row matching the filter (query) and pred appears. */
async function refusal(port, query, pred = () => true) {
  const { value: row } = await pollUntil(async () => {
    const r = await adminOk(port, 'GET', `/api/v1/access/refusals?${new URLSearchParams(query)}`);
    return r.items.find(pred);
  }, POLL);
  return row;
}

/** Polls until fn's login answers want (a rule reaches the next snapshot). */
async function until(fn, want, what) {
  let last;
  await pollUntil(async () => {
    last = await fn();
    return last.status === want;
  }, POLL).catch((e) => {
    throw new Error(`${what}: wanted ${want}, last ${last?.status} ${last?.text?.slice(0, 200)} (${e.message})`);
  });
  return last;
}

let w, ids, mmdb;
const serveArgs = () => ['--access', 'ban-after=5', '--access', 'ban-time=600', '--access', 'flag-ips=4', '--geoip-db', mmdb];

before(async () => {
  const args = ['--access', 'ban-after=5', '--access', 'ban-time=600', '--access', 'flag-ips=4', '--geoip-db', ''];
  w = await world({
    tag: 'access',
    lines: [],
    seed: async (dir) => {
      mmdb = path.join(dir, 'country.mmdb');
      await writeFile(mmdb, buildCountryMmdb([['127.0.0.22/32', 'FR'], ['127.0.0.23/32', 'DE'], ['127.0.1.0/24', 'FR']]));
      args[args.length - 1] = mmdb;
      for (const u of LINES) await cliOk(['line', 'add', u, PW, '--data', dir, '--max-connections', '0']);
    },
    serveArgs: args,
  });
  ids = await lineIds(w.port);
});

after(async () => {
  await w?.cleanup();
});

describe('per-line address rules', () => {
  it('CIDR v4: outside the range refused (IP_NOT_ALLOWED, logged), inside served', async () => {
    await adminOk(w.port, 'PATCH', `/api/v1/lines/${ids.c4}/access`, { allowed_ips: ['127.0.0.2/31'] });
    const no = await until(() => login(w.port, 'c4', { from: '127.0.0.4' }), 403, 'c4 from .4');
    assert.match(no.text, /IP_NOT_ALLOWED/);
    assert.equal((await login(w.port, 'c4', { from: '127.0.0.3' })).status, 200);
    const row = await refusal(w.port, { username: 'c4', reason: 'IP_NOT_ALLOWED' });
    assert.equal(row.ip, '127.0.0.4');
    assert.equal(row.line_id, ids.c4);
    assert.equal(row.route, '/player_api.php');
    assert.equal(row.user_agent, 'test-player/1.0');
    const acc = await adminOk(w.port, 'GET', `/api/v1/lines/${ids.c4}/access`);
    assert.deepEqual(acc.allowed_ips, ['127.0.0.2/31']);
  });

  it('refuses bad ranges with field-named errors', async () => {
    const res = await request(w.port, 'PATCH', `/api/v1/lines/${ids.c4}/access`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ allowed_ips: ['10.0.0.0/8', '10.1.2.3/8'], allowed_countries: ['France'] }),
    });
    assert.equal(res.status, 422, res.text);
    const fields = res.json().errors.map((e) => e.field).sort();
    assert.deepEqual(fields, ['allowed_countries[0]', 'allowed_ips[1]']);
  });

  it('CIDR v6 through a trusted proxy, and a spoofed X-Forwarded-For from an untrusted peer', async () => {
    await adminOk(w.port, 'POST', '/api/v1/access/rules', { kind: 'trusted_proxy', value: '127.0.0.9' });
    await adminOk(w.port, 'PATCH', `/api/v1/lines/${ids.c6}/access`, { allowed_ips: ['2001:db8:1::/48'] });
    const viaProxy = (xff) => login(w.port, 'c6', { from: '127.0.0.9', headers: { 'X-Forwarded-For': xff } });
    await until(() => viaProxy('2001:db8:1::5'), 200, 'c6 via the proxy, inside');
    const out = await until(() => viaProxy('198.51.100.7, 2001:db8:2::5'), 403, 'c6 via the proxy, outside');
    assert.match(out.text, /IP_NOT_ALLOWED/);
    assert.equal((await refusal(w.port, { username: 'c6', ip: '2001:db8:2::5' })).reason, 'IP_NOT_ALLOWED');
    // RFC 7239 Forwarded is believed from the proxy too
    const fwd = await login(w.port, 'c6', { from: '127.0.0.9', headers: { Forwarded: 'for="[2001:db8:1::77]:4711";proto=http' } });
    assert.equal(fwd.status, 200, fwd.text);
    // the same header from a peer that is not a trusted proxy is ignored
    const spoof = await login(w.port, 'c6', { from: '127.0.0.10', headers: { 'X-Forwarded-For': '2001:db8:1::5' } });
    assert.equal(spoof.status, 403);
    assert.equal((await refusal(w.port, { username: 'c6', ip: '127.0.0.10' })).reason, 'IP_NOT_ALLOWED');
  });

  it('lock to the first IP: the first address is kept, others refused until a reset', async () => {
    // A user-agent probe tells when the rules reach the snapshot without
    // using an address up (the UA check comes first).
    await adminOk(w.port, 'PATCH', `/api/v1/lines/${ids.lock}/access`, { lock_first_ip: true, denied_user_agents: ['probe/*'] });
    await until(() => login(w.port, 'lock', { from: '127.0.0.11', ua: 'probe/1' }), 403, 'lock: rules live');
    assert.equal((await login(w.port, 'lock', { from: '127.0.0.11' })).status, 200, 'lock: first');
    assert.equal((await login(w.port, 'lock', { from: '127.0.0.12' })).status, 403, 'lock: second refused');
    const { value: acc } = await pollUntil(async () => {
      const a = await adminOk(w.port, 'GET', `/api/v1/lines/${ids.lock}/access`);
      return a.first_ip === '127.0.0.11' && a;
    }, POLL);
    assert.equal(acc.lock_first_ip, true);
    assert.equal((await login(w.port, 'lock', { from: '127.0.0.11' })).status, 200);
    assert.equal((await refusal(w.port, { username: 'lock', reason: 'IP_LOCKED' })).ip, '127.0.0.12');
    const reset = await adminOk(w.port, 'POST', `/api/v1/lines/${ids.lock}/access/reset`);
    assert.equal(reset.first_ip, null);
    await until(() => login(w.port, 'lock', { from: '127.0.0.12' }), 200, 'lock: after the reset the next address is first');
    assert.equal((await login(w.port, 'lock', { from: '127.0.0.11' })).status, 403);
  });

  it('distinct IPs per day: past the cap refused (TOO_MANY_IPS), known ones still served', async () => {
    await adminOk(w.port, 'PATCH', `/api/v1/lines/${ids.daily}/access`, { max_daily_ips: 2, denied_user_agents: ['probe/*'] });
    await until(() => login(w.port, 'daily', { from: '127.0.0.13', ua: 'probe/1' }), 403, 'daily: rules live');
    assert.equal((await login(w.port, 'daily', { from: '127.0.0.13' })).status, 200);
    assert.equal((await login(w.port, 'daily', { from: '127.0.0.14' })).status, 200);
    const third = await login(w.port, 'daily', { from: '127.0.0.16' });
    assert.equal(third.status, 403);
    assert.match(third.text, /TOO_MANY_IPS/);
    assert.equal((await login(w.port, 'daily', { from: '127.0.0.13' })).status, 200);
    assert.equal((await refusal(w.port, { username: 'daily', reason: 'TOO_MANY_IPS' })).ip, '127.0.0.16');
  });
});

describe('global rules', () => {
  it('the deny list refuses an address before its credentials (IP_DENIED)', async () => {
    const r = await adminOk(w.port, 'POST', '/api/v1/access/rules', { kind: 'ip_deny', value: '127.0.0.64/30', note: 'test' });
    assert.equal(r.value, '127.0.0.64/30');
    const no = await until(() => login(w.port, 'free', { from: '127.0.0.65' }), 403, 'denied range');
    assert.match(no.text, /IP_DENIED/);
    assert.equal((await login(w.port, 'free', { from: '127.0.0.68' })).status, 200);
    const row = await refusal(w.port, { ip: '127.0.0.65', reason: 'IP_DENIED' });
    assert.equal(row.username, 'free');
    const list = await adminOk(w.port, 'GET', '/api/v1/access/rules?kind=ip_deny');
    assert.ok(list.items.some((x) => x.id === r.id));
    await adminOk(w.port, 'DELETE', `/api/v1/access/rules/${r.id}`);
    await until(() => login(w.port, 'free', { from: '127.0.0.65' }), 200, 'deny rule deleted');
  });

  it('user-agent rules: per line allow/deny globs and a global deny', async () => {
    await adminOk(w.port, 'PATCH', `/api/v1/lines/${ids.ua}/access`, {
      allowed_user_agents: ['*MAG2??*'],
      denied_user_agents: ['*MAG256*'],
    });
    const mag = 'Mozilla/5.0 (QtEmbedded; U; Linux; C) MAG250 stbapp ver: 2';
    const no = await until(() => login(w.port, 'ua', { ua: 'VLC/3.0.18' }), 403, 'ua: VLC refused');
    assert.match(no.text, /UA_BLOCKED/);
    assert.equal((await login(w.port, 'ua', { ua: mag })).status, 200);
    assert.equal((await login(w.port, 'ua', { ua: 'x MAG256 y' })).status, 403);
    assert.equal((await refusal(w.port, { username: 'ua', reason: 'UA_BLOCKED' }, (x) => x.user_agent === 'VLC/3.0.18')).line_id, ids.ua);
    await adminOk(w.port, 'POST', '/api/v1/access/rules', { kind: 'ua_deny', value: 'EvilBot/*' });
    await until(() => login(w.port, 'free', { ua: 'EvilBot/2.1' }), 403, 'global UA deny');
    assert.equal((await login(w.port, 'free', { ua: 'GoodPlayer/1' })).status, 200);
    assert.ok(await refusal(w.port, { username: 'free', reason: 'UA_BLOCKED' }, (x) => x.user_agent === 'EvilBot/2.1'));
  });

  it('country rules on the test database: per line allow, global deny', async () => {
    const rules = await adminOk(w.port, 'GET', '/api/v1/access/rules');
    assert.equal(rules.country_rules_enabled, true);
    await adminOk(w.port, 'PATCH', `/api/v1/lines/${ids.cc}/access`, { allowed_countries: ['fr'] });
    const no = await until(() => login(w.port, 'cc', { from: '127.0.0.23' }), 403, 'cc: DE refused');
    assert.match(no.text, /COUNTRY_BLOCKED/);
    assert.equal((await login(w.port, 'cc', { from: '127.0.0.22' })).status, 200);
    assert.equal((await login(w.port, 'cc', { from: '127.0.0.24' })).status, 403, 'no country is not FR');
    assert.equal((await refusal(w.port, { username: 'cc', reason: 'COUNTRY_BLOCKED' }, (x) => x.ip === '127.0.0.23')).line_id, ids.cc);
    const acc = await adminOk(w.port, 'GET', `/api/v1/lines/${ids.cc}/access`);
    assert.deepEqual(acc.allowed_countries, ['FR']);
    const r = await adminOk(w.port, 'POST', '/api/v1/access/rules', { kind: 'country_deny', value: 'FR' });
    await until(() => login(w.port, 'free', { from: '127.0.1.5' }), 403, 'global country deny');
    assert.equal((await login(w.port, 'free', { from: '127.0.0.23' })).status, 200);
    await adminOk(w.port, 'DELETE', `/api/v1/access/rules/${r.id}`);
  });
});

describe('brute force', () => {
  it('bans an IP after N failed logins, flags the account many IPs fail against, keeps the ban across a restart', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(w.port, 'victim', { from: '127.0.0.30', pass: 'wrong' })).status, 401);
    const banned = await login(w.port, 'victim', { from: '127.0.0.30' });
    assert.equal(banned.status, 403);
    assert.match(banned.text, /BANNED_IP/);
    assert.ok(Number(banned.headers['retry-after']) > 500, `Retry-After ${banned.headers['retry-after']}`);
    assert.equal((await login(w.port, 'victim', { from: '127.0.0.31' })).status, 200, 'another address is served');
    assert.equal((await refusal(w.port, { ip: '127.0.0.30' })).reason, 'BANNED_IP');
    const { value: ban } = await pollUntil(async () => {
      const b = await adminOk(w.port, 'GET', '/api/v1/access/bans');
      return b.items.find((x) => x.ip === '127.0.0.30');
    }, POLL);
    assert.equal(ban.active, true);
    assert.equal(ban.strikes, 1);
    // four distinct addresses fail on one account: flagged
    for (const n of [40, 41, 42, 43]) await login(w.port, 'victim', { from: `127.0.0.${n}`, pass: 'nope' });
    await pollUntil(async () => (await adminOk(w.port, 'GET', `/api/v1/lines/${ids.victim}/access`)).attack_flagged_at, POLL);
    const flagged = await adminOk(w.port, 'GET', '/api/v1/access/flagged');
    assert.deepEqual(flagged.items.map((x) => x.username), ['victim']);
    // restart: the ban is read back from the database
    await w.srv.stopClean();
    w.srv = await startServer(w.dataDir, serveArgs());
    w.port = w.srv.port;
    const after = await login(w.port, 'victim', { from: '127.0.0.30' });
    assert.equal(after.status, 403, 'still banned after a restart');
    assert.match(after.text, /BANNED_IP/);
    // the CLI lists it; the API lifts it
    const cli = await cliOk(['ban', 'list', '--data', w.dataDir]);
    assert.match(cli.stdout, /127\.0\.0\.30/);
    await adminOk(w.port, 'DELETE', `/api/v1/access/bans/${encodeURIComponent('127.0.0.30')}`);
    assert.equal((await login(w.port, 'victim', { from: '127.0.0.30' })).status, 200, 'lifted at once');
  });
});

describe('IPv6 bans', () => {
  it('bans an IPv6 client by its /64 and lifts it through the API (the /64 URL-encoded)', async () => {
    const proxy = await request(w.port, 'POST', '/api/v1/access/rules', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'trusted_proxy', value: '127.0.0.9' }),
    });
    assert.ok(proxy.status === 201 || proxy.status === 409, proxy.text);
    const from = (ip, pass) => login(w.port, 'free', { from: '127.0.0.9', pass, headers: { 'X-Forwarded-For': ip } });
    await until(() => from('2001:db8:77::1'), 200, 'the proxy is trusted');
    for (let i = 0; i < 5; i++) await from(`2001:db8:77::${i + 10}`, 'wrong');
    const banned = await from('2001:db8:77::ffff');
    assert.equal(banned.status, 403, 'another address of the same /64');
    assert.match(banned.text, /BANNED_IP/);
    assert.equal((await from('2001:db8:78::1')).status, 200, 'another /64');
    await pollUntil(async () => (await adminOk(w.port, 'GET', '/api/v1/access/bans')).items.some((b) => b.ip === '2001:db8:77::/64'), POLL);
    await adminOk(w.port, 'DELETE', `/api/v1/access/bans/${encodeURIComponent('2001:db8:77::/64')}`);
    assert.equal((await from('2001:db8:77::1')).status, 200);
  });
});

describe('expiry and flood (a second server)', () => {
  let s2, dir2;
  before(async () => {
    dir2 = await makeDataDir('access2');
    await cliOk(['line', 'add', 'free', PW, '--data', dir2, '--max-connections', '0']);
    s2 = await startServer(dir2, ['--access', 'ban-after=3', '--access', 'ban-time=2', '--access', 'rate=2', '--access', 'burst=4']);
  });
  after(async () => {
    try {
      await s2?.stopClean();
    } finally {
      await removeDir(dir2);
    }
  });

  it('a ban ends after its time; without a database country rules are off', async () => {
    for (let i = 0; i < 3; i++) await login(s2.port, 'free', { from: '127.0.0.50', pass: 'bad' });
    const t0 = Date.now();
    assert.equal((await login(s2.port, 'free', { from: '127.0.0.50' })).status, 403);
    await until(() => login(s2.port, 'free', { from: '127.0.0.50' }), 200, 'ban expired');
    assert.ok(Date.now() - t0 >= 800, `not lifted at once (${Date.now() - t0} ms): bans count in whole seconds`);
    const rules = await adminOk(s2.port, 'GET', '/api/v1/access/rules');
    assert.equal(rules.country_rules_enabled, false);
    assert.match(rules.country_rules_note, /geoip-db/);
  });

  it('answers 429 with Retry-After to a flooding address while another is served', async () => {
    const flood = await Promise.all(Array.from({ length: 40 }, () => login(s2.port, 'free', { from: '127.0.0.60' })));
    const limited = flood.filter((r) => r.status === 429);
    assert.ok(limited.length >= 10, `${limited.length} of 40 limited`);
    assert.ok(Number(limited[0].headers['retry-after']) >= 1);
    assert.equal((await login(s2.port, 'free', { from: '127.0.0.61' })).status, 200);
    assert.equal((await refusal(s2.port, { ip: '127.0.0.60', reason: 'RATE_LIMITED' })).route, '/player_api.php');
    const m = await request(s2.port, 'GET', '/metrics', { adminToken: false });
    const fams = parseExposition(m.text);
    assert.ok(value(fams, 'xtreamd_access_refusals_total', { reason: 'RATE_LIMITED' }) >= limited.length);
    assert.ok(value(fams, 'xtreamd_access_rate_ips') >= 2);
  });
});

describe('the CLI', () => {
  it('xtreamd access and ban: line rules, global rules, the refusal log, lifting a ban', async () => {
    const bad = await runCli(['access', 'line', 'free', '--allowed-ip', '10.1.2.3/8', '--data', w.dataDir]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--allowed-ip/);
    const shown = await cliOk(['access', 'line', 'c4', '--data', w.dataDir]);
    assert.deepEqual(JSON.parse(shown.stdout).allowed_ips, ['127.0.0.2/31']);
    const set = await cliOk(['access', 'line', 'free', '--deny-ua', 'CliBot/*', '--max-daily-ips', '50', '--data', w.dataDir]);
    assert.deepEqual(JSON.parse(set.stdout).denied_user_agents, ['CliBot/*']);
    await until(() => login(w.port, 'free', { ua: 'CliBot/1' }), 403, 'a rule set by the CLI reaches the server');
    await cliOk(['access', 'rule', 'add', 'ip_deny', '2001:DB8:F::/48', '--note', 'cli', '--data', w.dataDir]);
    const rules = JSON.parse((await cliOk(['access', 'rule', 'list', '--kind', 'ip_deny', '--data', w.dataDir])).stdout);
    assert.ok(rules.some((r) => r.value === '2001:db8:f::/48' && r.note === 'cli'));
    const rows = JSON.parse((await cliOk(['access', 'refusals', '--reason', 'IP_NOT_ALLOWED', '--limit', '5', '--data', w.dataDir])).stdout);
    assert.ok(rows.length >= 1 && rows.every((r) => r.reason === 'IP_NOT_ALLOWED'));
    // a ban lifted from the shell reaches the running server with its next snapshot
    for (let i = 0; i < 5; i++) await login(w.port, 'free', { from: '127.0.0.32', pass: 'wrong' });
    assert.equal((await login(w.port, 'free', { from: '127.0.0.32' })).status, 403);
    await pollUntil(async () => (await adminOk(w.port, 'GET', '/api/v1/access/bans')).items.some((b) => b.ip === '127.0.0.32'), POLL);
    await cliOk(['ban', 'del', '127.0.0.32', '--data', w.dataDir]);
    await until(() => login(w.port, 'free', { from: '127.0.0.32' }), 200, 'lifted by the CLI');
    const gone = await runCli(['ban', 'del', '127.0.0.32', '--data', w.dataDir]);
    assert.equal(gone.code, 1, gone.stderr);
  });
});

describe('distinct IPs per day across a restart', () => {
  it('the day\'s addresses are written off the loop and read back: the cap still holds after a restart', async () => {
    await adminOk(w.port, 'PATCH', `/api/v1/lines/${ids.daily2}/access`, { max_daily_ips: 2, denied_user_agents: ['probe/*'] });
    await until(() => login(w.port, 'daily2', { from: '127.0.0.17', ua: 'probe/1' }), 403, 'daily2: rules live');
    assert.equal((await login(w.port, 'daily2', { from: '127.0.0.17' })).status, 200);
    assert.equal((await login(w.port, 'daily2', { from: '127.0.0.18' })).status, 200);
    // A clean stop writes what is still queued; then a new process.
    await w.srv.stopClean();
    w.srv = await startServer(w.dataDir, serveArgs());
    w.port = w.srv.port;
    const third = await login(w.port, 'daily2', { from: '127.0.0.19' });
    assert.equal(third.status, 403, 'a third address today is still refused after the restart');
    assert.match(third.text, /TOO_MANY_IPS/);
    assert.equal((await login(w.port, 'daily2', { from: '127.0.0.18' })).status, 200, 'a known one is served');
    // An admin reset forgets the day's addresses, on disk too.
    await adminOk(w.port, 'POST', `/api/v1/lines/${ids.daily2}/access/reset`);
    assert.equal((await login(w.port, 'daily2', { from: '127.0.0.19' })).status, 200);
    await w.srv.stopClean();
    w.srv = await startServer(w.dataDir, serveArgs());
    w.port = w.srv.port;
    // after the reset the day holds .19 only: a second address is fine, a third is not
    assert.equal((await login(w.port, 'daily2', { from: '127.0.0.17' })).status, 200);
    assert.equal((await login(w.port, 'daily2', { from: '127.0.0.20' })).status, 403);
  });
});

describe('reload on SIGHUP (a third server)', () => {
  let s3, dir3, conf;
  const write = (text) => writeFile(conf, text);
  before(async () => {
    dir3 = await makeDataDir('access3');
    await cliOk(['line', 'add', 'hup', PW, '--data', dir3, '--max-connections', '0']);
    await writeFile(path.join(dir3, 'a.mmdb'), buildCountryMmdb([['127.0.0.50/32', 'FR']]));
    conf = path.join(dir3, 'xtreamd.conf');
    await write(`geoip-db = "${path.join(dir3, 'a.mmdb')}";\naccess = [ "rate=0" ];\n`);
    s3 = await startServer(dir3, ['--config', conf]);
    await adminOk(s3.port, 'POST', '/api/v1/access/rules', { kind: 'country_deny', value: 'FR' });
  });
  after(async () => {
    try {
      await s3?.stopClean();
    } finally {
      await removeDir(dir3);
    }
  });

  it('re-reads --access and the country database (replaced by rename) on SIGHUP', async () => {
    const no = await until(() => login(s3.port, 'hup', { from: '127.0.0.50' }), 403, 'FR by the first database');
    assert.match(no.text, /COUNTRY_BLOCKED/);
    assert.equal((await login(s3.port, 'hup', { from: '127.0.0.51' })).status, 200);
    for (let i = 0; i < 6; i++) assert.equal((await login(s3.port, 'hup', { from: '127.0.0.52' })).status, 200, 'no rate limit yet');

    // geoipupdate's way: a new file renamed over the old name; and a rate limit.
    const tmp = path.join(dir3, 'b.mmdb.tmp');
    await writeFile(tmp, buildCountryMmdb([['127.0.0.51/32', 'FR'], ['127.0.0.50/32', 'DE']]));
    await rename(tmp, path.join(dir3, 'a.mmdb'));
    await write(`geoip-db = "${path.join(dir3, 'a.mmdb')}";\naccess = [ "rate=1", "burst=2" ];\n`);
    const from = s3.logs().length;
    s3.child.kill('SIGHUP');
    await s3.waitForLog(/serve: reload done/, { from, timeoutMs: 15000 });
    assert.match(s3.logs().slice(from), /access: country database .*a\.mmdb .*loaded/);

    const now51 = await login(s3.port, 'hup', { from: '127.0.0.51' });
    assert.equal(now51.status, 403, 'FR by the new database');
    assert.match(now51.text, /COUNTRY_BLOCKED/);
    assert.equal((await login(s3.port, 'hup', { from: '127.0.0.50' })).status, 200, 'DE now');
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await login(s3.port, 'hup', { from: '127.0.0.53' })).status);
    assert.ok(codes.includes(429), `the new rate limit applies: ${codes}`);

    // A database that does not open keeps the loaded one.
    await write(`geoip-db = "${path.join(dir3, 'missing.mmdb')}";\naccess = [ "rate=0" ];\n`);
    const from2 = s3.logs().length;
    s3.child.kill('SIGHUP');
    await s3.waitForLog(/serve: reload done/, { from: from2, timeoutMs: 15000 });
    assert.match(s3.logs().slice(from2), /cannot open the country database .*missing\.mmdb.*keeping the one loaded/);
    assert.equal((await login(s3.port, 'hup', { from: '127.0.0.51' })).status, 403, 'still the loaded database');
  });
});
