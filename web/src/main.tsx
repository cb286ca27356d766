// The panel's entry: checks the session (GET /auth/me), shows the login page
// or the app shell (navigation + the page of the URL's hash), and holds the
// ROUTE TABLE. To add a page: write web/src/pages/<page>.tsx exporting a
// component that takes PageProps, and add ONE line to `routes` below.
import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, get, onUnauthorized, setCsrf, type Me } from './api';
import { closeEvents, useEventStatus } from './events';
import { href, navigate, useLocation, type Location } from './router';
import { ConfirmHost, ToastHost } from './ui';
import { isReseller } from './credits';
import './styles.css';
// ---- core pages (i12-core) ----
import { Login } from './pages/login';
import { Dashboard } from './pages/dashboard';
import { Connections } from './pages/connections';
import { Settings } from './pages/settings';
import { Accounts } from './pages/accounts';
import { Audit } from './pages/audit';
import { Nodes } from './pages/nodes';
// ---- subscriber pages: add imports below (i12-lines) ----
import { Lines } from './pages/lines';
import { Plans } from './pages/plans';

// ---- content pages: add imports below (i12-content) ----
import { Channels } from './pages/channels';
import { Categories } from './pages/categories';
import { Bouquets } from './pages/bouquets';
import { Movies } from './pages/movies';
import { Series } from './pages/series';
import { Epg } from './pages/epg';

// ---- resellers and credits (i17-panel): one lazy chunk, loaded on first use ----
const resellerPages = () => import('./pages/resellers');
const ResellerHome = lazyPage(() => resellerPages().then((m) => m.ResellerHome));
const Resellers = lazyPage(() => resellerPages().then((m) => m.Resellers));
const Ledger = lazyPage(() => resellerPages().then((m) => m.Ledger));
const ResellerGroups = lazyPage(() => resellerPages().then((m) => m.ResellerGroups));

// ---- end of page imports ----

/** A page whose code is fetched when it is first shown (its title meanwhile). */
function lazyPage(load: () => Promise<ComponentType<PageProps>>): ComponentType<PageProps> {
  let loaded: ComponentType<PageProps> | null = null;
  return function Lazy(props: PageProps) {
    const [, setReady] = useState(0);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (!loaded)
        load()
          .then((c) => {
            loaded = c;
            setReady(1);
          })
          .catch(() => setFailed(true));
    }, []);
    if (loaded) {
      const C = loaded;
      return <C {...props} />;
    }
    return (
      <section class="page" aria-busy="true">
        <p class="muted">{failed ? 'This page could not be loaded: reload the panel.' : 'Loading…'}</p>
      </section>
    );
  };
}

export interface PageProps {
  /** The URL after the page's own segment: #/lines/12 → ['12']. */
  params: string[];
  loc: Location;
  me: Me;
}

interface Route {
  /** First hash segment: 'lines' for #/lines and #/lines/12. */
  path: string;
  title: string;
  component: ComponentType<PageProps>;
  /** Shown in the navigation (false: reachable by link only). */
  nav?: boolean;
  /** Needs this scope to be useful (hidden from the nav otherwise). */
  scope?: string;
  /** Who may open it: 'staff' (admins, viewers: the default), 'reseller', 'all'. */
  who?: 'staff' | 'reseller' | 'all';
  /** For a reseller: only when its group may create sub-resellers. */
  subresellers?: boolean;
}

// The navigation shows these in this order. Paths other pages link to:
// lines, plans (i12-lines); channels, categories, bouquets, movies, series,
// epg (i12-content). One line per page, below your section's comment.
// prettier-ignore
const routes: Route[] = [
  { path: 'dashboard', title: 'Dashboard', component: Dashboard, nav: true },
  // ---- a reseller's own dashboard (i17-panel) ----
  { path: 'reseller', title: 'Reseller dashboard', component: ResellerHome, nav: true, who: 'reseller' },
  // ---- subscribers: lines, plans (i12-lines) ----
  { path: 'lines', title: 'Lines', component: Lines, nav: true, who: 'all' },
  { path: 'plans', title: 'Plans', component: Plans, nav: true },
  // ---- resellers and credits (i17-panel) ----
  { path: 'resellers', title: 'Resellers', component: Resellers, nav: true, who: 'all', subresellers: true },
  { path: 'reseller-groups', title: 'Reseller groups', component: ResellerGroups, nav: true, scope: 'admin' },
  { path: 'ledger', title: 'Credit ledger', component: Ledger, nav: true, who: 'all' },

  // ---- content: channels, categories & bouquets, movies & series, EPG (i12-content) ----
  { path: 'channels', title: 'Channels', component: Channels, nav: true },
  { path: 'categories', title: 'Categories', component: Categories, nav: true },
  { path: 'bouquets', title: 'Bouquets', component: Bouquets, nav: true },
  { path: 'movies', title: 'Movies', component: Movies, nav: true },
  { path: 'series', title: 'Series', component: Series, nav: true },
  { path: 'epg', title: 'Guide (EPG)', component: Epg, nav: true },

  // ---- operations (i12-core) ----
  { path: 'connections', title: 'Connections', component: Connections, nav: true },
  { path: 'settings', title: 'Settings', component: Settings, nav: true },
  { path: 'accounts', title: 'Admins & tokens', component: Accounts, nav: true },
  { path: 'audit', title: 'Audit log', component: Audit, nav: true, scope: 'admin' },
  { path: 'nodes', title: 'Nodes', component: Nodes, nav: true },
];

