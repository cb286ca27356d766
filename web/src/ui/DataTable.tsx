// DataTable: a list paged, sorted and searched ON THE SERVER (never a full
// table load): it sends page, page_size, sort (`name` / `-name`) and q, plus
// the caller's filters, to GET <path> and shows one page. Sortable column
// headers are buttons (aria-sort); search is debounced; optional row
// selection (for bulk actions) and live refresh on `change` events of the
// given entities or on a timer.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, type Page, type Query } from '../api';
import { useEvent } from '../events';

export interface Column<T> {
  /** Member shown when there is no render(); also the React key. */
  key: string;
  title: string;
  /** The API's sort field for this column (omit: not sortable). */
  sort?: string;
  render?: (row: T) => ComponentChildren;
  class?: string;
}

export type RowKey = string | number;

export interface DataTableProps<T> {
  /** The list's API path, '/lines'. */
  path: string;
  columns: Column<T>[];
  /** Accessible name (the table's caption). */
  label: string;
  /** Filters sent with every page request (status=active, kind=live). */
  filters?: Query;
  rowKey?: (row: T) => RowKey;
  defaultSort?: string;
  pageSize?: number;
  /** Show the search box (q); a string is its placeholder. */
  search?: boolean | string;
  /** Controls shown before the search box (filter selects, a New button). */
  toolbar?: ComponentChildren;
  /** Row checkboxes; the caller keeps the selection. */
  selectable?: boolean;
  selected?: Set<RowKey>;
  onSelectionChange?: (keys: Set<RowKey>) => void;
  /** Change it to reload the current page. */
  reloadKey?: unknown;
  /** Reload when a `change` event names one of these entities. */
  liveEntities?: string[];
  /** Reload every N ms (pages whose data has no change events). */
  refreshMs?: number;
  /** Buttons of a row (last column). */
  rowActions?: (row: T) => ComponentChildren;
  /** Called with every page loaded (the page's own summaries). */
  onLoad?: (page: Page<T>) => void;
  empty?: string;
}

/** Any list answer as a page: {items,total,…}, a bare array, or {x:[…]}. */
function asPage<T>(data: unknown, page: number, pageSize: number): Page<T> {
  if (Array.isArray(data)) return { items: data as T[], total: data.length, page: 1, page_size: data.length || pageSize };
  const o = (data ?? {}) as Record<string, unknown>;
  if (Array.isArray(o.items)) return { items: o.items as T[], total: Number(o.total ?? o.items.length), page: Number(o.page ?? page), page_size: Number(o.page_size ?? pageSize) };
  const arr = Object.values(o).find(Array.isArray) as T[] | undefined;
  return { items: arr ?? [], total: arr?.length ?? 0, page: 1, page_size: pageSize };
}

