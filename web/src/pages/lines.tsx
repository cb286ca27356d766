// Lines (subscriber accounts): #/lines is the list — status, expiry and
// bouquet filters, search over username and notes, the connections each line
// has open now, a selection with bulk actions (extend, enable/disable, set
// bouquets, delete: POST /lines/bulk, all or nothing) — and the "New line"
// dialog (from a plan or by hand). #/lines/12 is one line: edit every field
// (PATCH with If-Match), extend, enable/disable, ban, delete, its live
// connections with kill, and its playlist URL and Xtream login to copy.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, call, get, ApiError, type Page } from '../api';
import { href, navigate } from '../router';
import { Badge, DataTable, Field, Form, Modal, PageHeader, Tabs, confirm, fmt, toast, useForm, type Column, type RowKey } from '../ui';
import type { PageProps } from '../main';
import { SessionTable } from './connections';
import { LineAccess } from './lines-access';
import { ExtendByPlan, ResellerNewLine } from './reseller-lines';
import { isReseller } from '../credits';
import './lines.css';

export type LineStatus = 'Active' | 'Expired' | 'Disabled' | 'Banned';
export type Output = 'ts' | 'm3u8';
export interface Ref {
  id: number;
  name: string;
}

export interface Line {
  id: number;
  username: string;
  password: string;
  status: LineStatus;
  max_connections: number;
  exp_date: string | null;
  exp_date_epoch: number | null;
  is_trial: boolean;
  enabled: boolean;
  banned: boolean;
  allowed_outputs: Output[];
  message: string;
  notes: string;
  bouquets: Ref[];
  created_at: string;
  updated_at: string;
  /** Lists only: connections open now. */
  active_connections?: number;
}

export interface Plan {
  id: number;
  name: string;
  duration_days: number | null;
  duration_months: number | null;
  trial_hours: number | null;
  max_connections: number;
  allowed_outputs: Output[];
  is_trial: boolean;
  bouquets: Ref[];
  /** Credits a reseller pays for a line (or an extension) from this plan ("5.0000"). */
  credit_price?: string;
  /** Credits a reseller pays for a trial line from it. */
  trial_price?: string;
  /** The reseller groups that may sell it (none: only admins use it). */
  reseller_group_ids?: number[];
  created_at: string;
  updated_at: string;
}

const STATUS_TONE: Record<LineStatus, 'ok' | 'warn' | 'bad' | 'neutral'> = {
  Active: 'ok',
  Expired: 'warn',
  Disabled: 'neutral',
  Banned: 'bad',
};

export function StatusBadge({ status }: { status: LineStatus }) {
  return <Badge tone={STATUS_TONE[status] ?? 'neutral'}>{status}</Badge>;
}

/** "in 12 days" / "3 days ago" / "today" for an expiry. */
function relative(epoch: number): string {
  const days = Math.round((epoch * 1000 - Date.now()) / 86400000);
  if (days === 0) return 'today';
  return days > 0 ? `in ${days} d` : `${-days} d ago`;
}

export function Expiry({ line }: { line: Pick<Line, 'exp_date' | 'exp_date_epoch'> }) {
  if (!line.exp_date_epoch) return <span class="muted">never</span>;
  return (
    <span title={line.exp_date ?? ''}>
      {fmt.date(line.exp_date)} <span class="muted">({relative(line.exp_date_epoch)})</span>
    </span>
  );
}

/** A plan's duration in words. */
export function planDuration(p: Pick<Plan, 'duration_days' | 'duration_months' | 'trial_hours'>): string {
  if (p.duration_months) return `${p.duration_months} month${p.duration_months === 1 ? '' : 's'}`;
  if (p.duration_days) return `${p.duration_days} day${p.duration_days === 1 ? '' : 's'}`;
  if (p.trial_hours) return `${p.trial_hours} hour${p.trial_hours === 1 ? '' : 's'}`;
  return 'never expires';
}

/** Every bouquet (id order of the catalogue), loaded once per mount. */
export function useBouquets(): Ref[] | null {
  const [list, setList] = useState<Ref[] | null>(null);
  useEffect(() => {
    get<Page<Ref>>('/bouquets', { page_size: 1000, sort: 'sort_order,name' })
      .then((p) => setList(p.items.map((b) => ({ id: b.id, name: b.name }))))
      .catch(() => setList([]));
  }, []);
  return list;
}

/**
 * Bouquet checkboxes in a fieldset: the chosen ids in the catalogue's order.
 * error: the API's message for `bouquets` (or `bouquets[i]`).
 */