const THEME_KEY = 'xtreamd.theme';
type Theme = 'auto' | 'light' | 'dark';

function applyTheme(t: Theme) {
  if (t === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

function ThemeToggle() {
  const [t, setT] = useState<Theme>(() => (localStorage.getItem(THEME_KEY) as Theme) || 'auto');
  useEffect(() => {
    applyTheme(t);
    localStorage.setItem(THEME_KEY, t);
  }, [t]);
  const next: Record<Theme, Theme> = { auto: 'dark', dark: 'light', light: 'auto' };
  return (
    <button type="button" class="theme-toggle" onClick={() => setT(next[t])} aria-label={`Theme: ${t}. Switch to ${next[t]}`}>
      {t === 'dark' ? '☾' : t === 'light' ? '☀' : '◐'} <span class="nav-text">{t}</span>
    </button>
  );
}

function LiveDot() {
  const s = useEventStatus();
  return (
    <span class={`live-dot live-${s}`} title={`Live updates: ${s}`}>
      <span class="sr-only">Live updates: {s}</span>
    </span>
  );
}

function hasScope(me: Me, scope?: string) {
  return !scope || me.scopes.includes(scope) || me.scopes.includes('admin');
}

/** May this account open the route? A reseller sees only its own pages. */
function allowed(me: Me, r: Route): boolean {
  const who = r.who ?? 'staff';
  if (!isReseller(me)) return who !== 'reseller' && hasScope(me, r.scope);
  if (who === 'staff') return false;
  return !r.subresellers || !!me.reseller?.may_create_subresellers;
}

/** Where an account lands (and goes for a page it may not open). */
function home(me: Me): string {
  return isReseller(me) ? 'reseller' : 'dashboard';
}

function Shell({ me, onLogout }: { me: Me; onLogout: () => void }) {
  const loc = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const first = loc.parts[0] ?? '';
  const route = routes.find((r) => r.path === first && allowed(me, r));
  useEffect(() => {
    if (!route) navigate(`/${home(me)}`, { replace: true });
  }, [route]);
  useEffect(() => {
    document.title = route ? `${route.title} · xtreamd` : 'xtreamd';
    setMenuOpen(false);
    // Move focus to the new page's heading for keyboard and screen-reader users.
    requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus());
  }, [route?.path]);
  const Page = route?.component;
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}>
        Skip to content
      </a>
      <header class="topbar">
        <button type="button" class="menu-button" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          ☰ <span class="sr-only">Menu</span>
        </button>
        <a class="brand" href={href(home(me))}>
          xtreamd
        </a>
        <LiveDot />
        <span class="spacer" />
        <ThemeToggle />
        <span class="who" title={`Role: ${me.admin.role}`}>
          {me.admin.username}
        </span>
        <button type="button" onClick={onLogout} data-action="logout">
          Log out
        </button>
      </header>
      <nav id="nav" class={`sidenav ${menuOpen ? 'open' : ''}`} aria-label="Main">
        <ul>
          {routes
            .filter((r) => r.nav && allowed(me, r))
            .map((r) => (
              <li key={r.path}>
                <a href={href(r.path)} aria-current={r.path === first ? 'page' : undefined}>
                  {r.path === 'resellers' && isReseller(me) ? 'Sub-resellers' : r.title}
                </a>
              </li>
            ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {Page && <Page key={route!.path} params={loc.parts.slice(1)} loc={loc} me={me} />}
      </main>
    </div>
  );
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    onUnauthorized(() => {
      setCsrf(null);
      closeEvents();
      setMe(null);
    });
    get<Me>('/auth/me')
      .then((m) => {
        setCsrf(m.csrf_token ?? null);
        setMe(m);
      })
      .catch(() => setMe(null));
  }, []);
  const logout = async () => {
    try {
      await api('POST', '/auth/logout');
    } catch {
      /* the session may already be gone: the login page either way */
    }
    setCsrf(null);
    closeEvents();
    setMe(null);
  };
  return (
    <>
      {me === undefined ? (
        <div class="loading" aria-busy="true">
          Loading…
        </div>
      ) : me === null ? (
        <Login
          onLogin={(m) => {
            setCsrf(m.csrf_token ?? null);
            // The login answer names the role; a reseller's own row (its group's
            // rights, balance) comes with /auth/me.
            if (m.admin.role !== 'reseller') setMe(m);
            else
              get<Me>('/auth/me')
                .then((full) => setMe({ ...full, csrf_token: full.csrf_token ?? m.csrf_token }))
                .catch(() => setMe(m));
          }}
        />
      ) : (
        <Shell me={me} onLogout={logout} />
      )}
      <ToastHost />
      <ConfirmHost />
    </>
  );
}

applyTheme((localStorage.getItem(THEME_KEY) as Theme) || 'auto');
render(<App />, document.getElementById('app')!);
