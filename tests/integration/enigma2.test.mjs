// Enigma2 outputs of get.php (issue 13 item 8): the user bouquets
// (type=enigma16 / enigma2 / dreambox) parsed as an Enigma2 box parses them,
// and the install scripts (type=enigma216_script / enigma22_script) run with
// a stand-in wget against the real server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LINES, PW, seedDemo, seedLines } from './lib/fixture.mjs';
import { genLiveM3U, writeM3U } from './lib/gen.mjs';
import { get, qs } from './lib/http.mjs';
import { expectedEntries, fetchCatalog } from './lib/catalog.mjs';
import { cliOk, makeDataDir, removeDir, startServer } from './lib/server.mjs';

const U = LINES.open.user;
const ODD = 'Colon: 100% "Quoted", News'; // ':' and '%' must survive the service reference
let dataDir, srv, port, base, cat;

before(async () => {
  dataDir = await makeDataDir('e2');
  await seedDemo(dataDir);
  await seedLines(dataDir, ['open', 'news']);
  const gen = genLiveM3U({ channels: 9, groups: 3, prefix: 'E2' });
  await cliOk(['import', 'm3u', '--data', dataDir, await writeM3U(dataDir, 'e2.m3u', gen.text)]);
  const odd = `#EXTM3U\r\n#EXTINF:-1 tvg-id="odd.e2.test" group-title="E2 Odd",${ODD}\r\nhttp://127.0.0.1:9/odd.ts\r\n`;
  await cliOk(['import', 'm3u', '--data', dataDir, await writeM3U(dataDir, 'odd.m3u', odd)]);
  srv = await startServer(dataDir);
  port = srv.port;
  base = srv.base;
  cat = await fetchCatalog(port, U, PW);
});

after(async () => {
  try {
    if (srv) await srv.stopClean();
  } finally {
    await removeDir(dataDir);
  }
});

/** Parses a user bouquet as Enigma2's eServiceReference does: 10 hex fields, path, name, both URL-decoded. */
function parseBouquet(text) {
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', 'ends with a newline');
  lines.pop();
  assert.ok(!text.includes('\r'), 'LF line ends');
  const m = /^#NAME (.+)$/.exec(lines[0]);
  assert.ok(m, `first line is #NAME: ${lines[0]}`);
  const out = { name: m[1], groups: [] };
  for (let i = 1; i < lines.length; i += 2) {
    const svc = /^#SERVICE (.*)$/.exec(lines[i]);
    assert.ok(svc, `line ${i + 1} is #SERVICE: ${lines[i]}`);
    const desc = /^#DESCRIPTION (.*)$/.exec(lines[i + 1] ?? '');
    assert.ok(desc, `line ${i + 2} is #DESCRIPTION: ${lines[i + 1]}`);
    const parts = svc[1].split(':');
    assert.equal(parts.length, 12, `12 fields: ${svc[1]}`);
    // eServiceReference: "%d:%d:%x:%x:%x:%x:%x:%x:%x:%x:" then path and name.
    const nums = parts.slice(0, 10).map((x, i) => {
      assert.match(x, i < 2 ? /^[0-9]+$/ : /^[0-9A-Fa-f]+$/, `field ${i} in ${svc[1]}`);
      return parseInt(x, i < 2 ? 10 : 16);
    });
    const ref = { type: nums[0], flags: nums[1], stype: nums[2], sid: nums[3], rest: nums.slice(4), path: decodeURIComponent(parts[10]), name: decodeURIComponent(parts[11]), description: desc[1] };
    if (ref.flags === 64) {
      assert.equal(ref.type, 1, 'a marker is 1:64');
      assert.equal(ref.path, '');
      out.groups.push({ title: ref.name, description: ref.description, items: [] });
    } else {
      assert.ok(out.groups.length, 'an item comes after its group marker');
      out.groups.at(-1).items.push(ref);
    }
  }
  return out;
}

async function bouquet(params, user = U) {
  const r = await get(port, `/get.php?${qs({ username: user, password: PW, ...params })}`);
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.match(r.headers['content-type'], /^text\/plain/);
  assert.match(r.headers['content-disposition'], /filename="userbouquet\.xtreamd_.*\.tv"/);
  return parseBouquet(r.text);
}

