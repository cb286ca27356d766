// Dashboard: what the server is doing now, live through the `counters`
// event (every second): viewers, bandwidth, CPU, memory, channels by state;
// the most watched channels; recent events (`change` events: what was
// created, changed, deleted, which job ended); charts of the last hour
// (10 s points, extended by the live counters) and of the last 24 h.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get } from '../api';
import { useEvent } from '../events';
import { href } from '../router';
import { Badge, Chart, PageHeader, Stat, Tabs, fmt } from '../ui';
import type { PageProps } from '../main';

interface Counters {
  time: string;
  time_epoch: number;
  uptime_seconds: number;
  viewers: { total: number; live: number; hls: number; vod: number };
  bandwidth: { out_bytes_per_second: number; in_bytes_per_second: number };
  cpu_percent: number;
  memory_rss_bytes: number;
  channels: Record<string, number>;
}

interface TopChannel {
  id: number;
  name: string;
  state: string;
  viewers: number;
  ts_viewers?: number;
  hls_sessions?: number;
}

interface Summary extends Counters {
  top_channels: TopChannel[];
}

interface Series {
  columns: string[];
  points: number[][];
}

interface ChangeEvent {
  type: 'change';
  entity: string;
  id: number;
  action: string;
  at: number;
}

/** `channel`: a watched channel changed state or source (admin/stats.h). */
interface ChannelEvent {
  type: 'channel';
  id: number;
  name: string;
  state: string;
  previous_state: string | null;
  source_index: number;
  previous_source_index: number | null;
  viewers: number;
  at: number;
}

/** `limit`: a line over its connection limit had its oldest connections cut. */
interface LimitEvent {
  type: 'limit';
  line_id: number;
  max_connections: number;
  kicked: number;
  at: number;
}

type RecentEvent = ChangeEvent | ChannelEvent | LimitEvent;

const STATES: [string, 'ok' | 'warn' | 'bad' | 'neutral' | 'info'][] = [
  ['running', 'ok'],
  ['starting', 'info'],
  ['failing', 'bad'],
  ['slate', 'warn'],
  ['idle', 'neutral'],
];

/** Columns of the timeseries as arrays for uPlot: [t, …cols]. */
function columns(s: Series | null, names: string[]): number[][] {
  if (!s) return [[], ...names.map(() => [])];
  const idx = names.map((n) => s.columns.indexOf(n));
  const t = s.points.map((p) => p[0]);
  return [t, ...idx.map((i) => s.points.map((p) => (i >= 0 ? p[i] : 0)))];
}

function fromCounters(c: Counters): number[] {
  // In the order of the timeseries' columns the charts use (HOUR_COLS).
  return [c.time_epoch, c.viewers.total, c.bandwidth.out_bytes_per_second, c.bandwidth.in_bytes_per_second, c.cpu_percent, c.memory_rss_bytes];
}

/** Pages an entity's id opens (others: plain text). */
const PAGE_OF: Record<string, string> = { line: 'lines', stream: 'channels', plan: 'plans', bouquet: 'bouquets', category: 'categories', movie: 'movies', series: 'series' };

function describeChannel(e: ChannelEvent) {
  const name = <a href={href('channels', e.id)}>{e.name}</a>;
  if (e.previous_source_index !== null && e.source_index !== e.previous_source_index)
    return (
      <>
        {name} <strong>{e.source_index > e.previous_source_index ? 'failed over' : 'switched back'}</strong> to source {e.source_index + 1}
      </>
    );
  if (e.previous_state === null)
    return (
      <>
        {name} is <strong>on backup source {e.source_index + 1}</strong>
      </>
    );
  return (
    <>
      {name} is <strong>{e.state}</strong> (was {e.previous_state})
    </>
  );
}

function describe(e: RecentEvent) {
  if (e.type === 'channel') return describeChannel(e);
  if (e.type === 'limit')
    return (
      <>
        <a href={href('lines', e.line_id)}>line #{e.line_id}</a> <strong>hit its limit</strong> of {e.max_connections}: {e.kicked} older {e.kicked === 1 ? 'connection' : 'connections'} cut
      </>
    );
  const page = PAGE_OF[e.entity];
  const what = e.id ? `${e.entity} #${e.id}` : e.entity;
  return (
    <>
      {page && e.id && e.action !== 'delete' ? <a href={href(page, e.id)}>{what}</a> : what} <strong>{e.action}</strong>
    </>
  );
}

const HOUR_COLS = ['viewers', 'out_bytes_per_second', 'in_bytes_per_second', 'cpu_percent', 'memory_rss_bytes'];

