// Admins and API tokens. Admins (scope admin): create, change role or
// password, disable, delete. Tokens: create with scopes and an optional
// expiry (the secret is shown ONCE, with a copy button), revoke.
import { useState } from 'preact/hooks';
import { api, ApiError, type Me } from '../api';
import { Badge, DataTable, Field, Form, Modal, PageHeader, Tabs, confirm, fmt, toast, useForm, type Column } from '../ui';
import type { PageProps } from '../main';

interface Admin {
  id: number;
  username: string;
  role: 'admin' | 'viewer';
  disabled: boolean;
  created_at: string;
  last_login_at: string | null;
}

interface Token {
  id: number;
  name: string;
  owner: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  last_used_ip?: string | null;
  state: 'active' | 'expired' | 'revoked';
}

const SCOPES = ['read', 'lines:write', 'streams:write', 'content:write', 'admin'];

function errText(e: unknown) {
  return e instanceof ApiError ? e.userMessage : String(e);
}

function AdminEditor({ admin, onDone }: { admin: Admin | 'new'; onDone: (changed: boolean) => void }) {
  const isNew = admin === 'new';
  const form = useForm({
    username: isNew ? '' : admin.username,
    password: '',
    role: isNew ? 'admin' : admin.role,
    disabled: isNew ? false : admin.disabled,
  });
  return (
    <Modal open title={isNew ? 'New admin' : `Admin ${admin.username}`} onClose={() => onDone(false)}>
      <Form
        form={form}
        label={isNew ? 'New admin' : 'Edit admin'}
        submitLabel={isNew ? 'Create' : 'Save'}
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          if (isNew) {
            await api('POST', '/admins', { username: v.username, password: v.password, role: v.role, disabled: v.disabled });
            toast(`Admin ${v.username} created`);
          } else {
            const patch: Record<string, unknown> = {};
            if (v.password) patch.password = v.password;
            if (v.role !== admin.role) patch.role = v.role;
            if (v.disabled !== admin.disabled) patch.disabled = v.disabled;
            await api('PATCH', `/admins/${admin.id}`, patch);
            toast(`Admin ${admin.username} saved`);
          }
          onDone(true);
        }}
      >
        {isNew && <Field form={form} name="username" label="Username" required autoComplete="off" />}
        <Field
          form={form}
          name="password"
          label={isNew ? 'Password' : 'New password'}
          type="password"
          required={isNew}
          autoComplete="new-password"
          hint={isNew ? 'At least 12 characters.' : 'Leave empty to keep it. A change ends the account’s other sessions.'}
        />
        <Field
          form={form}
          name="role"
          label="Role"
          type="select"
          options={[
            { value: 'admin', label: 'admin: every scope' },
            { value: 'viewer', label: 'viewer: read only' },
          ]}
        />
        <Field form={form} name="disabled" label="Disabled (cannot log in)" type="checkbox" />
      </Form>
    </Modal>
  );
}