describe('get.php Enigma2 user bouquets', () => {
  for (const [type, stype] of [['enigma16', 4097], ['enigma2', 4097], ['dreambox', 1]]) {
    it(`type=${type}: every item once, service type ${stype}, decoded URL = the stream URL, grouped by category`, async () => {
      const b = await bouquet({ type, output: 'ts' });
      assert.match(b.name, new RegExp(U));
      const want = expectedEntries(cat, base, U, PW, { ext: 'ts' });
      const items = b.groups.flatMap((g) => g.items.map((it) => ({ ...it, group: g.title })));
      assert.equal(items.length, want.length, 'as many services as playlist entries');
      const byUrl = new Map(items.map((it) => [it.path, it]));
      assert.equal(byUrl.size, items.length, 'URLs distinct');
      for (const w of want) {
        const it = byUrl.get(w.url);
        assert.ok(it, `${w.kind} ${w.id}: ${w.url} is in the bouquet`);
        assert.equal(it.type, stype);
        assert.equal(it.stype, 1);
        assert.equal(it.sid, w.id, 'the stream id is the service id');
        assert.deepEqual(it.rest, [0, 0, 0, 0, 0, 0]);
        assert.equal(it.description, it.name, 'DESCRIPTION = the service name');
        if (w.name) assert.equal(it.name, w.name);
        else assert.ok(w.namePrefixes.some((p) => it.name.startsWith(p)), it.name);
        assert.equal(it.group, w.group ?? 'Uncategorised', `${w.kind} ${w.id} under its category`);
      }
      // One marker per category, in catalogue order within a kind, never empty.
      for (const g of b.groups) assert.ok(g.items.length > 0, `group ${g.title} not empty`);
      const liveTitles = b.groups.filter((g) => g.items.some((i) => i.path.includes('/live/'))).map((g) => g.title);
      assert.deepEqual(liveTitles, cat.liveCats.map((c) => c.category_name).filter((n) => want.some((w) => w.kind === 'live' && w.group === n)));
      const odd = items.find((i) => i.name === ODD);
      assert.ok(odd, 'the name with ":" and "%" decodes back');
      assert.equal(odd.description, ODD);
    });
  }

  it('output=m3u8 and key=live: HLS URLs, live only', async () => {
    const b = await bouquet({ type: 'enigma16', output: 'm3u8', key: 'live' });
    const items = b.groups.flatMap((g) => g.items);
    assert.equal(items.length, cat.live.length);
    for (const it of items) assert.match(it.path, new RegExp(`^${base}/live/${U}/${PW.replace('.', '\\.')}/\\d+\\.m3u8$`));
  });

  it('a line restricted to a bouquet gets only its categories; the decoded URL plays (HEAD on a movie)', async () => {
    const b = await bouquet({ type: 'enigma16' }, LINES.news.user);
    const titles = b.groups.map((g) => g.title);
    assert.ok(titles.length >= 1);
    assert.ok(titles.every((t) => t === 'Demo News'), titles.join(','));
    const all = await bouquet({ type: 'enigma16' });
    const movie = all.groups.flatMap((g) => g.items).find((i) => i.path.includes('/movie/'));
    assert.ok(movie, 'a movie in the bouquet');
    const r = await get(port, movie.path.slice(base.length), { headers: { Range: 'bytes=0-0' } });
    assert.ok(r.status === 206 || r.status === 200, `movie URL answers ${r.status}`);
  });

  it('refuses an unknown type with 400 naming the Enigma2 ones', async () => {
    const r = await get(port, `/get.php?${qs({ username: U, password: PW, type: 'enigma99' })}`);
    assert.equal(r.status, 400);
    assert.match(r.text, /enigma216_script/);
  });
});

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('get.php Enigma2 install scripts', () => {
  for (const type of ['enigma216_script', 'enigma22_script']) {
    it(`type=${type}: installs the bouquet, lists it once in bouquets.tv, adds the boot refresh`, async () => {
      const r = await get(port, `/get.php?${qs({ username: U, password: PW, type })}`);
      assert.equal(r.status, 200);
      assert.match(r.headers['content-disposition'], /filename="iptv\.sh"/);
      assert.match(r.text, /^#!\/bin\/sh\n/);
      const dir = path.join(dataDir, `box-${type}`);
      const bin = path.join(dir, 'bin');
      await mkdir(bin, { recursive: true });
      await writeFile(path.join(dir, 'bouquets.tv'), '#NAME User - bouquets (TV)\n#SERVICE 1:7:1:0:0:0:0:0:0:0:FROM BOUQUET "userbouquet.favourites.tv" ORDER BY bouquet\n');
      // A stand-in wget (the box's busybox one): -qO FILE URL | -qO- URL, logged.
      await writeFile(path.join(bin, 'wget'), `#!/usr/bin/env node
const fs = require('fs');
const a = process.argv.slice(2);
const [out, url] = a[0] === '-qO-' ? ['-', a[1]] : [a[1], a[2]];
fs.appendFileSync(process.env.WGET_LOG, url + '\\n');
fetch(url).then(async (r) => {
  if (!r.ok) process.exit(1);
  const t = Buffer.from(await r.arrayBuffer());
  if (out === '-') process.stdout.write(t); else fs.writeFileSync(out, t);
}).catch(() => process.exit(4));
`);
      await chmod(path.join(bin, 'wget'), 0o755);
      const script = path.join(dir, 'iptv.sh');
      await writeFile(script, r.text);
      const env = { PATH: `${bin}:${process.env.PATH}`, E2_DIR: dir, E2_HOOK: path.join(dir, 'pre_start.sh'), WGET_LOG: path.join(dir, 'wget.log') };
      for (let round = 0; round < 2; round++) {
        const res = await run('sh', [script], env);
        assert.equal(res.code, 0, res.err + res.out);
      }
      const files = await readFile(path.join(dir, 'bouquets.tv'), 'utf8');
      const refs = files.split('\n').filter((l) => l.includes('userbouquet.xtreamd_alice.tv'));
      assert.deepEqual(refs, ['#SERVICE 1:7:1:0:0:0:0:0:0:0:FROM BOUQUET "userbouquet.xtreamd_alice.tv" ORDER BY bouquet'], 'listed exactly once');
      assert.match(files, /userbouquet\.favourites\.tv/, 'existing bouquets kept');
      const installed = parseBouquet(await readFile(path.join(dir, 'userbouquet.xtreamd_alice.tv'), 'utf8'));
      assert.equal(installed.groups.flatMap((g) => g.items).length, expectedEntries(cat, base, U, PW).length);
      const hook = await readFile(env.E2_HOOK, 'utf8');
      assert.match(hook, /^#!\/bin\/sh\n/);
      assert.equal(hook.split('\n').filter((l) => l.includes('userbouquet.xtreamd_alice.tv')).length, 1, 'one boot refresh line');
      const log = (await readFile(env.WGET_LOG, 'utf8')).trim().split('\n');
      assert.ok(log.some((u) => u.includes('type=enigma16')), 'fetched the user bouquet');
      assert.ok(log.some((u) => u.includes('servicelistreload')), 'asked the box to reload');
    });
  }
});
