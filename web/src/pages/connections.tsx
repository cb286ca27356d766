// Connections: every live (MPEG-TS), HLS and VOD connection now (GET
// /sessions), filtered by kind, line or channel, refreshed every 2 s;
// kill one (DELETE /sessions/{id}) after a confirmation.
import { useState } from 'preact/hooks';
import { api, ApiError, get, type Page } from '../api';
import { href } from '../router';
import { Badge, DataTable, PageHeader, confirm, fmt, toast, type Column } from '../ui';
import type { PageProps } from '../main';

export interface Session {
  id: number;
  kind: 'live' | 'hls' | 'movie' | 'episode';
  line_id: number;
  username: string;
  stream_id: number;
  ip: string;
  user_agent: string;
  seconds: number;
  bytes: number;
}

/** Channel names by id, from GET /channels (the channels the engine runs:
 * every live or HLS connection is on one of them). */
const channelNames = new Map<number, string>();

function columnsFor(): Column<Session>[] {
  return [
  { key: 'kind', title: 'Kind', render: (s) => <Badge tone={s.kind === 'live' ? 'ok' : s.kind === 'hls' ? 'info' : 'neutral'}>{s.kind}</Badge> },
  { key: 'username', title: 'Line', render: (s) => <a href={href('lines', s.line_id)}>{s.username}</a> },
  {
    key: 'stream_id',
    title: 'Channel / title',
    render: (s) => (s.kind === 'live' || s.kind === 'hls' ? <a href={href('channels', s.stream_id)}>{channelNames.get(s.stream_id) ?? `#${s.stream_id}`}</a> : `${s.kind} #${s.stream_id}`),
  },
  { key: 'ip', title: 'IP' },
  { key: 'user_agent', title: 'User agent', class: 'truncate', render: (s) => <span title={s.user_agent}>{s.user_agent || '–'}</span> },
  { key: 'bytes', title: 'Sent', class: 'num', render: (s) => fmt.bytes(s.bytes) },
  { key: 'seconds', title: 'Duration', class: 'num', render: (s) => fmt.duration(s.seconds) },
  ];
}

const columns = columnsFor();

/** The connection table (also used on a line's page: filters={line_id}). */
export function SessionTable({ filters, label = 'Connections' }: { filters?: Record<string, string | number | undefined>; label?: string }) {
  const [reload, setReload] = useState(0);
  const [, setNames] = useState(0);
  // Names of channels not seen yet: one GET /channels, not one per row.
  const onLoad = (pg: Page<Session>) => {
    if (!pg.items.some((s) => (s.kind === 'live' || s.kind === 'hls') && !channelNames.has(s.stream_id))) return;
    get<Page<{ id: number; name: string }>>('/channels', { page_size: 1000 })
      .then((c) => {
        for (const ch of c.items) channelNames.set(ch.id, ch.name);
        setNames((n) => n + 1);
      })
      .catch(() => {});
  };
  const kill = async (s: Session) => {
    const ok = await confirm({
      title: 'Kill connection',
      message: `Cut ${s.username}'s ${s.kind} connection from ${s.ip}? The player may reconnect unless the line is disabled.`,
      confirmLabel: 'Kill',
      danger: true,
    });
    if (!ok) return;
    try {
      await api('DELETE', `/sessions/${s.id}`);
      toast('Connection killed');
    } catch (e) {
      toast(e instanceof ApiError ? e.userMessage : String(e), 'error');
    }
    setReload((r) => r + 1);
  };
  return (
    <DataTable<Session>
      path="/sessions"
      label={label}
      columns={columns}
      filters={filters}
      refreshMs={2000}
      reloadKey={reload}
      onLoad={onLoad}
      empty="No connections."
      rowActions={(s) => (
        <button type="button" class="danger small" data-action="kill" onClick={() => kill(s)} aria-label={`Kill connection ${s.id} of ${s.username}`}>
          Kill
        </button>
      )}
    />
  );
}

export function Connections({ loc }: PageProps) {
  const [kind, setKind] = useState(loc.query.get('kind') ?? '');
  const [lineId, setLineId] = useState(loc.query.get('line_id') ?? '');
  const [streamId, setStreamId] = useState(loc.query.get('stream_id') ?? '');
  const num = (v: string) => (/^\d+$/.test(v.trim()) ? v.trim() : undefined);
  return (
    <section class="page">
      <PageHeader title="Connections">Every live, HLS and VOD connection now. Refreshed every 2 seconds.</PageHeader>
      <div class="filters">
        <label>
          Kind{' '}
          <select value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">all</option>
            <option value="live">live (TS)</option>
            <option value="hls">HLS</option>
            <option value="movie">movie</option>
            <option value="episode">episode</option>
          </select>
        </label>
        <label>
          Line id <input type="text" inputMode="numeric" size={6} value={lineId} onInput={(e) => setLineId((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          Stream id <input type="text" inputMode="numeric" size={6} value={streamId} onInput={(e) => setStreamId((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <SessionTable filters={{ kind: kind || undefined, line_id: num(lineId), stream_id: num(streamId) }} />
    </section>
  );
}
