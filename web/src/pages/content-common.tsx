// Pieces the content pages share (channels, categories, bouquets, movies,
// series, EPG): the preview player, a reorderable list (drag and drop, and
// Move up/down buttons for the keyboard), a job progress bar, option lists
// loaded from the API, and the shapes of the catalogue objects.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, get, waitJob, type Job, type Me, type Page } from '../api';
import './content.css';

// ---- shapes (docs/admin-api.md) ----

export interface Stream {
  id: number;
  name: string;
  category_id: number | null;
  epg_channel_id: string | null;
  epg_auto_id: string | null;
  logo: string;
  always_on: boolean;
  transcode_profile_id: number | null;
  enabled: boolean;
  tv_archive_days: number;
  sort_order: number;
  added: string;
  sources: string[];
  live?: { state: string; viewers: number; input_kbps: number; source_index: number };
}

export interface Category {
  id: number;
  kind: 'live' | 'movie' | 'series';
  name: string;
  sort_order: number;
  item_count?: number;
}

export interface BouquetItem {
  kind: 'all' | 'category' | 'live' | 'movie' | 'series';
  id: number | null;
}

export interface Bouquet {
  id: number;
  name: string;
  sort_order: number;
  line_count: number;
  items: BouquetItem[];
}

export interface Movie {
  id: number;
  name: string;
  original_title: string;
  year: number | null;
  category_id: number | null;
  source: string;
  container_extension: string;
  poster: string;
  backdrop: string;
  plot: string;
  cast: string;
  director: string;
  genre: string;
  release_date: string;
  rating: number;
  duration_secs: number;
  available: boolean;
  added: string;
  poster_url?: string;
  backdrop_url?: string;
}

export interface Series {
  id: number;
  name: string;
  year: number | null;
  category_id: number | null;
  cover: string;
  backdrop: string;
  plot: string;
  cast: string;
  director: string;
  genre: string;
  rating: number;
  episode_count: number;
  added: string;
  cover_url?: string;
}

export interface Episode {
  id: number;
  series_id: number;
  season: number;
  episode_num: number;
  title: string;
  source: string;
  container_extension: string;
  duration_secs: number;
  available: boolean;
}

export interface Preview {
  kind: 'live' | 'movie' | 'episode';
  id: number;
  hls_url?: string;
  ts_url?: string;
  url?: string;
  expires_at: string;
}

/** Whether the signed-in admin (session or token) holds scope ('admin' implies all). */
export function can(me: Me, scope: string): boolean {
  return me.scopes.includes(scope) || me.scopes.includes('admin');
}

export function errText(e: unknown): string {
  return e instanceof ApiError ? e.userMessage : e instanceof Error ? e.message : String(e);
}

/** Every row of a small list (categories, profiles): pages of 1000 until done. */
export async function getAll<T>(path: string, query: Record<string, string | number> = {}): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; page < 100; page++) {
    const p = await get<Page<T>>(path, { ...query, page, page_size: 1000 });
    out.push(...p.items);
    if (out.length >= p.total || p.items.length === 0) break;
  }
  return out;
}

/** Categories of one kind, for selects and names ({id → name}). */
export function useCategories(kind: 'live' | 'movie' | 'series', reloadKey?: unknown): Category[] {
  const [cats, setCats] = useState<Category[]>([]);
  useEffect(() => {
    getAll<Category>('/categories', { kind, sort: 'sort_order' })
      .then(setCats)
      .catch(() => setCats([]));
  }, [kind, reloadKey]);
  return cats;
}

export function catName(cats: Category[], id: number | null): string {
  if (id === null || id === undefined) return '–';
  return cats.find((c) => c.id === id)?.name ?? `#${id}`;
}

// ---- the preview player ----

type Cleanup = () => void;

