// Generated test data only: synthetic channel/movie names, 127.0.0.1:9 (discard
// port) source URLs and `lavfi:` sources. Nothing here names a real channel.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

const CRLF = '\r\n';

/**
 * A live-channel M3U with `channels` entries spread round-robin over `groups`
 * groups. Every entry has tvg-id, tvg-name, tvg-logo and group-title.
 * prefix keeps names unique across files. Returns { text, entries }, entries
 * being { name, tvgId, tvgName, logo, group, url } in file order.
 */
export function genLiveM3U({ channels = 300, groups = 12, prefix = 'Gen', logo = true, epg = true } = {}) {
  const entries = [];
  const lines = ['#EXTM3U'];
  for (let i = 1; i <= channels; i++) {
    const g = ((i - 1) % groups) + 1;
    const name = `${prefix} Channel ${String(i).padStart(5, '0')}`;
    const e = {
      name,
      tvgName: name,
      tvgId: epg ? `${prefix.toLowerCase()}.ch${i}.test` : '',
      logo: logo ? `http://127.0.0.1:9/logos/${prefix.toLowerCase()}-${i}.png` : '',
      group: `${prefix} Group ${String(g).padStart(3, '0')}`,
      url: `http://127.0.0.1:9/${prefix.toLowerCase()}/ch${i}.ts`,
    };
    entries.push(e);
    lines.push(`#EXTINF:-1 tvg-id="${e.tvgId}" tvg-name="${e.tvgName}" tvg-logo="${e.logo}" group-title="${e.group}",${e.name}`);
    lines.push(e.url);
  }
  return { text: lines.join(CRLF) + CRLF, entries };
}

/**
 * A movie M3U (import with --kind movie). Containers alternate mp4/mkv and are
 * carried by the source URL's extension. Returns { text, entries }.
 */
export function genMovieM3U({ movies = 100, groups = 5, prefix = 'Film' } = {}) {
  const entries = [];
  const lines = ['#EXTM3U'];
  const exts = ['mp4', 'mkv'];
  for (let i = 1; i <= movies; i++) {
    const g = ((i - 1) % groups) + 1;
    const name = `${prefix} Title ${String(i).padStart(4, '0')}`;
    const ext = exts[i % exts.length];
    const e = {
      name,
      tvgName: name,
      tvgId: '',
      logo: `http://127.0.0.1:9/posters/${prefix.toLowerCase()}-${i}.jpg`,
      group: `${prefix} Shelf ${String(g).padStart(2, '0')}`,
      url: `http://127.0.0.1:9/${prefix.toLowerCase()}/m${i}.${ext}`,
      ext,
    };
    entries.push(e);
    lines.push(`#EXTINF:-1 tvg-name="${e.tvgName}" tvg-logo="${e.logo}" group-title="${e.group}",${e.name}`);
    lines.push(e.url);
  }
  return { text: lines.join(CRLF) + CRLF, entries };
}

/**
 * A live M3U in which some lines are broken. Returns { text, badGroups,
 * maybeLines, goodNames }: for each broken entry, badGroups holds the 1-based
 * line numbers of which the importer must report at least one; maybeLines may
 * also be reported (a URL orphaned by a rejected #EXTINF); nothing else may.
 */
export function genMalformedM3U({ prefix = 'Broken' } = {}) {
  const lines = ['#EXTM3U'];
  const badLines = [];
  const maybeLines = [];
  const goodNames = [];
  const alternatives = {};
  const add = (l, kind) => {
    lines.push(l);
    if (kind === 'bad') badLines.push(lines.length);
    if (kind === 'maybe') maybeLines.push(lines.length);
  };
  const p = prefix.toLowerCase();
  for (let i = 1; i <= 12; i++) {
    const name = `${prefix} Channel ${i}`;
    const group = `${prefix} Group ${(i % 3) + 1}`;
    if (i === 3) {
      // Not an EXTINF: no duration, no comma, no name, unterminated quote.
      add(`#EXTINF:garbage tvg-id="x`, 'bad');
      add(`http://127.0.0.1:9/${p}/ch${i}.ts`, 'maybe');
      continue;
    }
    if (i === 7) {
      // An EXTINF followed by something that is not a URL.
      add(`#EXTINF:-1 tvg-id="${p}.${i}" group-title="${group}",${name}`);
      const extinfLine = lines.length;
      add(`this is not a url`, 'bad');
      alternatives[lines.length] = [extinfLine]; // either line may carry the error
      continue;
    }
    add(`#EXTINF:-1 tvg-id="${p}.${i}" tvg-name="${name}" group-title="${group}",${name}`);
    add(`http://127.0.0.1:9/${p}/ch${i}.ts`);
    goodNames.push(name);
  }
  // An EXTINF at the end of the file with no URL after it.
  add(`#EXTINF:-1 tvg-id="${p}.dangling" group-title="${prefix} Group 1",${prefix} Dangling`, 'bad');
  // badGroups: for each broken entry, the lines any one of which may be reported.
  const badGroups = badLines.map((l) => [l, ...(alternatives[l] || [])]);
  return { text: lines.join(CRLF) + CRLF, badLines, badGroups, maybeLines, goodNames };
}

export async function writeM3U(dir, name, text) {
  const p = path.join(dir, name);
  await writeFile(p, text);
  return p;
}
