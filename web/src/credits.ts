// Credits in the panel (docs/admin-api.md, "Resellers and credits"). The API
// sends amounts as decimal strings with four decimals ("12.5000"); the panel
// never turns them into floats: it shows the strings as they are and does
// any arithmetic ("balance after") in integer units of 1/10000 credit with
// BigInt. Every spending request carries an Idempotency-Key: one per form
// submission, reused only when the same submission is retried after an
// answer that never came (so a retry cannot charge twice).
import { ApiError, call, type Answer, type Me } from './api';

const UNIT_DIGITS = 4;
const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,4}))?$/;

/** "12.5" → 125000n; null for anything that is not a decimal with ≤ 4 decimals. */
export function toUnits(s: string | number | null | undefined): bigint | null {
  if (s === null || s === undefined) return null;
  const m = DECIMAL.exec(String(s).trim());
  if (!m) return null;
  const u = BigInt(m[2]) * 10000n + BigInt((m[3] ?? '').padEnd(UNIT_DIGITS, '0'));
  return m[1] ? -u : u;
}

/** 125000n → "12.5000" (the API's own form). */
export function fromUnits(u: bigint): string {
  const neg = u < 0n;
  const a = neg ? -u : u;
  return `${neg ? '-' : ''}${a / 10000n}.${(a % 10000n).toString().padStart(UNIT_DIGITS, '0')}`;
}

/** A signed amount for a ledger column: "+10.0000" / "-2.5000". */
export function signed(s: string): string {
  return s.startsWith('-') || s.startsWith('+') ? s : `+${s}`;
}

/** The balance after spending `price`; null when either is unreadable. */
export function balanceAfter(balance: string | null | undefined, price: string | null | undefined): string | null {
  const b = toUnits(balance);
  const p = toUnits(price);
  return b === null || p === null ? null : fromUnits(b - p);
}

export function isReseller(me: Me): boolean {
  return me.admin.role === 'reseller' || !!me.reseller;
}

function newKey(): string {
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** One form's idempotency state: keep it in a useRef for the form's life. */
export interface SpendSlot {
  key?: string;
  body?: string;
}

/**
 * A spending request (new line, extension, transfer, adjustment). The key is
 * new for each submission; it is kept for the next one only when this one
 * got no definitive answer (network failure, 5xx) AND the next sends the
 * same body — the retry of the same submission, which the server answers
 * with the first answer instead of charging again.
 */
export async function spend<T>(slot: SpendSlot, method: string, path: string, body: unknown): Promise<Answer<T>> {
  const text = JSON.stringify(body);
  if (!slot.key || slot.body !== text) {
    slot.key = newKey();
    slot.body = text;
  }
  try {
    const a = await call<T>(method, path, body, { idempotencyKey: slot.key });
    slot.key = undefined;
    return a;
  } catch (e) {
    if (e instanceof ApiError && e.status !== 0 && e.status < 500) slot.key = undefined;
    throw e;
  }
}

/** What the user reads for the credit errors the forms show next to them. */
export function creditError(e: unknown): string | null {
  if (!(e instanceof ApiError)) return null;
  const why = e.detail ? `: ${e.detail}.` : '.';
  if (e.code === 'INSUFFICIENT_CREDITS') return `Not enough credits${why}`;
  if (e.code === 'TRIAL_LIMIT') return `Trial limit reached${why}`;
  return null;
}
