// Wire-type checks for the Xtream API objects, per docs/xtream-api.md §3 tables
// and Appendix A (the project's chosen superset). Each check collects every
// problem with its JSON path so one failure shows the whole picture.
import assert from 'node:assert/strict';

const DIGITS = /^\d+$/;
const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const HMS = /^\d{2,}:\d{2}:\d{2}$/;
const INT32_MAX = 2 ** 31 - 1;

const t = {
  string: (v) => typeof v === 'string',
  digits: (v) => typeof v === 'string' && DIGITS.test(v),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  int: (v) => Number.isInteger(v),
  id: (v) => Number.isInteger(v) && v > 0 && v <= INT32_MAX,
  bool: (v) => typeof v === 'boolean',
  stringOrNull: (v) => v === null || typeof v === 'string',
  numberOrNull: (v) => v === null || (typeof v === 'number' && Number.isFinite(v)),
  digitsOrNull: (v) => v === null || (typeof v === 'string' && DIGITS.test(v)),
  array: (v) => Array.isArray(v),
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  numberArray: (v) => Array.isArray(v) && v.every((x) => Number.isInteger(x)),
  stringArray: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
};

class Checker {
  constructor(what) {
    this.what = what;
    this.errors = [];
  }
  field(obj, key, type, p) {
    const where = `${p}.${key}`;
    if (!obj || typeof obj !== 'object' || !(key in obj)) {
      this.errors.push(`${where}: missing`);
      return false;
    }
    if (!t[type](obj[key])) {
      this.errors.push(`${where}: expected ${type}, got ${JSON.stringify(obj[key])}`);
      return false;
    }
    return true;
  }
  fields(obj, spec, p) {
    for (const [k, ty] of Object.entries(spec)) this.field(obj, k, ty, p);
  }
  check(cond, msg) {
    if (!cond) this.errors.push(msg);
  }
  done() {
    if (this.errors.length) {
      const shown = this.errors.slice(0, 40).join('\n  ');
      assert.fail(`${this.what}: ${this.errors.length} wire-type problem(s):\n  ${shown}${this.errors.length > 40 ? '\n  ...' : ''}`);
    }
  }
}

export function checkUserInfo(ui, { username, password, status = 'Active' } = {}, c = new Checker('user_info'), p = 'user_info') {
  c.fields(
    ui,
    {
      username: 'string',
      password: 'string',
      message: 'string',
      auth: 'number',
      status: 'string',
      exp_date: 'digitsOrNull',
      is_trial: 'string',
      active_cons: 'digits',
      created_at: 'digits',
      max_connections: 'digits',
      allowed_output_formats: 'stringArray',
    },
    p,
  );
  if (ui) {
    c.check(ui.auth === 1, `${p}.auth: expected 1, got ${JSON.stringify(ui.auth)}`);
    c.check(ui.is_trial === '0' || ui.is_trial === '1', `${p}.is_trial: expected "0" or "1", got ${JSON.stringify(ui.is_trial)}`);
    if (Array.isArray(ui.allowed_output_formats)) {
      c.check(ui.allowed_output_formats.length > 0, `${p}.allowed_output_formats: must be non-empty`);
      for (const f of ui.allowed_output_formats) c.check(['ts', 'm3u8', 'rtmp'].includes(f), `${p}.allowed_output_formats: unknown format ${JSON.stringify(f)}`);
    }
    if (username !== undefined) c.check(ui.username === username, `${p}.username: expected ${JSON.stringify(username)}, got ${JSON.stringify(ui.username)}`);
    if (password !== undefined) c.check(ui.password === password, `${p}.password: expected the real password echoed back, got ${JSON.stringify(ui.password)}`);
    if (status !== undefined) c.check(ui.status === status, `${p}.status: expected ${JSON.stringify(status)}, got ${JSON.stringify(ui.status)}`);
  }
  return c;
}