export function DataTable<T>(p: DataTableProps<T>) {
  const pageSize = p.pageSize ?? 25;
  const [page, setPage] = useState(1);
  const [sort, setSort] = useState(p.defaultSort ?? '');
  const [q, setQ] = useState('');
  const [qLive, setQLive] = useState('');
  const [data, setData] = useState<Page<T> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const keyOf = p.rowKey ?? ((r: T) => (r as unknown as { id: RowKey }).id);
  const filtersKey = JSON.stringify(p.filters ?? {});

  // Debounced search: a request per pause, not per key.
  useEffect(() => {
    const t = setTimeout(() => {
      setQ(qLive.trim());
      setPage(1);
    }, 250);
    return () => clearTimeout(t);
  }, [qLive]);
  useEffect(() => setPage(1), [filtersKey]);

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    get<unknown>(p.path, { ...p.filters, page, page_size: pageSize, sort: sort || undefined, q: q || undefined }, ac.signal)
      .then((d) => {
        const pg = asPage<T>(d, page, pageSize);
        setData(pg);
        setError(null);
        p.onLoad?.(pg);
      })
      .catch((e) => {
        if (e instanceof DOMException && e.name === 'AbortError') return;
        setError(e instanceof ApiError ? e.userMessage : String(e));
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
  }, [p.path, filtersKey, page, pageSize, sort, q, tick, p.reloadKey]);

  // Live: reload on change events of our entities (coalesced) or on a timer.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEvent('change', (d) => {
    const ent = (d as { entity?: string }).entity;
    if (!p.liveEntities || !ent || !p.liveEntities.includes(ent) || pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      setTick((t) => t + 1);
    }, 300);
  });
  useEffect(() => {
    if (!p.refreshMs) return undefined;
    const t = setInterval(() => setTick((x) => x + 1), p.refreshMs);
    return () => clearInterval(t);
  }, [p.refreshMs]);

  const items = data?.items ?? [];
  const pages = data ? Math.max(1, Math.ceil(data.total / (data.page_size || pageSize))) : 1;
  const sel = p.selected ?? new Set<RowKey>();
  const allOnPage = items.length > 0 && items.every((r) => sel.has(keyOf(r)));
  const toggleAll = () => {
    const n = new Set(sel);
    for (const r of items) allOnPage ? n.delete(keyOf(r)) : n.add(keyOf(r));
    p.onSelectionChange?.(n);
  };
  const toggle = (k: RowKey) => {
    const n = new Set(sel);
    n.has(k) ? n.delete(k) : n.add(k);
    p.onSelectionChange?.(n);
  };
  const sortBy = (field: string) => {
    setSort((s) => (s === field ? `-${field}` : field));
    setPage(1);
  };
  const cols = useMemo(() => p.columns, [p.columns]);
  const ncols = cols.length + (p.selectable ? 1 : 0) + (p.rowActions ? 1 : 0);

  return (
    <div class="datatable" aria-busy={loading}>
      <div class="toolbar">
        {p.toolbar}
        {p.search && (
          <input
            type="search"
            class="search"
            aria-label={`Search ${p.label}`}
            placeholder={typeof p.search === 'string' ? p.search : 'Search…'}
            value={qLive}
            onInput={(e) => setQLive((e.currentTarget as HTMLInputElement).value)}
          />
        )}
      </div>
      {error && (
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      )}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">{p.label}</caption>
          <thead>
            <tr>
              {p.selectable && (
                <th class="col-check">
                  <input type="checkbox" aria-label="Select every row on this page" checked={allOnPage} onChange={toggleAll} />
                </th>
              )}
              {cols.map((c) => {
                const dir = sort === c.sort ? 'ascending' : sort === `-${c.sort}` ? 'descending' : undefined;
                return (
                  <th key={c.key} class={c.class} aria-sort={c.sort ? (dir ?? 'none') : undefined} scope="col">
                    {c.sort ? (
                      <button type="button" class="sort" onClick={() => sortBy(c.sort!)}>
                        {c.title}
                        <span aria-hidden="true">{dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : ''}</span>
                      </button>
                    ) : (
                      c.title
                    )}
                  </th>
                );
              })}
              {p.rowActions && (
                <th scope="col" class="col-actions">
                  <span class="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {items.map((r) => {
              const k = keyOf(r);
              return (
                <tr key={k} data-row-key={k}>
                  {p.selectable && (
                    <td class="col-check">
                      <input type="checkbox" aria-label={`Select row ${k}`} checked={sel.has(k)} onChange={() => toggle(k)} />
                    </td>
                  )}
                  {cols.map((c) => (
                    <td key={c.key} class={c.class} data-label={c.title}>
                      {c.render ? c.render(r) : fmtCell((r as Record<string, unknown>)[c.key])}
                    </td>
                  ))}
                  {p.rowActions && <td class="col-actions">{p.rowActions(r)}</td>}
                </tr>
              );
            })}
            {data && items.length === 0 && (
              <tr>
                <td colSpan={ncols} class="empty">
                  {p.empty ?? 'Nothing here.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label={`${p.label} pages`}>
        <span class="muted" aria-live="polite">
          {data ? `${data.total} ${data.total === 1 ? 'item' : 'items'}` : loading ? 'Loading…' : ''}
        </span>
        <button type="button" disabled={page <= 1} onClick={() => setPage(1)} aria-label="First page">
          «
        </button>
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)} aria-label="Previous page">
          ‹
        </button>
        <span>
          Page {page} of {pages}
        </span>
        <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)} aria-label="Next page">
          ›
        </button>
        <button type="button" disabled={page >= pages} onClick={() => setPage(pages)} aria-label="Last page">
          »
        </button>
      </nav>
    </div>
  );
}

function fmtCell(v: unknown): ComponentChildren {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