function Admins({ me }: { me: Me }) {
  const [edit, setEdit] = useState<Admin | 'new' | null>(null);
  const [reload, setReload] = useState(0);
  const del = async (a: Admin) => {
    if (!(await confirm({ title: 'Delete admin', message: `Delete the account ${a.username}? Its sessions and tokens end.`, confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api('DELETE', `/admins/${a.id}`);
      toast(`Admin ${a.username} deleted`);
      setReload((r) => r + 1);
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  const columns: Column<Admin>[] = [
    { key: 'username', title: 'Username', sort: 'username', render: (a) => (a.id === me.admin.id ? <strong>{a.username} (you)</strong> : a.username) },
    { key: 'role', title: 'Role', render: (a) => <Badge tone={a.role === 'admin' ? 'info' : 'neutral'}>{a.role}</Badge> },
    { key: 'disabled', title: 'Status', render: (a) => (a.disabled ? <Badge tone="bad">disabled</Badge> : <Badge tone="ok">active</Badge>) },
    { key: 'last_login_at', title: 'Last login', render: (a) => fmt.dateTime(a.last_login_at) },
    { key: 'created_at', title: 'Created', sort: 'created_at', render: (a) => fmt.date(a.created_at) },
  ];
  return (
    <>
      <DataTable<Admin>
        path="/admins"
        label="Admins"
        columns={columns}
        search="Search admins"
        reloadKey={reload}
        liveEntities={['admin']}
        toolbar={
          <button type="button" class="primary" onClick={() => setEdit('new')}>
            New admin
          </button>
        }
        rowActions={(a) => (
          <>
            <button type="button" class="small" onClick={() => setEdit(a)} aria-label={`Edit ${a.username}`}>
              Edit
            </button>
            <button type="button" class="small danger" onClick={() => del(a)} aria-label={`Delete ${a.username}`}>
              Delete
            </button>
          </>
        )}
      />
      {edit && (
        <AdminEditor
          admin={edit}
          onDone={(changed) => {
            setEdit(null);
            if (changed) setReload((r) => r + 1);
          }}
        />
      )}
    </>
  );
}

function TokenCreator({ onDone }: { onDone: (changed: boolean) => void }) {
  const form = useForm<Record<string, unknown>>({ name: '', expires_at: '', ...Object.fromEntries(SCOPES.map((s) => [`scope_${s}`, s === 'read'])) });
  const [secret, setSecret] = useState<string | null>(null);
  if (secret)
    return (
      <Modal open title="Token created" onClose={() => onDone(true)} footer={<button type="button" class="primary" onClick={() => onDone(true)}>Done</button>}>
        <p>Copy the token now: it is not shown again.</p>
        <div class="copy-row">
          <input type="text" readOnly value={secret} aria-label="The new token" data-token-secret onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
          <button
            type="button"
            onClick={() => {
              void navigator.clipboard?.writeText(secret).then(() => toast('Copied'), () => toast('Copy failed: select the text', 'error'));
            }}
          >
            Copy
          </button>
        </div>
      </Modal>
    );
  return (
    <Modal open title="New API token" onClose={() => onDone(false)}>
      <Form
        form={form}
        label="New API token"
        submitLabel="Create token"
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          const scopes = SCOPES.filter((s) => v[`scope_${s}`]);
          const body: Record<string, unknown> = { name: v.name, scopes };
          if (v.expires_at) body.expires_at = v.expires_at;
          const r = await api<{ token: string }>('POST', '/tokens', body);
          setSecret(r.token);
        }}
      >
        <Field form={form} name="name" label="Name" required hint="What uses it: billing, monitoring…" />
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <Field key={s} form={form} name={`scope_${s}`} label={s} type="checkbox" />
          ))}
          {form.fieldError('scopes') && <div class="field-error">{form.fieldError('scopes')}</div>}
        </fieldset>
        <Field form={form} name="expires_at" label="Expires" type="date" hint="Empty: never." />
      </Form>
    </Modal>
  );
}

function Tokens() {
  const [creating, setCreating] = useState(false);
  const [reload, setReload] = useState(0);
  const revoke = async (t: Token) => {
    if (!(await confirm({ title: 'Revoke token', message: `Revoke the token “${t.name}”? Whatever uses it stops working at once.`, confirmLabel: 'Revoke', danger: true }))) return;
    try {
      await api('DELETE', `/tokens/${t.id}`);
      toast(`Token ${t.name} revoked`);
      setReload((r) => r + 1);
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  const columns: Column<Token>[] = [
    { key: 'name', title: 'Name', sort: 'name' },
    { key: 'owner', title: 'Owner' },
    { key: 'scopes', title: 'Scopes', render: (t) => t.scopes.join(', ') },
    { key: 'state', title: 'State', render: (t) => <Badge tone={t.state === 'active' ? 'ok' : 'neutral'}>{t.state}</Badge> },
    { key: 'expires_at', title: 'Expires', render: (t) => (t.expires_at ? fmt.date(t.expires_at) : 'never') },
    { key: 'last_used_at', title: 'Last used', render: (t) => (t.last_used_at ? `${fmt.dateTime(t.last_used_at)}${t.last_used_ip ? ` from ${t.last_used_ip}` : ''}` : 'never') },
  ];
  return (
    <>
      <DataTable<Token>
        path="/tokens"
        label="API tokens"
        columns={columns}
        search="Search tokens"
        reloadKey={reload}
        toolbar={
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New token
          </button>
        }
        rowActions={(t) =>
          t.state === 'active' ? (
            <button type="button" class="small danger" onClick={() => revoke(t)} aria-label={`Revoke ${t.name}`}>
              Revoke
            </button>
          ) : null
        }
      />
      {creating && (
        <TokenCreator
          onDone={(changed) => {
            setCreating(false);
            if (changed) setReload((r) => r + 1);
          }}
        />
      )}
    </>
  );
}

export function Accounts({ me, params }: PageProps) {
  const isAdmin = me.scopes.includes('admin');
  const [tab, setTab] = useState(params[0] === 'tokens' || !isAdmin ? 'tokens' : 'admins');
  const tabs = [...(isAdmin ? [{ id: 'admins', label: 'Admins' }] : []), { id: 'tokens', label: 'API tokens' }];
  return (
    <section class="page">
      <PageHeader title="Admins & tokens">Who can use the panel and the API.</PageHeader>
      <Tabs label="Accounts" tabs={tabs} active={tab} onChange={setTab}>
        {tab === 'admins' ? <Admins me={me} /> : <Tokens />}
      </Tabs>
    </section>
  );
}
