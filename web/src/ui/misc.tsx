// Small shared pieces: page header, status badge, stat card, empty state.
import type { ComponentChildren } from 'preact';

export function PageHeader({ title, actions, children }: { title: string; actions?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <header class="page-head">
      <div>
        <h1 tabIndex={-1}>{title}</h1>
        {children && <p class="muted">{children}</p>}
      </div>
      {actions && <div class="page-actions">{actions}</div>}
    </header>
  );
}

/** A coloured status word: tone picks the colour (text stays readable). */
export function Badge({ tone = 'neutral', children }: { tone?: 'ok' | 'warn' | 'bad' | 'neutral' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function Stat({ label, value, sub, id }: { label: string; value: ComponentChildren; sub?: ComponentChildren; id?: string }) {
  return (
    <div class="stat" data-stat={id}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub && <div class="stat-sub muted">{sub}</div>}
    </div>
  );
}
