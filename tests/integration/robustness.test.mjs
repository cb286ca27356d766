// The server never dies on bad input: every client endpoint × every parameter
// × hostile values. Answers must be well-formed and never 5xx; the server must
// still answer afterwards (a sanitizer abort shows up as a dead server plus a
// report in its stderr, which the after() hook turns into a failure too).
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LINES, PW, world } from './lib/fixture.mjs';
import { assertAlive, get, postForm, qs, request } from './lib/http.mjs';
import { startServer } from './lib/server.mjs';

const U = LINES.open.user;
let w;
before(async () => {
  w = await world({ tag: 'robust', lines: ['open', 'news', 'expired'] });
});
after(async () => {
  await w?.cleanup();
});
// A test that kills the server has failed already; give the next test a fresh
// server so that one crash does not hide the results of the others.
beforeEach(async () => {
  if (w && !w.srv.alive()) {
    w.srv = await startServer(w.dataDir);
    w.port = w.srv.port;
  }
});

function crashReport() {
  const m = /^.*(runtime error:|ERROR: AddressSanitizer).*$/m.exec(w.srv.logs());
  return m ? m[0] : w.srv.logs().slice(-1500);
}

const HOSTILE = [
  'abc',
  '-1',
  '0',
  '1.5',
  '1e3',
  ' 1',
  '1 ',
  '0x10',
  '+1',
  '1,2,3',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '18446744073709551616',
  '2147483648',
  '9'.repeat(300),
  '\u0000',
  '%',
  '\u00ff\u00fe',
  '',
];

const ACTIONS = [
  undefined,
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
  '202',
  '209',
];
const PARAMS = ['category_id', 'vod_id', 'series_id', 'stream_id', 'limit', 'params[offset]', 'params[items_per_page]', 'from_now'];

async function probe(target, opts) {
  let r;
  try {
    r = await (opts?.post ? postForm(w.port, target, opts.post) : get(w.port, target));
  } catch (e) {
    await new Promise((res) => setTimeout(res, 200));
    assert.fail(`${target.slice(0, 200)}: request failed (${e.message}); server alive: ${w.srv.alive()}\n${crashReport()}`);
  }
  assert.ok(r.status < 500, `${target} → ${r.status} ${r.text.slice(0, 200)}`);
  return r;
}

describe('player_api.php with hostile parameter values', () => {
  for (const param of PARAMS) {
    it(`${param} = each hostile value, on every action`, async () => {
      for (const action of ACTIONS) {
        for (const v of HOSTILE) {
          const target = `/player_api.php?${qs({ username: U, password: PW, action, [param]: v })}`;
          const r = await probe(target);
          // A NUL byte in a parameter may be refused as a bad request.
          if (v.includes('\u0000') && r.status === 400) continue;
          assert.equal(r.status, 200, `${target} → ${r.status}`);
          r.json(); // always valid JSON
        }
      }
      await assertAlive(w.srv, `after hostile ${param}`);
    });
  }

  it('category_id that is not a category id → [] on the three list actions', async () => {
    for (const action of ['get_live_streams', 'get_vod_streams', 'get_series']) {
      for (const v of ['abc', '-1', '99999999999999999999', '2147483648']) {
        const r = await probe(`/player_api.php?${qs({ username: U, password: PW, action, category_id: v })}`);
        assert.deepEqual(r.json(), [], `${action} category_id=${v}`);
      }
    }
  });

  it('the same hostile values on the restricted and expired lines', async () => {
    for (const user of [LINES.news.user, LINES.expired.user]) {
      for (const action of ACTIONS) {
        for (const v of ['abc', '9223372036854775808', '-1']) {
          await probe(`/player_api.php?${qs({ username: user, password: PW, action, category_id: v, vod_id: v, series_id: v, stream_id: v })}`);
        }
      }
    }
    await assertAlive(w.srv);
  });

  it('hostile action values', async () => {
    for (const action of [...HOSTILE, 'get_live_streams\u0000', 'GET_LIVE_STREAMS', 'get_live_streams ', '200 ', '2000000000000000000000']) {
      const r = await probe(`/player_api.php?${qs({ username: U, password: PW, action })}`);
      if (action.includes('\u0000') && r.status === 400) continue;
      assert.equal(r.status, 200, `action ${JSON.stringify(action)} → ${r.status}`);
      r.json();
    }
    await assertAlive(w.srv);
  });

  it('hostile credentials', async () => {
    for (const v of [...HOSTILE, 'a'.repeat(3000), "' OR 1=1 --", '../../etc/passwd', '%00', 'demo\u0000x']) {
      const r = await probe(`/player_api.php?${qs({ username: v, password: v })}`);
      assert.ok(r.status === 401 || (v.includes('\u0000') && r.status === 400), `credential ${JSON.stringify(v.slice(0, 40))} → ${r.status}`);
      await probe(`/player_api.php?${qs({ username: U, password: v })}`);
    }
    await assertAlive(w.srv);
  });

  it('repeated parameters, raw and broken percent-encoding, odd separators', async () => {
    for (const q of [
      `username=${U}&password=${PW}&action=get_live_streams&category_id=1&category_id=2`,
      `username=${U}&username=${U}&password=${PW}&password=${PW}`,
      `username=${U}&password=${PW}&action=get%5Flive%5Fstreams`,
      `username=${U}&password=${PW}&action=%`,
      `username=${U}&password=${PW}&action=%zz`,
      `username=${U}&password=${PW}&&&&action=get_live_categories&`,
      `username=${U}&password=${PW};action=get_live_categories`,
      `=&=&=`,
      `username&password&action`,
      `username=${U}&password=${PW}&action=get_live_streams&${'x='.repeat(300)}`,
    ]) {
      await probe(`/player_api.php?${q}`);
    }
    await assertAlive(w.srv);
  });

  it('POST bodies: hostile form values, wrong content types, broken multipart', async () => {
    await probe('/player_api.php', { post: { username: U, password: PW, action: 'get_vod_info', vod_id: '9223372036854775808' } });
    await probe('/player_api.php', { post: { username: U, password: PW, action: 'get_live_streams', category_id: 'abc' } });
    for (const [ct, body] of [
      ['application/json', JSON.stringify({ username: U, password: PW })],
      ['multipart/form-data', 'no boundary'],
      ['multipart/form-data; boundary=XX', '--XX\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice'],
      ['multipart/form-data; boundary=XX', '--XX--'],
      ['multipart/form-data; boundary=', ''],
      ['application/x-www-form-urlencoded', '%%%&&&===' + 'a'.repeat(10000)],
      ['application/x-www-form-urlencoded', 'x='.repeat(5000)],
      ['text/plain', '\u0000\u0001\u0002'],
    ]) {
      const r = await request(w.port, 'POST', `/player_api.php?${qs({ username: U, password: PW })}`, {
        headers: { 'Content-Type': ct, 'Content-Length': Buffer.byteLength(body) },
        body,
      });
      assert.ok(r.status < 500, `POST ${ct} → ${r.status}`);
    }
    await assertAlive(w.srv);
  });
});

