// Categories: one tab per kind (live, movie, series); drag a row (or use its
// Move buttons) to reorder — the new order is saved at once (PUT
// /categories/order) and players see it within a second; create, rename,
// delete (the titles stay, uncategorised).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { Field, Form, Modal, PageHeader, Tabs, confirm, toast, useForm } from '../ui';
import type { PageProps } from '../main';
import { SortableList, can, errText, getAll, type Category } from './content-common';

type Kind = 'live' | 'movie' | 'series';
const KINDS: { id: Kind; label: string }[] = [
  { id: 'live', label: 'Live' },
  { id: 'movie', label: 'Movies' },
  { id: 'series', label: 'Series' },
];

function CategoryEditor({ kind, cat, onDone }: { kind: Kind; cat: Category | 'new'; onDone: (changed: boolean) => void }) {
  const isNew = cat === 'new';
  const form = useForm({ name: isNew ? '' : cat.name });
  return (
    <Modal open title={isNew ? `New ${kind} category` : `Rename ${cat.name}`} onClose={() => onDone(false)}>
      <Form
        form={form}
        label={isNew ? 'New category' : 'Rename category'}
        submitLabel={isNew ? 'Create' : 'Save'}
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          if (isNew) await api('POST', '/categories', { kind, name: v.name });
          else await api('PATCH', `/categories/${cat.id}`, { name: v.name });
          toast(isNew ? `Category ${v.name} created` : 'Category renamed');
          onDone(true);
        }}
      >
        <Field form={form} name="name" label="Name" required />
      </Form>
    </Modal>
  );
}

function KindPanel({ kind, canWrite }: { kind: Kind; canWrite: boolean }) {
  const [cats, setCats] = useState<Category[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [editing, setEditing] = useState<Category | 'new' | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    getAll<Category>('/categories', { kind, sort: 'sort_order' })
      .then((c) => {
        setCats(c);
        setError(null);
      })
      .catch((e) => setError(errText(e)));
  }, [kind, tick]);
  const reorder = async (next: Category[]) => {
    const before = cats;
    setCats(next);
    setSaving(true);
    try {
      await api('PUT', '/categories/order', { ids: next.map((c) => c.id) });
      toast('Order saved');
    } catch (e) {
      setCats(before);
      toast(errText(e), 'error');
    } finally {
      setSaving(false);
    }
  };
  const remove = async (c: Category) => {
    const ok = await confirm({ title: 'Delete category', message: `Delete ${c.name}? Its ${c.item_count ?? 0} titles stay, without a category.`, confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/categories/${c.id}`);
      toast(`${c.name} deleted`);
      setTick((t) => t + 1);
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  return (
    <div>
      <div class="toolbar">
        {canWrite && (
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            New category
          </button>
        )}
        <span class="muted" aria-live="polite">
          {saving ? 'Saving order…' : canWrite ? 'Drag a row, or use its arrows, to change the order players show.' : 'The order players show.'}
        </span>
      </div>
      {error && (
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      )}
      {cats && cats.length === 0 && <p class="muted">No {kind} categories yet.</p>}
      {cats && cats.length > 0 && (
        <SortableList
          items={cats}
          keyOf={(c) => c.id}
          label={`${kind} categories in order`}
          disabled={saving || !canWrite}
          onReorder={reorder}
          render={(c) => (
            <span data-category={c.id}>
              <strong>{c.name}</strong> <span class="muted">{c.item_count ?? 0} titles</span>
            </span>
          )}
          actions={(c) => canWrite && (
            <>
              <button type="button" class="small" aria-label={`Rename ${c.name}`} onClick={() => setEditing(c)}>
                Rename
              </button>
              <button type="button" class="small danger" aria-label={`Delete ${c.name}`} onClick={() => remove(c)}>
                Delete
              </button>
            </>
          )}
        />
      )}
      {editing && (
        <CategoryEditor
          kind={kind}
          cat={editing}
          onDone={(changed) => {
            setEditing(null);
            if (changed) setTick((t) => t + 1);
          }}
        />
      )}
    </div>
  );
}

export function Categories({ loc, me }: PageProps) {
  const initial = (loc.query.get('kind') as Kind) || 'live';
  const [kind, setKind] = useState<Kind>(KINDS.some((k) => k.id === initial) ? initial : 'live');
  return (
    <section class="page">
      <PageHeader title="Categories">The groups players show, per kind, in this order.</PageHeader>
      <Tabs tabs={KINDS} active={kind} onChange={(k) => setKind(k as Kind)} label="Category kind">
        <KindPanel key={kind} kind={kind} canWrite={can(me, 'content:write')} />
      </Tabs>
    </section>
  );
}
