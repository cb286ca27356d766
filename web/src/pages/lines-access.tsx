// A line's access rules (the "Access" tab of #/lines/12): GET/PATCH
// /lines/{id}/access — allowed addresses (IPs or CIDR), the first-IP lock,
// a daily address cap, user-agent and country allow/deny lists — and POST
// /lines/{id}/access/reset (forget the first IP, the attack flag and today's
// addresses). Lists are edited one entry per line; the API names a bad
// entry by its index (allowed_ips[1]), shown under its box.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Badge, Field, Form, confirm, fmt, toast, useForm } from '../ui';

interface Access {
  line_id: number;
  is_mag: boolean;
  allowed_ips: string[];
  lock_first_ip: boolean;
  first_ip: string | null;
  max_daily_ips: number;
  allowed_user_agents: string[];
  denied_user_agents: string[];
  allowed_countries: string[];
  denied_countries: string[];
  attack_flagged_at: string | null;
}

const LISTS = ['allowed_ips', 'allowed_user_agents', 'denied_user_agents', 'allowed_countries', 'denied_countries'] as const;
type ListKey = (typeof LISTS)[number];

interface AccessValues extends Record<string, unknown> {
  allowed_ips: string;
  allowed_user_agents: string;
  denied_user_agents: string;
  allowed_countries: string;
  denied_countries: string;
  lock_first_ip: boolean;
  max_daily_ips: number | '' | null;
  is_mag: boolean;
}

function valuesOf(a: Access): AccessValues {
  return {
    allowed_ips: a.allowed_ips.join('\n'),
    allowed_user_agents: a.allowed_user_agents.join('\n'),
    denied_user_agents: a.denied_user_agents.join('\n'),
    allowed_countries: a.allowed_countries.join('\n'),
    denied_countries: a.denied_countries.join('\n'),
    lock_first_ip: a.lock_first_ip,
    max_daily_ips: a.max_daily_ips,
    is_mag: a.is_mag,
  };
}

/** One entry per line, blank lines dropped (entries keep their order: errors name the index). */
const entries = (text: string) =>
  text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

function AccessForm({ lineId, access, readOnly, onSaved }: { lineId: number; access: Access; readOnly: boolean; onSaved: (a: Access) => void }) {
  const form = useForm<AccessValues>(valuesOf(access));
  const submit = async (v: AccessValues) => {
    const body: Record<string, unknown> = { lock_first_ip: v.lock_first_ip, is_mag: v.is_mag, max_daily_ips: v.max_daily_ips === '' || v.max_daily_ips === null ? 0 : v.max_daily_ips };
    for (const k of LISTS) body[k] = entries(v[k] as string);
    const a = await api<Access>('PATCH', `/lines/${lineId}/access`, body);
    toast('Access rules saved');
    onSaved(a);
  };
  const list = (name: ListKey, label: string, hint: string) => <Field form={form} name={name} label={label} type="textarea" rows={2} hint={hint} disabled={readOnly} />;
  return (
    <Form form={form} onSubmit={submit} submitLabel="Save access rules" label="Access rules" class="wide-form">
      <div class="pair pair-wide">
        {list('allowed_ips', 'Allowed addresses', 'One IP or CIDR per line (203.0.113.0/24). Empty: any address.')}
        <div class="stack">
          <Field form={form} name="lock_first_ip" label="Lock to the first address that logs in" type="checkbox" disabled={readOnly} />
          <Field form={form} name="max_daily_ips" label="Different addresses per day" type="number" min={0} hint="0 = no limit." disabled={readOnly} />
          <Field form={form} name="is_mag" label="MAG set-top box (portal only)" type="checkbox" disabled={readOnly} />
        </div>
        {list('allowed_user_agents', 'Allowed user agents', 'One pattern per line (* and ? wildcards). Empty: any.')}
        {list('denied_user_agents', 'Denied user agents', 'One pattern per line.')}
        {list('allowed_countries', 'Allowed countries', 'ISO codes (FR, DE), one per line. Empty: any.')}
        {list('denied_countries', 'Denied countries', 'ISO codes, one per line.')}
      </div>
    </Form>
  );
}

export function LineAccess({ lineId, readOnly }: { lineId: number; readOnly: boolean }) {
  const [access, setAccess] = useState<Access | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api<Access>('GET', `/lines/${lineId}/access`)
      .then((a) => setAccess(a))
      .catch((e) => setError(e instanceof ApiError ? e.userMessage : String(e)));
  }, [lineId]);
  if (error)
    return (
      <div class="alert alert-error" role="alert">
        {error}
      </div>
    );
  if (!access) return <p class="muted">Loading…</p>;
  const reset = async () => {
    if (!(await confirm({ title: 'Reset address tracking', message: 'Forget the first address, the attack flag and today\'s addresses of this line? The next address that logs in becomes its first.', confirmLabel: 'Reset' }))) return;
    try {
      const a = await api<Access>('POST', `/lines/${lineId}/access/reset`);
      setAccess(a);
      setVersion((v) => v + 1);
      toast('Address tracking reset');
    } catch (e) {
      toast(e instanceof ApiError ? e.userMessage : String(e), 'error');
    }
  };
  return (
    <div class="line-access">
      <p>
        First address: {access.first_ip ? <code>{access.first_ip}</code> : <span class="muted">none yet</span>}
        {access.attack_flagged_at && (
          <>
            {' '}
            · <Badge tone="bad">flagged {fmt.dateTime(access.attack_flagged_at)}</Badge> (many addresses failed to log in)
          </>
        )}{' '}
        {!readOnly && (
          <button type="button" class="small" onClick={() => void reset()} data-action="access-reset">
            Reset
          </button>
        )}
      </p>
      <AccessForm
        key={version}
        lineId={lineId}
        access={access}
        readOnly={readOnly}
        onSaved={(a) => {
          setAccess(a);
          setVersion((v) => v + 1);
        }}
      />
    </div>
  );
}
