// Series: the list with covers (server-side paging, search, sort, category
// filter); scan a folder of shows (a job with a progress bar); a series' page
// (#/series/4) with its metadata (editable) and episodes by season, each
// playable in the browser (POST /series/{id}/episodes/{eid}/preview).
import { useEffect, useState } from 'preact/hooks';
import { api, call, get } from '../api';
import { href, navigate } from '../router';
import { DataTable, Field, Form, Modal, PageHeader, confirm, fmt, toast, useForm, type Column } from '../ui';
import type { PageProps } from '../main';
import { Art, JobProgress, can, catName, errText, useCategories, type Episode, type Series as SeriesT } from './content-common';
import { PlayDialog, ScanDialog } from './movies';

interface SeriesValues extends Record<string, unknown> {
  name: string;
  year: number | null | string;
  category_id: string;
  genre: string;
  director: string;
  cast: string;
  plot: string;
  rating: number | null | string;
  cover: string;
  backdrop: string;
}

function SeriesEditor({ s, onDone }: { s: SeriesT; onDone: (changed: boolean) => void }) {
  const cats = useCategories('series');
  const form = useForm<SeriesValues>({
    name: s.name,
    year: s.year,
    category_id: s.category_id === null ? '' : String(s.category_id),
    genre: s.genre,
    director: s.director,
    cast: s.cast,
    plot: s.plot,
    rating: s.rating,
    cover: s.cover,
    backdrop: s.backdrop,
  });
  return (
    <Modal open size="wide" title={`Edit ${s.name}`} onClose={() => onDone(false)}>
      <Form
        form={form}
        label="Edit series"
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          const cur = await call<SeriesT>('GET', `/series/${s.id}`);
          await api('PATCH', `/series/${s.id}`, {
            ...v,
            year: v.year === '' || v.year === null ? null : Number(v.year),
            rating: v.rating === '' || v.rating === null ? null : Number(v.rating),
            category_id: v.category_id === '' ? null : Number(v.category_id),
          }, { ifMatch: cur.etag ?? undefined });
          toast(`${v.name} saved`);
          onDone(true);
        }}
      >
        <Field form={form} name="name" label="Title" required />
        <Field form={form} name="year" label="Year" type="number" nullable />
        <Field form={form} name="category_id" label="Category" type="select" options={[{ value: '', label: '(none)' }, ...cats.map((c) => ({ value: c.id, label: c.name }))]} />
        <Field form={form} name="genre" label="Genre" />
        <Field form={form} name="director" label="Director" />
        <Field form={form} name="cast" label="Cast" />
        <Field form={form} name="rating" label="Rating (0-10)" type="number" step={0.1} nullable />
        <Field form={form} name="plot" label="Plot" type="textarea" rows={4} />
        <Field form={form} name="cover" label="Cover URL" type="url" hint="Empty: the artwork found in the show's folder, if any." />
        <Field form={form} name="backdrop" label="Backdrop URL" type="url" />
      </Form>
    </Modal>
  );
}

function SeriesList({ canWrite }: { canWrite: boolean }) {
  const cats = useCategories('series');
  const [category, setCategory] = useState('');
  const [scanning, setScanning] = useState(false);
  const [job, setJob] = useState<number | null>(null);
  const [reload, setReload] = useState(0);
  const columns: Column<SeriesT>[] = [
    { key: 'cover', title: 'Cover', render: (s) => <Art src={s.cover_url} alt={`${s.name} cover`} /> },
    { key: 'name', title: 'Title', sort: 'name', render: (s) => <a href={href('series', s.id)}>{s.name}</a> },
    { key: 'year', title: 'Year', sort: 'year', class: 'num', render: (s) => s.year || '–' },
    { key: 'category_id', title: 'Category', sort: 'category_id', render: (s) => catName(cats, s.category_id) },
    { key: 'genre', title: 'Genre' },
    { key: 'episode_count', title: 'Episodes', class: 'num' },
    { key: 'rating', title: 'Rating', sort: 'rating', class: 'num', render: (s) => (s.rating ? s.rating.toFixed(1) : '–') },
  ];
  return (
    <section class="page">
      <PageHeader
        title="Series"
        actions={
          canWrite && (
            <button type="button" class="primary" onClick={() => setScanning(true)}>
              Scan folder
            </button>
          )
        }
      />
      {job !== null && (
        <JobProgress
          key={job}
          jobId={job}
          label="Folder scan"
          onDone={(j) => {
            setReload((r) => r + 1);
            // Artwork URLs come from the published catalogue, which follows
            // the database within about a second: look again then.
            setTimeout(() => setReload((r) => r + 1), 1500);
            toast(j.state === 'succeeded' ? 'Scan finished' : 'Scan failed', j.state === 'succeeded' ? 'success' : 'error');
          }}
        />
      )}
      <DataTable<SeriesT>
        path="/series"
        label="Series"
        columns={columns}
        defaultSort="name"
        search="Search titles"
        filters={{ category_id: category || undefined }}
        reloadKey={reload}
        liveEntities={['series']}
        empty="No series. Scan a folder to add some."
        toolbar={
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
        }
        rowActions={(s) => (
          <a class="button-link" href={href('series', s.id)} aria-label={`Episodes of ${s.name}`}>
            Episodes
          </a>
        )}
      />
      {scanning && (
        <ScanDialog
          kind="series"
          onClose={() => setScanning(false)}
          onJob={(id) => {
            setScanning(false);
            setJob(id);
          }}
        />
      )}
    </section>
  );
}