export function BouquetPicker({ all, value, onChange, error, legend = 'Bouquets', disabled, empty = 'No bouquets yet (a line without bouquets sees every channel).' }: { all: Ref[] | null; value: number[]; onChange: (ids: number[]) => void; error?: string; legend?: string; disabled?: boolean; empty?: string }) {
  const chosen = new Set(value);
  const toggle = (id: number) => {
    const n = new Set(chosen);
    n.has(id) ? n.delete(id) : n.add(id);
    onChange((all ?? []).filter((b) => n.has(b.id)).map((b) => b.id));
  };
  return (
    <fieldset class={`bouquet-picker ${error ? 'field-invalid' : ''}`} aria-invalid={error ? true : undefined}>
      <legend>{legend}</legend>
      {all === null && <span class="muted">Loading…</span>}
      {all?.length === 0 && <span class="muted">{empty}</span>}
      <div class="check-grid">
        {all?.map((b) => (
          <label key={b.id}>
            <input type="checkbox" checked={chosen.has(b.id)} disabled={disabled} onChange={() => toggle(b.id)} /> {b.name}
          </label>
        ))}
      </div>
      {error && (
        <div class="field-error" data-field-error="bouquets">
          {error}
        </div>
      )}
    </fieldset>
  );
}

/** The output format checkboxes (at least one). */
export function OutputsPicker({ value, onChange, error, disabled }: { value: Output[]; onChange: (v: Output[]) => void; error?: string; disabled?: boolean }) {
  const toggle = (o: Output) => onChange(value.includes(o) ? value.filter((x) => x !== o) : (['ts', 'm3u8'] as Output[]).filter((x) => x === o || value.includes(x)));
  return (
    <fieldset class={error ? 'field-invalid' : ''}>
      <legend>Outputs</legend>
      <div class="checks">
        <label>
          <input type="checkbox" checked={value.includes('ts')} disabled={disabled} onChange={() => toggle('ts')} /> MPEG-TS
        </label>
        <label>
          <input type="checkbox" checked={value.includes('m3u8')} disabled={disabled} onChange={() => toggle('m3u8')} /> HLS (m3u8)
        </label>
      </div>
      {error && (
        <div class="field-error" data-field-error="allowed_outputs">
          {error}
        </div>
      )}
    </fieldset>
  );
}

/** A date input's value (YYYY-MM-DD, UTC) for an RFC 3339 time. */
function dateInput(t: string | null): string {
  return t ? t.slice(0, 10) : '';
}

