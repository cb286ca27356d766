// What a reseller does with lines (the lines pages and #/reseller use these):
// a new line FROM A PLAN it may sell (its price, or the trial price with
// "Trial", and the balance after, computed in integer units: credits.ts), and
// an extension by a plan. Both are spending requests: spend() sends one
// Idempotency-Key per submission. INSUFFICIENT_CREDITS and TRIAL_LIMIT are
// shown in the form's alert, next to the button that caused them.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, type Me, type Page } from '../api';
import { balanceAfter, creditError, spend, type SpendSlot } from '../credits';
import { Field, Form, Modal, toast, useForm } from '../ui';
import { planDuration, type Line, type Plan } from './lines';

/** The caller's balance now (GET /auth/me); reload() after a spend. */
export function useBalance(): { balance: string | null; me: Me | null; reload: () => void } {
  const [me, setMe] = useState<Me | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    get<Me>('/auth/me')
      .then(setMe)
      .catch(() => setMe(null));
  }, [tick]);
  return { balance: me?.reseller?.balance ?? null, me, reload: () => setTick((t) => t + 1) };
}

/** The plans the caller may sell (the server lists only those to a reseller). */
function usePlans(): Plan[] | null {
  const [plans, setPlans] = useState<Plan[] | null>(null);
  useEffect(() => {
    get<Page<Plan>>('/plans', { page_size: 1000, sort: 'name' })
      .then((p) => setPlans(p.items))
      .catch(() => setPlans([]));
  }, []);
  return plans;
}

/** Rethrows a credit refusal with the words the user should read. */
function explain(e: unknown): never {
  const m = creditError(e);
  if (m) throw new Error(m);
  throw e;
}

/** "Price 5.0000 · balance 20.0000 → 15.0000 after", with a warning below 0. */
function PriceLine({ price, balance, what }: { price: string | null | undefined; balance: string | null; what: string }) {
  if (!price) return null;
  const after = balanceAfter(balance, price);
  const short = after !== null && after.startsWith('-');
  return (
    <p class={`alert ${short ? 'alert-error' : 'alert-info'}`} data-price>
      {what}: <strong data-price-value>{price}</strong> credits · balance <span data-balance>{balance ?? '…'}</span>
      {after !== null && (
        <>
          {' '}
          → <strong data-balance-after>{after}</strong> after
        </>
      )}
      {short && ' — not enough credits.'}
    </p>
  );
}

interface NewValues extends Record<string, unknown> {
  username: string;
  password: string;
  plan_id: string;
  trial: boolean;
  notes: string;
}

/** "New line" for a reseller: from a plan, charged. */
export function ResellerNewLine({ onClose, onCreated }: { onClose: () => void; onCreated: (l: Line) => void }) {
  const plans = usePlans();
  const { balance, me, reload } = useBalance();
  const slot = useRef<SpendSlot>({}).current;
  const form = useForm<NewValues>({ username: '', password: '', plan_id: '', trial: false, notes: '' });
  const v = form.values;
  const plan = plans?.find((p) => String(p.id) === v.plan_id) ?? (plans?.length === 1 ? plans[0] : undefined);
  // Trials: when the group allows any (the server counts them per period).
  const canTrial = !!plan && !!me?.reseller?.trial_limit;
  const trial = canTrial && v.trial;
  const prefix = me?.reseller?.username_prefix ?? '';
  const submit = async (vals: NewValues) => {
    if (!plan) throw new Error('Choose a plan.');
    const body: Record<string, unknown> = { username: vals.username.trim(), plan_id: plan.id };
    if (vals.password) body.password = vals.password;
    if (trial) body.trial = true;
    if (vals.notes) body.notes = vals.notes;
    try {
      const a = await spend<Line>(slot, 'POST', '/lines', body);
      const l = a.data;
      toast(vals.password ? `Line ${l.username} created` : `Line ${l.username} created (password ${l.password})`);
      onCreated(l);
    } catch (e) {
      reload();
      explain(e);
    }
  };
  form.shown.add('plan_id');
  form.shown.add('trial');
  return (
    <Modal open title="New line" onClose={onClose} size="wide">
      {plans === null ? (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      ) : plans.length === 0 ? (
        <p class="alert alert-info">No plan is for sale to your group yet: ask your provider.</p>
      ) : (
        <Form
          form={form}
          onSubmit={submit}
          submitLabel={plan ? `Create line (${trial ? plan.trial_price : plan.credit_price} credits)` : 'Create line'}
          label="New line"
          class="wide-form"
          actions={
            <button type="button" onClick={onClose}>
              Cancel
            </button>
          }
        >
          <div class="pair">
            <Field
              form={form}
              name="username"
              label="Username"
              required
              autoComplete="off"
              hint={prefix ? `Starts with ${prefix} (added when missing).` : 'Letters, digits and . _ @ -'}
            />
            <Field form={form} name="password" label="Password" autoComplete="new-password" hint="Empty: a random one is generated." />
          </div>
          <Field
            form={form}
            name="plan_id"
            label="Plan"
            type="select"
            options={[
              ...(plans.length > 1 ? [{ value: '', label: 'Choose a plan…' }] : []),
              ...plans.map((p) => ({ value: String(p.id), label: `${p.name} — ${planDuration(p)} — ${p.credit_price} credits` })),
            ]}
          />
          {form.fieldError('plan_id') && (
            <div class="field-error" data-field-error="plan_id">
              {form.fieldError('plan_id')}
            </div>
          )}
          {canTrial && (
            <Field
              form={form}
              name="trial"
              label={`Trial line for ${plan.trial_price} credits`}
              type="checkbox"
              hint={`Your group may make ${me?.reseller?.trial_limit} per ${me?.reseller?.trial_period_hours ?? 24} hours.`}
            />
          )}
          {plan && <PriceLine price={trial ? plan.trial_price : plan.credit_price} balance={balance} what={trial ? 'Trial price' : 'Price'} />}
          <Field form={form} name="notes" label="Notes" type="textarea" />
        </Form>
      )}
    </Modal>
  );
}

/** "Extend…" for a reseller: by one plan's duration, charged its price. */
export function ExtendByPlan({ line, onClose, onDone }: { line: Line; onClose: () => void; onDone: (l: Line, etag: string | null) => void }) {
  const plans = usePlans();
  const { balance } = useBalance();
  const slot = useRef<SpendSlot>({}).current;
  const form = useForm<{ plan_id: string }>({ plan_id: '' });
  const plan = plans?.find((p) => String(p.id) === form.values.plan_id) ?? plans?.[0];
  form.shown.add('plan_id');
  const submit = async () => {
    if (!plan) throw new Error('Choose a plan.');
    try {
      const a = await spend<Line>(slot, 'POST', `/lines/${line.id}/extend`, { plan_id: plan.id });
      onDone(a.data, a.etag);
    } catch (e) {
      explain(e);
    }
  };
  return (
    <Modal open title={`Extend ${line.username}`} onClose={onClose}>
      {plans === null ? (
        <p class="muted">Loading…</p>
      ) : (
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
          <Field form={form} name="plan_id" label="By the plan" type="select" options={plans.map((p) => ({ value: String(p.id), label: `${p.name} — ${planDuration(p)} — ${p.credit_price} credits` }))} />
          {plan && <PriceLine price={plan.credit_price} balance={balance} what="Price" />}
        </Form>
      )}
    </Modal>
  );
}
