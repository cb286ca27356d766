// The app's one EventSource on GET /api/v1/events (Server-Sent Events): it is
// opened when the first listener subscribes and closed with the last, so
// every page shares one connection (the server allows 64 subscribers in
// all). Event types: `counters` every second (the dashboard's figures) and
// `change` ({entity, id, action}) for every change made through the API.
import { useEffect, useRef, useState } from 'preact/hooks';

type Listener = (data: unknown, type: string) => void;

const listeners = new Map<string, Set<Listener>>();
const attached = new Set<string>();
let source: EventSource | null = null;
let status: 'closed' | 'connecting' | 'open' = 'closed';
const statusListeners = new Set<(s: typeof status) => void>();

function setStatus(s: typeof status) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

function dispatch(type: string, ev: MessageEvent) {
  let data: unknown = ev.data;
  try {
    data = JSON.parse(ev.data);
  } catch {
    /* not JSON: pass the text */
  }
  for (const fn of listeners.get(type) ?? []) fn(data, type);
  for (const fn of listeners.get('*') ?? []) fn(data, type);
}

function attach(type: string) {
  if (!source || type === '*' || attached.has(type)) return;
  attached.add(type);
  source.addEventListener(type, (ev) => dispatch(type, ev as MessageEvent));
}

function open() {
  if (source) return;
  setStatus('connecting');
  source = new EventSource('/api/v1/events', { withCredentials: true });
  attached.clear();
  source.onopen = () => setStatus('open');
  source.onerror = () => setStatus(source && source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
  for (const t of listeners.keys()) attach(t);
  // '*' sees the types pages asked for, plus these.
  for (const t of ['counters', 'change']) attach(t);
}

/** Closes the stream (logout); listeners stay registered for the next login. */
export function closeEvents(): void {
  source?.close();
  source = null;
  setStatus('closed');
}

export function subscribe(type: string, fn: Listener): () => void {
  let set = listeners.get(type);
  if (!set) listeners.set(type, (set = new Set()));
  set.add(fn);
  open();
  attach(type);
  return () => {
    set!.delete(fn);
    let any = false;
    for (const s of listeners.values()) if (s.size) any = true;
    if (!any) closeEvents();
  };
}

/** Calls fn for each event of type while the component is mounted. */
export function useEvent(type: string, fn: Listener): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => subscribe(type, (d, t) => ref.current(d, t)), [type]);
}

export function useEventStatus(): typeof status {
  const [s, setS] = useState(status);
  useEffect(() => {
    statusListeners.add(setS);
    setS(status);
    return () => void statusListeners.delete(setS);
  }, []);
  return s;
}