describe('other endpoints with hostile parameters', () => {
  it('get.php type/output/key values', async () => {
    for (const v of [...HOSTILE, 'm3u_plus\u0000', 'M3U_PLUS', 'enigma16', 'starlivev5']) {
      for (const k of ['type', 'output', 'key', 'nocache']) {
        const r = await probe(`/get.php?${qs({ username: U, password: PW, [k]: v })}`);
        assert.ok([200, 400, 404].includes(r.status), `get.php ${k}=${JSON.stringify(v)} → ${r.status}`);
      }
    }
    await assertAlive(w.srv);
  });

  it('xmltv.php and panel_api.php parameters', async () => {
    for (const v of HOSTILE) {
      for (const k of ['prev_days', 'next_days', 'days', 'gzip']) await probe(`/xmltv.php?${qs({ username: U, password: PW, [k]: v })}`);
      for (const k of ['action', 'stream_id']) await probe(`/panel_api.php?${qs({ username: U, password: PW, action: 'get_epg', [k]: v })}`);
    }
    await assertAlive(w.srv);
  });

  it('stream routes with hostile ids and extensions', async () => {
    for (const v of HOSTILE.filter((x) => x !== '' && !x.includes('\u0000'))) {
      const id = encodeURIComponent(v);
      for (const t of [
        `/live/${U}/${PW}/${id}.ts`,
        `/live/${U}/${PW}/${id}`,
        `/${U}/${PW}/${id}`,
        `/movie/${U}/${PW}/${id}.mp4`,
        `/series/${U}/${PW}/${id}.mkv`,
        `/live/${U}/${PW}/1.${id}`,
        `/streaming/clients_live.php?${qs({ username: U, password: PW, stream: v, extension: v })}`,
      ]) {
        // None of these names a real stream with a valid extension: 4xx, never the 503 of a served stream.
        const r = await probe(t);
        assert.ok(r.status >= 400 && r.status < 500, `${t} → ${r.status}`);
      }
    }
    await assertAlive(w.srv);
  });

  it('long and deep paths', async () => {
    for (const t of [
      '/' + 'a/'.repeat(100),
      '/live/' + 'x'.repeat(4000),
      `/live/${U}/${PW}/` + '1'.repeat(4000) + '.ts',
      '/' + '%2e%2e/'.repeat(50) + 'etc/passwd',
      '/player_api/' + 'u/'.repeat(30),
      '/player_api/%00/%00/%00',
    ]) {
      const r = await probe(t);
      assert.ok(r.status >= 400, `${t.slice(0, 60)} → ${r.status}`);
    }
    await assertAlive(w.srv);
  });
});
