// Channels (live streams): the list with each channel's live state, viewers,
// input bitrate and the source in use (GET /streams carries `live`), refreshed
// every 3 s and on changes; create and edit (ordered, reorderable sources,
// category, guide id, logo, always-on, transcode profile); start, stop,
// restart; a channel's page (#/channels/12) with its engine state, the tail
// of its ffmpeg log and a preview player.
import { useEffect, useState } from 'preact/hooks';
import { api, call, get } from '../api';
import { href, navigate } from '../router';
import { Badge, DataTable, Field, Form, Modal, PageHeader, confirm, fmt, toast, useForm, type Column } from '../ui';
import type { PageProps } from '../main';
import { Art, Player, SortableList, can, catName, errText, getAll, useCategories, type Stream } from './content-common';

interface Profile {
  id: number;
  name: string;
}

/** GET /streams/{id}/state (the engine's view). */
interface LiveState {
  id: number;
  name: string;
  state: string;
  viewers: number;
  hls_sessions?: number;
  input_kbps: number;
  source_index: number;
  source: string;
  sources?: string[];
  uptime_s?: number;
  restarts?: number;
  failovers?: number;
  codecs?: string;
  pid?: number;
  transcode?: { profile: string; encoder: string | null; fallback: boolean } | null;
  ffmpeg?: { speed: number | null; fps: number | null } | null;
}

export function stateTone(s: string | undefined): 'ok' | 'warn' | 'bad' | 'neutral' | 'info' {
  switch (s) {
    case 'running':
      return 'ok';
    case 'starting':
      return 'info';
    case 'failing':
      return 'warn';
    case 'slate':
      return 'bad';
    default:
      return 'neutral';
  }
}

function shortSource(s: string | undefined): string {
  if (!s) return '–';
  return s.length > 48 ? `${s.slice(0, 45)}…` : s;
}

async function command(id: number, name: string, cmd: 'start' | 'stop' | 'restart'): Promise<boolean> {
  if (cmd === 'stop') {
    const ok = await confirm({ title: 'Stop channel', message: `Stop ${name}? Its viewers are cut.`, confirmLabel: 'Stop', danger: true });
    if (!ok) return false;
  }
  try {
    await api('POST', `/streams/${id}/${cmd}`);
    toast(`${name}: ${cmd} sent`);
    return true;
  } catch (e) {
    toast(errText(e), 'error');
    return false;
  }
}

interface EditorValues extends Record<string, unknown> {
  name: string;
  category_id: string;
  logo: string;
  epg_channel_id: string;
  always_on: boolean;
  enabled: boolean;
  transcode_profile_id: string;
  tv_archive_days: number | string;
}

function SourcesEditor({ sources, onChange, error, disabled }: { sources: string[]; onChange: (s: string[]) => void; error?: string; disabled?: boolean }) {
  const [draft, setDraft] = useState('');
  const add = () => {
    const v = draft.trim();
    if (!v) return;
    onChange([...sources, v]);
    setDraft('');
  };
  return (
    <fieldset class="sources-editor">
      <legend>Sources, in priority order (the first that works is used; the others are fallbacks)</legend>
      {sources.length > 0 && (
        <SortableList
          items={sources.map((s, i) => ({ s, i }))}
          keyOf={(x) => `${x.i}:${x.s}`}
          label="Sources"
          disabled={disabled}
          render={(x) => <code>{x.s}</code>}
          onReorder={(next) => onChange(next.map((x) => x.s))}
          actions={(_x, i) => (
            <button type="button" class="small" aria-label={`Remove source ${i + 1}`} disabled={disabled} onClick={() => onChange(sources.filter((_s, k) => k !== i))}>
              Remove
            </button>
          )}
        />
      )}
      <div class="row-buttons">
        <input
          type="text"
          aria-label="New source URL"
          placeholder="http://…, udp://…, lavfi:testsrc…"
          value={draft}
          disabled={disabled}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'sources-err' : undefined}
          onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add();
            }
          }}
        />
        <button type="button" onClick={add} disabled={disabled}>
          Add source
        </button>
      </div>
      {error && (
        <div class="field-error" id="sources-err" data-field-error="sources">
          {error}
        </div>
      )}
    </fieldset>
  );
}

