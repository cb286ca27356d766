// EPG (the guide): sources with their last import (status, channels,
// programmes), import now (a job with a progress bar), create, edit, delete;
// channels without a guide with their best candidates (one click maps), and
// manual mapping: search the imported guide channels (GET /epg/channels) or
// type an id (PUT /streams/{id}/epg).
import { useEffect, useState } from 'preact/hooks';
import { api, get, type Job, type Page } from '../api';
import { href } from '../router';
import { Badge, DataTable, Field, Form, Modal, PageHeader, Tabs, confirm, fmt, toast, useForm, type Column } from '../ui';
import type { PageProps } from '../main';
import { JobProgress, can, errText } from './content-common';

interface Source {
  id: number;
  name: string;
  url: string;
  priority: number;
  refresh_hours: number;
  enabled: boolean;
  last_import: string | null;
  last_attempt: string | null;
  last_status: string;
  channels: number;
  programmes: number;
}

interface Unmapped {
  stream_id: number;
  name: string;
  epg_channel_id: string | null;
  candidates: { epg_channel_id: string; score: number }[];
}

interface GuideChannel {
  epg_channel_id: string;
  display_name: string;
  icon: string;
  source_id: number;
  source_name: string;
  programmes: number;
}

interface SourceValues extends Record<string, unknown> {
  name: string;
  url: string;
  priority: number | string;
  refresh_hours: number | string;
  enabled: boolean;
}

function SourceEditor({ src, onDone }: { src: Source | 'new'; onDone: (changed: boolean) => void }) {
  const isNew = src === 'new';
  const form = useForm<SourceValues>({
    name: isNew ? '' : src.name,
    url: isNew ? '' : src.url,
    priority: isNew ? 0 : src.priority,
    refresh_hours: isNew ? 24 : src.refresh_hours,
    enabled: isNew ? true : src.enabled,
  });
  return (
    <Modal open title={isNew ? 'New guide source' : `Edit ${src.name}`} onClose={() => onDone(false)}>
      <Form
        form={form}
        label={isNew ? 'New guide source' : 'Edit guide source'}
        submitLabel={isNew ? 'Create' : 'Save'}
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          const body = { ...v, priority: Number(v.priority || 0), refresh_hours: Number(v.refresh_hours || 0) };
          if (isNew) await api('POST', '/epg/sources', body);
          else await api('PATCH', `/epg/sources/${src.id}`, body);
          toast(isNew ? `Source ${v.name} created` : 'Source saved');
          onDone(true);
        }}
      >
        <Field form={form} name="name" label="Name" required />
        <Field form={form} name="url" label="XMLTV URL or file" required placeholder="https://…/guide.xml.gz" hint="http(s) URL, or a file on the server; .gz is read as gzip." />
        <Field form={form} name="priority" label="Priority" type="number" hint="When two sources have the same channel, the higher priority wins." />
        <Field form={form} name="refresh_hours" label="Refresh every (hours)" type="number" min={0} max={8760} hint="0: only when imported by hand." />
        <Field form={form} name="enabled" label="Enabled" type="checkbox" />
      </Form>
    </Modal>
  );
}

