// Resellers and credits (one lazy chunk, main.tsx): a reseller's dashboard
// (#/reseller: balance, lines, credits spent this month, recent ledger,
// sub-resellers), the reseller tree (#/resellers: balances, create, edit,
// credit adjustments with a reason, transfers; for a reseller its own
// sub-resellers), one reseller (#/resellers/5: its ledger, lines and
// children), the credit ledger (#/ledger, filtered; admins can verify every
// balance against it) and the reseller groups (#/reseller-groups).
// Amounts stay decimal strings; sums and "balance after" use integer units
// (credits.ts). Transfers and adjustments carry an Idempotency-Key (spend()).
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, call, get, ApiError, type Me, type Page, type Query } from '../api';
import { balanceAfter, creditError, fromUnits, isReseller, signed, spend, toUnits, type SpendSlot } from '../credits';
import { useEvent } from '../events';
import { href, navigate } from '../router';
import { Badge, DataTable, Field, Form, Modal, PageHeader, Stat, Tabs, confirm, fmt, toast, useForm, type Column } from '../ui';
import type { PageProps } from '../main';
import { StatusBadge, Expiry, type Line, type Ref } from './lines';
import { ResellerNewLine, useBalance } from './reseller-lines';

export interface Reseller {
  id: number;
  username: string;
  parent_id: number | null;
  group_id: number | null;
  group: Ref | string | null;
  balance: string;
  username_prefix: string;
  disabled: boolean;
  lines: number;
  active_lines: number;
  subresellers: number;
  notes?: string;
  created_at: string;
}

export interface LedgerRow {
  id: number;
  reseller_id: number;
  reseller?: string;
  kind: string;
  amount: string;
  balance_after: string;
  actor: { id: number; username: string } | string | null;
  line_id: number | null;
  plan_id: number | null;
  transfer_id: number | string | null;
  reason: string | null;
  created_at: string;
}

export interface Group {
  id: number;
  name: string;
  trial_limit: number;
  trial_period_hours: number;
  may_create_subresellers: boolean;
}

const KINDS = ['purchase', 'extend', 'trial', 'transfer_in', 'transfer_out', 'refund', 'adjust'];
const SPENDING = new Set(['purchase', 'extend', 'trial', 'refund']);

const errText = (e: unknown) => (e instanceof ApiError ? e.userMessage : String(e));
const nameOf = (x: Ref | { username: string } | string | null | undefined) => (x === null || x === undefined ? '' : typeof x === 'string' ? x : 'name' in x ? x.name : x.username);

/** Every item of a paged list (page by page, up to `max` items). */
async function all<T>(path: string, query: Query = {}, max = 5000): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; out.length < max; page++) {
    const p = await get<Page<T>>(path, { ...query, page, page_size: 500 });
    out.push(...p.items);
    if (p.items.length === 0 || out.length >= p.total) break;
  }
  return out;
}

/** Rethrows a credit refusal in the user's words (the form shows it). */
function explain(e: unknown): never {
  const m = creditError(e);
  if (m) throw new Error(m);
  throw e;
}

function AmountCell({ value }: { value: string }) {
  return (
    <span data-amount={value}>
      {signed(value)}
    </span>
  );
}

// ---------------------------------------------------------------------------
// The ledger

