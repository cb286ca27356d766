// HTTP helpers: a one-shot request over node's http module (so HEAD, OPTIONS,
// custom Host headers and raw bodies are all possible), plus raw-socket tools
// for protocol edge cases (pipelining, oversize heads, slow clients).
import http from 'node:http';
import net from 'node:net';
import assert from 'node:assert/strict';
import { HOST, adminTokens } from './server.mjs';

/** Headers with the server's per-run token added for /api/ targets (unless given). */
export function withAdminToken(port, target, headers = {}) {
  const token = adminTokens.get(port);
  if (!token || !/^\/api\/(admin|v1)\//.test(String(target))) return headers;
  if (Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) return headers;
  return { ...headers, Authorization: `Bearer ${token}` };
}

/**
 * request(port, method, path, { headers, body, timeoutMs, adminToken, localAddress }) →
 * { status, statusText, headers (lower-cased), raw (Buffer), text, json() }.
 * A fresh connection per call (no agent). /api/ requests carry the
 * server's admin token unless adminToken is false or headers set Authorization.
 */
export function request(port, method, target, { headers = {}, body, timeoutMs = 15000, adminToken = true, localAddress } = {}) {
  if (adminToken) headers = withAdminToken(port, target, headers);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: HOST, port, method, path: target, headers, agent: false, insecureHTTPParser: false, localAddress },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          resolve({
            status: res.statusCode,
            statusText: res.statusMessage,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            raw,
            text,
            json() {
              try {
                return JSON.parse(text);
              } catch (e) {
                throw new Error(`${method} ${target}: body is not JSON (${e.message}): ${text.slice(0, 300)}`);
              }
            },
          });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${target} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export const get = (port, target, opts) => request(port, 'GET', target, opts);
export const head = (port, target, opts) => request(port, 'HEAD', target, opts);

/** POST an application/x-www-form-urlencoded body built from an object. */
export function postForm(port, target, fields, opts = {}) {
  const body = new URLSearchParams(fields).toString();
  return request(port, 'POST', target, {
    ...opts,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), ...(opts.headers || {}) },
    body,
  });
}

/** Query string helper that does NOT encode characters that are path-safe. */
export function qs(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
}

export function api(user, pass, action, extra = {}) {
  return `/player_api.php?${qs({ username: user, password: pass, action, ...extra })}`;
}

/** Asserts the server still answers a trivial request (it did not die). */
export async function assertAlive(srv, context = '') {
  assert.ok(srv.alive(), `xtreamd died ${context}: ${JSON.stringify(srv.exited)}\n${srv.logs().slice(-3000)}`);
  let r;
  try {
    r = await get(srv.port, '/player_api.php?username=__alive__&password=__probe__', { timeoutMs: 5000 });
  } catch (e) {
    assert.fail(`xtreamd stopped answering ${context}: ${e.message}\n${srv.logs().slice(-3000)}`);
  }
  assert.equal(r.status, 401, `liveness probe ${context}: expected 401 for unknown credentials, got ${r.status}`);
}

// ---------------------------------------------------------------------------
// Raw sockets

