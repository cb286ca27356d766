// Toasts: short messages after an action ("Line created"), announced to
// screen readers (aria-live). toast() from anywhere; <ToastHost/> once, in
// the app shell.
import { useEffect, useState } from 'preact/hooks';

export type ToastKind = 'info' | 'success' | 'error';
interface Item {
  id: number;
  text: string;
  kind: ToastKind;
}

let nextId = 1;
let items: Item[] = [];
const hosts = new Set<(i: Item[]) => void>();

function publish() {
  for (const h of hosts) h(items);
}

export function toast(text: string, kind: ToastKind = 'success', ms = kind === 'error' ? 8000 : 4000): void {
  const it = { id: nextId++, text, kind };
  items = [...items, it].slice(-5);
  publish();
  setTimeout(() => {
    items = items.filter((x) => x !== it);
    publish();
  }, ms);
}

export function ToastHost() {
  const [list, setList] = useState(items);
  useEffect(() => {
    hosts.add(setList);
    return () => void hosts.delete(setList);
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          {t.text}
          <button
            type="button"
            class="icon"
            aria-label="Dismiss"
            onClick={() => {
              items = items.filter((x) => x.id !== t.id);
              publish();
            }}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
