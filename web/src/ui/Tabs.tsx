// Tabs (WAI-ARIA tabs pattern): the caller keeps which tab is active and
// renders its panel; arrow keys move between tabs.
import type { ComponentChildren } from 'preact';

export interface Tab {
  id: string;
  label: ComponentChildren;
}

export interface TabsProps {
  tabs: Tab[];
  active: string;
  onChange: (id: string) => void;
  label: string;
  children: ComponentChildren;
}

export function Tabs({ tabs, active, onChange, label, children }: TabsProps) {
  const move = (e: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.id === active);
    let j = i;
    if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
    else return;
    e.preventDefault();
    onChange(tabs[j].id);
    (document.getElementById(`tab-${tabs[j].id}`) as HTMLElement | null)?.focus();
  };
  return (
    <div class="tabs">
      <div role="tablist" aria-label={label} onKeyDown={move}>
        {tabs.map((t) => (
          <button
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            key={t.id}
            aria-selected={t.id === active}
            aria-controls={`tabpanel-${t.id}`}
            tabIndex={t.id === active ? 0 : -1}
            onClick={() => onChange(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`tabpanel-${active}`} aria-labelledby={`tab-${active}`} tabIndex={0}>
        {children}
      </div>
    </div>
  );
}