/** Opens a raw TCP connection to the server; resolves once connected. */
export function connect(port, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * A raw client: collects everything the server sends and tells when the server
 * closed. Methods: write(data), waitFor(pred, timeoutMs), waitClose(timeoutMs),
 * responses() (parsed so far), destroy().
 */
export class RawClient {
  static async open(port, opts) {
    const s = await connect(port, opts);
    return new RawClient(s);
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.closedAt = null;
    this.error = null;
    this._waiters = new Set();
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this._notify();
    });
    sock.on('error', (e) => {
      this.error = e;
    });
    sock.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this._notify();
    });
  }

  _notify() {
    for (const w of [...this._waiters]) w();
  }

  write(data) {
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve(false);
      this.sock.write(data, (err) => resolve(!err));
    });
  }

  /** Waits until pred(this) is true; rejects after timeoutMs. */
  waitFor(pred, timeoutMs = 5000, what = 'condition') {
    return new Promise((resolve, reject) => {
      const check = () => {
        let ok = false;
        try {
          ok = pred(this);
        } catch (e) {
          cleanup();
          reject(e);
          return;
        }
        if (ok) {
          cleanup();
          resolve(this);
        }
      };
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`raw client: ${what} not reached within ${timeoutMs} ms (closed=${this.closed}, got ${this.buf.length} bytes: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(t);
        this._waiters.delete(check);
      };
      this._waiters.add(check);
      check();
    });
  }

  waitClose(timeoutMs = 5000) {
    return this.waitFor((c) => c.closed, timeoutMs, 'server close');
  }

  /** Waits until n complete responses are parsed. */
  async waitResponses(n, timeoutMs = 5000, { headRequests = [] } = {}) {
    await this.waitFor((c) => parseResponses(c.buf, { headRequests }).responses.length >= n || (c.closed && true), timeoutMs, `${n} responses`);
    return parseResponses(this.buf, { headRequests }).responses;
  }

  responses(opts) {
    return parseResponses(this.buf, opts).responses;
  }

  destroy() {
    this.sock.destroy();
  }
}

/**
 * Parses consecutive HTTP/1.x responses from a buffer. Bodies are delimited by
 * Content-Length; a response without Content-Length (and not chunked) takes the
 * rest of the buffer. headRequests: indexes of responses that answer HEAD
 * (no body). Returns { responses: [{status, reason, headers, body}], rest }.
 */
export function parseResponses(buf, { headRequests = [] } = {}) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', off, 'latin1');
    if (headEnd < 0) break;
    const head = buf.subarray(off, headEnd).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      if (i <= 0) throw new Error(`bad header line: ${JSON.stringify(l)}`);
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    const status = Number(m[1]);
    const bodyStart = headEnd + 4;
    const isHead = headRequests.includes(out.length);
    let bodyEnd;
    if (isHead || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      bodyEnd = bodyStart;
    } else if (headers['content-length'] !== undefined) {
      bodyEnd = bodyStart + Number(headers['content-length']);
      if (bodyEnd > buf.length) break; // incomplete
    } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      // Minimal chunked decoder (the server is not expected to use it).
      let p = bodyStart;
      const parts = [];
      let complete = false;
      for (;;) {
        const le = buf.indexOf('\r\n', p, 'latin1');
        if (le < 0) break;
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
        if (size === 0) {
          const te = buf.indexOf('\r\n\r\n', le, 'latin1');
          if (te < 0) break;
          p = te + 4;
          complete = true;
          break;
        }
        if (le + 2 + size + 2 > buf.length) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      if (!complete) break;
      out.push({ status, reason: m[2] || '', headers, body: Buffer.concat(parts) });
      off = p;
      continue;
    } else {
      bodyEnd = buf.length;
    }
    out.push({ status, reason: m[2] || '', headers, body: buf.subarray(bodyStart, bodyEnd) });
    off = bodyEnd;
  }
  return { responses: out, rest: buf.subarray(off) };
}

/**
 * Sends `data` on a fresh connection and collects what comes back until the
 * server closes or `n` responses have been parsed (or timeoutMs). Returns
 * { responses, closed, buf }.
 */
export async function rawExchange(port, data, { n = 1, timeoutMs = 5000, headRequests = [] } = {}) {
  const c = await RawClient.open(port);
  try {
    await c.write(data);
    await c.waitFor(
      (cl) => cl.closed || parseResponses(cl.buf, { headRequests }).responses.length >= n,
      timeoutMs,
      `${n} response(s)`,
    );
    return { responses: parseResponses(c.buf, { headRequests }).responses, closed: c.closed, buf: c.buf };
  } finally {
    c.destroy();
  }
}

/** GET a player_api/panel_api path; asserts 200 + JSON content type; returns parsed body. */
export async function getJson(port, target, { status = 200, headers } = {}) {
  const r = await get(port, target, { headers });
  assert.equal(r.status, status, `GET ${target}: expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.match(r.headers['content-type'] || '', /^application\/json\b/, `GET ${target}: Content-Type ${r.headers['content-type']}`);
  return r.json();
}
