// Nodes of a cluster (issue 16): every node's health from GET /nodes, refreshed every 2 s, with
// drain / fence / activate. Empty on a single server.
import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../api';
import { Badge, PageHeader, confirm, fmt, toast } from '../ui';
import type { PageProps } from '../main';

interface Node {
  id: number;
  name: string;
  role: 'main' | 'edge';
  public_url: string;
  state: 'active' | 'draining' | 'fenced' | 'revoked';
  health: 'fresh' | 'offline';
  last_seen_age_ms: number | null;
  viewers: number;
  egress_bps: number;
  ingress_bps: number;
  cpu_pct: number;
  mem_bytes: number;
  channels_running: number;
  clock_skew_ms: number;
}

const stateTone = { active: 'ok', draining: 'warn', fenced: 'bad', revoked: 'neutral' } as const;

export function Nodes({ me }: PageProps) {
  const [nodes, setNodes] = useState<Node[] | null>(null);
  const [error, setError] = useState('');
  const canAct = me.scopes.includes('admin');
  const load = () =>
    get<{ items: Node[] }>('/nodes')
      .then((r) => {
        setNodes(r.items);
        setError('');
      })
      .catch((e: Error) => setError(e.message));
  useEffect(() => {
    load();
    const t = setInterval(load, 2000);
    return () => clearInterval(t);
  }, []);
  const act = async (n: Node, action: 'drain' | 'fence' | 'activate') => {
    const what = { drain: 'takes no new viewers; its viewers stay', fence: 'takes no new viewers and its viewers are moved off', activate: 'takes viewers again' }[action];
    if (action !== 'activate' && !(await confirm({ title: `${action} ${n.name}?`, message: `${n.name} ${what}.`, confirmLabel: action, danger: action === 'fence' })))
      return;
    try {
      await api('POST', `/nodes/${n.id}/${action}`);
      toast(`${n.name}: ${action}`);
      load();
    } catch (e) {
      toast((e as Error).message, 'error');
    }
  };
  return (
    <section class="page">
      <PageHeader title="Nodes">The servers of the cluster and their health (a heartbeat every 2 s; offline after 6 s without one).</PageHeader>
      {error && <p class="error">{error}</p>}
      {nodes && nodes.length === 0 && <p class="muted">This server is not part of a cluster.</p>}
      {nodes && nodes.length > 0 && (
        <table class="table" aria-label="Nodes">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>State</th>
              <th>Health</th>
              <th>Last seen</th>
              <th>Viewers</th>
              <th>Egress</th>
              <th>Ingress</th>
              <th>CPU</th>
              <th>Memory</th>
              <th>Channels</th>
              <th>Clock skew</th>
              {canAct && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.id} data-node={n.name}>
                <td title={n.public_url}>{n.name}</td>
                <td>{n.role}</td>
                <td>
                  <Badge tone={stateTone[n.state]}>{n.state}</Badge>
                </td>
                <td>
                  <Badge tone={n.health === 'fresh' ? 'ok' : 'bad'}>{n.health}</Badge>
                </td>
                <td>{n.last_seen_age_ms === null ? 'never' : `${(n.last_seen_age_ms / 1000).toFixed(1)} s ago`}</td>
                <td>{n.viewers}</td>
                <td>{fmt.bitrate(n.egress_bps / 8)}</td>
                <td>{fmt.bitrate(n.ingress_bps / 8)}</td>
                <td>{n.cpu_pct.toFixed(1)} %</td>
                <td>{fmt.bytes(n.mem_bytes)}</td>
                <td>{n.channels_running}</td>
                <td>{n.clock_skew_ms} ms</td>
                {canAct && (
                  <td>
                    {n.state === 'active' && (
                      <button type="button" class="small" onClick={() => act(n, 'drain')}>
                        Drain
                      </button>
                    )}{' '}
                    {n.state !== 'fenced' && n.state !== 'revoked' && (
                      <button type="button" class="small danger" onClick={() => act(n, 'fence')}>
                        Fence
                      </button>
                    )}{' '}
                    {n.state !== 'active' && n.state !== 'revoked' && (
                      <button type="button" class="small" onClick={() => act(n, 'activate')}>
                        Activate
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
