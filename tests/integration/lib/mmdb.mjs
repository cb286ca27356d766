// A tiny MaxMind DB (format 2.0) writer for tests: an IPv4 search tree of
// /prefix -> {"country":{"iso_code":CC}} records, 24-bit records, written
// from the published format description (maxmind.github.io/MaxMind-DB).
// No download, no Perl: the country rules are tested on a database this
// file builds.

function ctrl(type, size) {
  // size < 29 is enough for every value written here
  if (type <= 7) return Buffer.from([(type << 5) | size]);
  return Buffer.from([size, type - 7]);
}

function encode(v) {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([ctrl(2, b.length), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([ctrl(11, v.length), ...v.map(encode)]);
  if (typeof v === 'object' && v.uint !== undefined) {
    // { uint: n, type: 5 (uint16) | 6 (uint32) | 9 (uint64) }
    let n = BigInt(v.uint);
    const bytes = [];
    while (n > 0n) {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    }
    return Buffer.concat([ctrl(v.type, bytes.length), Buffer.from(bytes)]);
  }
  const keys = Object.keys(v);
  return Buffer.concat([ctrl(7, keys.length), ...keys.flatMap((k) => [encode(k), encode(v[k])])]);
}

/** entries: [['127.0.0.2/32', 'FR'], ...] → Buffer of a .mmdb file. */
export function buildCountryMmdb(entries) {
  // Data section: one record per distinct country.
  const offsets = new Map();
  const data = [];
  let len = 0;
  for (const [, cc] of entries) {
    if (offsets.has(cc)) continue;
    const b = encode({ country: { iso_code: cc } });
    offsets.set(cc, len);
    data.push(b);
    len += b.length;
  }
  // Binary trie: node = [left, right]; a slot is { node: i } | { data: cc } | null.
  const nodes = [[null, null]];
  for (const [cidr, cc] of entries) {
    const [ip, plen] = cidr.split('/');
    const bits = ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
    const n = Number(plen ?? 32);
    let cur = 0;
    for (let i = 0; i < n; i++) {
      const bit = Number((bits >> BigInt(31 - i)) & 1n);
      if (i === n - 1) {
        nodes[cur][bit] = { data: cc };
      } else {
        const slot = nodes[cur][bit];
        if (slot && slot.node !== undefined) cur = slot.node;
        else {
          nodes.push([null, null]);
          nodes[cur][bit] = { node: nodes.length - 1 };
          cur = nodes.length - 1;
        }
      }
    }
  }
  const count = nodes.length;
  const tree = Buffer.alloc(count * 6);
  const rec = (slot) => (slot === null ? count : slot.node !== undefined ? slot.node : count + 16 + offsets.get(slot.data));
  nodes.forEach(([l, r], i) => {
    tree.writeUIntBE(rec(l), i * 6, 3);
    tree.writeUIntBE(rec(r), i * 6 + 3, 3);
  });
  const meta = encode({
    node_count: { uint: count, type: 6 },
    record_size: { uint: 24, type: 5 },
    ip_version: { uint: 4, type: 5 },
    database_type: 'xtreamd-test-country',
    languages: ['en'],
    binary_format_major_version: { uint: 2, type: 5 },
    binary_format_minor_version: { uint: 0, type: 5 },
    build_epoch: { uint: 1700000000, type: 9 },
    description: { en: 'xtreamd test database' },
  });
  const marker = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')]);
  return Buffer.concat([tree, Buffer.alloc(16), ...data, marker, meta]);
}
