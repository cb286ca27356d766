// Movies: the list with artwork (server-side paging, search, sort, category
// filter); scan a folder (a job: its progress bar follows it to 100 %); edit
// a movie's metadata (field errors next to the fields); play it in the
// browser (a preview grant, POST /movies/{id}/preview); delete.
import { useState } from 'preact/hooks';
import { api, call, type Job } from '../api';
import { DataTable, Field, Form, Modal, PageHeader, confirm, fmt, toast, useForm, type Column } from '../ui';
import type { PageProps } from '../main';
import { Art, JobProgress, Player, can, catName, errText, useCategories, type Movie } from './content-common';

/** Scan a folder of movies or series (POST /library/scan) and follow the job. */
export function ScanDialog({ kind, onClose, onJob }: { kind: 'movie' | 'series'; onClose: () => void; onJob: (id: number) => void }) {
  const form = useForm({ path: '', category: '' });
  return (
    <Modal open title={kind === 'movie' ? 'Scan a movie folder' : 'Scan a series folder'} onClose={onClose}>
      <Form
        form={form}
        label="Scan a folder"
        submitLabel="Start scan"
        actions={
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          const body: Record<string, string> = { path: v.path, kind };
          if (v.category.trim()) body.category = v.category.trim();
          const r = await api<{ job: Job }>('POST', '/library/scan', body);
          onJob(r.job.id);
        }}
      >
        <Field form={form} name="path" label="Folder on the server" required placeholder="/srv/media/movies" hint="An absolute path; it becomes a library root. Files are probed with ffprobe; .nfo files and artwork next to them are read." />
        <Field form={form} name="category" label="Category for new titles" placeholder="(from the folder names)" />
      </Form>
    </Modal>
  );
}

interface MovieValues extends Record<string, unknown> {
  name: string;
  original_title: string;
  year: number | null | string;
  category_id: string;
  genre: string;
  director: string;
  cast: string;
  plot: string;
  rating: number | null | string;
  release_date: string;
  poster: string;
  backdrop: string;
}

function MovieEditor({ movie, onDone }: { movie: Movie; onDone: (changed: boolean) => void }) {
  const cats = useCategories('movie');
  const form = useForm<MovieValues>({
    name: movie.name,
    original_title: movie.original_title,
    year: movie.year,
    category_id: movie.category_id === null ? '' : String(movie.category_id),
    genre: movie.genre,
    director: movie.director,
    cast: movie.cast,
    plot: movie.plot,
    rating: movie.rating,
    release_date: movie.release_date ?? '',
    poster: movie.poster,
    backdrop: movie.backdrop,
  });
  return (
    <Modal open size="wide" title={`Edit ${movie.name}`} onClose={() => onDone(false)}>
      <Form
        form={form}
        label="Edit movie"
        actions={
          <button type="button" onClick={() => onDone(false)}>
            Cancel
          </button>
        }
        onSubmit={async (v) => {
          const cur = await call<Movie>('GET', `/movies/${movie.id}`);
          await api('PATCH', `/movies/${movie.id}`, {
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
        <Field form={form} name="original_title" label="Original title" />
        <Field form={form} name="year" label="Year" type="number" nullable />
        <Field form={form} name="category_id" label="Category" type="select" options={[{ value: '', label: '(none)' }, ...cats.map((c) => ({ value: c.id, label: c.name }))]} />
        <Field form={form} name="genre" label="Genre" />
        <Field form={form} name="director" label="Director" />
        <Field form={form} name="cast" label="Cast" />
        <Field form={form} name="rating" label="Rating (0-10)" type="number" step={0.1} nullable />
        <Field form={form} name="release_date" label="Release date" placeholder="2021-05-01" />
        <Field form={form} name="plot" label="Plot" type="textarea" rows={4} />
        <Field form={form} name="poster" label="Poster URL" type="url" hint="Empty: the artwork found next to the file, if any." />
        <Field form={form} name="backdrop" label="Backdrop URL" type="url" />
      </Form>
    </Modal>
  );
}

export function PlayDialog({ title, grantPath, onClose }: { title: string; grantPath: string; onClose: () => void }) {
  return (
    <Modal open size="wide" title={`Play ${title}`} onClose={onClose}>
      <Player grantPath={grantPath} title={title} />
    </Modal>
  );
}

export function Movies({ me }: PageProps) {
  const canWrite = can(me, 'content:write');
  const cats = useCategories('movie');
  const [category, setCategory] = useState('');
  const [scanning, setScanning] = useState(false);
  const [job, setJob] = useState<number | null>(null);
  const [editing, setEditing] = useState<Movie | null>(null);
  const [playing, setPlaying] = useState<Movie | null>(null);
  const [reload, setReload] = useState(0);
  const remove = async (m: Movie) => {
    const ok = await confirm({ title: 'Delete movie', message: `Delete ${m.name}? The file stays on disk.`, confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/movies/${m.id}`);
      toast(`${m.name} deleted`);
      setReload((r) => r + 1);
    } catch (e) {
      toast(errText(e), 'error');
    }
  };
  const columns: Column<Movie>[] = [
    { key: 'poster', title: 'Poster', render: (m) => <Art src={m.poster_url} alt={`${m.name} poster`} /> },
    { key: 'name', title: 'Title', sort: 'name', render: (m) => <strong>{m.name}</strong> },
    { key: 'year', title: 'Year', sort: 'year', class: 'num', render: (m) => m.year || '–' },
    { key: 'category_id', title: 'Category', sort: 'category_id', render: (m) => catName(cats, m.category_id) },
    { key: 'genre', title: 'Genre' },
    { key: 'rating', title: 'Rating', sort: 'rating', class: 'num', render: (m) => (m.rating ? m.rating.toFixed(1) : '–') },
    { key: 'duration_secs', title: 'Length', class: 'num', render: (m) => (m.duration_secs ? fmt.duration(m.duration_secs) : '–') },
    { key: 'added', title: 'Added', sort: 'added', render: (m) => fmt.date(m.added) },
  ];
  return (
    <section class="page">
      <PageHeader
        title="Movies"
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
      <DataTable<Movie>
        path="/movies"
        label="Movies"
        columns={columns}
        defaultSort="-added"
        search="Search titles"
        filters={{ category_id: category || undefined }}
        reloadKey={reload}
        liveEntities={['movie']}
        empty="No movies. Scan a folder to add some."
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
        rowActions={(m) => (
          <span class="row-buttons">
            <button type="button" class="small primary" aria-label={`Play ${m.name}`} onClick={() => setPlaying(m)}>
              Play
            </button>
            {canWrite && (
              <>
                <button type="button" class="small" aria-label={`Edit ${m.name}`} onClick={() => setEditing(m)}>
                  Edit
                </button>
                <button type="button" class="small danger" aria-label={`Delete ${m.name}`} onClick={() => remove(m)}>
                  Delete
                </button>
              </>
            )}
          </span>
        )}
      />
      {scanning && (
        <ScanDialog
          kind="movie"
          onClose={() => setScanning(false)}
          onJob={(id) => {
            setScanning(false);
            setJob(id);
          }}
        />
      )}
      {editing && (
        <MovieEditor
          movie={editing}
          onDone={(changed) => {
            setEditing(null);
            if (changed) setReload((r) => r + 1);
          }}
        />
      )}
      {playing && <PlayDialog title={playing.name} grantPath={`/movies/${playing.id}/preview`} onClose={() => setPlaying(null)} />}
    </section>
  );
}
