// The Debian package (issue 15): `scripts/make-deb.sh` (what `make deb` runs)
// builds a .deb whose contents, control data and lintian verdict are checked;
// it is installed with dpkg into a throwaway root (dpkg --root with the
// maintainer scripts run chrootless, DPKG_ROOT set, and every command that
// would change this machine — adduser, chown, systemctl, deb-systemd-* —
// replaced by a stub that records its call), the installed binary runs, an
// existing database survives install, upgrade and purge, and purge removes
// the data only when asked. Nothing is installed on this machine's root.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binPath, makeDataDir, removeDir } from './lib/server.mjs';

const run = promisify(execFile);
const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STUBBED = ['adduser', 'getent', 'chown', 'deb-systemd-helper', 'deb-systemd-invoke', 'systemctl'];

let work;
let deb;
let buildMs;
let stubs;

// The release binary `make test` built (`make release` runs before the
// integration tests); the binary under test otherwise.
async function packagedBinary() {
  const release = path.join(TOP, 'build', 'xtreamd');
  try {
    await stat(release);
    return release;
  } catch {
    return binPath();
  }
}

async function sh(cmd, args, opts = {}) {
  try {
    return await run(cmd, args, { maxBuffer: 16 << 20, timeout: 120000, ...opts });
  } catch (e) {
    e.message += `\nstdout: ${e.stdout}\nstderr: ${e.stderr}`;
    throw e;
  }
}

async function freshRoot(name) {
  const root = path.join(work, name);
  await mkdir(path.join(root, 'var/lib/dpkg/info'), { recursive: true });
  await mkdir(path.join(root, 'var/lib/dpkg/updates'), { recursive: true });
  await writeFile(path.join(root, 'var/lib/dpkg/status'), '');
  return root;
}

// dpkg into root; the maintainer scripts see only the stubs for commands
// that change the system. Returns the stubs' calls.
async function dpkg(root, args, env = {}) {
  const log = path.join(work, 'calls.log');
  await writeFile(log, '');
  await sh('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--force-not-root', '--log=/dev/null', ...args], {
    env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, STUB_LOG: log, ...env },
  });
  return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
}

before(async () => {
  work = await makeDataDir('pkg');
  stubs = path.join(work, 'stubs');
  await mkdir(stubs);
  for (const c of STUBBED) {
    // getent finds no user: the postinst must create it (through the stub).
    const body = `#!/bin/sh\necho "${c} $*" >> "$STUB_LOG"\n${c === 'getent' ? 'exit 2' : 'exit 0'}\n`;
    await writeFile(path.join(stubs, c), body);
    await chmod(path.join(stubs, c), 0o755);
  }
  // A stand-in for the panel's built files (web/dist).
  const web = path.join(work, 'web');
  await mkdir(path.join(web, 'assets'), { recursive: true });
  await writeFile(path.join(web, 'index.html'), '<!doctype html><title>panel</title>');
  await writeFile(path.join(web, 'assets', 'app.js'), 'console.log(1);');
  const t0 = Date.now();
  const r = await sh(path.join(TOP, 'scripts/make-deb.sh'), [], {
    env: { ...process.env, XTREAMD_DEB_BIN: await packagedBinary(), XTREAMD_DEB_OUT: path.join(work, 'dist'), XTREAMD_DEB_WEB: web },
  });
  buildMs = Date.now() - t0;
  deb = r.stdout.trim().split('\n').pop();
});

after(async () => {
  await removeDir(work);
});

