// Modal dialogs on the native <dialog> element (focus kept inside, Esc
// closes, the page behind is inert), and confirm(): a promise-returning
// confirmation for destructive actions, rendered by <ConfirmHost/> (once, in
// the app shell).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface ModalProps {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  /** Buttons at the bottom (a form usually brings its own). */
  footer?: ComponentChildren;
  /** 'wide' for editors with many fields. */
  size?: 'normal' | 'wide';
}

let modalSeq = 0;

export function Modal({ open, title, onClose, children, footer, size = 'normal' }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [titleId] = useState(() => `modal-title-${++modalSeq}`);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      class={`modal modal-${size}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open && (
        <div class="modal-body">
          <header class="modal-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" class="icon" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </header>
          <div class="modal-content">{children}</div>
          {footer && <footer class="modal-foot">{footer}</footer>}
        </div>
      )}
    </dialog>
  );
}

export interface ConfirmOptions {
  title: string;
  message: ComponentChildren;
  confirmLabel?: string;
  /** A red confirm button (delete, kill, ban). */
  danger?: boolean;
}

type Pending = ConfirmOptions & { resolve: (ok: boolean) => void };
let setPending: ((p: Pending | null) => void) | null = null;

/** Asks the user; resolves true when they confirm. */
export function confirm(opts: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    if (!setPending) {
      resolve(window.confirm(typeof opts.message === 'string' ? opts.message : opts.title));
      return;
    }
    setPending({ ...opts, resolve });
  });
}

export function ConfirmHost() {
  const [p, setP] = useState<Pending | null>(null);
  useEffect(() => {
    setPending = setP;
    return () => {
      setPending = null;
    };
  }, []);
  const done = (ok: boolean) => {
    p?.resolve(ok);
    setP(null);
  };
  return (
    <Modal
      open={!!p}
      title={p?.title ?? ''}
      onClose={() => done(false)}
      footer={
        <>
          <button type="button" onClick={() => done(false)}>
            Cancel
          </button>
          <button type="button" class={p?.danger ? 'danger' : 'primary'} data-confirm onClick={() => done(true)}>
            {p?.confirmLabel ?? 'Confirm'}
          </button>
        </>
      }
    >
      <p>{p?.message}</p>
    </Modal>
  );
}