function errText(e: unknown): string {
  return e instanceof ApiError ? e.userMessage : String(e);
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------
// The list

const EXPIRY_FILTERS: { value: string; label: string; days?: number }[] = [
  { value: '', label: 'any' },
  { value: '7', label: 'within 7 days', days: 7 },
  { value: '14', label: 'within 14 days', days: 14 },
  { value: '30', label: 'within 30 days', days: 30 },
];

export function Lines(props: PageProps) {
  if (props.params[0]) return <LineDetail id={Number(props.params[0])} me={props.me} />;
  return <LineList {...props} />;
}

function canWrite(me: PageProps['me']): boolean {
  return me.scopes.includes('lines:write') || me.scopes.includes('admin') || isReseller(me);
}

function LineList({ loc, me }: PageProps) {
  const [status, setStatus] = useState(loc.query.get('status') ?? '');
  const [expiry, setExpiry] = useState('');
  const [bouquet, setBouquet] = useState('');
  const [selected, setSelected] = useState<Set<RowKey>>(new Set());
  const [creating, setCreating] = useState(false);
  const [reload, setReload] = useState(0);
  const bouquets = useBouquets();
  const write = canWrite(me);
  // A reseller's lines are scoped by the server; it changes them one by one
  // (bulk extensions would not be charged, so it has no bulk bar).
  const reseller = isReseller(me);

  const filters = useMemo(() => {
    const f: Record<string, string | undefined> = { status: status || undefined, bouquet_id: bouquet || undefined };
    const days = EXPIRY_FILTERS.find((x) => x.value === expiry)?.days;
    if (days) {
      // "Expiring within N days": still running now, ending before now + N days.
      const now = new Date();
      f.expires_after = now.toISOString().replace(/\.\d+Z$/, 'Z');
      f.expires_before = new Date(now.getTime() + days * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');
    }
    return f;
    // The expiry window is computed when the filter is chosen (not each render).
  }, [status, expiry, bouquet]);

  const columns: Column<Line>[] = [
    {
      key: 'username',
      title: 'Username',
      sort: 'username',
      render: (l) => (
        <a href={href('lines', l.id)} data-line={l.username}>
          {l.username}
        </a>
      ),
    },
    { key: 'status', title: 'Status', render: (l) => <StatusBadge status={l.status} /> },
    {
      key: 'active_connections',
      title: 'Online',
      sort: undefined,
      class: 'num',
      render: (l) => (
        <span title="connections open now / limit (0 = unlimited)">
          {l.active_connections ?? 0} / {l.max_connections || '∞'}
        </span>
      ),
    },
    { key: 'exp_date', title: 'Expires', sort: 'exp_date', render: (l) => <Expiry line={l} /> },
    { key: 'bouquets', title: 'Bouquets', render: (l) => (l.bouquets.length ? l.bouquets.map((b) => b.name).join(', ') : <span class="muted">all</span>) },
    { key: 'is_trial', title: 'Trial', render: (l) => (l.is_trial ? <Badge tone="info">trial</Badge> : '') },
    { key: 'notes', title: 'Notes', class: 'truncate', render: (l) => <span title={l.notes}>{l.notes}</span> },
    { key: 'created_at', title: 'Created', sort: 'created_at', render: (l) => fmt.date(l.created_at) },
  ];

  return (
    <section class="page">
      <PageHeader
        title="Lines"
        actions={
          write && (
            <button type="button" class="primary" onClick={() => setCreating(true)}>
              New line
            </button>
          )
        }
      >
        Subscriber accounts: who may watch, until when, how many at once, and which bouquets.
      </PageHeader>
      <div class="filters">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)} data-filter="status">
            <option value="">all</option>
            <option value="active">active</option>
            <option value="expired">expired</option>
            <option value="disabled">disabled</option>
            <option value="banned">banned</option>
            <option value="trial">trial</option>
          </select>
        </label>
        <label>
          Expiring{' '}
          <select value={expiry} onChange={(e) => setExpiry((e.currentTarget as HTMLSelectElement).value)} data-filter="expiry">
            {EXPIRY_FILTERS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Bouquet{' '}
          <select value={bouquet} onChange={(e) => setBouquet((e.currentTarget as HTMLSelectElement).value)} data-filter="bouquet">
            <option value="">any</option>
            {bouquets?.map((b) => (
              <option key={b.id} value={String(b.id)}>
                {b.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {write && !reseller && selected.size > 0 && <BulkBar ids={[...selected] as number[]} bouquets={bouquets} onDone={(clear) => {
        if (clear) setSelected(new Set());
        setReload((r) => r + 1);
      }} />}
      <DataTable<Line>
        path="/lines"
        label="Lines"
        columns={columns}
        filters={filters}
        search="Search username or notes"
        defaultSort="username"
        selectable={write && !reseller}
        selected={selected}
        onSelectionChange={setSelected}
        reloadKey={reload}
        liveEntities={['line']}
        refreshMs={10000}
        empty="No line matches."
        rowActions={(l) => (
          <a class="button small" href={href('lines', l.id)} aria-label={`Open line ${l.username}`}>
            Open
          </a>
        )}
      />
      {creating && reseller && (
        <ResellerNewLine
          onClose={() => setCreating(false)}
          onCreated={(l) => {
            setCreating(false);
            navigate(`/lines/${l.id}`);
          }}
        />
      )}
      {creating && !reseller && (
        <NewLine
          bouquets={bouquets}
          onClose={() => setCreating(false)}
          onCreated={(l) => {
            setCreating(false);
            navigate(`/lines/${l.id}`);
          }}
        />
      )}
    </section>
  );
}

// ---------------------------------------------------------------------------
// Bulk actions on a selection

type BulkBody = { extend: { days?: number; months?: number } } | { patch: Record<string, unknown> } | { delete: true };

function BulkBar({ ids, bouquets, onDone }: { ids: number[]; bouquets: Ref[] | null; onDone: (clear: boolean) => void }) {
  const [busy, setBusy] = useState(false);
  const [extend, setExtend] = useState('m1');
  const [picking, setPicking] = useState(false);
  const n = ids.length;
  const what = `${n} line${n === 1 ? '' : 's'}`;

  /** One bulk request; true when every line was changed (it is all or nothing). */
  const run = async (body: BulkBody, done: string, clear = false): Promise<boolean> => {
    setBusy(true);
    try {
      const r = await api<{ count: number }>('POST', '/lines/bulk', { ids, ...body });
      toast(`${done}: ${plural(r.count, 'line')}`);
      onDone(clear);
      return true;
    } catch (e) {
      toast(errText(e), 'error');
      return false;
    } finally {
      setBusy(false);
    }
  };
  const doExtend = () => {
    const unit = extend[0] === 'm' ? 'months' : 'days';
    void run({ extend: { [unit]: Number(extend.slice(1)) } }, 'Extended');
  };
  const doDisable = async (enabled: boolean) => {
    if (!enabled && !(await confirm({ title: `Disable ${what}`, message: `Disable ${what}? What they are watching is cut, and their players are refused from then on.`, confirmLabel: 'Disable', danger: true }))) return;
    // The server cuts what a disabled line is watching (with the next catalogue snapshot).
    await run({ patch: { enabled } }, enabled ? 'Enabled' : 'Disabled');
  };
  const doDelete = async () => {
    if (!(await confirm({ title: `Delete ${what}`, message: `Delete ${what} for good? This cannot be undone.`, confirmLabel: 'Delete', danger: true }))) return;
    void run({ delete: true }, 'Deleted', true);
  };
  return (
    <div class="bulkbar card" role="region" aria-label="Bulk actions" data-bulk>
      <strong>{what} selected</strong>
      <label>
        <span class="sr-only">Extend by</span>
        <select value={extend} onChange={(e) => setExtend((e.currentTarget as HTMLSelectElement).value)} aria-label="Extend by">
          <option value="d7">7 days</option>
          <option value="d30">30 days</option>
          <option value="m1">1 month</option>
          <option value="m3">3 months</option>
          <option value="m6">6 months</option>
          <option value="m12">12 months</option>
        </select>
      </label>
      <button type="button" disabled={busy} onClick={doExtend} data-action="bulk-extend">
        Extend
      </button>
      <button type="button" disabled={busy} onClick={() => void doDisable(true)} data-action="bulk-enable">
        Enable
      </button>
      <button type="button" disabled={busy} onClick={() => void doDisable(false)} data-action="bulk-disable">
        Disable
      </button>
      <button type="button" disabled={busy} onClick={() => setPicking(true)} data-action="bulk-bouquets">
        Set bouquets…
      </button>
      <button type="button" class="danger" disabled={busy} onClick={() => void doDelete()} data-action="bulk-delete">
        Delete
      </button>
      <button type="button" class="link" disabled={busy} onClick={() => onDone(true)}>
        Clear selection
      </button>
      {picking && (
        <BulkBouquets
          what={what}
          bouquets={bouquets}
          onClose={() => setPicking(false)}
          onSave={async (chosen) => {
            setPicking(false);
            await run({ patch: { bouquets: chosen } }, 'Bouquets set');
          }}
        />
      )}
    </div>
  );
}

function BulkBouquets({ what, bouquets, onClose, onSave }: { what: string; bouquets: Ref[] | null; onClose: () => void; onSave: (ids: number[]) => Promise<void> }) {
  const [chosen, setChosen] = useState<number[]>([]);
  return (
    <Modal
      open
      title={`Bouquets of ${what}`}
      onClose={onClose}
      footer={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="primary" onClick={() => void onSave(chosen)} data-action="bulk-bouquets-save">
            Set bouquets
          </button>
        </>
      }
    >
      <p>The selected lines get exactly these bouquets (none: every channel).</p>
      <BouquetPicker all={bouquets} value={chosen} onChange={setChosen} />
    </Modal>
  );
}

// ---------------------------------------------------------------------------
// New line

interface LineValues extends Record<string, unknown> {
  username: string;
  password: string;
  plan_id: string;
  max_connections: number | '' | null;
  exp_date: string;
  is_trial: boolean;
  allowed_outputs: Output[];
  bouquets: number[];
  notes: string;
  message: string;
}

interface LineDefaults {
  max_connections: number;
  allowed_outputs: Output[];
  trial_hours: number;
}

/** Loads the plans and the settings' defaults for new lines, then shows the form. */
function NewLine({ bouquets, onClose, onCreated }: { bouquets: Ref[] | null; onClose: () => void; onCreated: (l: Line) => void }) {
  const [plans, setPlans] = useState<Plan[] | null>(null);
  const [defaults, setDefaults] = useState<LineDefaults | null>(null);
  useEffect(() => {
    get<Page<Plan>>('/plans', { page_size: 1000, sort: 'name' })
      .then((p) => setPlans(p.items))
      .catch(() => setPlans([]));
    // What a line gets when the form leaves a field alone (settings page).
    get<Record<string, unknown>>('/settings')
      .then((st) =>
        setDefaults({
          max_connections: typeof st.default_max_connections === 'number' ? st.default_max_connections : 1,
          allowed_outputs: Array.isArray(st.default_outputs) ? (st.default_outputs as Output[]) : ['ts', 'm3u8'],
          trial_hours: typeof st.trial_hours === 'number' ? st.trial_hours : 0,
        }),
      )
      .catch(() => setDefaults({ max_connections: 1, allowed_outputs: ['ts', 'm3u8'], trial_hours: 0 }));
  }, []);
  return (
    <Modal open title="New line" onClose={onClose} size="wide">
      {plans && defaults ? (
        <NewLineForm plans={plans} defaults={defaults} bouquets={bouquets} onClose={onClose} onCreated={onCreated} />
      ) : (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      )}
    </Modal>
  );
}

function NewLineForm({ plans, defaults, bouquets, onClose, onCreated }: { plans: Plan[]; defaults: LineDefaults; bouquets: Ref[] | null; onClose: () => void; onCreated: (l: Line) => void }) {
  const form = useForm<LineValues>({
    username: '',
    password: '',
    plan_id: '',
    max_connections: defaults.max_connections,
    exp_date: '',
    is_trial: false,
    allowed_outputs: defaults.allowed_outputs,
    bouquets: [],
    notes: '',
    message: '',
  });
  const v = form.values;
  const plan = plans.find((p) => String(p.id) === v.plan_id);
  // Shown by the pickers (so that the form's alert does not repeat them).
  form.shown.add('allowed_outputs');
  form.shown.add('bouquets');
  const submit = async (vals: LineValues) => {
    const body: Record<string, unknown> = { username: vals.username.trim() };
    if (vals.password) body.password = vals.password;
    if (vals.notes) body.notes = vals.notes;
    if (vals.message) body.message = vals.message;
    if (plan) {
      body.plan_id = plan.id;
    } else {
      if (vals.max_connections !== '' && vals.max_connections !== null) body.max_connections = vals.max_connections;
      // Left empty: never, or for a trial line the trial length of the settings.
      if (vals.exp_date) body.exp_date = vals.exp_date;
      body.is_trial = vals.is_trial;
      body.allowed_outputs = vals.allowed_outputs;
      body.bouquets = vals.bouquets;
    }
    const l = await api<Line>('POST', '/lines', body);
    toast(vals.password ? `Line ${l.username} created` : `Line ${l.username} created (password ${l.password})`);
    onCreated(l);
  };
  return (
    <Form
      form={form}
      onSubmit={submit}
      submitLabel="Create line"
      label="New line"
      class="wide-form"
      actions={
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      }
    >
      <div class="pair">
        <Field form={form} name="username" label="Username" required autoComplete="off" hint="Letters, digits and . _ @ - (players put it in URLs)." />
        <Field form={form} name="password" label="Password" autoComplete="new-password" hint="Empty: a random one is generated." />
      </div>
      <Field
        form={form}
        name="plan_id"
        label="Plan"
        type="select"
        options={[{ value: '', label: 'None: set the fields by hand' }, ...plans.map((p) => ({ value: String(p.id), label: `${p.name} (${planDuration(p)})` }))]}
      />
      {plan ? (
        <p class="alert alert-info" data-plan-summary>
          From the plan: {planDuration(plan)}, {plan.max_connections || 'unlimited'} connection{plan.max_connections === 1 ? '' : 's'},{' '}
          {plan.allowed_outputs.join(' + ')}, bouquets {plan.bouquets.length ? plan.bouquets.map((b) => b.name).join(', ') : 'all'}
          {plan.is_trial ? ', trial' : ''}.
        </p>
      ) : (
        <>
          <div class="pair">
            <Field form={form} name="max_connections" label="Connection limit" type="number" min={0} hint="0 = unlimited." />
            <Field form={form} name="exp_date" label="Expires" type="date" hint={v.is_trial && defaults.trial_hours ? `Empty: in ${defaults.trial_hours} hours (the trial length).` : 'Empty: never.'} />
          </div>
          <Field form={form} name="is_trial" label="Trial line" type="checkbox" />
          <OutputsPicker value={v.allowed_outputs} onChange={(o) => form.set('allowed_outputs', o)} error={form.fieldError('allowed_outputs')} />
          <BouquetPicker all={bouquets} value={v.bouquets} onChange={(b) => form.set('bouquets', b)} error={form.fieldError('bouquets')} />
        </>
      )}
      <Field form={form} name="notes" label="Notes" type="textarea" hint="For the operator (searched by the list's search box)." />
      <Field form={form} name="message" label="Message to the player" hint="Shown by players that display the account message." />
    </Form>
  );
}

// ---------------------------------------------------------------------------
// One line

function LineDetail({ id, me }: { id: number; me: PageProps['me'] }) {
  const [line, setLine] = useState<Line | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState('details');
  const [extending, setExtending] = useState(false);
  const write = canWrite(me);
  const reseller = isReseller(me);

  const load = async () => {
    try {
      const a = await call<Line>('GET', `/lines/${id}`);
      setLine(a.data);
      setEtag(a.etag);
      setError(null);
    } catch (e) {
      setError(errText(e));
    }
  };
  useEffect(() => {
    void load();
  }, [id]);

  if (error)
    return (
      <section class="page">
        <PageHeader title="Line" />
        <div class="alert alert-error" role="alert">
          {error}
        </div>
        <a href={href('lines')}>Back to the lines</a>
      </section>
    );
  if (!line)
    return (
      <section class="page" aria-busy="true">
        <PageHeader title="Line" />
        <p class="muted">Loading…</p>
      </section>
    );

  /** A one-click change (enable, ban); true when it was made. */
  const patch = async (body: Record<string, unknown>, done: string): Promise<boolean> => {
    try {
      const a = await call<Line>('PATCH', `/lines/${id}`, body, { ifMatch: etag ?? undefined });
      setLine(a.data);
      setEtag(a.etag);
      toast(done);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        toast('The line was changed meanwhile: reloaded, try again', 'error');
        void load();
      } else toast(errText(e), 'error');
      return false;
    }
  };
  const toggleEnabled = async () => {
    if (line.enabled && !(await confirm({ title: 'Disable line', message: `Disable ${line.username}? What it is watching is cut, and its players are refused from then on.`, confirmLabel: 'Disable', danger: true }))) return;
    // The server cuts what a disabled or banned line is watching (next catalogue snapshot).
    await patch({ enabled: !line.enabled }, line.enabled ? 'Line disabled' : 'Line enabled');
  };
  const toggleBan = async () => {
    if (!line.banned && !(await confirm({ title: 'Ban line', message: `Ban ${line.username}? What it is watching is cut, and it is refused everywhere until unbanned.`, confirmLabel: 'Ban', danger: true }))) return;
    await patch({ banned: !line.banned }, line.banned ? 'Ban lifted' : 'Line banned');
  };
  const remove = async () => {
    if (!(await confirm({ title: 'Delete line', message: `Delete ${line.username} for good? This cannot be undone.`, confirmLabel: 'Delete', danger: true }))) return;
    try {
      await call('DELETE', `/lines/${id}`, undefined, { ifMatch: etag ?? undefined });
      toast(`Line ${line.username} deleted`);
      navigate('/lines');
    } catch (e) {
      toast(errText(e), 'error');
    }
  };

  return (
    <section class="page">
      <PageHeader
        title={`Line ${line.username}`}
        actions={
          write && (
            <>
              <button type="button" onClick={() => setExtending(true)} disabled={!line.exp_date_epoch && !reseller} data-action="extend" title={line.exp_date_epoch ? undefined : 'The line never expires: set an expiry date instead'}>
                Extend…
              </button>
              <button type="button" onClick={() => void toggleEnabled()} data-action="toggle-enabled">
                {line.enabled ? 'Disable' : 'Enable'}
              </button>
              {!reseller && (
                <button type="button" class={line.banned ? '' : 'danger'} onClick={() => void toggleBan()} data-action="toggle-ban">
                  {line.banned ? 'Unban' : 'Ban'}
                </button>
              )}
              <button type="button" class="danger" onClick={() => void remove()} data-action="delete">
                Delete
              </button>
            </>
          )
        }
      >
        <StatusBadge status={line.status} /> · expires <Expiry line={line} /> · {line.max_connections ? `up to ${line.max_connections}` : 'unlimited'} connection{line.max_connections === 1 ? '' : 's'}
      </PageHeader>
      <p>
        <a href={href('lines')}>← All lines</a>
      </p>
      <Tabs
        label="Line"
        active={tab}
        onChange={setTab}
        tabs={[
          { id: 'details', label: 'Details' },
          // The sessions list is an operator's page (a reseller has no /sessions).
          ...(reseller ? [] : [{ id: 'connections', label: 'Connections' }]),
          { id: 'playlist', label: 'Playlist & login' },
          { id: 'access', label: 'Access' },
        ]}
      >
        {tab === 'details' && (
          <LineEditor
            key={etag ?? ''}
            line={line}
            readOnly={!write}
            billing={reseller}
            onSave={async (body) => {
              const a = await call<Line>('PATCH', `/lines/${id}`, body, { ifMatch: etag ?? undefined });
              setLine(a.data);
              setEtag(a.etag);
              toast('Line saved');
            }}
            onStale={() => void load()}
          />
        )}
        {tab === 'connections' && <SessionTable filters={{ line_id: id }} label={`Connections of ${line.username}`} />}
        {tab === 'playlist' && <PlaylistInfo line={line} />}
        {tab === 'access' && <LineAccess lineId={id} readOnly={!write} />}
      </Tabs>
      {extending && reseller && (
        <ExtendByPlan
          line={line}
          onClose={() => setExtending(false)}
          onDone={(l, t) => {
            setExtending(false);
            setLine(l);
            setEtag(t);
            toast(`Extended until ${fmt.date(l.exp_date)}`);
          }}
        />
      )}
      {extending && !reseller && (
        <ExtendDialog
          line={line}
          etag={etag}
          onClose={() => setExtending(false)}
          onDone={(l, t) => {
            setExtending(false);
            setLine(l);
            setEtag(t);
            toast(`Extended until ${fmt.date(l.exp_date)}`);
          }}
        />
      )}
    </section>
  );
}

interface EditValues extends Record<string, unknown> {
  password: string;
  max_connections: number | '' | null;
  exp_date: string;
  is_trial: boolean;
  enabled: boolean;
  banned: boolean;
  allowed_outputs: Output[];
  bouquets: number[];
  notes: string;
  message: string;
}

/** billing: a reseller's view — what is paid for (expiry, limit, outputs, bouquets, trial) is read-only. */
function LineEditor({ line, readOnly, billing, onSave, onStale }: { line: Line; readOnly: boolean; billing?: boolean; onSave: (body: Record<string, unknown>) => Promise<void>; onStale: () => void }) {
  const bouquets = useBouquets();
  const initial: EditValues = {
    password: line.password,
    max_connections: line.max_connections,
    exp_date: dateInput(line.exp_date),
    is_trial: line.is_trial,
    enabled: line.enabled,
    banned: line.banned,
    allowed_outputs: line.allowed_outputs,
    bouquets: line.bouquets.map((b) => b.id),
    notes: line.notes,
    message: line.message,
  };
  const form = useForm<EditValues>(initial);
  const v = form.values;
  // The picker lists the catalogue's bouquets; one the line has that the
  // list lacks (it cannot: ids are checked) would still be kept in order.
  const submit = async (vals: EditValues) => {
    // A merge patch of what changed only: untouched members stay as they are.
    const body: Record<string, unknown> = {};
    if (vals.password !== initial.password) body.password = vals.password;
    if (vals.max_connections !== initial.max_connections) body.max_connections = vals.max_connections === '' ? null : vals.max_connections;
    if (vals.exp_date !== initial.exp_date) body.exp_date = vals.exp_date || null;
    for (const k of ['is_trial', 'enabled', 'banned', 'notes', 'message'] as const) if (vals[k] !== initial[k]) body[k] = vals[k];
    if (vals.allowed_outputs.join() !== initial.allowed_outputs.join()) body.allowed_outputs = vals.allowed_outputs;
    if (vals.bouquets.join() !== initial.bouquets.join()) body.bouquets = vals.bouquets;
    if (Object.keys(body).length === 0) {
      toast('Nothing changed', 'info');
      return;
    }
    try {
      await onSave(body);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        onStale();
        throw new Error('The line was changed meanwhile (by someone else or another tab): it was reloaded; make your change again.');
      }
      throw e;
    }
  };
  form.shown.add('allowed_outputs');
  form.shown.add('bouquets');
  return (
    <Form form={form} onSubmit={submit} submitLabel="Save changes" label={`Edit line ${line.username}`} class="wide-form">
      <fieldset disabled={readOnly}>
        <div class="pair">
          <div class="field">
            <label for="line-username">Username</label>
            <input id="line-username" type="text" readOnly value={line.username} />
            <div class="hint">Usernames do not change.</div>
          </div>
          <Field form={form} name="password" label="Password" autoComplete="off" />
          <Field form={form} name="max_connections" label="Connection limit" type="number" min={0} hint="0 = unlimited." disabled={billing} />
          <Field form={form} name="exp_date" label="Expires" type="date" hint={billing ? 'Extend… with a plan.' : 'Empty: never.'} disabled={billing} />
        </div>
        <div class="checks">
          <Field form={form} name="enabled" label="Enabled" type="checkbox" />
          {!billing && <Field form={form} name="banned" label="Banned" type="checkbox" />}
          <Field form={form} name="is_trial" label="Trial line" type="checkbox" disabled={billing} />
        </div>
        <OutputsPicker value={v.allowed_outputs} onChange={(o) => form.set('allowed_outputs', o)} error={form.fieldError('allowed_outputs')} disabled={billing} />
        {!billing && <BouquetPicker all={bouquets} value={v.bouquets} onChange={(b) => form.set('bouquets', b)} error={form.fieldError('bouquets')} />}
        <Field form={form} name="notes" label="Notes" type="textarea" />
        <Field form={form} name="message" label="Message to the player" />
      </fieldset>
      <p class="muted">
        Created {fmt.dateTime(line.created_at)} · changed {fmt.dateTime(line.updated_at)}
      </p>
    </Form>
  );
}

function ExtendDialog({ line, etag, onClose, onDone }: { line: Line; etag: string | null; onClose: () => void; onDone: (l: Line, etag: string | null) => void }) {
  const form = useForm<{ mode: string; amount: number | ''; until: string }>({ mode: 'months', amount: 1, until: '' });
  const v = form.values;
  const submit = async () => {
    const body = v.mode === 'until' ? { until: v.until } : { [v.mode]: v.amount === '' ? 0 : v.amount };
    const a = await call<Line>('POST', `/lines/${line.id}/extend`, body, { ifMatch: etag ?? undefined });
    onDone(a.data, a.etag);
  };
  form.shown.add('days');
  form.shown.add('months');
  const from = line.exp_date_epoch && line.exp_date_epoch * 1000 > Date.now() ? `its expiry (${fmt.date(line.exp_date)})` : 'today (it has expired)';
  return (
    <Modal open title={`Extend ${line.username}`} onClose={onClose}>
      <Form
        form={form}
        onSubmit={submit}
        submitLabel="Extend"
        label="Extend the line"
        actions={
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        }
      >
        <p>Counted from {from}.</p>
        <Field
          form={form}
          name="mode"
          label="By"
          type="select"
          options={[
            { value: 'months', label: 'months' },
            { value: 'days', label: 'days' },
            { value: 'until', label: 'until a date' },
          ]}
        />
        {v.mode === 'until' ? <Field form={form} name="until" label="Until" type="date" required /> : <Field form={form} name="amount" label={v.mode === 'days' ? 'Days' : 'Months'} type="number" min={1} required />}
        {/* The API names days / months: show its message under the amount. */}
        {form.fieldError('days') || form.fieldError('months') ? (
          <div class="field-error" role="alert">
            {form.fieldError('days') ?? form.fieldError('months')}
          </div>
        ) : null}
      </Form>
    </Modal>
  );
}

// ---------------------------------------------------------------------------
// Playlist URL and Xtream login

function CopyField({ label, value, name }: { label: string; value: string; name: string }) {
  const [id] = useState(() => `copy-${name}`);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      toast(`${label} copied`);
    } catch {
      // No clipboard permission (plain http on another host): select it for Ctrl+C.
      const el = document.getElementById(id) as HTMLInputElement | null;
      el?.focus();
      el?.select();
      toast('Copy failed: the text is selected, press Ctrl+C', 'error');
    }
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} type="text" readOnly value={value} data-copy={name} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        <button type="button" onClick={() => void copy()} aria-label={`Copy ${label}`}>
          Copy
        </button>
      </div>
    </div>
  );
}