describe('make deb', () => {
  it('builds xtreamd_<version>_<arch>.deb quickly', async () => {
    const { stdout: version } = await sh(await packagedBinary(), ['version']);
    const { stdout: arch } = await sh('dpkg', ['--print-architecture']);
    assert.equal(path.basename(deb), `xtreamd_${version.trim().split(' ')[1]}_${arch.trim()}.deb`);
    // Generous for a loaded 2-core machine; about 10 s when idle.
    assert.ok(buildMs < 60000, `make-deb took ${buildMs} ms`);
  });

  it('holds the binary, unit, conffile, man page, docs and copyright', async () => {
    const { stdout } = await sh('dpkg-deb', ['-c', deb]);
    const files = new Set(stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).pop().replace(/^\.\//, '/')));
    for (const f of [
      '/usr/bin/xtreamd',
      '/lib/systemd/system/xtreamd.service',
      '/etc/xtreamd/xtreamd.conf',
      '/usr/share/man/man1/xtreamd.1.gz',
      '/usr/share/doc/xtreamd/copyright',
      '/usr/share/doc/xtreamd/changelog.gz',
      '/usr/share/doc/xtreamd/operator-guide.md.gz',
      '/usr/share/doc/xtreamd/cli.md.gz',
      '/usr/share/xtreamd/web/index.html',
      '/usr/share/xtreamd/web/assets/app.js',
    ]) {
      assert.ok(files.has(f), `${f} missing from the package:\n${stdout}`);
    }
    assert.match(stdout, /-rwxr-xr-x root\/root .* \.\/usr\/bin\/xtreamd\n/);
    const { stdout: conffiles } = await sh('dpkg-deb', ['-I', deb, 'conffiles']);
    assert.equal(conffiles.trim(), '/etc/xtreamd/xtreamd.conf');
    const { stdout: depends } = await sh('dpkg-deb', ['-f', deb, 'Depends']);
    assert.match(depends, /\badduser\b/);
    assert.match(depends, /\blibuv1\b/);
    assert.match(depends, /\blibsqlite3-0\b/);
    const { stdout: man } = await sh('sh', ['-c', `dpkg-deb --fsys-tarfile "${deb}" | tar -xO ./usr/share/man/man1/xtreamd.1.gz | gzip -dc`]);
    assert.match(man, /^\.TH XTREAMD "1"/m);
    assert.match(man, /SERVE OPTIONS/);
    assert.match(man, /--listen/); // from `xtreamd serve --help`
  });

  it('passes lintian without errors', async () => {
    let out;
    try {
      ({ stdout: out } = await sh('lintian', ['--fail-on', 'error', deb]));
    } catch (e) {
      assert.fail(`lintian reported errors:\n${e.stdout}${e.stderr}`);
    }
    const errors = out.split('\n').filter((l) => l.startsWith('E:'));
    assert.deepEqual(errors, []);
    const warnings = out.split('\n').filter((l) => l.startsWith('W:'));
    if (warnings.length) console.log(`lintian warnings:\n${warnings.join('\n')}`);
  });

  it('installs into a throwaway root: user and data folder made, the binary runs', async () => {
    const root = await freshRoot('fresh');
    const calls = await dpkg(root, ['-i', deb]);
    assert.ok(calls.some((c) => /^adduser --system --group .* xtreamd$/.test(c)), calls.join('\n'));
    const data = path.join(root, 'var/lib/xtreamd');
    const st = await stat(data);
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o777, 0o750);
    assert.ok(calls.includes(`chown xtreamd:xtreamd ${data}`), calls.join('\n'));
    assert.ok(calls.includes('deb-systemd-helper enable xtreamd.service'), calls.join('\n'));
    // Nothing may act on this machine's systemd during a DPKG_ROOT install.
    assert.ok(!calls.some((c) => c.startsWith('systemctl') || c.startsWith('deb-systemd-invoke')), calls.join('\n'));
    const bin = path.join(root, 'usr/bin/xtreamd');
    const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' };
    const help = await sh(bin, ['--help'], { env });
    assert.match(help.stdout, /usage: xtreamd COMMAND/);
    const serveHelp = await sh(bin, ['serve', '--help'], { env });
    assert.match(serveHelp.stdout, /--listen/);
    const unit = await readFile(path.join(root, 'lib/systemd/system/xtreamd.service'), 'utf8');
    for (const line of ['Type=notify', 'NotifyAccess=main', 'StateDirectory=xtreamd', 'ProtectSystem=strict', 'NoNewPrivileges=true',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'ExecReload=/bin/kill -HUP $MAINPID', 'KillSignal=SIGTERM', 'ExecStart=/usr/bin/xtreamd serve --data /var/lib/xtreamd']) {
      assert.ok(unit.split('\n').includes(line), `unit lacks ${line}`);
    }
    assert.match(unit, /^WatchdogSec=\d+/m);
    const stopSec = Number(/^TimeoutStopSec=(\d+)/m.exec(unit)[1]);
    assert.ok(stopSec > 10, 'TimeoutStopSec must exceed the 10 s drain grace');
    // systemd's own exposure score of the unit (offline: no running systemd needed).
    const sec = await sh('systemd-analyze', ['security', '--offline=true', path.join(root, 'lib/systemd/system/xtreamd.service')], {
      env: { ...process.env, SYSTEMD_COLORS: '0' },
    }).catch((e) => e);
    const score = /Overall exposure level for xtreamd\.service: ([\d.]+)/.exec(`${sec.stdout}${sec.stderr}`);
    assert.ok(score, `systemd-analyze security printed no score:\n${sec.stdout}${sec.stderr}`);
    assert.ok(Number(score[1]) <= 3, `exposure ${score[1]} (want at most 3.0, "OK")`);
  });

  it('never touches an existing database; purge keeps the data unless asked', async () => {
    const root = await freshRoot('existing');
    const data = path.join(root, 'var/lib/xtreamd');
    await mkdir(data, { recursive: true, mode: 0o700 });
    const db = path.join(data, 'xtreamd.db');
    await writeFile(db, 'precious database bytes');
    const before = await stat(db);
    let calls = await dpkg(root, ['-i', deb]);
    assert.ok(!calls.some((c) => c.startsWith('chown')), `chown on an existing data folder: ${calls.join('\n')}`);
    calls = await dpkg(root, ['-i', deb]); // an upgrade (reinstall) runs postinst with the old version
    assert.ok(!calls.some((c) => c.startsWith('chown')), calls.join('\n'));
    assert.equal(await readFile(db, 'utf8'), 'precious database bytes');
    const afterSt = await stat(db);
    assert.equal(afterSt.mtimeMs, before.mtimeMs);
    assert.equal((await stat(data)).mode & 0o777, 0o700);

    calls = await dpkg(root, ['-r', 'xtreamd']);
    assert.ok(calls.includes('deb-systemd-helper mask xtreamd.service'), calls.join('\n'));
    await stat(path.join(root, 'etc/xtreamd/xtreamd.conf')); // a conffile outlives remove
    await dpkg(root, ['-P', 'xtreamd']);
    await assert.rejects(stat(path.join(root, 'etc/xtreamd/xtreamd.conf')));
    await assert.rejects(stat(path.join(root, 'usr/bin/xtreamd')));
    assert.equal(await readFile(db, 'utf8'), 'precious database bytes');

    await dpkg(root, ['-i', deb]);
    await dpkg(root, ['-P', 'xtreamd'], { XTREAMD_PURGE_DATA: 'yes' });
    await assert.rejects(stat(data));
  });
});