/**
 * Plays a stream, movie or episode in the page. It asks the API for a
 * preview grant (POST …/preview), then: live → HLS through hls.js (light
 * build, loaded on demand), falling back to MPEG-TS through mpegts.js when
 * hls.js cannot play it (prefer 'ts' starts with mpegts.js: the channel page's
 * ?player=ts); VOD → the file in a plain <video>.
 */
export function Player({ grantPath, title, prefer = 'hls' }: { grantPath: string; title: string; prefer?: 'hls' | 'ts' }) {
  const video = useRef<HTMLVideoElement>(null);
  const [status, setStatus] = useState('Starting…');
  const [engine, setEngine] = useState('');
  useEffect(() => {
    let cleanup: Cleanup | null = null;
    let stopped = false;
    const v = video.current!;
    const useTs = async (g: Preview) => {
      const mod = await import('mpegts.js');
      const mpegts = mod.default;
      if (stopped) return;
      if (!mpegts.getFeatureList().mseLivePlayback) throw new Error('this browser cannot play MPEG-TS');
      const player = mpegts.createPlayer({ type: 'mpegts', isLive: true, url: new URL(g.ts_url!, location.href).href }, { enableWorker: false, lazyLoad: false });
      player.attachMediaElement(v);
      player.load();
      setEngine('mpegts.js');
      cleanup = () => {
        player.pause();
        player.unload();
        player.detachMediaElement();
        player.destroy();
      };
      void v.play().catch(() => undefined);
    };
    const useHls = async (g: Preview) => {
      const mod = await import('hls.js/light');
      const Hls = mod.default;
      if (stopped) return;
      if (!Hls.isSupported()) return useTs(g);
      const hls = new Hls({ lowLatencyMode: false, liveSyncDurationCount: 2 });
      let fellBack = false;
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (!data.fatal || fellBack || stopped) return;
        fellBack = true;
        hls.destroy();
        setStatus('HLS failed; trying MPEG-TS…');
        useTs(g).catch((err) => setStatus(errText(err)));
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => void v.play().catch(() => undefined));
      hls.loadSource(g.hls_url!);
      hls.attachMedia(v);
      setEngine('hls.js');
      cleanup = () => {
        if (!fellBack) hls.destroy();
      };
    };
    (async () => {
      // A stream created a moment ago is not in the published catalogue yet:
      // the API says 404 "retry in a second" until it is.
      let g: Preview | null = null;
      for (let i = 0; i < 15 && !stopped; i++) {
        try {
          g = await api<Preview>('POST', grantPath);
          break;
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 404 || i === 14) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      if (!g || stopped) return;
      if (g.kind === 'live') await (prefer === 'ts' ? useTs(g) : useHls(g));
      else {
        v.src = g.url!;
        setEngine('file');
        void v.play().catch(() => undefined);
      }
    })().catch((e) => setStatus(errText(e)));
    const onPlaying = () => setStatus('Playing');
    const onWaiting = () => setStatus('Buffering…');
    v.addEventListener('playing', onPlaying);
    v.addEventListener('waiting', onWaiting);
    return () => {
      stopped = true;
      v.removeEventListener('playing', onPlaying);
      v.removeEventListener('waiting', onWaiting);
      cleanup?.();
      v.removeAttribute('src');
      v.load();
    };
  }, [grantPath, prefer]);
  return (
    <figure class="player">
      <video ref={video} controls muted playsInline aria-label={`Preview of ${title}`} data-engine={engine} />
      <figcaption class="muted" aria-live="polite">
        {status}
        {engine && ` · ${engine}`}
      </figcaption>
    </figure>
  );
}

// ---- reorderable list ----

export interface SortableProps<T> {
  items: T[];
  keyOf: (item: T) => string | number;
  render: (item: T) => ComponentChildren;
  /** Called with the new order (the caller saves it). */
  onReorder: (items: T[]) => void;
  label: string;
  /** Buttons after the move buttons (Remove). */
  actions?: (item: T, index: number) => ComponentChildren;
  disabled?: boolean;
}

