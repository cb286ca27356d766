// The one way the panel talks to xtreamd: the admin REST API under /api/v1
// (docs/admin-api.md). JSON in and out; the session cookie rides along
// (same origin), and every mutation sends the session's CSRF token in
// X-CSRF-Token. Errors are application/problem+json, turned into ApiError
// with the field errors keyed by field name, so a form can show each one
// next to its input. A 401 anywhere means the session is gone: the app goes
// back to the login page (onUnauthorized).

export const API = '/api/v1';

/** A paged list answer: GET /api/v1/<things>?page=&page_size=&sort=&q= */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
}

export interface FieldProblem {
  field: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  /** field name → message (the first problem named for that field). */
  readonly fieldErrors: Record<string, string>;
  /** Seconds, from Retry-After (429, 503). */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, detail: string, fields: FieldProblem[], retryAfter: number | null) {
    super(detail || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
    const fe: Record<string, string> = {};
    for (const f of fields) if (f.field && !(f.field in fe)) fe[f.field] = f.message || f.code;
    this.fieldErrors = fe;
  }

  /** What to show the user: the detail, with the wait for a rate limit. */
  get userMessage(): string {
    if (this.status === 429) {
      const wait = this.retryAfter ? ` Try again in ${this.retryAfter} s.` : ' Try again later.';
      return `Too many attempts.${wait}`;
    }
    if (this.status === 0) return 'The server cannot be reached.';
    return this.detail || this.message;
  }
}

let csrfToken: string | null = null;
let unauthorized: (() => void) | null = null;

export function setCsrf(token: string | null): void {
  csrfToken = token;
}

/** Called on any 401 from a call made with a session (not the login itself). */
export function onUnauthorized(fn: (() => void) | null): void {
  unauthorized = fn;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** ?a=1&b=x for the defined, non-empty members of q ('' when none). */
export function qs(q?: Query): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export interface CallOptions {
  query?: Query;
  /** If-Match: the ETag read with the object (optimistic concurrency). */
  ifMatch?: string;
  signal?: AbortSignal;
  /** The login call: a 401 is wrong credentials, not a lost session. */
  noAuthRedirect?: boolean;
  /** Idempotency-Key of a spending request (credits.ts, spend()). */
  idempotencyKey?: string;
}

export interface Answer<T> {
  data: T;
  etag: string | null;
  location: string | null;
}

/** The full answer (body, ETag, Location) of one call; throws ApiError. */
export async function call<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let res: Response;
  try {
    res = await fetch(API + path + qs(opts.query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached.', [], null);
  }
  const text = res.status === 204 ? '' : await res.text();
  if (!res.ok) {
    let p: { code?: string; detail?: string; title?: string; errors?: FieldProblem[] } = {};
    try {
      p = text ? JSON.parse(text) : {};
    } catch {
      /* not problem+json (a proxy's page): keep the status */
    }
    const ra = res.headers.get('Retry-After');
    const err = new ApiError(res.status, p.code ?? '', p.detail ?? p.title ?? res.statusText, p.errors ?? [], ra ? Number(ra) : null);
    if (res.status === 401 && !opts.noAuthRedirect && unauthorized) unauthorized();
    throw err;
  }
  return {
    data: (text ? JSON.parse(text) : null) as T,
    etag: res.headers.get('ETag'),
    location: res.headers.get('Location'),
  };
}

/** The body of one call; throws ApiError. */
export async function api<T>(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<T> {
  return (await call<T>(method, path, body, opts)).data;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> => api<T>('GET', path, undefined, { query, signal });

// ---- shapes shared by several pages ----

/** The account of a reseller (GET /auth/me, docs/admin-api.md "Resellers"). */
export interface MeReseller {
  id: number;
  username: string;
  /** Credits, a decimal string ("12.5000"): never a float. */
  balance: string;
  group: { id: number; name: string } | string | null;
  parent_id: number | null;
  username_prefix: string;
  may_create_subresellers: boolean;
  /** Its group's trial lines per period (0: no trials). */
  trial_limit?: number;
  trial_period_hours?: number;
}

export interface Me {
  admin: { id: number; username: string; role: 'admin' | 'viewer' | 'reseller' };
  /** Set when the account is a reseller (role reseller). */
  reseller?: MeReseller | null;
  scopes: string[];
  auth: 'session' | 'token';
  csrf_token?: string;
}

export interface Job {
  id: number;
  kind: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  progress?: number;
  result?: unknown;
  error?: { detail?: string; errors?: FieldProblem[] } | null;
}

/** Polls GET /jobs/{id} until it ends; onProgress gets each reading. */
export async function waitJob(id: number, onProgress?: (j: Job) => void, intervalMs = 500): Promise<Job> {
  for (;;) {
    const j = await get<Job>(`/jobs/${id}`);
    onProgress?.(j);
    if (j.state === 'succeeded' || j.state === 'failed') return j;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
