// Bouquets: the packages lines subscribe to. The list is reorderable (drag
// or arrows; saved at once with PUT /bouquets/order); a bouquet's page
// (#/bouquets/3) edits its contents — whole categories and single channels,
// movies or series, found by search — in order (drag or arrows), saved in one
// transaction (PUT /bouquets/{id}/items with If-Match).
import { useEffect, useState } from 'preact/hooks';
import { api, call, get, type Page } from '../api';
import { href, navigate } from '../router';
import { Field, Form, Modal, PageHeader, confirm, toast, useForm } from '../ui';
import type { PageProps } from '../main';
import { SortableList, can, errText, getAll, type Bouquet, type BouquetItem, type Category } from './content-common';

function BouquetCreator({ onDone }: { onDone: (b: Bouquet | null) => void }) {
  const form = useForm({ name: '' });
  return (
    <Modal open title="New bouquet" onClose={() => onDone(null)}>
      <Form
        form={form}
        label="New bouquet"
        submitLabel="Create"
        actions={
          <button type="button" onClick={() => onDone(null)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          const b = await api<Bouquet>('POST', '/bouquets', { name: v.name, items: [] });
          toast(`Bouquet ${b.name} created`);
          onDone(b);
        }}
      >
        <Field form={form} name="name" label="Name" required />
      </Form>
    </Modal>
  );
}

