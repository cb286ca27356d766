// Reads a line's whole catalogue through player_api and derives what the M3U
// (get.php) and XMLTV must contain for it.
import assert from 'node:assert/strict';
import parser from 'iptv-playlist-parser';
import { api, get, getJson, qs } from './http.mjs';

export async function fetchCatalog(port, u, p, { seriesInfo = true } = {}) {
  const c = {};
  c.liveCats = await getJson(port, api(u, p, 'get_live_categories'));
  c.vodCats = await getJson(port, api(u, p, 'get_vod_categories'));
  c.seriesCats = await getJson(port, api(u, p, 'get_series_categories'));
  c.live = await getJson(port, api(u, p, 'get_live_streams'));
  c.vod = await getJson(port, api(u, p, 'get_vod_streams'));
  c.series = await getJson(port, api(u, p, 'get_series'));
  c.seriesInfo = {};
  if (seriesInfo) {
    for (const s of c.series) c.seriesInfo[s.series_id] = await getJson(port, api(u, p, 'get_series_info', { series_id: s.series_id }));
  }
  return c;
}

const catName = (cats, id) => cats.find((x) => x.category_id === id)?.category_name;

/**
 * Expected M3U entries: { kind, id, name, tvgId, tvgName, logo, group, url, namePrefix }.
 * For episodes only the "<Series> S01E02" start of the name is fixed (namePrefixes).
 */
export function expectedEntries(c, base, u, p, { ext = 'ts' } = {}) {
  const out = [];
  for (const s of c.live) {
    out.push({
      kind: 'live',
      id: s.stream_id,
      name: s.name,
      tvgId: s.epg_channel_id ?? '',
      tvgName: s.name,
      logo: s.stream_icon,
      group: catName(c.liveCats, s.category_id),
      url: `${base}/live/${u}/${p}/${s.stream_id}.${ext}`,
    });
  }
  for (const m of c.vod) {
    out.push({
      kind: 'movie',
      id: m.stream_id,
      name: m.name,
      tvgName: m.name,
      logo: m.stream_icon,
      group: catName(c.vodCats, m.category_id),
      url: `${base}/movie/${u}/${p}/${m.stream_id}.${m.container_extension}`,
    });
  }
  for (const s of c.series) {
    const info = c.seriesInfo[s.series_id];
    if (!info) continue;
    for (const [season, eps] of Object.entries(info.episodes)) {
      for (const e of eps) {
        const tag = `S${String(season).padStart(2, '0')}E${String(e.episode_num).padStart(2, '0')}`;
        out.push({
          kind: 'episode',
          id: Number(e.id),
          // "<Series> S01E02": the series' display name or its bare title.
          namePrefixes: [...new Set([`${s.name} ${tag}`, `${s.title ?? s.name} ${tag}`])],
          group: catName(c.seriesCats, s.category_id),
          url: `${base}/series/${u}/${p}/${e.id}.${e.container_extension}`,
        });
      }
    }
  }
  return out;
}

/** GET get.php and parse it with iptv-playlist-parser; returns { r, playlist }. */
export async function fetchPlaylist(port, u, p, params = {}, headers) {
  const r = await get(port, `/get.php?${qs({ username: u, password: p, ...params })}`, { headers });
  assert.equal(r.status, 200, `get.php ${JSON.stringify(params)}: ${r.status} ${r.text.slice(0, 200)}`);
  return { r, playlist: parser.parse(r.text) };
}

/**
 * Asserts that the parsed playlist items match the expected entries exactly:
 * same set of URLs, and per entry the tvg-id, tvg-name, tvg-logo, group and name.
 */
export function assertPlaylistMatches(items, expected, what = 'M3U') {
  const problems = [];
  const byUrl = new Map();
  for (const it of items) {
    if (byUrl.has(it.url)) problems.push(`duplicate URL ${it.url}`);
    byUrl.set(it.url, it);
  }
  for (const e of expected) {
    const it = byUrl.get(e.url);
    if (!it) {
      problems.push(`missing ${e.kind} ${e.id} (${e.name ?? e.namePrefixes[0]}) with URL ${e.url}`);
      continue;
    }
    byUrl.delete(e.url);
    const cmp = (field, got, want) => {
      if (want !== undefined && got !== want) problems.push(`${e.kind} ${e.id} ${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    };
    if (e.name !== undefined) cmp('name', it.name, e.name);
    if (e.namePrefixes !== undefined && !e.namePrefixes.some((np) => it.name === np || it.name.startsWith(np + ' '))) {
      problems.push(`${e.kind} ${e.id} name: expected "${e.namePrefixes.join('" or "')} …", got ${JSON.stringify(it.name)}`);
    }
    cmp('tvg-id', it.tvg.id, e.tvgId);
    if (e.tvgName !== undefined) {
      // Attribute values lose '"' and CR/LF (spec §5.3 REC); commas may go too.
      const clean = e.tvgName.replace(/["\r\n]/g, '');
      if (it.tvg.name !== clean && it.tvg.name !== clean.replace(/,/g, '')) cmp('tvg-name', it.tvg.name, clean);
    }
    cmp('tvg-logo', it.tvg.logo, e.logo);
    cmp('group-title', it.group.title, e.group);
  }
  for (const [url] of byUrl) problems.push(`unexpected entry ${url}`);
  if (problems.length) assert.fail(`${what}: ${problems.length} mismatch(es):\n  ${problems.slice(0, 40).join('\n  ')}`);
}
