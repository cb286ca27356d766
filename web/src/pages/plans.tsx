// Plans (#/plans): templates for new lines — a duration (days, calendar
// months, or trial hours; none: never expires), a connection limit, outputs,
// bouquets and the trial flag. Create, edit (PATCH with If-Match) and delete
// in a dialog; lines made from a plan keep what they got when it changes.
import { useState } from 'preact/hooks';
import { useEffect } from 'preact/hooks';
import { api, call, get, ApiError, type Page } from '../api';
import { Badge, DataTable, Field, Form, Modal, PageHeader, confirm, fmt, toast, useForm, type Column } from '../ui';
import type { PageProps } from '../main';
import { BouquetPicker, OutputsPicker, planDuration, useBouquets, type Output, type Plan } from './lines';

type Unit = 'never' | 'days' | 'months' | 'hours';

interface PlanValues extends Record<string, unknown> {
  name: string;
  unit: Unit;
  amount: number | '' | null;
  max_connections: number | '' | null;
  is_trial: boolean;
  allowed_outputs: Output[];
  bouquets: number[];
  /** Credits as typed ("5", "2.5"; empty: 0). */
  credit_price: string;
  trial_price: string;
  reseller_group_ids: number[];
}

interface GroupRef {
  id: number;
  name: string;
}

/** Every reseller group (for the "may sell it" boxes); [] without the right. */
function useResellerGroups(): GroupRef[] | null {
  const [list, setList] = useState<GroupRef[] | null>(null);
  useEffect(() => {
    get<Page<GroupRef>>('/reseller-groups', { page_size: 500 })
      .then((p) => setList(p.items))
      .catch(() => setList([]));
  }, []);
  return list;
}

function valuesOf(p: Plan | null): PlanValues {
  if (!p) return { name: '', unit: 'months', amount: 1, max_connections: 1, is_trial: false, allowed_outputs: ['ts', 'm3u8'], bouquets: [], credit_price: '', trial_price: '', reseller_group_ids: [] };
  const unit: Unit = p.duration_months ? 'months' : p.duration_days ? 'days' : p.trial_hours ? 'hours' : 'never';
  return {
    name: p.name,
    unit,
    amount: p.duration_months ?? p.duration_days ?? p.trial_hours ?? '',
    max_connections: p.max_connections,
    is_trial: p.is_trial,
    allowed_outputs: p.allowed_outputs,
    bouquets: p.bouquets.map((b) => b.id),
    credit_price: p.credit_price ?? '',
    trial_price: p.trial_price ?? '',
    reseller_group_ids: p.reseller_group_ids ?? [],
  };
}

const UNIT_FIELD: Record<Exclude<Unit, 'never'>, string> = { days: 'duration_days', months: 'duration_months', hours: 'trial_hours' };

/** The plan body of the form (a create, or the whole editable state for a patch). */
function bodyOf(v: PlanValues, was?: Plan | null): Record<string, unknown> {
  const amount = v.amount === '' ? null : v.amount;
  const body: Record<string, unknown> = {
    name: v.name.trim(),
    max_connections: v.max_connections === '' ? null : v.max_connections,
    is_trial: v.is_trial,
    allowed_outputs: v.allowed_outputs,
    bouquets: v.bouquets,
  };
  // The reseller members only when set (or cleared: a price back to 0, no
  // groups). Prices go as typed: the server reads exact decimals, never floats.
  for (const k of ['credit_price', 'trial_price'] as const) if (v[k].trim() || was?.[k]) body[k] = v[k].trim() || '0';
  if (v.reseller_group_ids.length || was?.reseller_group_ids?.length) body.reseller_group_ids = v.reseller_group_ids;
  if (v.unit !== 'never') body[UNIT_FIELD[v.unit]] = amount;
  return body;
}

