// Shared fixtures: a data dir seeded with the demo catalogue and a set of lines
// in every account state, and a server on it. Each test file builds its own
// (files run in parallel), and tears it down in after().
import { cliOk, makeDataDir, removeDir, startServer } from './server.mjs';

export const PW = 'Pw.test-123'; // the password of every fixture line (path-safe)

/** Lines created by seedLines(); key → { user, pass, status, ... }. */
export const LINES = {
  open: { user: 'alice', pass: PW, status: 'Active', args: ['--max-connections', '2', '--expires', 'never'] },
  expired: { user: 'old.bob', pass: PW, status: 'Expired', args: ['--expires', '2020-01-01'] },
  banned: { user: 'banned_carl', pass: PW, status: 'Banned', args: ['--banned'] },
  disabled: { user: 'dis-dave', pass: PW, status: 'Disabled', args: ['--disabled'] },
  trial: { user: 'trial@erin', pass: PW, status: 'Active', args: ['--trial', '--expires', '2099-12-31', '--max-connections', '1'] },
  tsonly: { user: 'ts.only', pass: PW, status: 'Active', args: ['--outputs', 'ts'] },
  hlsonly: { user: 'hls.only', pass: PW, status: 'Active', args: ['--outputs', 'm3u8'] },
  news: { user: 'news.viewer', pass: PW, status: 'Active', args: ['--bouquet', 'NewsOnly'] },
  msg: { user: 'msg.frank', pass: PW, status: 'Active', args: ['--message', 'Hello from the test suite'] },
};

export async function seedDemo(dataDir) {
  await cliOk(['demo', '--data', dataDir]);
}

export async function seedLines(dataDir, keys = Object.keys(LINES)) {
  if (keys.includes('news')) {
    await cliOk(['bouquet', 'add', 'NewsOnly', '--data', dataDir, '--category', 'Demo News']);
  }
  for (const k of keys) {
    const l = LINES[k];
    await cliOk(['line', 'add', l.user, l.pass, '--data', dataDir, ...l.args]);
  }
}

/**
 * Creates a data dir with demo + lines (+ optional extra seeding), starts a
 * server and returns { dataDir, srv, port, base, cleanup }.
 * cleanup() stops the server (asserting a clean exit unless told otherwise)
 * and removes the data dir; it is safe to call when setup failed half-way.
 */
export async function world({ tag = 'w', lines = Object.keys(LINES), seed, serveArgs = [] } = {}) {
  const w = { dataDir: null, srv: null };
  w.cleanup = async ({ requireCleanExit = true } = {}) => {
    try {
      if (w.srv) {
        if (requireCleanExit) await w.srv.stopClean();
        else await w.srv.stop();
      }
    } finally {
      await removeDir(w.dataDir);
    }
  };
  w.dataDir = await makeDataDir(tag);
  await seedDemo(w.dataDir);
  if (lines.length) await seedLines(w.dataDir, lines);
  if (seed) await seed(w.dataDir);
  w.srv = await startServer(w.dataDir, serveArgs);
  w.port = w.srv.port;
  w.base = w.srv.base;
  return w;
}