export function checkServerInfo(si, { port } = {}, c = new Checker('server_info'), p = 'server_info') {
  c.fields(
    si,
    {
      url: 'string',
      port: 'digits',
      https_port: 'string',
      server_protocol: 'string',
      rtmp_port: 'string',
      timezone: 'string',
      timestamp_now: 'int',
      time_now: 'string',
    },
    p,
  );
  if (si) {
    c.check(typeof si.url !== 'string' || !/[:/]/.test(si.url), `${p}.url: host only (no scheme, no port), got ${JSON.stringify(si.url)}`);
    c.check(si.server_protocol === 'http' || si.server_protocol === 'https', `${p}.server_protocol: got ${JSON.stringify(si.server_protocol)}`);
    c.check(si.timezone === 'UTC', `${p}.timezone: expected "UTC", got ${JSON.stringify(si.timezone)}`);
    if (typeof si.time_now === 'string') {
      c.check(DATETIME.test(si.time_now), `${p}.time_now: expected "YYYY-MM-DD HH:MM:SS", got ${JSON.stringify(si.time_now)}`);
      if (DATETIME.test(si.time_now) && Number.isInteger(si.timestamp_now)) {
        const ts = Date.parse(si.time_now.replace(' ', 'T') + 'Z') / 1000;
        c.check(Math.abs(ts - si.timestamp_now) <= 2, `${p}.time_now ${si.time_now} (UTC) does not match timestamp_now ${si.timestamp_now}`);
      }
    }
    if (Number.isInteger(si.timestamp_now)) {
      c.check(Math.abs(si.timestamp_now - Date.now() / 1000) < 60, `${p}.timestamp_now ${si.timestamp_now} is not the current Unix time`);
    }
    if ('process' in si) c.check(typeof si.process === 'boolean', `${p}.process: expected boolean`);
    if (port !== undefined) c.check(si.port === String(port), `${p}.port: expected ${JSON.stringify(String(port))}, got ${JSON.stringify(si.port)}`);
  }
  return c;
}

/** The full login object (user_info + server_info). */
export function assertLoginObject(body, expect = {}) {
  const c = new Checker('login object');
  c.check(t.object(body), `body: expected an object, got ${JSON.stringify(body)?.slice(0, 200)}`);
  if (t.object(body)) {
    c.check(t.object(body.user_info), 'user_info: missing or not an object');
    c.check(t.object(body.server_info), 'server_info: missing or not an object');
    checkUserInfo(body.user_info, expect, c);
    checkServerInfo(body.server_info, expect, c);
  }
  c.done();
}

export function assertAuthFailureBody(text, what = 'auth failure body') {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${what}: not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  assert.deepEqual(body, { user_info: { auth: 0 } }, `${what}: expected exactly {"user_info":{"auth":0}}`);
}

export function assertCategories(list, what = 'categories') {
  const c = new Checker(what);
  c.check(Array.isArray(list), `expected an array, got ${JSON.stringify(list)?.slice(0, 200)}`);
  if (Array.isArray(list)) {
    const seen = new Set();
    list.forEach((cat, i) => {
      const p = `[${i}]`;
      c.fields(cat, { category_id: 'digits', category_name: 'string', parent_id: 'number' }, p);
      if (cat) {
        c.check(cat.parent_id === 0, `${p}.parent_id: expected 0, got ${JSON.stringify(cat.parent_id)}`);
        if (typeof cat.category_id === 'string') {
          c.check(Number(cat.category_id) > 0 && Number(cat.category_id) <= INT32_MAX, `${p}.category_id out of range: ${cat.category_id}`);
          c.check(!seen.has(cat.category_id), `${p}.category_id ${cat.category_id} duplicated`);
          seen.add(cat.category_id);
        }
      }
    });
  }
  c.done();
}

function checkCategoryRef(c, item, p) {
  if (!item) return;
  c.field(item, 'category_id', 'digits', p);
  c.field(item, 'category_ids', 'numberArray', p);
  if (typeof item.category_id === 'string' && Array.isArray(item.category_ids)) {
    c.check(item.category_ids.includes(Number(item.category_id)), `${p}.category_ids ${JSON.stringify(item.category_ids)} does not contain category_id ${item.category_id}`);
  }
}

function checkNums(c, list) {
  list.forEach((it, i) => {
    if (it && typeof it.num === 'number') c.check(it.num === i + 1, `[${i}].num: expected running position ${i + 1}, got ${it.num}`);
  });
}

export function assertLiveStreams(list, what = 'get_live_streams') {
  const c = new Checker(what);
  c.check(Array.isArray(list), `expected an array, got ${JSON.stringify(list)?.slice(0, 200)}`);
  if (!Array.isArray(list)) return c.done();
  const ids = new Set();
  list.forEach((s, i) => {
    const p = `[${i}]`;
    c.fields(
      s,
      {
        num: 'int',
        name: 'string',
        stream_type: 'string',
        stream_id: 'id',
        stream_icon: 'string',
        epg_channel_id: 'stringOrNull',
        added: 'digits',
        custom_sid: 'string',
        tv_archive: 'int',
        direct_source: 'string',
        tv_archive_duration: 'number',
        thumbnail: 'string',
      },
      p,
    );
    checkCategoryRef(c, s, p);
    if (s) {
      c.check(s.stream_type === 'live', `${p}.stream_type: expected "live", got ${JSON.stringify(s.stream_type)}`);
      c.check(s.tv_archive === 0 || s.tv_archive === 1, `${p}.tv_archive: expected number 0/1`);
      c.check(!ids.has(s.stream_id), `${p}.stream_id ${s.stream_id} duplicated`);
      ids.add(s.stream_id);
    }
  });
  checkNums(c, list);
  c.done();
}

