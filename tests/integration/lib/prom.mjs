// A strict parser of the Prometheus text exposition format (version 0.0.4,
// https://prometheus.io/docs/instrumenting/exposition_formats/), for checking
// xtreamd's /metrics. It throws on anything a Prometheus server would reject
// and on what this project promises on top: every family has HELP and TYPE
// before its samples, a family's lines are contiguous, no series is repeated.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A sample value: a Go float (decimal or exponent form), NaN, +Inf, -Inf. */
function parseValue(s, where) {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`${where}: bad value "${s}"`);
  return Number(s);
}

/** The docstring of a HELP line: only \\ and \n are escapes. */
function unescapeHelp(s, where) {
  return s.replace(/\\(.?)/g, (m, c) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new Error(`${where}: bad escape "${m}" in HELP`);
  });
}

/** Parses `{a="x",b="y"}` starting at line[i] === '{'; returns [labels, next index]. */
function parseLabels(line, i, where) {
  const labels = {};
  i++; // '{'
  for (;;) {
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`${where}: bad label name "${name}"`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label "${name}" repeated`);
    i = eq + 1;
    if (line[i] !== '"') throw new Error(`${where}: label value of "${name}" is not quoted`);
    i++;
    let value = '';
    for (;;) {
      if (i >= line.length) throw new Error(`${where}: unterminated label value of "${name}"`);
      const c = line[i];
      if (c === '"') break;
      if (c === '\\') {
        const e = line[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`${where}: bad escape "\\${e ?? ''}" in label "${name}"`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++; // closing quote
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label "${name}"`);
  }
}

/** The family a sample name belongs to (histogram/summary suffixes). */
function familyOf(name, families) {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const f = families.get(base);
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return null;
}

/**
 * parseExposition(body) → Map(name → { type, help, samples: [{ name, labels, value }] }).
 * body: the raw bytes (a Buffer: must be valid UTF-8) or a string. Throws an
 * Error naming the line for any violation.
 */
export function parseExposition(body) {
  const text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body);
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map();
  const closed = new Set(); // families whose group of lines has ended
  const series = new Set();
  let current = null;
  const enter = (name, where) => {
    if (current === name) return;
    if (closed.has(name)) throw new Error(`${where}: lines of "${name}" are not contiguous`);
    if (current) closed.add(current);
    current = name;
  };
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, idx) => {
    const where = `line ${idx + 1} (${JSON.stringify(line.slice(0, 120))})`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      enter(name, where);
      const f = families.get(name) ?? { type: null, help: null, samples: [] };
      families.set(name, f);
      if (kind === 'HELP') {
        if (f.help !== null) throw new Error(`${where}: second HELP for "${name}"`);
        f.help = unescapeHelp(rest, where);
      } else {
        if (f.type !== null) throw new Error(`${where}: second TYPE for "${name}"`);
        if (f.samples.length) throw new Error(`${where}: TYPE after samples of "${name}"`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type "${rest}"`);
        f.type = rest;
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: not a sample`);
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name "${name}"`);
    let labels = {};
    let i = nameEnd;
    if (line[i] === '{') [labels, i] = parseLabels(line, i, where);
    if (line[i] !== ' ') throw new Error(`${where}: expected one space before the value`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length > 2 || parts.some((p) => p === '')) throw new Error(`${where}: expected "value [timestamp]"`);
    const value = parseValue(parts[0], where);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    const fam = familyOf(name, families);
    if (!fam) throw new Error(`${where}: sample of "${name}" without a TYPE line before it`);
    enter(fam, where);
    const f = families.get(fam);
    if (f.type === null) throw new Error(`${where}: sample of "${name}" without a TYPE line before it`);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter value ${value}`);
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
    if (series.has(key)) throw new Error(`${where}: series repeated`);
    series.add(key);
    f.samples.push({ name, labels, value });
  });
  return families;
}

/** The samples of a family whose labels include `match` (all of them if match is empty). */
export function samples(families, name, match = {}) {
  const f = families.get(name);
  if (!f) return [];
  return f.samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample of `name` matching `match`; throws when not exactly one. */
export function value(families, name, match = {}) {
  const s = samples(families, name, match);
  if (s.length !== 1) throw new Error(`${name} ${JSON.stringify(match)}: ${s.length} samples`);
  return s[0].value;
}
