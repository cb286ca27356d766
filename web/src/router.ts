// A tiny hash router: the page lives in the URL's fragment (#/lines/12?q=x),
// which never reaches the server, so no server fallback route is needed and
// no client API path can be shadowed by a panel page.
import { useEffect, useState } from 'preact/hooks';

export interface Location {
  /** '/lines/12' */
  path: string;
  /** ['lines', '12'] */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Location {
  const h = hash.replace(/^#/, '') || '/';
  const qi = h.indexOf('?');
  const path = (qi >= 0 ? h.slice(0, qi) : h) || '/';
  const query = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { path, parts, query };
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setLoc(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return loc;
}

/** The href of a page: href('lines', 12) → '#/lines/12'. */
export function href(...parts: (string | number)[]): string {
  return '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
}

export function navigate(to: string, { replace = false } = {}): void {
  const h = to.startsWith('#') ? to : `#${to.startsWith('/') ? to : '/' + to}`;
  if (replace) history.replaceState(null, '', h);
  else location.hash = h;
  if (replace) dispatchEvent(new HashChangeEvent('hashchange'));
}