function PlanEditor({ plan, etag, onClose, onSaved }: { plan: Plan | null; etag: string | null; onClose: () => void; onSaved: () => void }) {
  const bouquets = useBouquets();
  const groups = useResellerGroups();
  const form = useForm<PlanValues>(valuesOf(plan));
  const v = form.values;
  form.shown.add('allowed_outputs');
  form.shown.add('bouquets');
  form.shown.add('reseller_group_ids');
  for (const f of Object.values(UNIT_FIELD)) form.shown.add(f);
  const submit = async (vals: PlanValues) => {
    const body = bodyOf(vals, plan);
    if (plan) {
      // A patch: one duration given replaces the plan's; "never" clears them all.
      if (vals.unit === 'never') Object.assign(body, { duration_days: null, duration_months: null, trial_hours: null });
      await call<Plan>('PATCH', `/plans/${plan.id}`, body, { ifMatch: etag ?? undefined });
      toast(`Plan ${body.name} saved`);
    } else {
      await api<Plan>('POST', '/plans', body);
      toast(`Plan ${body.name} created`);
    }
    onSaved();
  };
  const durErr = v.unit !== 'never' ? form.fieldError(UNIT_FIELD[v.unit]) : undefined;
  return (
    <Modal open title={plan ? `Edit plan ${plan.name}` : 'New plan'} onClose={onClose} size="wide">
      <Form
        form={form}
        onSubmit={submit}
        submitLabel={plan ? 'Save plan' : 'Create plan'}
        label={plan ? 'Edit plan' : 'New plan'}
        class="wide-form"
        actions={
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        }
      >
        <Field form={form} name="name" label="Name" required />
        <div class="pair">
          <Field
            form={form}
            name="unit"
            label="Duration"
            type="select"
            options={[
              { value: 'months', label: 'calendar months' },
              { value: 'days', label: 'days' },
              { value: 'hours', label: 'hours (trial plans)' },
              { value: 'never', label: 'never expires' },
            ]}
          />
          {v.unit !== 'never' && <Field form={form} name="amount" label={`Number of ${v.unit}`} type="number" min={1} required />}
        </div>
        {durErr && (
          <div class="field-error" role="alert" data-field-error="duration">
            {durErr}
          </div>
        )}
        <Field form={form} name="max_connections" label="Connection limit" type="number" min={0} hint="0 = unlimited." />
        <Field form={form} name="is_trial" label="Trial plan (its lines are trial lines)" type="checkbox" />
        <OutputsPicker value={v.allowed_outputs} onChange={(o) => form.set('allowed_outputs', o)} error={form.fieldError('allowed_outputs')} />
        <BouquetPicker all={bouquets} value={v.bouquets} onChange={(b) => form.set('bouquets', b)} error={form.fieldError('bouquets')} />
        <div class="pair">
          <Field form={form} name="credit_price" label="Credit price (resellers)" placeholder="0" hint="Credits a reseller pays per line or extension (up to 4 decimals)." />
          <Field form={form} name="trial_price" label="Trial price (resellers)" placeholder="0" hint="Credits for a trial line from this plan." />
        </div>
        <BouquetPicker legend="Reseller groups that may sell it" empty="No reseller groups yet (Reseller groups page)." all={groups} value={v.reseller_group_ids} onChange={(g) => form.set('reseller_group_ids', g)} error={form.fieldError('reseller_group_ids')} />
      </Form>
    </Modal>
  );
}

export function Plans({ me }: PageProps) {
  const [editing, setEditing] = useState<{ plan: Plan | null; etag: string | null } | null>(null);
  const [reload, setReload] = useState(0);
  const groups = useResellerGroups();
  const write = me.scopes.includes('lines:write') || me.scopes.includes('admin');
  const open = async (p: Plan) => {
    try {
      const a = await call<Plan>('GET', `/plans/${p.id}`);
      setEditing({ plan: a.data, etag: a.etag });
    } catch (e) {
      toast(e instanceof ApiError ? e.userMessage : String(e), 'error');
    }
  };
  const remove = async (p: Plan) => {
    if (!(await confirm({ title: 'Delete plan', message: `Delete the plan ${p.name}? Lines made from it keep their settings.`, confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api('DELETE', `/plans/${p.id}`);
      toast(`Plan ${p.name} deleted`);
      setReload((r) => r + 1);
    } catch (e) {
      toast(e instanceof ApiError ? e.userMessage : String(e), 'error');
    }
  };
  const columns: Column<Plan>[] = [
    { key: 'name', title: 'Name', sort: 'name' },
    { key: 'duration', title: 'Duration', render: (p) => planDuration(p) },
    { key: 'max_connections', title: 'Connections', sort: 'max_connections', class: 'num', render: (p) => (p.max_connections ? String(p.max_connections) : 'unlimited') },
    { key: 'allowed_outputs', title: 'Outputs', render: (p) => p.allowed_outputs.join(' + ') },
    { key: 'bouquets', title: 'Bouquets', render: (p) => (p.bouquets.length ? p.bouquets.map((b) => b.name).join(', ') : <span class="muted">all</span>) },
    { key: 'is_trial', title: 'Trial', render: (p) => (p.is_trial ? <Badge tone="info">trial</Badge> : '') },
    { key: 'credit_price', title: 'Price', class: 'num', render: (p) => p.credit_price ?? <span class="muted">–</span> },
    { key: 'trial_price', title: 'Trial price', class: 'num', render: (p) => p.trial_price ?? <span class="muted">–</span> },
    { key: 'reseller_group_ids', title: 'Sold by', render: (p) => (p.reseller_group_ids?.length ? p.reseller_group_ids.map((id) => groups?.find((g) => g.id === id)?.name ?? `#${id}`).join(', ') : <span class="muted">admins only</span>) },
    { key: 'updated_at', title: 'Changed', sort: 'updated_at', render: (p) => fmt.date(p.updated_at) },
  ];
  return (
    <section class="page">
      <PageHeader
        title="Plans"
        actions={
          write && (
            <button type="button" class="primary" onClick={() => setEditing({ plan: null, etag: null })}>
              New plan
            </button>
          )
        }
      >
        Templates for new lines: duration, connection limit, outputs and bouquets.
      </PageHeader>
      <DataTable<Plan>
        path="/plans"
        label="Plans"
        columns={columns}
        search="Search plan names"
        defaultSort="name"
        reloadKey={reload}
        liveEntities={['plan']}
        empty="No plans yet."
        rowActions={(p) =>
          write && (
            <>
              <button type="button" class="small" onClick={() => void open(p)} aria-label={`Edit plan ${p.name}`}>
                Edit
              </button>
              <button type="button" class="small danger" onClick={() => void remove(p)} aria-label={`Delete plan ${p.name}`}>
                Delete
              </button>
            </>
          )
        }
      />
      {editing && (
        <PlanEditor
          plan={editing.plan}
          etag={editing.etag}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            setReload((r) => r + 1);
          }}
        />
      )}
    </section>
  );
}