function SeriesDetail({ id, canWrite }: { id: number; canWrite: boolean }) {
  const [s, setS] = useState<SeriesT | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [season, setSeason] = useState('');
  const [editing, setEditing] = useState(false);
  const [playing, setPlaying] = useState<Episode | null>(null);
  const [tick, setTick] = useState(0);
  const cats = useCategories('series');
  useEffect(() => {
    get<SeriesT>(`/series/${id}`)
      .then((x) => {
        setS(x);
        setError(null);
      })
      .catch((e) => setError(errText(e)));
  }, [id, tick]);
  const remove = async () => {
    if (!s) return;
    const ok = await confirm({ title: 'Delete series', message: `Delete ${s.name} and its ${s.episode_count} episodes? The files stay on disk.`, confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/series/${id}`);
      toast(`${s.name} deleted`);
      navigate('/series');
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  const columns: Column<Episode>[] = [
    { key: 'season', title: 'Season', sort: 'season', class: 'num' },
    { key: 'episode_num', title: 'Episode', sort: 'episode_num', class: 'num' },
    { key: 'title', title: 'Title', sort: 'title' },
    { key: 'duration_secs', title: 'Length', class: 'num', render: (e) => (e.duration_secs ? fmt.duration(e.duration_secs) : '–') },
    { key: 'available', title: 'File', render: (e) => (e.available ? 'ok' : 'missing') },
  ];
  if (error)
    return (
      <section class="page">
        <PageHeader title="Series" />
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      </section>
    );
  return (
    <section class="page">
      <PageHeader
        title={s ? s.name : 'Series'}
        actions={
          canWrite && <span class="row-buttons">
            <button type="button" onClick={() => setEditing(true)} disabled={!s}>
              Edit
            </button>
            <button type="button" class="danger" onClick={remove} disabled={!s}>
              Delete
            </button>
          </span>
        }
      >
        <a href={href('series')}>Series</a> › #{id}
      </PageHeader>
      {s && (
        <div class="card detail-grid">
          <Art src={s.cover_url} alt={`${s.name} cover`} class="art" />
          <dl class="props">
            <dt>Year</dt>
            <dd>{s.year || '–'}</dd>
            <dt>Category</dt>
            <dd>{catName(cats, s.category_id)}</dd>
            <dt>Genre</dt>
            <dd>{s.genre || '–'}</dd>
            <dt>Plot</dt>
            <dd>{s.plot || '–'}</dd>
          </dl>
        </div>
      )}
      <h2>Episodes</h2>
      <DataTable<Episode>
        path={`/series/${id}/episodes`}
        label="Episodes"
        columns={columns}
        defaultSort="season,episode_num"
        filters={{ season: season || undefined }}
        reloadKey={tick}
        empty="No episodes."
        toolbar={
          <label>
            Season <input type="text" inputMode="numeric" size={4} value={season} onInput={(e) => setSeason((e.currentTarget as HTMLInputElement).value.replace(/\D/g, ''))} />
          </label>
        }
        rowActions={(e) => (
          <button type="button" class="small primary" aria-label={`Play S${e.season}E${e.episode_num}`} onClick={() => setPlaying(e)}>
            Play
          </button>
        )}
      />
      {editing && s && (
        <SeriesEditor
          s={s}
          onDone={(changed) => {
            setEditing(false);
            if (changed) setTick((t) => t + 1);
          }}
        />
      )}
      {playing && s && (
        <PlayDialog title={`${s.name} S${playing.season}E${playing.episode_num}`} grantPath={`/series/${id}/episodes/${playing.id}/preview`} onClose={() => setPlaying(null)} />
      )}
    </section>
  );
}

export function Series({ params, me }: PageProps) {
  const id = params[0] && /^\d+$/.test(params[0]) ? Number(params[0]) : null;
  const w = can(me, 'content:write');
  return id ? <SeriesDetail key={id} id={id} canWrite={w} /> : <SeriesList canWrite={w} />;
}