export function Dashboard(_: PageProps) {
  const [now, setNow] = useState<Counters | null>(null);
  const [top, setTop] = useState<TopChannel[]>([]);
  const [hour, setHour] = useState<Series | null>(null);
  const [day, setDay] = useState<Series | null>(null);
  const [recent, setRecent] = useState<RecentEvent[]>([]);
  const [range, setRange] = useState('hour');

  const loadSummary = () =>
    get<Summary>('/stats/summary')
      .then((s) => {
        setNow((n) => n ?? s);
        setTop(s.top_channels);
      })
      .catch(() => {});
  useEffect(() => {
    loadSummary();
    const t = Math.floor(Date.now() / 1000);
    get<Series>('/stats/timeseries', { from: t - 3600, to: t, step: 10 }).then(setHour).catch(() => {});
    const loadDay = () => {
      const t2 = Math.floor(Date.now() / 1000);
      get<Series>('/stats/timeseries', { from: t2 - 86400, to: t2, step: 300 }).then(setDay).catch(() => {});
    };
    loadDay();
    // The top list is not in the 1 s event: refresh it every 5 s.
    const a = setInterval(loadSummary, 5000);
    const b = setInterval(loadDay, 300000);
    return () => {
      clearInterval(a);
      clearInterval(b);
    };
  }, []);

  useEvent('counters', (d) => {
    const c = d as Counters;
    setNow(c);
    // The hour chart grows with the live readings (1 s), trimmed to an hour.
    setHour((h) => {
      if (!h) return h;
      const row = fromCounters(c);
      const cols = ['time', ...HOUR_COLS];
      const mapped = h.columns.map((name) => {
        const i = cols.indexOf(name);
        return i >= 0 ? row[i] : 0;
      });
      const pts = h.points.filter((p) => p[0] > c.time_epoch - 3600 && p[0] < c.time_epoch);
      return { ...h, points: [...pts, mapped] };
    });
  });
  const push = (e: RecentEvent) => setRecent((r) => [e, ...r].slice(0, 20));
  useEvent('change', (d) => push({ ...(d as ChangeEvent), type: 'change', at: Date.now() }));
  useEvent('channel', (d) => push({ ...(d as ChannelEvent), type: 'channel', at: Date.now() }));
  useEvent('limit', (d) => push({ ...(d as LimitEvent), type: 'limit', at: Date.now() }));

  const series = range === 'hour' ? hour : day;
  const viewersData = useMemo(() => columns(series, ['viewers']), [series]);
  const bwData = useMemo(() => columns(series, ['out_bytes_per_second', 'in_bytes_per_second']), [series]);
  const cpuData = useMemo(() => columns(series, ['cpu_percent']), [series]);
  const memData = useMemo(() => columns(series, ['memory_rss_bytes']), [series]);

  return (
    <section class="page">
      <PageHeader title="Dashboard">{now ? `Up ${fmt.duration(now.uptime_seconds)} · updated ${new Date(now.time).toLocaleTimeString()}` : 'Loading…'}</PageHeader>
      <div class="stats">
        <Stat id="viewers" label="Viewers now" value={now?.viewers.total ?? '–'} sub={now && `${now.viewers.live} live · ${now.viewers.hls} HLS · ${now.viewers.vod} VOD`} />
        <Stat id="bandwidth-out" label="Bandwidth out" value={fmt.bitrate(now?.bandwidth.out_bytes_per_second)} />
        <Stat id="bandwidth-in" label="Bandwidth in" value={fmt.bitrate(now?.bandwidth.in_bytes_per_second)} />
        <Stat id="cpu" label="CPU" value={fmt.percent(now?.cpu_percent)} sub="of one core" />
        <Stat id="memory" label="Memory" value={fmt.bytes(now?.memory_rss_bytes)} sub="resident" />
        <Stat
          id="channels"
          label="Channels"
          value={now ? (now.channels.running ?? 0) + ' running' : '–'}
          sub={
            now && (
              <span class="badges">
                {STATES.filter(([s]) => s !== 'running').map(([s, tone]) => (
                  <Badge key={s} tone={(now.channels[s] ?? 0) > 0 ? tone : 'neutral'}>
                    {now.channels[s] ?? 0} {s}
                  </Badge>
                ))}
              </span>
            )
          }
        />
      </div>

      <div class="grid-2">
        <section class="card" aria-labelledby="top-h">
          <h2 id="top-h">Top channels</h2>
          {top.length === 0 ? (
            <p class="muted">Nobody is watching a channel.</p>
          ) : (
            <table class="compact">
              <caption class="sr-only">Channels by viewers</caption>
              <thead>
                <tr>
                  <th scope="col">Channel</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">
                    Viewers
                  </th>
                </tr>
              </thead>
              <tbody>
                {top.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <a href={href('channels', c.id)}>{c.name}</a>
                    </td>
                    <td>
                      <Badge tone={STATES.find(([s]) => s === c.state)?.[1] ?? 'neutral'}>{c.state}</Badge>
                    </td>
                    <td class="num">{c.viewers}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="card" aria-labelledby="recent-h">
          <h2 id="recent-h">Recent events</h2>
          {recent.length === 0 ? (
            <p class="muted">Channels failing over, lines hitting their connection limit and changes made through the panel or the API appear here as they happen.</p>
          ) : (
            <ul class="events" aria-live="polite">
              {recent.map((e, i) => (
                <li key={`${e.at}-${i}`} data-event={e.type}>
                  <time>{new Date(e.at).toLocaleTimeString()}</time> {describe(e)}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <section class="card" aria-labelledby="charts-h">
        <h2 id="charts-h">History</h2>
        <Tabs
          label="Chart range"
          active={range}
          onChange={setRange}
          tabs={[
            { id: 'hour', label: 'Last hour' },
            { id: 'day', label: 'Last 24 h' },
          ]}
        >
          <div class="charts">
            <Chart title="Viewers" series={[{ label: 'viewers' }]} data={viewersData} format={(v) => (Number.isInteger(v) ? String(v) : '')} />
            <Chart title="Bandwidth" series={[{ label: 'out' }, { label: 'in', color: 2 }]} data={bwData} format={fmt.bitrate} />
            <Chart title="CPU" series={[{ label: 'CPU %', color: 3 }]} data={cpuData} format={(v) => `${v.toFixed(0)} %`} />
            <Chart title="Memory" series={[{ label: 'RSS', color: 4 }]} data={memData} format={fmt.bytes} />
          </div>
        </Tabs>
      </section>
    </section>
  );
}