export function assertVodStreams(list, what = 'get_vod_streams') {
  const c = new Checker(what);
  c.check(Array.isArray(list), `expected an array, got ${JSON.stringify(list)?.slice(0, 200)}`);
  if (!Array.isArray(list)) return c.done();
  list.forEach((s, i) => {
    const p = `[${i}]`;
    c.fields(
      s,
      {
        num: 'int',
        name: 'string',
        title: 'string',
        year: 'stringOrNull',
        stream_type: 'string',
        stream_id: 'id',
        stream_icon: 'string',
        rating: 'number',
        rating_5based: 'number',
        added: 'digits',
        plot: 'stringOrNull',
        cast: 'stringOrNull',
        director: 'stringOrNull',
        genre: 'stringOrNull',
        release_date: 'stringOrNull',
        youtube_trailer: 'stringOrNull',
        episode_run_time: 'numberOrNull',
        container_extension: 'string',
        custom_sid: 'string',
        direct_source: 'string',
      },
      p,
    );
    checkCategoryRef(c, s, p);
    if (s) {
      c.check(s.stream_type === 'movie', `${p}.stream_type: expected "movie", got ${JSON.stringify(s.stream_type)}`);
      c.check(typeof s.container_extension !== 'string' || /^[a-z0-9]+$/i.test(s.container_extension), `${p}.container_extension: not an extension: ${JSON.stringify(s.container_extension)}`);
    }
  });
  checkNums(c, list);
  c.done();
}

const SERIES_INFO_FIELDS = {
  name: 'string',
  title: 'string',
  year: 'stringOrNull',
  cover: 'string',
  plot: 'stringOrNull',
  cast: 'stringOrNull',
  director: 'stringOrNull',
  genre: 'stringOrNull',
  release_date: 'string',
  releaseDate: 'string',
  last_modified: 'digits',
  rating: 'string',
  rating_5based: 'number',
  backdrop_path: 'stringArray',
  youtube_trailer: 'string',
  episode_run_time: 'string',
};

export function assertSeriesList(list, what = 'get_series') {
  const c = new Checker(what);
  c.check(Array.isArray(list), `expected an array, got ${JSON.stringify(list)?.slice(0, 200)}`);
  if (!Array.isArray(list)) return c.done();
  list.forEach((s, i) => {
    const p = `[${i}]`;
    c.fields(s, { num: 'int', stream_type: 'string', series_id: 'id', ...SERIES_INFO_FIELDS }, p);
    checkCategoryRef(c, s, p);
    if (s) {
      c.check(s.stream_type === 'series', `${p}.stream_type: expected "series", got ${JSON.stringify(s.stream_type)}`);
      c.check(s.release_date === s.releaseDate, `${p}: releaseDate ${JSON.stringify(s.releaseDate)} != release_date ${JSON.stringify(s.release_date)}`);
    }
  });
  checkNums(c, list);
  c.done();
}

