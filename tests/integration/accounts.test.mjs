// Account states across every client endpoint: bad/missing credentials (401
// {"user_info":{"auth":0}}), expired/banned/disabled (200 login object with the
// status; 403 for data), trial, output formats, failed-login counting and
// password redaction in the logs. docs/xtream-api.md §3.2, §4 + decisions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LINES, PW, world } from './lib/fixture.mjs';
import { api, assertAlive, get, postForm, qs } from './lib/http.mjs';
import { assertAuthFailureBody, assertLoginObject } from './lib/shapes.mjs';
import { cliOk, pollUntil } from './lib/server.mjs';

let w;
before(async () => {
  w = await world({ tag: 'acct' });
});
after(async () => {
  await w?.cleanup();
});

const DATA_ACTIONS = [
  'get_live_categories',
  'get_live_streams',
  'get_vod_categories',
  'get_vod_streams',
  'get_series_categories',
  'get_series',
  'get_series_info',
  'get_vod_info',
  'get_short_epg',
  'get_simple_data_table',
  'get_epg',
  '201',
  '202',
];

describe('bad or missing credentials → 401 {"user_info":{"auth":0}}', () => {
  const cases = [
    ['wrong password', { username: LINES.open.user, password: 'not-the-password' }],
    ['unknown user', { username: 'nobody.here', password: PW }],
    ['missing password', { username: LINES.open.user }],
    ['missing username', { password: PW }],
    ['no credentials', {}],
    ['empty credentials', { username: '', password: '' }],
    ['username case differs (case-sensitive compare)', { username: LINES.open.user.toUpperCase(), password: PW }],
    ['password with extra char', { username: LINES.open.user, password: PW + 'x' }],
  ];
  for (const [name, creds] of cases) {
    for (const action of [undefined, 'get_profile', 'get_live_streams']) {
      it(`${name}, action=${action ?? '(none)'}`, async () => {
        const r = await get(w.port, `/player_api.php?${qs({ ...creds, action })}`);
        assert.equal(r.status, 401);
        assert.match(r.headers['content-type'] || '', /^application\/json\b/);
        assertAuthFailureBody(r.text);
      });
    }
  }

  it('path form with wrong password → 401', async () => {
    const r = await get(w.port, `/player_api/${LINES.open.user}/wrong/get_live_streams`);
    assert.equal(r.status, 401);
    assertAuthFailureBody(r.text);
  });

  it('POST with wrong credentials → 401', async () => {
    const r = await postForm(w.port, '/player_api.php', { username: LINES.open.user, password: 'nope', action: 'get_live_streams' });
    assert.equal(r.status, 401);
    assertAuthFailureBody(r.text);
  });

  it('panel_api.php, get.php, xmltv.php → 401 on bad credentials', async () => {
    for (const p of ['/panel_api.php', '/get.php', '/xmltv.php']) {
      const r = await get(w.port, `${p}?${qs({ username: LINES.open.user, password: 'nope' })}`);
      assert.equal(r.status, 401, p);
    }
  });
});

describe('account states', () => {
  for (const key of ['expired', 'banned', 'disabled']) {
    const l = LINES[key];
    it(`${key}: no-action login → 200 full login object, auth 1, status ${l.status}`, async () => {
      for (const action of [undefined, 'get_profile', 'get_server_info']) {
        const r = await get(w.port, `/player_api.php?${qs({ username: l.user, password: l.pass, action })}`);
        assert.equal(r.status, 200, `action=${action}: ${r.text.slice(0, 200)}`);
        assertLoginObject(r.json(), { username: l.user, password: l.pass, status: l.status, port: w.port });
      }
      const r = await get(w.port, `/player_api/${l.user}/${l.pass}`);
      assert.equal(r.status, 200);
      assertLoginObject(r.json(), { username: l.user, password: l.pass, status: l.status });
    });

    it(`${key}: every data action → 403 with the same login JSON`, async () => {
      for (const action of DATA_ACTIONS) {
        const r = await get(w.port, api(l.user, l.pass, action, { stream_id: 1, vod_id: 1, series_id: 1 }));
        assert.equal(r.status, 403, `${action}: ${r.text.slice(0, 200)}`);
        assert.match(r.headers['content-type'] || '', /^application\/json\b/, action);
        assertLoginObject(r.json(), { username: l.user, password: l.pass, status: l.status });
      }
    });

    it(`${key}: panel_api.php, get.php, xmltv.php → 403`, async () => {
      for (const p of ['/panel_api.php', '/get.php', '/xmltv.php']) {
        const r = await get(w.port, `${p}?${qs({ username: l.user, password: l.pass, type: 'm3u_plus' })}`);
        assert.equal(r.status, 403, `${p}: ${r.text.slice(0, 200)}`);
      }
    });
  }

  it('expired: exp_date is the (past) expiry as a Unix-seconds string', async () => {
    const r = await get(w.port, api(LINES.expired.user, LINES.expired.pass));
    const ui = r.json().user_info;
    const exp = Number(ui.exp_date);
    assert.ok(exp >= Date.UTC(2019, 11, 31) / 1000 && exp <= Date.UTC(2020, 0, 2) / 1000, `exp_date ${ui.exp_date} is not 2020-01-01`);
  });

  it('banned precedence: a line both banned and expired reports Banned', async () => {
    // Precedence from the spec §3.2: banned > disabled > expired.
    await cliOk(['line', 'add', 'multi.state', PW, '--data', w.dataDir, '--banned', '--disabled', '--expires', '2020-01-01']);
    const { value } = await pollUntil(async () => {
      const r = await get(w.port, api('multi.state', PW));
      return r.status === 200 ? r : null;
    }, { timeoutMs: 10000 }); // the 2 s visibility promise is checked in bouquets.test.mjs
    assert.equal(value.json().user_info.status, 'Banned');
  });

  it('trial: is_trial "1", max_connections "1", exp_date in 2099', async () => {
    const r = await get(w.port, api(LINES.trial.user, LINES.trial.pass));
    assert.equal(r.status, 200);
    const body = r.json();
    assertLoginObject(body, { username: LINES.trial.user, password: LINES.trial.pass, status: 'Active' });
    assert.equal(body.user_info.is_trial, '1');
    assert.equal(body.user_info.max_connections, '1');
    assert.ok(Number(body.user_info.exp_date) >= Date.UTC(2099, 11, 30) / 1000, `exp_date ${body.user_info.exp_date}`);
    const data = await get(w.port, api(LINES.trial.user, LINES.trial.pass, 'get_live_categories'));
    assert.equal(data.status, 200, 'a trial line is an active line');
  });

  it('allowed_output_formats follows --outputs', async () => {
    const ts = (await get(w.port, api(LINES.tsonly.user, PW))).json();
    assert.deepEqual(ts.user_info.allowed_output_formats, ['ts']);
    const hls = (await get(w.port, api(LINES.hlsonly.user, PW))).json();
    assert.deepEqual(hls.user_info.allowed_output_formats, ['m3u8']);
  });

  it('credentials with every allowed character class work (. _ @ -)', async () => {
    const r = await get(w.port, api(LINES.trial.user, LINES.trial.pass, 'get_live_categories'));
    assert.equal(r.status, 200);
    // Percent-encoded '@' in the query must decode to the same user.
    const r2 = await get(w.port, `/player_api.php?username=trial%40erin&password=${PW}&action=get_live_categories`);
    assert.equal(r2.status, 200);
    // Path form with a percent-encoded '@'.
    const r3 = await get(w.port, `/player_api/trial%40erin/${PW}/get_live_categories`);
    assert.equal(r3.status, 200);
  });
});