function BouquetList({ canWrite }: { canWrite: boolean }) {
  const [list, setList] = useState<Bouquet[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [creating, setCreating] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    getAll<Bouquet>('/bouquets', { sort: 'sort_order' })
      .then((b) => {
        setList(b);
        setError(null);
      })
      .catch((e) => setError(errText(e)));
  }, [tick]);
  const reorder = async (next: Bouquet[]) => {
    const before = list;
    setList(next);
    setSaving(true);
    try {
      await api('PUT', '/bouquets/order', { ids: next.map((b) => b.id) });
      toast('Order saved');
    } catch (e) {
      setList(before);
      toast(errText(e), 'error');
    } finally {
      setSaving(false);
    }
  };
  const remove = async (b: Bouquet) => {
    const ok = await confirm({ title: 'Delete bouquet', message: `Delete ${b.name}? ${b.line_count} lines lose what it gave them.`, confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/bouquets/${b.id}`);
      toast(`${b.name} deleted`);
      setTick((t) => t + 1);
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  return (
    <section class="page">
      <PageHeader
        title="Bouquets"
        actions={
          canWrite && (
            <button type="button" class="primary" onClick={() => setCreating(true)}>
              New bouquet
            </button>
          )
        }
      >
        Packages of categories and titles that lines subscribe to. Drag to reorder.
      </PageHeader>
      {error && (
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      )}
      <p class="muted" aria-live="polite">
        {saving ? 'Saving order…' : ''}
      </p>
      {list && list.length === 0 && <p class="muted">No bouquets yet.</p>}
      {list && list.length > 0 && (
        <SortableList
          items={list}
          keyOf={(b) => b.id}
          label="Bouquets in order"
          disabled={saving || !canWrite}
          onReorder={reorder}
          render={(b) => (
            <span data-bouquet={b.id}>
              <a href={href('bouquets', b.id)}>
                <strong>{b.name}</strong>
              </a>{' '}
              <span class="muted">
                {b.items.length} items · {b.line_count} lines
              </span>
            </span>
          )}
          actions={(b) => (
            <>
              <a class="button-link" href={href('bouquets', b.id)} aria-label={`Edit contents of ${b.name}`}>
                Contents
              </a>
              {canWrite && (
                <button type="button" class="small danger" aria-label={`Delete ${b.name}`} onClick={() => remove(b)}>
                  Delete
                </button>
              )}
            </>
          )}
        />
      )}
      {creating && (
        <BouquetCreator
          onDone={(b) => {
            setCreating(false);
            if (b) navigate(`/bouquets/${b.id}`);
          }}
        />
      )}
    </section>
  );
}

const KIND_LABEL: Record<BouquetItem['kind'], string> = {
  all: 'Everything',
  category: 'Category',
  live: 'Channel',
  movie: 'Movie',
  series: 'Series',
};

const PATH_OF: Record<'live' | 'movie' | 'series', string> = { live: '/streams', movie: '/movies', series: '/series' };

type Named = { id: number; name: string; kind?: string };

/** Search box + results to add items of one kind. */
function ItemPicker({ onAdd, has }: { onAdd: (it: BouquetItem, label: string) => void; has: (it: BouquetItem) => boolean }) {
  const [kind, setKind] = useState<BouquetItem['kind']>('category');
  const [q, setQ] = useState('');
  const [results, setResults] = useState<Named[]>([]);
  useEffect(() => {
    if (kind === 'all') {
      setResults([]);
      return undefined;
    }
    const ac = new AbortController();
    const t = setTimeout(() => {
      const path = kind === 'category' ? '/categories' : PATH_OF[kind];
      get<Page<Named>>(path, { q: q.trim() || undefined, page_size: 20, sort: kind === 'category' ? 'kind,sort_order' : 'name' }, ac.signal)
        .then((p) => setResults(p.items))
        .catch(() => undefined);
    }, 200);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [kind, q]);
  return (
    <div class="picker">
      <div class="row-buttons">
        <label>
          Add{' '}
          <select aria-label="Kind of item to add" value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as BouquetItem['kind'])}>
            <option value="category">a category</option>
            <option value="live">a channel</option>
            <option value="movie">a movie</option>
            <option value="series">a series</option>
            <option value="all">everything</option>
          </select>
        </label>
        {kind !== 'all' ? (
          <input type="search" aria-label="Search titles to add" placeholder="Search…" value={q} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        ) : (
          <button type="button" disabled={has({ kind: 'all', id: null })} onClick={() => onAdd({ kind: 'all', id: null }, 'Everything')}>
            Add everything
          </button>
        )}
      </div>
      {kind !== 'all' && (
        <ul aria-label="Search results">
          {results.map((r) => {
            const it: BouquetItem = { kind, id: r.id };
            const label = kind === 'category' ? `${r.name} (${r.kind})` : r.name;
            return (
              <li key={r.id}>
                <span>{label}</span>
                <button type="button" class="small" disabled={has(it)} aria-label={`${has(it) ? 'Added' : 'Add'} ${label}`} onClick={() => onAdd(it, label)}>
                  {has(it) ? 'Added' : 'Add'}
                </button>
              </li>
            );
          })}
          {results.length === 0 && <li class="muted">No match.</li>}
        </ul>
      )}
    </div>
  );
}

const itemKey = (it: BouquetItem) => `${it.kind}:${it.id ?? ''}`;

function BouquetDetail({ id, canWrite }: { id: number; canWrite: boolean }) {
  const [b, setB] = useState<Bouquet | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [items, setItems] = useState<BouquetItem[]>([]);
  const [labels, setLabels] = useState<Record<string, string>>({});
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [renaming, setRenaming] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    call<Bouquet>('GET', `/bouquets/${id}`)
      .then(async (a) => {
        setB(a.data);
        setEtag(a.etag);
        setItems(a.data.items);
        setDirty(false);
        setError(null);
        // Names of the items (categories in one list; titles one by one, bounded).
        const names: Record<string, string> = { 'all:': 'Everything' };
        const cats = await getAll<Category>('/categories').catch(() => [] as Category[]);
        for (const c of cats) names[`category:${c.id}`] = `${c.name} (${c.kind})`;
        const titles = a.data.items.filter((it) => it.kind === 'live' || it.kind === 'movie' || it.kind === 'series').slice(0, 200);
        await Promise.all(
          titles.map((it) =>
            get<Named>(`${PATH_OF[it.kind as 'live' | 'movie' | 'series']}/${it.id}`)
              .then((n) => void (names[itemKey(it)] = n.name))
              .catch(() => undefined),
          ),
        );
        setLabels(names);
      })
      .catch((e) => setError(errText(e)));
  }, [id, tick]);
  const save = async () => {
    setSaving(true);
    try {
      const a = await call<Bouquet>('PUT', `/bouquets/${id}/items`, { items }, { ifMatch: etag ?? undefined });
      setB(a.data);
      setEtag(a.etag);
      setItems(a.data.items);
      setDirty(false);
      toast('Bouquet saved');
    } catch (e) {
      toast(errText(e), 'error');
    } finally {
      setSaving(false);
    }
  };
  const change = (next: BouquetItem[]) => {
    setItems(next);
    setDirty(true);
  };
  if (error)
    return (
      <section class="page">
        <PageHeader title="Bouquet" />
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      </section>
    );
  return (
    <section class="page">
      <PageHeader
        title={b ? `Bouquet ${b.name}` : 'Bouquet'}
        actions={
          canWrite && <span class="row-buttons">
            <button type="button" onClick={() => setRenaming(true)} disabled={!b}>
              Rename
            </button>
            <button type="button" disabled={!dirty || saving} onClick={() => setTick((t) => t + 1)}>
              Discard changes
            </button>
            <button type="button" class="primary" disabled={!dirty || saving} onClick={save}>
              {saving ? 'Saving…' : 'Save contents'}
            </button>
          </span>
        }
      >
        <a href={href('bouquets')}>Bouquets</a> › {b ? `${b.line_count} ${b.line_count === 1 ? 'line uses' : 'lines use'} it` : '…'}
      </PageHeader>
      <div class="detail-grid">
        <div class="card">
          <h2>Contents, in order</h2>
          {items.length === 0 ? (
            <p class="muted">Empty: lines with only this bouquet see nothing.</p>
          ) : (
            <SortableList
              items={items}
              keyOf={itemKey}
              label="Bouquet contents in order"
              disabled={saving || !canWrite}
              onReorder={change}
              render={(it) => (
                <span data-item={itemKey(it)}>
                  {it.kind === 'all' ? (
                    'Everything'
                  ) : (
                    <>
                      <span class="muted">{KIND_LABEL[it.kind]}</span> {labels[itemKey(it)] ?? `#${it.id}`}
                    </>
                  )}
                </span>
              )}
              actions={(it) => canWrite && (
                <button type="button" class="small" aria-label={`Remove ${labels[itemKey(it)] ?? itemKey(it)}`} onClick={() => change(items.filter((x) => itemKey(x) !== itemKey(it)))}>
                  Remove
                </button>
              )}
            />
          )}
          {dirty && <p class="muted">Unsaved changes.</p>}
        </div>
        {canWrite && <div class="card">
          <h2>Add</h2>
          <ItemPicker
            has={(it) => items.some((x) => itemKey(x) === itemKey(it))}
            onAdd={(it, label) => {
              setLabels((l) => ({ ...l, [itemKey(it)]: label }));
              change([...items, it]);
            }}
          />
        </div>}
      </div>
      {renaming && b && (
        <RenameBouquet
          b={b}
          onDone={(changed) => {
            setRenaming(false);
            if (changed) setTick((t) => t + 1);
          }}
        />
      )}
    </section>
  );
}

function RenameBouquet({ b, onDone }: { b: Bouquet; onDone: (changed: boolean) => void }) {
  const form = useForm({ name: b.name });
  return (
    <Modal open title={`Rename ${b.name}`} onClose={() => onDone(false)}>
      <Form
        form={form}
        label="Rename bouquet"
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          await api('PATCH', `/bouquets/${b.id}`, { name: v.name });
          toast('Bouquet renamed');
          onDone(true);
        }}
      >
        <Field form={form} name="name" label="Name" required />
      </Form>
    </Modal>
  );
}

export function Bouquets({ params, me }: PageProps) {
  const id = params[0] && /^\d+$/.test(params[0]) ? Number(params[0]) : null;
  const w = can(me, 'content:write');
  return id ? <BouquetDetail key={id} id={id} canWrite={w} /> : <BouquetList canWrite={w} />;
}