export function StreamEditor({ stream, onDone }: { stream: Stream | 'new'; onDone: (changed: Stream | null) => void }) {
  const isNew = stream === 'new';
  const cats = useCategories('live');
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [sources, setSources] = useState<string[]>(isNew ? [] : stream.sources);
  const form = useForm<EditorValues>({
    name: isNew ? '' : stream.name,
    category_id: isNew || stream.category_id === null ? '' : String(stream.category_id),
    logo: isNew ? '' : stream.logo,
    epg_channel_id: isNew ? '' : (stream.epg_channel_id ?? ''),
    always_on: isNew ? false : stream.always_on,
    enabled: isNew ? true : stream.enabled,
    transcode_profile_id: isNew || stream.transcode_profile_id === null ? '' : String(stream.transcode_profile_id),
    tv_archive_days: isNew ? 0 : stream.tv_archive_days,
  });
  form.shown.add('sources');
  useEffect(() => {
    getAll<Profile>('/profiles')
      .then(setProfiles)
      .catch(() => setProfiles([]));
  }, []);
  return (
    <Modal open size="wide" title={isNew ? 'New channel' : `Edit ${stream.name}`} onClose={() => onDone(null)}>
      <Form
        form={form}
        label={isNew ? 'New channel' : 'Edit channel'}
        submitLabel={isNew ? 'Create' : 'Save'}
        actions={
          <button type="button" onClick={() => onDone(null)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          const body = {
            name: v.name,
            category_id: v.category_id === '' ? null : Number(v.category_id),
            logo: v.logo,
            epg_channel_id: v.epg_channel_id === '' ? null : v.epg_channel_id,
            always_on: v.always_on,
            enabled: v.enabled,
            transcode_profile_id: v.transcode_profile_id === '' ? null : Number(v.transcode_profile_id),
            tv_archive_days: v.tv_archive_days === '' ? 0 : Number(v.tv_archive_days),
            sources,
          };
          if (isNew) {
            const s = await api<Stream>('POST', '/streams', body);
            toast(`Channel ${s.name} created`);
            onDone(s);
          } else {
            const cur = await call<Stream>('GET', `/streams/${stream.id}`);
            const s = await api<Stream>('PATCH', `/streams/${stream.id}`, body, { ifMatch: cur.etag ?? undefined });
            toast(`Channel ${s.name} saved`);
            onDone(s);
          }
        }}
      >
        <Field form={form} name="name" label="Name" required />
        <SourcesEditor sources={sources} onChange={setSources} error={form.fieldError('sources')} disabled={form.busy} />
        <Field
          form={form}
          name="category_id"
          label="Category"
          type="select"
          options={[{ value: '', label: '(none)' }, ...cats.map((c) => ({ value: c.id, label: c.name }))]}
        />
        <Field form={form} name="epg_channel_id" label="Guide (EPG) channel id" hint="The XMLTV channel id; empty: none (or the automatic mapping)." />
        <Field form={form} name="logo" label="Logo URL" type="url" />
        <Field
          form={form}
          name="transcode_profile_id"
          label="Transcode profile"
          type="select"
          options={[{ value: '', label: '(copy, no transcoding)' }, ...profiles.map((p) => ({ value: p.id, label: p.name }))]}
        />
        <Field form={form} name="tv_archive_days" label="Catch-up days" type="number" min={0} max={365} />
        <Field form={form} name="always_on" label="Always on (else started on demand and stopped when idle)" type="checkbox" />
        <Field form={form} name="enabled" label="Enabled" type="checkbox" />
      </Form>
    </Modal>
  );
}