/**
 * An ordered list the user reorders by dragging a row (HTML drag and drop)
 * or with its Move up / Move down buttons (keyboard and touch).
 */
export function SortableList<T>({ items, keyOf, render, onReorder, label, actions, disabled }: SortableProps<T>) {
  const [dragging, setDragging] = useState<number | null>(null);
  const [over, setOver] = useState<number | null>(null);
  const move = (from: number, to: number) => {
    if (from === to || to < 0 || to >= items.length) return;
    const next = items.slice();
    const [it] = next.splice(from, 1);
    next.splice(to, 0, it);
    onReorder(next);
  };
  return (
    <ol class="sortable" aria-label={label}>
      {items.map((it, i) => (
        <li
          key={keyOf(it)}
          data-key={keyOf(it)}
          draggable={!disabled}
          class={`${dragging === i ? 'dragging' : ''} ${over === i && dragging !== i ? 'drop-target' : ''}`}
          onDragStart={(e) => {
            setDragging(i);
            e.dataTransfer?.setData('text/plain', String(i));
            if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
          }}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(i);
          }}
          onDragLeave={() => setOver((o) => (o === i ? null : o))}
          onDrop={(e) => {
            e.preventDefault();
            const from = dragging ?? Number(e.dataTransfer?.getData('text/plain'));
            setDragging(null);
            setOver(null);
            if (Number.isInteger(from)) move(from, i);
          }}
          onDragEnd={() => {
            setDragging(null);
            setOver(null);
          }}
        >
          <span class="grip" aria-hidden="true">
            ⠿
          </span>
          <span class="sortable-body">{render(it)}</span>
          <span class="sortable-actions">
            <button type="button" class="small" disabled={disabled || i === 0} aria-label={`Move ${i + 1} up`} onClick={() => move(i, i - 1)}>
              ↑
            </button>
            <button type="button" class="small" disabled={disabled || i === items.length - 1} aria-label={`Move ${i + 1} down`} onClick={() => move(i, i + 1)}>
              ↓
            </button>
            {actions?.(it, i)}
          </span>
        </li>
      ))}
    </ol>
  );
}

// ---- jobs ----

/** A job's progress bar (role progressbar via <progress>), live until it ends. */
export function JobProgress({ jobId, label, onDone }: { jobId: number; label: string; onDone?: (j: Job) => void }) {
  const [job, setJob] = useState<Job | null>(null);
  const done = useRef(onDone);
  done.current = onDone;
  useEffect(() => {
    let live = true;
    waitJob(jobId, (j) => live && setJob(j), 300)
      .then((j) => live && done.current?.(j))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [jobId]);
  const pct = Math.round(job?.progress ?? 0);
  const stage = (job as (Job & { stage?: string }) | null)?.stage;
  return (
    <div class="job" data-job={jobId} data-state={job?.state ?? 'queued'}>
      <label>
        {label}: {job?.state ?? 'queued'}
        {stage ? ` (${stage})` : ''} <span data-progress>{pct}%</span>
        <progress max={100} value={pct} aria-label={`${label} progress`} />
      </label>
      {job?.state === 'failed' && (
        <div class="alert alert-error" role="alert">
          {job.error?.detail ?? 'failed'}
          {job.error?.errors?.length ? (
            <ul>
              {job.error.errors.slice(0, 10).map((e) => (
                <li key={e.field}>
                  <code>{e.field}</code>: {e.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      )}
    </div>
  );
}

/** Artwork with a plain placeholder when there is none or it fails to load. */
export function Art({ src, alt, class: cls = 'art' }: { src?: string; alt: string; class?: string }) {
  const [bad, setBad] = useState(false);
  useEffect(() => setBad(false), [src]);
  if (!src || bad) return <span class={`${cls} art-none`} role="img" aria-label={`${alt}: no artwork`} />;
  return <img class={cls} src={src} alt={alt} loading="lazy" onError={() => setBad(true)} />;
}