describe('failed logins and logs', () => {
  it('each failed login is logged with a running per-IP count', async () => {
    const from = w.srv.logs().length;
    for (let i = 0; i < 3; i++) {
      const r = await get(w.port, api('brute.force', `guess-${i}`, 'get_live_streams'));
      assert.equal(r.status, 401);
    }
    const failedLines = () => w.srv.logs().slice(from).split('\n').filter((l) => /failed login/.test(l));
    await pollUntil(() => failedLines().length >= 3, { timeoutMs: 10000 }).catch(() => {});
    const lines = failedLines();
    assert.ok(lines.length >= 3, `expected 3 failed-login lines, got:\n${lines.join('\n')}`);
    const counts = lines.map((l) => {
      const m = /count=(\d+)/.exec(l);
      assert.ok(m, `failed-login line has no count=N: ${l}`);
      assert.ok(l.includes('127.0.0.1'), `failed-login line names the client IP: ${l}`);
      return Number(m[1]);
    });
    assert.ok(counts[0] >= 1);
    for (let i = 1; i < counts.length; i++) assert.equal(counts[i], counts[i - 1] + 1, `counts run on: ${counts}`);
    for (let i = 0; i < 3; i++) assert.ok(!w.srv.logs().includes(`guess-${i}`), 'the tried password must not be logged');
  });

  it('access log has one line per request and never contains a password', async () => {
    const secret = PW; // every fixture line's password
    const from = w.srv.logs().length;
    await get(w.port, api(LINES.open.user, secret, 'get_live_categories'));
    await get(w.port, `/player_api/${LINES.open.user}/${secret}/get_vod_categories`);
    // Unknown channel ids: answered at once (a real channel streams until the client leaves).
    await get(w.port, `/live/${LINES.open.user}/${secret}/999999.ts`);
    await get(w.port, `/${LINES.open.user}/${secret}/999999`);
    await get(w.port, `/movie/${LINES.open.user}/${secret}/1.mp4`);
    await get(w.port, `/get.php?${qs({ username: LINES.open.user, password: secret })}`);
    await postForm(w.port, '/player_api.php', { username: LINES.open.user, password: secret });
    // A streamed response is logged once it is sent, so its access-log line
    // may reach our end of the stderr pipe after the client has the body:
    // wait for the 7 lines before checking them.
    const accessLines = () => w.srv.logs().slice(from).split('\n').filter((l) => / "(GET|POST) \//.test(l)).length;
    await pollUntil(() => accessLines() >= 7, { timeoutMs: 10000 }).catch(() => {});
    const logs = w.srv.logs();
    assert.ok(!logs.includes(secret), `a password appears in the logs:\n${logs.split('\n').filter((l) => l.includes(secret)).join('\n')}`);
    const fresh = logs.slice(from);
    assert.ok(fresh.includes('***'), 'redacted passwords are shown as ***');
    assert.ok(fresh.split('\n').filter((l) => l.includes('***')).length >= 6, `one access-log line per request:\n${fresh}`);
    await assertAlive(w.srv);
  });
});