function PlaylistInfo({ line }: { line: Line }) {
  const [base, setBase] = useState<string | null>(null);
  useEffect(() => {
    // The URL players use: the operator's public_url setting, else this
    // panel's own origin (the same server answers the client API).
    get<Record<string, unknown>>('/settings')
      .then((s) => setBase(typeof s.public_url === 'string' && s.public_url ? s.public_url.replace(/\/+$/, '') : location.origin))
      .catch(() => setBase(location.origin));
  }, []);
  if (base === null) return <p class="muted">Loading…</p>;
  const u = encodeURIComponent(line.username);
  const p = encodeURIComponent(line.password);
  const output = line.allowed_outputs.includes('ts') ? 'ts' : 'm3u8';
  const m3u = `${base}/get.php?username=${u}&password=${p}&type=m3u_plus&output=${output}`;
  const epg = `${base}/xmltv.php?username=${u}&password=${p}`;
  const parts: ComponentChildren = (
    <>
      <h2>Xtream Codes login</h2>
      <p class="muted">For TiviMate, IPTV Smarters, Kodi and other players that ask for a server, a username and a password.</p>
      <div class="pair">
        <CopyField label="Server URL" value={base} name="server" />
        <CopyField label="Username" value={line.username} name="username" />
        <CopyField label="Password" value={line.password} name="password" />
      </div>
      <h2>Playlist</h2>
      <CopyField label="M3U playlist URL" value={m3u} name="m3u" />
      <CopyField label="Guide (XMLTV) URL" value={epg} name="xmltv" />
    </>
  );
  return <div class="playlist-info">{parts}</div>;
}