export function LedgerTable({ path = '/ledger', filters, pageSize, label = 'Credit ledger', showReseller = true, names }: { path?: string; filters?: Query; pageSize?: number; label?: string; showReseller?: boolean; names?: Map<number, string> }) {
  const columns: Column<LedgerRow>[] = [
    { key: 'created_at', title: 'When', render: (r) => fmt.dateTime(r.created_at) },
    ...(showReseller
      ? [
          {
            key: 'reseller_id',
            title: 'Reseller',
            render: (r: LedgerRow) => <a href={href('resellers', r.reseller_id)}>{r.reseller ?? names?.get(r.reseller_id) ?? `#${r.reseller_id}`}</a>,
          },
        ]
      : []),
    { key: 'kind', title: 'Kind', render: (r) => <Badge tone={SPENDING.has(r.kind) ? 'neutral' : 'info'}>{r.kind.replace('_', ' ')}</Badge> },
    { key: 'amount', title: 'Amount', class: 'num', render: (r) => <AmountCell value={r.amount} /> },
    { key: 'balance_after', title: 'Balance after', class: 'num' },
    { key: 'actor', title: 'By', render: (r) => nameOf(r.actor) || '–' },
    { key: 'line_id', title: 'Line', render: (r) => (r.line_id ? <a href={href('lines', r.line_id)}>#{r.line_id}</a> : '') },
    { key: 'reason', title: 'Reason', class: 'truncate', render: (r) => <span title={r.reason ?? ''}>{r.reason ?? ''}</span> },
  ];
  return <DataTable<LedgerRow> path={path} label={label} columns={columns} filters={filters} pageSize={pageSize} liveEntities={['reseller', 'line', 'ledger']} empty="No ledger rows." />;
}

interface VerifyAnswer {
  ok: boolean;
  resellers: number;
  rows: number;
  mismatches: unknown[];
}

export function Ledger({ me }: PageProps) {
  const admin = !isReseller(me);
  const [kind, setKind] = useState('');
  const [reseller, setReseller] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [list, setList] = useState<Reseller[]>([]);
  const [verify, setVerify] = useState<VerifyAnswer | string | null>(null);
  useEffect(() => {
    all<Reseller>('/resellers')
      .then(setList)
      .catch(() => setList([]));
  }, []);
  const names = useMemo(() => new Map(list.map((r) => [r.id, r.username])), [list]);
  const filters: Query = {
    kind: kind || undefined,
    reseller_id: reseller || undefined,
    since: since ? `${since}T00:00:00Z` : undefined,
    until: until ? `${until}T23:59:59Z` : undefined,
  };
  const runVerify = async () => {
    try {
      setVerify(await get<VerifyAnswer>('/ledger/verify'));
    } catch (e) {
      setVerify(errText(e));
    }
  };
  return (
    <section class="page">
      <PageHeader
        title="Credit ledger"
        actions={
          admin && (
            <button type="button" onClick={() => void runVerify()} data-action="verify">
              Verify balances
            </button>
          )
        }
      >
        Every credit movement, newest first: purchases, extensions, trials, transfers, refunds and adjustments, with the balance after each.
      </PageHeader>
      {verify !== null && (
        <div class={`alert ${typeof verify !== 'string' && verify.ok ? 'alert-info' : 'alert-error'}`} role="status" data-verify>
          {typeof verify === 'string'
            ? verify
            : verify.ok
              ? `Every balance matches its ledger (${verify.resellers} resellers, ${verify.rows} rows).`
              : `${verify.mismatches.length} balance(s) differ from the ledger: ${JSON.stringify(verify.mismatches)}`}
        </div>
      )}
      <div class="filters">
        {list.length > 0 && (
          <label>
            Reseller{' '}
            <select value={reseller} onChange={(e) => setReseller((e.currentTarget as HTMLSelectElement).value)} data-filter="reseller">
              <option value="">{admin ? 'all' : 'mine and my sub-resellers'}</option>
              {list.map((r) => (
                <option key={r.id} value={String(r.id)}>
                  {r.username}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Kind{' '}
          <select value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value)} data-filter="kind">
            <option value="">all</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input type="date" value={since} onInput={(e) => setSince((e.currentTarget as HTMLInputElement).value)} data-filter="since" />
        </label>
        <label>
          To <input type="date" value={until} onInput={(e) => setUntil((e.currentTarget as HTMLInputElement).value)} data-filter="until" />
        </label>
      </div>
      <LedgerTable filters={filters} names={names} showReseller={admin || list.length > 0} />
    </section>
  );
}

// ---------------------------------------------------------------------------
// A reseller's dashboard

/** Credits spent since the first of this month (UTC), summed in units. */
async function spentThisMonth(self: number): Promise<string> {
  const now = new Date();
  const since = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01T00:00:00Z`;
  // Its own rows only (the ledger of a reseller also holds its sub-resellers').
  const rows = await all<LedgerRow>('/ledger', { since, reseller_id: self });
  let u = 0n;
  for (const r of rows) if (SPENDING.has(r.kind)) u -= toUnits(r.amount) ?? 0n;
  return fromUnits(u);
}

export function ResellerHome({ me }: PageProps) {
  const { balance, me: fresh, reload } = useBalance();
  const [counts, setCounts] = useState<{ lines: number; active: number } | null>(null);
  const [spent, setSpent] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [tick, setTick] = useState(0);
  const r = fresh?.reseller ?? me.reseller;
  useEffect(() => {
    Promise.all([get<Page<Line>>('/lines', { page_size: 1 }), get<Page<Line>>('/lines', { page_size: 1, status: 'active' })])
      .then(([a, b]) => setCounts({ lines: a.total, active: b.total }))
      .catch(() => setCounts(null));
    if (me.reseller)
      spentThisMonth(me.reseller.id)
        .then(setSpent)
        .catch(() => setSpent(null));
  }, [tick]);
  return (
    <section class="page">
      <PageHeader
        title="Reseller dashboard"
        actions={
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New line
          </button>
        }
      >
        {r ? `${r.username}${r.group ? ` · group ${nameOf(r.group)}` : ''}${r.username_prefix ? ` · usernames start with ${r.username_prefix}` : ''}` : ''}
      </PageHeader>
      <div class="stats">
        <Stat id="balance" label="Balance (credits)" value={balance ?? r?.balance ?? '…'} />
        <Stat id="lines" label="Lines" value={counts ? String(counts.lines) : '…'} sub={<a href={href('lines')}>All lines</a>} />
        <Stat id="active-lines" label="Active lines" value={counts ? String(counts.active) : '…'} />
        <Stat id="spent" label="Spent this month" value={spent ?? '…'} />
      </div>
      <div class="card">
        <h2>Recent credit movements</h2>
        <LedgerTable pageSize={10} showReseller={false} label="Recent credit movements" filters={{ reseller_id: me.reseller?.id }} />
        <p>
          <a href={href('ledger')}>The whole ledger</a>
        </p>
      </div>
      {r?.may_create_subresellers && (
        <div class="card">
          <h2>Sub-resellers</h2>
          <ResellerTree me={me} reloadKey={tick} onChanged={() => { reload(); setTick((t) => t + 1); }} />
        </div>
      )}
      {creating && (
        <ResellerNewLine
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            reload();
            setTick((t) => t + 1);
          }}
        />
      )}
    </section>
  );
}

// ---------------------------------------------------------------------------
// The tree

interface TreeRow {
  r: Reseller;
  depth: number;
}

/** Depth-first order: each reseller followed by its children (by name). */
function treeOrder(list: Reseller[]): TreeRow[] {
  const ids = new Set(list.map((r) => r.id));
  const kids = new Map<number | null, Reseller[]>();
  for (const r of list) {
    const p = r.parent_id !== null && ids.has(r.parent_id) ? r.parent_id : null;
    kids.set(p, [...(kids.get(p) ?? []), r]);
  }
  const out: TreeRow[] = [];
  const walk = (p: number | null, depth: number) => {
    for (const r of (kids.get(p) ?? []).sort((a, b) => a.username.localeCompare(b.username))) {
      out.push({ r, depth });
      if (depth < 64) walk(r.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

type Dialog = { kind: 'credits' | 'transfer' | 'edit'; r: Reseller } | { kind: 'new' } | null;

/** Whether the caller is the parent of r (who may transfer to and from it). */
function isParent(me: Me, r: Reseller): boolean {
  return isReseller(me) ? r.parent_id === me.reseller?.id : r.parent_id === null;
}

function ResellerTree({ me, reloadKey, onChanged, q }: { me: Me; reloadKey?: unknown; onChanged: () => void; q?: string }) {
  const [list, setList] = useState<Reseller[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const admin = !isReseller(me);
  // Live: a reseller created, changed or deleted by anyone reloads the tree.
  const [live, setLive] = useState(0);
  useEvent('change', (d) => {
    if ((d as { entity?: string }).entity === 'reseller') setLive((x) => x + 1);
  });
  useEffect(() => {
    all<Reseller>('/resellers', { q })
      .then((l) => {
        setList(l);
        setError(null);
      })
      .catch((e) => setError(errText(e)));
  }, [reloadKey, q, live]);
  const rows = useMemo(() => treeOrder(list ?? []), [list]);
  const done = () => {
    setDialog(null);
    onChanged();
  };
  return (
    <div class="reseller-tree">
      {error && (
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      )}
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'new' })} data-action="new-reseller">
          {admin ? 'New reseller' : 'New sub-reseller'}
        </button>
      </div>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Reseller tree</caption>
          <thead>
            <tr>
              <th scope="col">Reseller</th>
              <th scope="col">Group</th>
              <th scope="col" class="num">
                Balance
              </th>
              <th scope="col" class="num">
                Lines (active)
              </th>
              <th scope="col" class="num">
                Sub-resellers
              </th>
              <th scope="col">Status</th>
              <th scope="col" class="col-actions">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ r, depth }) => (
              <tr key={r.id} data-reseller={r.username} data-depth={depth}>
                <td data-label="Reseller">
                  <span class="tree-name" style={{ paddingLeft: `${depth * 1.25}rem` }}>
                    {depth > 0 && (
                      <span aria-hidden="true" class="muted">
                        └{' '}
                      </span>
                    )}
                    <a href={href('resellers', r.id)}>{r.username}</a>
                    {depth > 0 && <span class="sr-only"> (level {depth + 1})</span>}
                  </span>
                </td>
                <td data-label="Group">{nameOf(r.group) || '–'}</td>
                <td data-label="Balance" class="num" data-balance>
                  {r.balance}
                </td>
                <td data-label="Lines (active)" class="num">
                  {r.lines} ({r.active_lines})
                </td>
                <td data-label="Sub-resellers" class="num">
                  {r.subresellers}
                </td>
                <td data-label="Status">{r.disabled ? <Badge tone="neutral">disabled</Badge> : <Badge tone="ok">active</Badge>}</td>
                <td class="col-actions">
                  <ResellerActions me={me} r={r} open={setDialog} />
                </td>
              </tr>
            ))}
            {list && rows.length === 0 && (
              <tr>
                <td colSpan={7} class="empty">
                  {admin ? 'No resellers yet.' : 'No sub-resellers yet.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Dialogs me={me} dialog={dialog} parents={list ?? []} onClose={() => setDialog(null)} onDone={done} />
    </div>
  );
}

function ResellerActions({ me, r, open }: { me: Me; r: Reseller; open: (d: Dialog) => void }) {
  const admin = !isReseller(me);
  return (
    <>
      {admin && (
        <button type="button" class="small" onClick={() => open({ kind: 'credits', r })} aria-label={`Adjust the credits of ${r.username}`}>
          Credits…
        </button>
      )}
      {isParent(me, r) && (
        <button type="button" class="small" onClick={() => open({ kind: 'transfer', r })} aria-label={`Transfer credits with ${r.username}`}>
          Transfer…
        </button>
      )}
      {admin && (
        <button type="button" class="small" onClick={() => open({ kind: 'edit', r })} aria-label={`Edit ${r.username}`}>
          Edit
        </button>
      )}
    </>
  );
}

function Dialogs({ me, dialog, parents, onClose, onDone }: { me: Me; dialog: Dialog; parents: Reseller[]; onClose: () => void; onDone: () => void }) {
  if (!dialog) return null;
  if (dialog.kind === 'new') return <NewReseller me={me} parents={parents} onClose={onClose} onDone={onDone} />;
  if (dialog.kind === 'credits') return <CreditsDialog r={dialog.r} onClose={onClose} onDone={onDone} />;
  if (dialog.kind === 'transfer') return <TransferDialog me={me} r={dialog.r} onClose={onClose} onDone={onDone} />;
  return <EditReseller r={dialog.r} onClose={onClose} onDone={onDone} />;
}

export function Resellers(props: PageProps) {
  if (props.params[0]) return <ResellerDetail id={Number(props.params[0])} me={props.me} />;
  return <ResellerList {...props} />;
}

function ResellerList(props: PageProps) {
  const [tick, setTick] = useState(0);
  const admin = !isReseller(props.me);
  return (
    <section class="page">
      <PageHeader title={admin ? 'Resellers' : 'Sub-resellers'}>
        {admin ? 'The reseller tree: each reseller with its balance, lines and sub-resellers. Credits… adjusts a balance (with a reason); Transfer… moves credits between a parent and its child.' : 'Your sub-resellers: transfer credits to them or back.'}
      </PageHeader>
      <ResellerTree me={props.me} reloadKey={tick} onChanged={() => setTick((t) => t + 1)} />
    </section>
  );
}

// ---------------------------------------------------------------------------
// Dialogs

function Cancel({ onClose }: { onClose: () => void }) {
  return (
    <button type="button" onClick={onClose}>
      Cancel
    </button>
  );
}

function CreditsDialog({ r, onClose, onDone }: { r: Reseller; onClose: () => void; onDone: () => void }) {
  const slot = useRef<SpendSlot>({}).current;
  const form = useForm({ amount: '', reason: '' });
  const v = form.values;
  const after = toUnits(v.amount) === null ? null : fromUnits((toUnits(r.balance) ?? 0n) + (toUnits(v.amount) ?? 0n));
  const submit = async () => {
    try {
      await spend(slot, 'POST', `/resellers/${r.id}/credits`, { amount: v.amount.trim(), reason: v.reason.trim() });
      toast(`Credits of ${r.username} adjusted`);
      onDone();
    } catch (e) {
      explain(e);
    }
  };
  return (
    <Modal open title={`Credits of ${r.username}`} onClose={onClose}>
      <Form form={form} onSubmit={submit} submitLabel="Adjust" label="Adjust credits" actions={<Cancel onClose={onClose} />}>
        <p>
          Balance now: <strong>{r.balance}</strong>
          {after !== null && (
            <>
              {' '}
              → <strong data-balance-after>{after}</strong> after
            </>
          )}
        </p>
        <Field form={form} name="amount" label="Amount (credits)" required hint="Up to 4 decimals; negative takes credits away (never below 0)." placeholder="10.5" />
        <Field form={form} name="reason" label="Reason" required hint="Kept in the ledger." />
      </Form>
    </Modal>
  );
}

function TransferDialog({ me, r, onClose, onDone }: { me: Me; r: Reseller; onClose: () => void; onDone: () => void }) {
  const slot = useRef<SpendSlot>({}).current;
  const { balance } = useBalance();
  const form = useForm({ direction: 'to', amount: '' });
  const v = form.values;
  const amount = v.direction === 'from' ? `-${v.amount.trim()}` : v.amount.trim();
  const childAfter = toUnits(amount) === null ? null : fromUnits((toUnits(r.balance) ?? 0n) + (toUnits(amount) ?? 0n));
  const mine = isReseller(me) ? balanceAfter(balance, amount) : null;
  form.shown.add('amount');
  const submit = async () => {
    try {
      await spend(slot, 'POST', `/resellers/${r.id}/transfer`, { amount });
      toast(`Transferred ${v.amount} credits ${v.direction === 'to' ? 'to' : 'from'} ${r.username}`);
      onDone();
    } catch (e) {
      explain(e);
    }
  };
  return (
    <Modal open title={`Transfer credits with ${r.username}`} onClose={onClose}>
      <Form form={form} onSubmit={submit} submitLabel="Transfer" label="Transfer credits" actions={<Cancel onClose={onClose} />}>
        <Field
          form={form}
          name="direction"
          label="Direction"
          type="select"
          options={[
            { value: 'to', label: `to ${r.username}` },
            { value: 'from', label: `back from ${r.username}` },
          ]}
        />
        <Field form={form} name="amount" label="Amount (credits)" required placeholder="5" hint="Positive, up to 4 decimals." />
        <p data-transfer-summary>
          {r.username}: {r.balance}
          {childAfter !== null && ` → ${childAfter}`}
          {isReseller(me) && (
            <>
              {' '}
              · you: {balance ?? '…'}
              {mine !== null && ` → ${mine}`}
            </>
          )}
        </p>
      </Form>
    </Modal>
  );
}

function useGroups(enabled: boolean): Group[] | null {
  const [groups, setGroups] = useState<Group[] | null>(enabled ? null : []);
  useEffect(() => {
    if (enabled)
      all<Group>('/reseller-groups')
        .then(setGroups)
        .catch(() => setGroups([]));
  }, [enabled]);
  return groups;
}

function NewReseller({ me, parents, onClose, onDone }: { me: Me; parents: Reseller[]; onClose: () => void; onDone: () => void }) {
  const admin = !isReseller(me);
  const groups = useGroups(admin);
  const [created, setCreated] = useState<{ username: string; password: string } | null>(null);
  const form = useForm({ username: '', password: '', group_id: '', parent_id: '', username_prefix: '', notes: '' });
  const submit = async (v: typeof form.values) => {
    const body: Record<string, unknown> = { username: v.username.trim() };
    if (v.password) body.password = v.password;
    if (v.group_id) body.group_id = Number(v.group_id);
    if (v.parent_id) body.parent_id = Number(v.parent_id);
    if (v.username_prefix) body.username_prefix = v.username_prefix.trim();
    if (v.notes) body.notes = v.notes;
    const r = await api<Reseller & { password?: string }>('POST', '/resellers', body);
    if (!v.password && r.password) setCreated({ username: r.username, password: r.password });
    else {
      toast(`Reseller ${r.username} created`);
      onDone();
    }
  };
  if (created)
    return (
      <Modal open title="Reseller created" onClose={onDone} footer={<button type="button" class="primary" onClick={onDone}>Done</button>}>
        <p>
          The password of <strong>{created.username}</strong>, shown once:
        </p>
        <p>
          <code data-new-password>{created.password}</code>
        </p>
      </Modal>
    );
  return (
    <Modal open title={admin ? 'New reseller' : 'New sub-reseller'} onClose={onClose} size="wide">
      <Form form={form} onSubmit={submit} submitLabel="Create" label={admin ? 'New reseller' : 'New sub-reseller'} class="wide-form" actions={<Cancel onClose={onClose} />}>
        <div class="pair">
          <Field form={form} name="username" label="Username" required autoComplete="off" hint="Its sign-in name for the panel and the API." />
          <Field form={form} name="password" label="Password" type="password" autoComplete="new-password" hint="At least 12 characters; empty: a random one, shown once." />
        </div>
        {admin && (
          <div class="pair">
            <Field form={form} name="group_id" label="Group" type="select" options={[{ value: '', label: groups === null ? 'Loading…' : 'Choose a group…' }, ...(groups ?? []).map((g) => ({ value: String(g.id), label: g.name }))]} />
            <Field form={form} name="parent_id" label="Parent" type="select" options={[{ value: '', label: 'none (top level)' }, ...parents.map((p) => ({ value: String(p.id), label: p.username }))]} />
          </div>
        )}
        <Field form={form} name="username_prefix" label="Username prefix" hint="Added to the usernames of the lines it creates (e.g. hotel1_); empty: none." />
        <Field form={form} name="notes" label="Notes" type="textarea" />
      </Form>
    </Modal>
  );
}

function EditReseller({ r, onClose, onDone }: { r: Reseller; onClose: () => void; onDone: () => void }) {
  const groups = useGroups(true);
  const form = useForm({ group_id: r.group_id === null ? '' : String(r.group_id), username_prefix: r.username_prefix, disabled: r.disabled, notes: r.notes ?? '' });
  const submit = async (v: typeof form.values) => {
    const a = await call<Reseller>('GET', `/resellers/${r.id}`);
    const body: Record<string, unknown> = {};
    if (v.group_id !== (r.group_id === null ? '' : String(r.group_id))) body.group_id = v.group_id ? Number(v.group_id) : null;
    if (v.username_prefix !== r.username_prefix) body.username_prefix = v.username_prefix.trim();
    if (v.disabled !== r.disabled) body.disabled = v.disabled;
    if (v.notes !== (r.notes ?? '')) body.notes = v.notes;
    if (Object.keys(body).length) await call('PATCH', `/resellers/${r.id}`, body, { ifMatch: a.etag ?? undefined });
    toast(`Reseller ${r.username} saved`);
    onDone();
  };
  const remove = async () => {
    if (!(await confirm({ title: 'Delete reseller', message: `Delete ${r.username}? Its balance goes back to its parent, and its lines and sub-resellers move to the parent.`, confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api('DELETE', `/resellers/${r.id}`);
      toast(`Reseller ${r.username} deleted`);
      onDone();
      if (location.hash.startsWith(`#/resellers/${r.id}`)) navigate('/resellers');
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  return (
    <Modal open title={`Edit ${r.username}`} onClose={onClose}>
      <Form
        form={form}
        onSubmit={submit}
        submitLabel="Save"
        label={`Edit ${r.username}`}
        actions={
          <>
            <button type="button" class="danger" onClick={() => void remove()} data-action="delete-reseller">
              Delete
            </button>
            <Cancel onClose={onClose} />
          </>
        }
      >
        <Field form={form} name="group_id" label="Group" type="select" options={[{ value: '', label: 'none' }, ...(groups ?? []).map((g) => ({ value: String(g.id), label: g.name }))]} />
        <Field form={form} name="username_prefix" label="Username prefix" />
        <Field form={form} name="disabled" label="Disabled (cannot sign in; its lines keep working)" type="checkbox" />
        <Field form={form} name="notes" label="Notes" type="textarea" />
      </Form>
    </Modal>
  );
}

// ---------------------------------------------------------------------------
// One reseller

function ResellerDetail({ id, me }: { id: number; me: Me }) {
  const [r, setR] = useState<Reseller | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState('ledger');
  const [dialog, setDialog] = useState<Dialog>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    get<Reseller>(`/resellers/${id}`)
      .then((x) => {
        setR(x);
        setError(null);
      })
      .catch((e) => setError(errText(e)));
  }, [id, tick]);
  if (error || !r)
    return (
      <section class="page" aria-busy={!error}>
        <PageHeader title="Reseller" />
        {error ? (
          <div class="alert alert-error" role="alert">
            {error}
          </div>
        ) : (
          <p class="muted">Loading…</p>
        )}
        <a href={href('resellers')}>Back to the resellers</a>
      </section>
    );
  const lineCols: Column<Line>[] = [
    { key: 'username', title: 'Username', render: (l) => <a href={href('lines', l.id)}>{l.username}</a> },
    { key: 'status', title: 'Status', render: (l) => <StatusBadge status={l.status} /> },
    { key: 'exp_date', title: 'Expires', render: (l) => <Expiry line={l} /> },
    { key: 'created_at', title: 'Created', render: (l) => fmt.date(l.created_at) },
  ];
  const kidCols: Column<Reseller>[] = [
    { key: 'username', title: 'Reseller', render: (k) => <a href={href('resellers', k.id)}>{k.username}</a> },
    { key: 'balance', title: 'Balance', class: 'num' },
    { key: 'lines', title: 'Lines', class: 'num' },
  ];
  const facts: ComponentChildren = (
    <>
      balance <strong data-balance>{r.balance}</strong>
      {r.group ? ` · group ${nameOf(r.group)}` : ''}
      {r.username_prefix ? ` · prefix ${r.username_prefix}` : ''}
      {r.disabled ? ' · disabled' : ''}
    </>
  );
  return (
    <section class="page">
      <PageHeader title={`Reseller ${r.username}`} actions={<ResellerActions me={me} r={r} open={setDialog} />}>
        {facts}
      </PageHeader>
      <p>
        <a href={href('resellers')}>← All resellers</a>
        {r.parent_id !== null && (
          <>
            {' '}
            · parent <a href={href('resellers', r.parent_id)}>#{r.parent_id}</a>
          </>
        )}
      </p>
      <div class="stats">
        <Stat label="Balance (credits)" value={r.balance} />
        <Stat label="Lines" value={String(r.lines)} />
        <Stat label="Active lines" value={String(r.active_lines)} />
        <Stat label="Sub-resellers" value={String(r.subresellers)} />
      </div>
      <Tabs
        label="Reseller"
        active={tab}
        onChange={setTab}
        tabs={[
          { id: 'ledger', label: 'Ledger' },
          { id: 'lines', label: 'Lines' },
          { id: 'children', label: 'Sub-resellers' },
        ]}
      >
        {tab === 'ledger' && <LedgerTable key={tick} path={`/resellers/${id}/ledger`} showReseller={false} label={`Ledger of ${r.username}`} />}
        {tab === 'lines' && <DataTable<Line> path="/lines" filters={{ owner_id: id }} label={`Lines of ${r.username}`} columns={lineCols} search="Search username" empty="No lines." />}
        {tab === 'children' && <DataTable<Reseller> path="/resellers" filters={{ parent_id: id }} label={`Sub-resellers of ${r.username}`} columns={kidCols} empty="No sub-resellers." />}
      </Tabs>
      <Dialogs
        me={me}
        dialog={dialog}
        parents={[]}
        onClose={() => setDialog(null)}
        onDone={() => {
          setDialog(null);
          setTick((t) => t + 1);
        }}
      />
    </section>
  );
}

// ---------------------------------------------------------------------------
// Reseller groups

function GroupEditor({ g, onClose, onDone }: { g: Group | null; onClose: () => void; onDone: () => void }) {
  const form = useForm({
    name: g?.name ?? '',
    trial_limit: (g?.trial_limit ?? 0) as number | '',
    trial_period_hours: (g?.trial_period_hours ?? 24) as number | '',
    may_create_subresellers: g?.may_create_subresellers ?? false,
  });
  const submit = async (v: typeof form.values) => {
    const body = { name: v.name.trim(), trial_limit: v.trial_limit === '' ? 0 : v.trial_limit, trial_period_hours: v.trial_period_hours === '' ? 24 : v.trial_period_hours, may_create_subresellers: v.may_create_subresellers };
    if (g) await api('PATCH', `/reseller-groups/${g.id}`, body);
    else await api('POST', '/reseller-groups', body);
    toast(`Group ${body.name} saved`);
    onDone();
  };
  return (
    <Modal open title={g ? `Edit group ${g.name}` : 'New reseller group'} onClose={onClose}>
      <Form form={form} onSubmit={submit} submitLabel={g ? 'Save group' : 'Create group'} label="Reseller group" actions={<Cancel onClose={onClose} />}>
        <Field form={form} name="name" label="Name" required />
        <div class="pair">
          <Field form={form} name="trial_limit" label="Trials per period" type="number" min={0} hint="0: no trial lines." />
          <Field form={form} name="trial_period_hours" label="Period (hours)" type="number" min={1} />
        </div>
        <Field form={form} name="may_create_subresellers" label="May create sub-resellers" type="checkbox" />
      </Form>
    </Modal>
  );
}

export function ResellerGroups(_: PageProps) {
  const [editing, setEditing] = useState<{ g: Group | null } | null>(null);
  const [tick, setTick] = useState(0);
  const remove = async (g: Group) => {
    if (!(await confirm({ title: 'Delete group', message: `Delete the group ${g.name}?`, confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api('DELETE', `/reseller-groups/${g.id}`);
      toast(`Group ${g.name} deleted`);
      setTick((t) => t + 1);
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  const columns: Column<Group>[] = [
    { key: 'name', title: 'Name' },
    { key: 'trial_limit', title: 'Trials', render: (g) => (g.trial_limit ? `${g.trial_limit} per ${g.trial_period_hours} h` : <span class="muted">none</span>) },
    { key: 'may_create_subresellers', title: 'Sub-resellers', render: (g) => (g.may_create_subresellers ? 'allowed' : 'no') },
  ];
  return (
    <section class="page">
      <PageHeader
        title="Reseller groups"
        actions={
          <button type="button" class="primary" onClick={() => setEditing({ g: null })}>
            New group
          </button>
        }
      >
        What a group of resellers may do: how many trial lines per period, and whether they may create sub-resellers. Plans name the groups that may sell them.
      </PageHeader>
      <DataTable<Group>
        path="/reseller-groups"
        label="Reseller groups"
        columns={columns}
        reloadKey={tick}
        empty="No groups yet."
        rowActions={(g) => (
          <>
            <button type="button" class="small" onClick={() => setEditing({ g })} aria-label={`Edit group ${g.name}`}>
              Edit
            </button>
            <button type="button" class="small danger" onClick={() => void remove(g)} aria-label={`Delete group ${g.name}`}>
              Delete
            </button>
          </>
        )}
      />
      {editing && (
        <GroupEditor
          g={editing.g}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            setTick((t) => t + 1);
          }}
        />
      )}
    </section>
  );
}
