// PostgreSQL for the integration tests: a throwaway cluster (scripts/pg-cluster.sh: initdb and
// a server on a unix socket in a temporary folder, stopped at the end) and one database per
// data directory when the suite runs on PostgreSQL (XTREAMD_TEST_PG, see server.mjs).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../scripts/pg-cluster.sh');

function run(cmd, args, timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Whether a PostgreSQL server is installed (the tests that need one skip otherwise). */
export function pgAvailable() {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => existsSync(path.join(root, v, 'bin', 'initdb')));
}

/**
 * Starts a cluster; returns { dir, url (database xtreamd, role xtreamd), adminUrl, restart(), stop() }.
 * pg-cluster.sh polls pg_isready against a deadline.
 */
export async function startPgCluster() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xtreamd-pg-'));
  await chmod(dir, 0o711); // run as root, the server runs as postgres and must reach c/
  const url = (await run(script, ['start', path.join(dir, 'c')])).trim();
  const sock = path.join(dir, 'c');
  return {
    dir,
    url,
    adminUrl: `postgresql:///postgres?host=${sock}&user=postgres`,
    /** pg_ctl restart -m fast: every client connection is cut; resolves once it accepts again. */
    async restart() {
      await run(script, ['restart', sock]);
    },
    /** pg_ctl stop -m immediate (as if the server died); restart() brings it back. */
    async kill() {
      await run(script, ['kill', sock]);
    },
    async stop() {
      await run(script, ['stop', sock]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A new empty database owned by xtreamd on the cluster of adminUrl; returns its URL. */
export async function createDatabase(adminUrl) {
  const name = `xt_${randomBytes(6).toString('hex')}`;
  await run('psql', ['-q', '-X', '-v', 'ON_ERROR_STOP=1', adminUrl, '-c', `CREATE DATABASE ${name} OWNER xtreamd`]);
  const host = new URL(adminUrl.replace('postgresql:///', 'postgresql://x/')).searchParams.get('host');
  return `postgresql:///${name}?host=${host}&user=xtreamd`;
}

export async function dropDatabase(adminUrl, url) {
  const name = new URL(url.replace('postgresql:///', 'postgresql://x/')).pathname.slice(1);
  await run('psql', ['-q', '-X', adminUrl, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]).catch(() => {});
}