function ChannelList({ canWrite }: { canWrite: boolean }) {
  const cats = useCategories('live');
  const [category, setCategory] = useState('');
  const [enabled, setEnabled] = useState('');
  const [editing, setEditing] = useState<Stream | 'new' | null>(null);
  const [reload, setReload] = useState(0);
  const act = async (s: Stream, cmd: 'start' | 'stop' | 'restart') => {
    if (await command(s.id, s.name, cmd)) setReload((r) => r + 1);
  };
  const columns: Column<Stream>[] = [
    { key: 'logo', title: 'Logo', render: (s) => <Art class="logo" src={s.logo} alt={`${s.name} logo`} /> },
    { key: 'name', title: 'Name', sort: 'name', render: (s) => <a href={href('channels', s.id)}>{s.name}</a> },
    { key: 'category_id', title: 'Category', sort: 'category_id', render: (s) => catName(cats, s.category_id) },
    {
      key: 'state',
      title: 'State',
      render: (s) => (
        <span data-state={s.live?.state}>
          <Badge tone={stateTone(s.live?.state)}>{s.live?.state ?? '–'}</Badge>
          {!s.enabled && ' '}
          {!s.enabled && <Badge tone="neutral">disabled</Badge>}
        </span>
      ),
    },
    { key: 'viewers', title: 'Viewers', class: 'num', render: (s) => <span data-viewers>{s.live?.viewers ?? 0}</span> },
    { key: 'input', title: 'Input', class: 'num', render: (s) => (s.live && s.live.input_kbps ? `${s.live.input_kbps} kbit/s` : '–') },
    {
      key: 'source',
      title: 'Source in use',
      class: 'truncate',
      render: (s) => {
        const src = s.sources[s.live?.source_index ?? 0];
        return (
          <span title={src}>
            {s.sources.length > 1 && `${(s.live?.source_index ?? 0) + 1}/${s.sources.length} `}
            <code>{shortSource(src)}</code>
          </span>
        );
      },
    },
  ];
  return (
    <section class="page">
      <PageHeader
        title="Channels"
        actions={
          canWrite && (
            <button type="button" class="primary" onClick={() => setEditing('new')}>
              New channel
            </button>
          )
        }
      >
        Live channels with their state, viewers and input, refreshed every 3 seconds.
      </PageHeader>
      <DataTable<Stream>
        path="/streams"
        label="Channels"
        columns={columns}
        defaultSort="sort_order"
        search="Search by name"
        filters={{ category_id: category || undefined, enabled: enabled || undefined }}
        refreshMs={3000}
        liveEntities={['stream']}
        reloadKey={reload}
        empty="No channels."
        toolbar={
          <>
            <label>
              Category{' '}
              <select value={category} onChange={(e) => setCategory((e.currentTarget as HTMLSelectElement).value)}>
                <option value="">all</option>
                {cats.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Enabled{' '}
              <select value={enabled} onChange={(e) => setEnabled((e.currentTarget as HTMLSelectElement).value)}>
                <option value="">all</option>
                <option value="true">enabled</option>
                <option value="false">disabled</option>
              </select>
            </label>
          </>
        }
        rowActions={canWrite ? (s) => (
          <span class="row-buttons">
            {s.live?.state === 'stopped' || !s.live ? (
              <button type="button" class="small" aria-label={`Start ${s.name}`} onClick={() => act(s, 'start')}>
                Start
              </button>
            ) : (
              <button type="button" class="small" aria-label={`Stop ${s.name}`} onClick={() => act(s, 'stop')}>
                Stop
              </button>
            )}
            <button type="button" class="small" aria-label={`Restart ${s.name}`} onClick={() => act(s, 'restart')}>
              Restart
            </button>
            <button type="button" class="small" aria-label={`Edit ${s.name}`} onClick={() => setEditing(s)}>
              Edit
            </button>
          </span>
        ) : undefined}
      />
      {editing && (
        <StreamEditor
          stream={editing}
          onDone={(s) => {
            const wasNew = editing === 'new';
            setEditing(null);
            if (s) setReload((r) => r + 1);
            if (s && wasNew) navigate(`/channels/${s.id}`);
          }}
        />
      )}
    </section>
  );
}

function ChannelDetail({ id, prefer, canWrite }: { id: number; prefer: 'hls' | 'ts'; canWrite: boolean }) {
  const [stream, setStream] = useState<Stream | null>(null);
  const [state, setState] = useState<LiveState | null>(null);
  const [log, setLog] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [preview, setPreview] = useState(false);
  const [tick, setTick] = useState(0);
  const cats = useCategories('live');
  useEffect(() => {
    get<Stream>(`/streams/${id}`)
      .then((s) => {
        setStream(s);
        setError(null);
      })
      .catch((e) => setError(errText(e)));
  }, [id, tick]);
  useEffect(() => {
    let live = true;
    const poll = () => {
      get<LiveState>(`/streams/${id}/state`)
        .then((s) => live && setState(s))
        .catch(() => undefined);
      get<{ lines: string[] }>(`/streams/${id}/log`)
        .then((l) => live && setLog(l.lines))
        .catch(() => undefined);
    };
    poll();
    const t = setInterval(poll, 2000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [id, tick]);
  const act = async (cmd: 'start' | 'stop' | 'restart') => {
    if (stream && (await command(id, stream.name, cmd))) setTick((t) => t + 1);
  };
  const remove = async () => {
    if (!stream) return;
    const ok = await confirm({ title: 'Delete channel', message: `Delete ${stream.name}? Lines lose it from their bouquets.`, confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/streams/${id}`);
      toast(`${stream.name} deleted`);
      navigate('/channels');
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  if (error) {
    return (
      <section class="page">
        <PageHeader title="Channel" />
        <div class="alert alert-error" role="alert">
          {error}
        </div>
        <a href={href('channels')}>Back to channels</a>
      </section>
    );
  }
  return (
    <section class="page">
      <PageHeader
        title={stream ? stream.name : 'Channel'}
        actions={
          <span class="row-buttons">
            {canWrite && (
              <>
                <button type="button" onClick={() => act('start')}>
                  Start
                </button>
                <button type="button" onClick={() => act('stop')}>
                  Stop
                </button>
                <button type="button" onClick={() => act('restart')}>
                  Restart
                </button>
              </>
            )}
            <button type="button" class="primary" aria-pressed={preview} onClick={() => setPreview(!preview)}>
              {preview ? 'Close preview' : 'Preview'}
            </button>
            {canWrite && (
              <>
                <button type="button" onClick={() => setEditing(true)} disabled={!stream}>
                  Edit
                </button>
                <button type="button" class="danger" onClick={remove} disabled={!stream}>
                  Delete
                </button>
              </>
            )}
          </span>
        }
      >
        <a href={href('channels')}>Channels</a> › #{id}
      </PageHeader>
      {preview && stream && (
        <div class="card">
          <h2>Preview</h2>
          <Player grantPath={`/streams/${id}/preview`} title={stream.name} prefer={prefer} />
        </div>
      )}
      <div class="detail-grid">
        <div class="card">
          <h2>Live state</h2>
          <dl class="props">
            <dt>State</dt>
            <dd data-state={state?.state}>
              <Badge tone={stateTone(state?.state)}>{state?.state ?? '…'}</Badge>
            </dd>
            <dt>Viewers</dt>
            <dd>
              {state?.viewers ?? 0} TS, {state?.hls_sessions ?? 0} HLS
            </dd>
            <dt>Input</dt>
            <dd>{state?.input_kbps ? `${state.input_kbps} kbit/s` : '–'}</dd>
            <dt>Source in use</dt>
            <dd>
              <code>{state?.source || '–'}</code>
            </dd>
            <dt>Uptime</dt>
            <dd>{state?.uptime_s ? fmt.duration(state.uptime_s) : '–'}</dd>
            <dt>Restarts / failovers</dt>
            <dd>
              {state?.restarts ?? 0} / {state?.failovers ?? 0}
            </dd>
            <dt>Codecs</dt>
            <dd>{state?.codecs || '–'}</dd>
            {state?.transcode && (
              <>
                <dt>Transcode</dt>
                <dd>
                  {state.transcode.profile} {state.transcode.encoder ? `(${state.transcode.encoder})` : ''}
                  {state.transcode.fallback && ' — software fallback'}
                </dd>
              </>
            )}
            {state?.ffmpeg && (
              <>
                <dt>ffmpeg</dt>
                <dd>
                  speed {state.ffmpeg.speed ?? '–'}×, {state.ffmpeg.fps ?? '–'} fps
                </dd>
              </>
            )}
          </dl>
        </div>
        {stream && (
          <div class="card">
            <h2>Settings</h2>
            <dl class="props">
              <dt>Category</dt>
              <dd>{catName(cats, stream.category_id)}</dd>
              <dt>Guide id</dt>
              <dd>{stream.epg_channel_id || (stream.epg_auto_id ? `${stream.epg_auto_id} (automatic)` : '–')}</dd>
              <dt>Mode</dt>
              <dd>{stream.always_on ? 'always on' : 'on demand'}</dd>
              <dt>Enabled</dt>
              <dd>{stream.enabled ? 'yes' : 'no'}</dd>
              <dt>Catch-up</dt>
              <dd>{stream.tv_archive_days ? `${stream.tv_archive_days} days` : 'off'}</dd>
              <dt>Logo</dt>
              <dd>
                <Art class="logo" src={stream.logo} alt={`${stream.name} logo`} />
              </dd>
            </dl>
            <h3>Sources</h3>
            <ol>
              {stream.sources.map((s, i) => (
                <li key={i}>
                  <code>{s}</code> {state && state.source_index === i && state.state !== 'stopped' && <Badge tone="ok">in use</Badge>}
                </li>
              ))}
            </ol>
          </div>
        )}
      </div>
      <div class="card">
        <h2>ffmpeg log (last lines)</h2>
        <pre class="log-tail" tabIndex={0} aria-label="ffmpeg log" data-log>
          {log.length ? log.join('\n') : 'No output yet.'}
        </pre>
      </div>
      {editing && stream && (
        <StreamEditor
          stream={stream}
          onDone={(s) => {
            setEditing(false);
            if (s) setTick((t) => t + 1);
          }}
        />
      )}
    </section>
  );
}

export function Channels({ params, loc, me }: PageProps) {
  const id = params[0] && /^\d+$/.test(params[0]) ? Number(params[0]) : null;
  const w = can(me, 'streams:write');
  return id ? <ChannelDetail key={id} id={id} prefer={loc.query.get('player') === 'ts' ? 'ts' : 'hls'} canWrite={w} /> : <ChannelList canWrite={w} />;
}

