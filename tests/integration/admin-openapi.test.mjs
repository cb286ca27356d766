// The OpenAPI document (issue 10, items 2 and "how it is checked"): the served
// /api/v1/openapi.json is a valid OpenAPI 3.1 document (checked by an npm
// validator), and a walk calls every operation it lists — collections are
// created from each request schema's example, their ids fill the {id} of the
// other paths — asserting that no operation is missing (404 "no such API
// path") or failing (5xx), that every operation whose parameters could be
// filled succeeds, and that every success body validates against the
// response schema the document names (ajv, JSON Schema 2020-12).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { world } from './lib/fixture.mjs';
import { AdminClient, addAdmin } from './lib/admin.mjs';
import { request } from './lib/http.mjs';

const PW = 'Walk.pass-12345';
let w;
before(async () => {
  w = await world({ tag: 'admoapi', lines: [], seed: (dir) => addAdmin(dir, 'walker', PW) });
});
after(async () => {
  await w?.cleanup();
});

async function fetchDoc() {
  const res = await request(w.port, 'GET', '/api/v1/openapi.json', { adminToken: false });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.match(res.headers['content-type'], /^application\/json/);
  return res.json();
}

it('serves a valid OpenAPI 3.1 document', async () => {
  const doc = await fetchDoc();
  assert.equal(doc.openapi, '3.1.0');
  const v = new Validator();
  const r = await v.validate(doc);
  assert.ok(r.valid, `OpenAPI validation errors: ${String(JSON.stringify(r.errors ?? null, null, 1)).slice(0, 3000)}`);
  assert.ok(Object.keys(doc.paths).length >= 5, 'paths are listed');
  for (const [p, item] of Object.entries(doc.paths)) {
    assert.match(p, /^\/api\/v1\//, `path ${p} is under /api/v1`);
    for (const [m, op] of Object.entries(item)) {
      assert.ok(op.summary, `${m} ${p} has a summary`);
      if (op.requestBody) {
        const ref = op.requestBody.content['application/json'].schema.$ref;
        const name = ref.split('/').pop();
        const s = doc.components.schemas[name];
        assert.ok(Array.isArray(s.examples) && s.examples.length, `request schema ${name} of ${m} ${p} has an example`);
      }
    }
  }
});

function uniquify(v, suffix) {
  if (Array.isArray(v)) return v.map((x) => uniquify(x, suffix));
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = (k === 'name' || k === 'username') && typeof x === 'string' ? `${x}-${suffix}` : uniquify(x, suffix);
    return o;
  }
  return v;
}

it('answers every operation it lists, with bodies that match their schemas', async () => {
  const doc = await fetchDoc();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'api', components: doc.components });
  const schemaOf = (ref) => ajv.getSchema(`api${ref}`);

  const c = new AdminClient(w.port);
  await c.login('walker', PW);
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(item)) ops.push({ path: p, method: m.toUpperCase(), op });
  const hasParams = (o) => o.path.includes('{');
  // nodes/enrol needs a cluster main and a one-time code (cluster-nodes.test.mjs); a stream's
  // placements name nodes of a cluster, and this server has none (cluster-placements.test.mjs)
  const skip = (o) => o.path === '/api/v1/auth/logout' || o.path === '/api/v1/auth/login' || o.path === '/api/v1/events' || o.path === '/api/v1/nodes/enrol' ||
    (o.method === 'PUT' && o.path === '/api/v1/streams/{id}/placements');
  const order = (o) => {
    if (o.method === 'POST' && !hasParams(o)) return 0;
    if (o.method === 'GET') return 1;
    if (o.method === 'DELETE') return 3;
    return 2;
  };
  ops.sort((a, b) => order(a) - order(b));

  const ids = new Map(); // collection path -> id created there
  const problems = [];
  let n = 0;
  let suffix = 0;
  for (const o of ops) {
    if (skip(o)) continue;
    let target = o.path;
    let resolved = true;
    target = target.replace(/\{([a-z_]+)\}/g, (_, name) => {
      const collection = o.path.slice(0, o.path.indexOf(`/{${name}}`));
      const id = ids.get(collection) ?? (name === 'id' && collection.endsWith('/jobs') ? ids.get('job') : undefined);
      if (id === undefined) {
        resolved = false;
        return '999999';
      }
      return String(id);
    });
    let body;
    if (o.op.requestBody) {
      const name = o.op.requestBody.content['application/json'].schema.$ref.split('/').pop();
      body = uniquify(doc.components.schemas[name].examples[0], `w${++suffix}`);
    }
    let res = await c.call(o.method, target, body);
    // A stream the walk just created reaches the live engine with the next
    // catalogue snapshot (within a second or two): its live routes say so with
    // a 404 asking to retry. Poll those, with a deadline, instead of failing.
    for (const start = Date.now(); res.status === 404 && /retry in a second/.test(res.text) && Date.now() - start < 10000; ) {
      await new Promise((r) => setTimeout(r, 100));
      res = await c.call(o.method, target, body);
    }
    n++;
    const what = `${o.method} ${target}`;
    if (res.status >= 500) problems.push(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
    if (res.status === 404 && /no such API path/.test(res.text)) problems.push(`${what}: listed but not routed`);
    if (res.status >= 200 && res.status < 300) {
      const expect = String(Object.keys(o.op.responses).find((k) => k !== 'default'));
      if (String(res.status) !== expect) problems.push(`${what}: ${res.status}, document says ${expect}`);
      const content = o.op.responses[expect]?.content?.['application/json'];
      if (content) {
        const validate = schemaOf(content.schema.$ref);
        const data = res.json();
        if (!validate(data)) problems.push(`${what}: body does not match ${content.schema.$ref}: ${ajv.errorsText(validate.errors)}`);
        if (o.method === 'POST' && !hasParams(o) && typeof data?.id === 'number') ids.set(o.path, data.id);
        if (res.status === 202 && data?.job?.id) ids.set('job', data.job.id);
      }
    } else if (resolved && !(o.method === 'DELETE' && res.status === 409)) {
      problems.push(`${what}: ${res.status} although its parameters were filled: ${res.text.slice(0, 300)}`);
    } else {
      const p = res.json();
      if (!schemaOf('#/components/schemas/Problem')(p)) problems.push(`${what}: error body is not a Problem`);
    }
  }
  assert.ok(n >= 5, `${n} operations called`);
  assert.deepEqual(problems, [], `operations that failed the walk:\n${problems.join('\n')}`);
});
