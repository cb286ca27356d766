// Forms that follow the API: useForm() keeps the values, the busy flag and
// the last ApiError; <Form> submits (catching ApiError); <Field> shows the
// API's message for its own name next to the input (aria-invalid +
// aria-describedby), so "max_connections: must be 1-1000" appears under the
// max connections box. Problems for fields that no <Field> shows (and the
// detail of any other error) appear at the top of the form.
import type { ComponentChildren, JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';

export type Values = Record<string, unknown>;

export interface FormState<V extends Values> {
  values: V;
  set: <K extends keyof V>(name: K, value: V[K]) => void;
  setAll: (v: V) => void;
  error: ApiError | Error | null;
  setError: (e: ApiError | Error | null) => void;
  busy: boolean;
  setBusy: (b: boolean) => void;
  /** The API's message for a field: exact name, or `name[i]…` / `name.x`. */
  fieldError: (name: string) => string | undefined;
  /** Names shown by a <Field> (the rest go to the form's alert). */
  shown: Set<string>;
}

let formSeq = 0;

export function useForm<V extends Values>(initial: V): FormState<V> {
  const [values, setValues] = useState<V>(initial);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const shown = useRef(new Set<string>()).current;
  const fe = error instanceof ApiError ? error.fieldErrors : {};
  return {
    values,
    set: (name, value) => setValues((v) => ({ ...v, [name]: value })),
    setAll: setValues,
    error,
    setError,
    busy,
    setBusy,
    shown,
    fieldError: (name) => {
      if (fe[name]) return fe[name];
      const k = Object.keys(fe).find((f) => f.startsWith(`${name}[`) || f.startsWith(`${name}.`));
      return k ? `${k}: ${fe[k]}` : undefined;
    },
  };
}

export interface FormProps<V extends Values> {
  form: FormState<V>;
  onSubmit: (values: V) => Promise<void> | void;
  submitLabel?: string;
  children: ComponentChildren;
  /** Extra buttons beside submit (Cancel). */
  actions?: ComponentChildren;
  class?: string;
  /** Accessible name of the form. */
  label?: string;
}

export function Form<V extends Values>({ form, onSubmit, submitLabel = 'Save', children, actions, class: cls, label }: FormProps<V>) {
  const submit = async (e: Event) => {
    e.preventDefault();
    if (form.busy) return;
    form.setBusy(true);
    form.setError(null);
    try {
      await onSubmit(form.values);
    } catch (err) {
      form.setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      form.setBusy(false);
    }
  };
  const err = form.error;
  let unshown: [string, string][] = [];
  if (err instanceof ApiError)
    unshown = Object.entries(err.fieldErrors).filter(([f]) => ![...form.shown].some((s) => f === s || f.startsWith(`${s}[`) || f.startsWith(`${s}.`)));
  return (
    <form class={`form ${cls ?? ''}`} onSubmit={submit} aria-label={label} noValidate>
      {err && (
        <div class="alert alert-error" role="alert">
          {err instanceof ApiError ? err.userMessage : err.message}
          {unshown.length > 0 && (
            <ul>
              {unshown.map(([f, m]) => (
                <li key={f}>
                  <code>{f}</code>: {m}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {children}
      <div class="form-actions">
        {actions}
        <button type="submit" class="primary" disabled={form.busy}>
          {form.busy ? 'Working…' : submitLabel}
        </button>
      </div>
    </form>
  );
}

export interface Option {
  value: string | number;
  label: string;
}

export interface FieldProps<V extends Values> {
  form: FormState<V>;
  name: keyof V & string;
  label: string;
  type?: 'text' | 'password' | 'number' | 'email' | 'url' | 'date' | 'datetime-local' | 'search' | 'checkbox' | 'select' | 'textarea';
  required?: boolean;
  hint?: ComponentChildren;
  options?: Option[];
  placeholder?: string;
  autoComplete?: string;
  min?: number;
  max?: number;
  step?: number;
  disabled?: boolean;
  rows?: number;
  /** number fields: '' becomes null (the API's "unset / default"). */
  nullable?: boolean;
}

export function Field<V extends Values>(p: FieldProps<V>) {
  const { form, name, label, type = 'text' } = p;
  const [id] = useState(() => `f-${name}-${++formSeq}`);
  form.shown.add(name);
  const error = form.fieldError(name);
  const v = form.values[name];
  const describedBy = [error ? `${id}-err` : '', p.hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name,
    required: p.required,
    disabled: p.disabled || form.busy,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
  };
  let input: JSX.Element;
  if (type === 'checkbox') {
    input = <input {...common} type="checkbox" checked={!!v} onChange={(e) => form.set(name, (e.currentTarget as HTMLInputElement).checked as V[typeof name])} />;
  } else if (type === 'select') {
    input = (
      <select {...common} value={v === null || v === undefined ? '' : String(v)} onChange={(e) => form.set(name, (e.currentTarget as HTMLSelectElement).value as V[typeof name])}>
        {(p.options ?? []).map((o) => (
          <option key={o.value} value={String(o.value)}>
            {o.label}
          </option>
        ))}
      </select>
    );
  } else if (type === 'textarea') {
    input = (
      <textarea
        {...common}
        rows={p.rows ?? 3}
        placeholder={p.placeholder}
        value={v === null || v === undefined ? '' : String(v)}
        onInput={(e) => form.set(name, (e.currentTarget as HTMLTextAreaElement).value as V[typeof name])}
      />
    );
  } else {
    input = (
      <input
        {...common}
        type={type}
        placeholder={p.placeholder}
        autoComplete={p.autoComplete}
        min={p.min}
        max={p.max}
        step={p.step}
        value={v === null || v === undefined ? '' : String(v)}
        onInput={(e) => {
          const raw = (e.currentTarget as HTMLInputElement).value;
          const val = type === 'number' ? (raw === '' ? (p.nullable ? null : '') : Number(raw)) : raw;
          form.set(name, val as V[typeof name]);
        }}
      />
    );
  }
  return (
    <div class={`field ${type === 'checkbox' ? 'field-check' : ''} ${error ? 'field-invalid' : ''}`}>
      {type === 'checkbox' ? (
        <label for={id}>
          {input} {label}
        </label>
      ) : (
        <>
          <label for={id}>
            {label}
            {p.required && <span aria-hidden="true"> *</span>}
          </label>
          {input}
        </>
      )}
      {p.hint && (
        <div class="hint" id={`${id}-hint`}>
          {p.hint}
        </div>
      )}
      {error && (
        <div class="field-error" id={`${id}-err`} data-field-error={name}>
          {error}
        </div>
      )}
    </div>
  );
}