function SourcesPanel({ canWrite }: { canWrite: boolean }) {
  const [editing, setEditing] = useState<Source | 'new' | null>(null);
  const [jobs, setJobs] = useState<{ job: number; name: string }[]>([]);
  const [reload, setReload] = useState(0);
  const importNow = async (s: Source) => {
    try {
      const r = await api<{ job: Job }>('POST', `/epg/sources/${s.id}/import`);
      setJobs((j) => [{ job: r.job.id, name: s.name }, ...j].slice(0, 5));
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  const remove = async (s: Source) => {
    const ok = await confirm({ title: 'Delete guide source', message: `Delete ${s.name} and its ${s.programmes} programmes?`, confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/epg/sources/${s.id}`);
      toast(`${s.name} deleted`);
      setReload((r) => r + 1);
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  const ok = (s: Source) => s.last_status.startsWith('ok');
  const columns: Column<Source>[] = [
    { key: 'name', title: 'Name', sort: 'name', render: (s) => <strong>{s.name}</strong> },
    { key: 'url', title: 'URL', class: 'truncate', render: (s) => <span title={s.url}>{s.url}</span> },
    { key: 'enabled', title: 'Enabled', render: (s) => (s.enabled ? 'yes' : 'no') },
    { key: 'priority', title: 'Priority', class: 'num' },
    { key: 'last_import', title: 'Last import', render: (s) => fmt.dateTime(s.last_import) },
    {
      key: 'last_status',
      title: 'Status',
      render: (s) => (s.last_attempt ? <Badge tone={ok(s) ? 'ok' : 'bad'}>{s.last_status || '–'}</Badge> : <Badge tone="neutral">never imported</Badge>),
    },
    { key: 'channels', title: 'Channels', class: 'num' },
    { key: 'programmes', title: 'Programmes', class: 'num' },
  ];
  return (
    <div>
      {canWrite && (
        <div class="toolbar">
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            New source
          </button>
        </div>
      )}
      {jobs.map((j) => (
        <JobProgress
          key={j.job}
          jobId={j.job}
          label={`Import of ${j.name}`}
          onDone={(jj) => {
            setReload((r) => r + 1);
            toast(jj.state === 'succeeded' ? `${j.name} imported` : `${j.name}: import failed`, jj.state === 'succeeded' ? 'success' : 'error');
          }}
        />
      ))}
      <DataTable<Source>
        path="/epg/sources"
        label="Guide sources"
        columns={columns}
        defaultSort="name"
        reloadKey={reload}
        liveEntities={['epg_source']}
        empty="No guide sources."
        rowActions={canWrite ? (s) => (
          <span class="row-buttons">
            <button type="button" class="small primary" aria-label={`Import now: ${s.name}`} onClick={() => importNow(s)}>
              Import now
            </button>
            <button type="button" class="small" aria-label={`Edit ${s.name}`} onClick={() => setEditing(s)}>
              Edit
            </button>
            <button type="button" class="small danger" aria-label={`Delete ${s.name}`} onClick={() => remove(s)}>
              Delete
            </button>
          </span>
        ) : undefined}
      />
      {editing && (
        <SourceEditor
          src={editing}
          onDone={(changed) => {
            setEditing(null);
            if (changed) setReload((r) => r + 1);
          }}
        />
      )}
    </div>
  );
}

async function mapStream(streamId: number, epgId: string | null): Promise<boolean> {
  try {
    await api('PUT', `/streams/${streamId}/epg`, { epg_channel_id: epgId });
    toast(epgId ? `Mapped to ${epgId}` : 'Mapping cleared');
    return true;
  } catch (e) {
    toast(errText(e), 'error');
    return false;
  }
}

/** Manual mapping of one stream: search the guide channels, or type an id. */
function MapDialog({ u, onDone }: { u: Unmapped; onDone: (changed: boolean) => void }) {
  const [q, setQ] = useState(u.name);
  const [results, setResults] = useState<Page<GuideChannel> | null>(null);
  const form = useForm({ epg_channel_id: u.epg_channel_id ?? '' });
  useEffect(() => {
    const ac = new AbortController();
    const t = setTimeout(() => {
      get<Page<GuideChannel>>('/epg/channels', { q: q.trim() || undefined, page_size: 25 }, ac.signal)
        .then(setResults)
        .catch(() => undefined);
    }, 200);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [q]);
  return (
    <Modal open size="wide" title={`Guide for ${u.name}`} onClose={() => onDone(false)}>
      <div class="picker">
        <label>
          Search the imported guide channels{' '}
          <input type="search" value={q} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <ul aria-label="Guide channels">
          {results?.items.map((g) => (
            <li key={`${g.source_id}:${g.epg_channel_id}`}>
              <span>
                <strong>{g.display_name || g.epg_channel_id}</strong> <code>{g.epg_channel_id}</code>{' '}
                <span class="muted">
                  {g.source_name} · {g.programmes} programmes
                </span>
              </span>
              <button
                type="button"
                class="small primary"
                aria-label={`Map ${u.name} to ${g.epg_channel_id}`}
                onClick={async () => {
                  if (await mapStream(u.stream_id, g.epg_channel_id)) onDone(true);
                }}
              >
                Map
              </button>
            </li>
          ))}
          {results && results.items.length === 0 && <li class="muted">No guide channel matches.</li>}
        </ul>
        <p class="muted">{results ? `${results.total} matching guide channels` : 'Searching…'}</p>
      </div>
      <Form
        form={form}
        label="Guide id by hand"
        submitLabel="Map to this id"
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          await api('PUT', `/streams/${u.stream_id}/epg`, { epg_channel_id: v.epg_channel_id.trim() || null });
          toast('Mapping saved');
          onDone(true);
        }}
      >
        <Field form={form} name="epg_channel_id" label="Guide channel id" hint="Empty clears the manual mapping." />
      </Form>
    </Modal>
  );
}

function UnmappedPanel({ canWrite }: { canWrite: boolean }) {
  const [reload, setReload] = useState(0);
  const [mapping, setMapping] = useState<Unmapped | null>(null);
  const columns: Column<Unmapped>[] = [
    { key: 'name', title: 'Channel', render: (u) => <a href={href('channels', u.stream_id)}>{u.name}</a> },
    { key: 'epg_channel_id', title: 'Its guide id', render: (u) => (u.epg_channel_id ? <code>{u.epg_channel_id}</code> : '–') },
    {
      key: 'candidates',
      title: 'Best candidates',
      render: (u) =>
        u.candidates.length ? (
          <ul class="pill-list">
            {u.candidates.map((c) => (
              <li key={c.epg_channel_id}>
                <button
                  type="button"
                  class="small"
                  disabled={!canWrite}
                  aria-label={`Map ${u.name} to ${c.epg_channel_id} (${c.score})`}
                  onClick={async () => {
                    if (await mapStream(u.stream_id, c.epg_channel_id)) setReload((r) => r + 1);
                  }}
                >
                  {c.epg_channel_id} <span class="muted">({c.score})</span>
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <span class="muted">none</span>
        ),
    },
  ];
  return (
    <div>
      <p class="muted">Channels whose guide id matches no imported guide channel. A candidate's score is 100 when the names match.</p>
      <DataTable<Unmapped>
        path="/epg/unmapped"
        label="Channels without a guide"
        columns={columns}
        rowKey={(u) => u.stream_id}
        reloadKey={reload}
        liveEntities={['stream', 'epg_source']}
        empty="Every channel has a guide."
        rowActions={canWrite ? (u) => (
          <button type="button" class="small" aria-label={`Choose a guide for ${u.name}`} onClick={() => setMapping(u)}>
            Choose
          </button>
        ) : undefined}
      />
      {mapping && (
        <MapDialog
          u={mapping}
          onDone={(changed) => {
            setMapping(null);
            if (changed) setReload((r) => r + 1);
          }}
        />
      )}
    </div>
  );
}

export function Epg({ loc, me }: PageProps) {
  const [tab, setTab] = useState(loc.query.get('tab') === 'unmapped' ? 'unmapped' : 'sources');
  return (
    <section class="page">
      <PageHeader title="Guide (EPG)">XMLTV sources, their imports, and which channels have no guide.</PageHeader>
      <Tabs
        tabs={[
          { id: 'sources', label: 'Sources' },
          { id: 'unmapped', label: 'Channels without a guide' },
        ]}
        active={tab}
        onChange={setTab}
        label="Guide views"
      >
        {tab === 'sources' ? <SourcesPanel canWrite={can(me, 'content:write')} /> : <UnmappedPanel canWrite={can(me, 'streams:write')} />}
      </Tabs>
    </section>
  );
}
