// Audit log: every change made through the API (who, token, address,
// action, entity, before/after), newest first, filtered by entity, action
// and time; a row opens its before/after JSON.
import { useState } from 'preact/hooks';
import { DataTable, Modal, PageHeader, fmt, type Column } from '../ui';
import type { PageProps } from '../main';

interface AuditEntry {
  id: number;
  at: string;
  admin_id: number | null;
  admin_username: string;
  token_id: number | null;
  ip: string;
  action: string;
  entity: string;
  entity_id: number | null;
  before: unknown;
  after: unknown;
}

export function Audit({ loc }: PageProps) {
  const [entity, setEntity] = useState(loc.query.get('entity') ?? '');
  const [action, setAction] = useState(loc.query.get('action') ?? '');
  const [since, setSince] = useState('');
  const [open, setOpen] = useState<AuditEntry | null>(null);
  const columns: Column<AuditEntry>[] = [
    { key: 'at', title: 'When', sort: 'at', render: (e) => fmt.dateTime(e.at) },
    { key: 'admin_username', title: 'Who', render: (e) => `${e.admin_username || '–'}${e.token_id ? ` (token #${e.token_id})` : ''}` },
    { key: 'ip', title: 'Address' },
    { key: 'action', title: 'Action' },
    { key: 'entity', title: 'Entity', render: (e) => `${e.entity}${e.entity_id ? ` #${e.entity_id}` : ''}` },
  ];
  return (
    <section class="page">
      <PageHeader title="Audit log">Every change made through the panel, the API or the local CLI.</PageHeader>
      <div class="filters">
        <label>
          Entity <input type="text" size={10} value={entity} onInput={(e) => setEntity((e.currentTarget as HTMLInputElement).value.trim())} placeholder="line" />
        </label>
        <label>
          Action <input type="text" size={10} value={action} onInput={(e) => setAction((e.currentTarget as HTMLInputElement).value.trim())} placeholder="update" />
        </label>
        <label>
          Since <input type="date" value={since} onInput={(e) => setSince((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <DataTable<AuditEntry>
        path="/audit-log"
        label="Audit log"
        columns={columns}
        defaultSort="-id"
        search="Search"
        filters={{ entity: entity || undefined, action: action || undefined, since: since || undefined }}
        liveEntities={['line', 'plan', 'stream', 'bouquet', 'category', 'movie', 'series', 'admin', 'token', 'settings']}
        rowActions={(e) => (
          <button type="button" class="small" onClick={() => setOpen(e)} aria-label={`Details of entry ${e.id}`}>
            Details
          </button>
        )}
      />
      {open && (
        <Modal open size="wide" title={`${open.action} ${open.entity}${open.entity_id ? ` #${open.entity_id}` : ''}`} onClose={() => setOpen(null)}>
          <div class="grid-2">
            <div>
              <h3>Before</h3>
              <pre class="json">{JSON.stringify(open.before, null, 2) ?? '–'}</pre>
            </div>
            <div>
              <h3>After</h3>
              <pre class="json">{JSON.stringify(open.after, null, 2) ?? '–'}</pre>
            </div>
          </div>
        </Modal>
      )}
    </section>
  );
}