/** A found get_series_info response. */
export function assertSeriesInfo(body, what = 'get_series_info') {
  const c = new Checker(what);
  c.check(t.object(body), 'body: expected an object');
  if (!t.object(body)) return c.done();
  c.field(body, 'seasons', 'array', '');
  c.field(body, 'info', 'object', '');
  c.field(body, 'episodes', 'object', '');
  if (t.object(body.info)) {
    c.fields(body.info, SERIES_INFO_FIELDS, '.info');
    checkCategoryRef(c, body.info, '.info');
  }
  const seasonNumbers = new Set();
  if (Array.isArray(body.seasons)) {
    body.seasons.forEach((s, i) => {
      const p = `.seasons[${i}]`;
      c.fields(
        s,
        {
          air_date: 'stringOrNull',
          episode_count: 'int',
          id: 'int',
          name: 'string',
          overview: 'string',
          season_number: 'int',
          vote_average: 'number',
          cover: 'string',
          cover_big: 'string',
        },
        p,
      );
      if (s) seasonNumbers.add(s.season_number);
    });
  }
  if (t.object(body.episodes)) {
    const keys = Object.keys(body.episodes);
    if (keys.length > 0) c.check(Array.isArray(body.seasons) && body.seasons.length > 0, '.seasons: must be non-empty when episodes exist');
    for (const k of keys) {
      const p = `.episodes["${k}"]`;
      c.check(DIGITS.test(k), `${p}: key must be a season number string`);
      c.check(seasonNumbers.has(Number(k)), `${p}: no seasons[] entry with season_number ${k}`);
      const eps = body.episodes[k];
      c.check(Array.isArray(eps), `${p}: expected an array`);
      if (!Array.isArray(eps)) continue;
      const season = Array.isArray(body.seasons) ? body.seasons.find((s) => s && s.season_number === Number(k)) : undefined;
      if (season && Number.isInteger(season.episode_count)) {
        c.check(season.episode_count === eps.length, `.seasons season ${k}: episode_count ${season.episode_count} but ${eps.length} episodes`);
      }
      eps.forEach((e, i) => {
        const q = `${p}[${i}]`;
        c.fields(
          e,
          {
            id: 'digits',
            episode_num: 'string',
            title: 'string',
            container_extension: 'string',
            info: 'object',
            subtitles: 'array',
            custom_sid: 'string',
            added: 'digits',
            season: 'int',
            direct_source: 'string',
          },
          q,
        );
        if (e) c.check(e.season === Number(k), `${q}.season ${e.season} is under key "${k}"`);
        if (e && t.object(e.info)) {
          c.fields(e.info, { duration_secs: 'int', duration: 'string', bitrate: 'number', rating: 'number', season: 'int', tmdb_id: 'int' }, `${q}.info`);
          if (typeof e.info.duration === 'string') c.check(HMS.test(e.info.duration), `${q}.info.duration: expected HH:MM:SS, got ${JSON.stringify(e.info.duration)}`);
        }
      });
    }
  }
  c.done();
}

/** A found get_vod_info response. */
export function assertVodInfo(body, what = 'get_vod_info') {
  const c = new Checker(what);
  c.check(t.object(body), 'body: expected an object');
  if (!t.object(body)) return c.done();
  c.field(body, 'info', 'object', '');
  c.field(body, 'movie_data', 'object', '');
  if (t.object(body.info)) {
    c.fields(
      body.info,
      {
        kinopoisk_url: 'string',
        tmdb_id: 'int',
        name: 'string',
        o_name: 'string',
        cover_big: 'string',
        movie_image: 'string',
        release_date: 'string',
        releasedate: 'string',
        episode_run_time: 'numberOrNull',
        youtube_trailer: 'string',
        director: 'string',
        actors: 'string',
        cast: 'string',
        description: 'string',
        plot: 'string',
        age: 'string',
        mpaa_rating: 'string',
        rating_count_kinopoisk: 'number',
        country: 'string',
        genre: 'string',
        backdrop_path: 'stringArray',
        duration_secs: 'int',
        duration: 'string',
        bitrate: 'number',
        rating: 'number',
        subtitles: 'array',
      },
      '.info',
    );
    if (typeof body.info.duration === 'string') c.check(HMS.test(body.info.duration), `.info.duration: expected HH:MM:SS, got ${JSON.stringify(body.info.duration)}`);
  }
  if (t.object(body.movie_data)) {
    c.fields(
      body.movie_data,
      {
        stream_id: 'id',
        name: 'string',
        title: 'string',
        year: 'stringOrNull',
        added: 'digits',
        container_extension: 'string',
        custom_sid: 'string',
        direct_source: 'string',
      },
      '.movie_data',
    );
    checkCategoryRef(c, body.movie_data, '.movie_data');
  }
  c.done();
}

/** get_series_info for an unknown id: info fields null, name null. */
export function assertSeriesNotFound(body) {
  const c = new Checker('get_series_info (not found)');
  c.check(t.object(body), `body: expected an object, got ${JSON.stringify(body)}`);
  if (t.object(body)) {
    c.field(body, 'info', 'object', '');
    if (t.object(body.info)) c.check(body.info.name === null, `.info.name: expected null, got ${JSON.stringify(body.info.name)}`);
    if ('seasons' in body) c.check(Array.isArray(body.seasons) && body.seasons.length === 0, '.seasons: expected []');
    if ('episodes' in body) c.check(t.object(body.episodes) && Object.keys(body.episodes).length === 0, '.episodes: expected {} when present');
  }
  c.done();
}

export { Checker };
