// A small local API reference drawn from the OpenAPI schema (works offline, no CDN).
const h = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of kids.flat()) if (c !== null && c !== undefined) e.append(c.nodeType ? c : String(c));
  return e;
};

function resolve(spec, s) {
  if (s && s.$ref) return spec.components.schemas[s.$ref.split('/').pop()];
  return s || {};
}

function typeOf(spec, s, depth = 0) {
  if (!s) return 'any';
  if (s.$ref) return s.$ref.split('/').pop();
  if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map((x) => typeOf(spec, x, depth)).join(' | ');
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === 'array') return `${typeOf(spec, s.items, depth)}[]`;
  const bounds = [];
  if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) bounds.push(`≤ ${s.maximum}`);
  if (s.maxLength !== undefined) bounds.push(`length ≤ ${s.maxLength}`);
  if (s.pattern) bounds.push(`pattern ${s.pattern}`);
  return `${s.type || 'object'}${bounds.length ? ` (${bounds.join(', ')})` : ''}`;
}

function schemaTable(spec, name) {
  const s = spec.components.schemas[name];
  if (!s) return null;
  const rows = Object.entries(s.properties || {}).map(([k, p]) => h('tr', {}, h('td', {}, h('code', {}, k)),
    h('td', {}, typeOf(spec, p)), h('td', {}, (s.required || []).includes(k) ? 'required' : (p.default !== undefined ? `default ${JSON.stringify(p.default)}` : '')),
    h('td', { class: 'muted' }, p.description || '')));
  return h('details', { id: `schema-${name}` }, h('summary', {}, h('code', {}, name), s.description ? ` — ${s.description.split('\n')[0]}` : ''),
    h('table', {}, h('tbody', {}, rows)));
}

async function main() {
  const root = document.getElementById('docs');
  const spec = await (await fetch('/api/v1/openapi.json')).json();
  root.replaceChildren(h('p', {}, `${spec.info.title} ${spec.info.version}: ${spec.info.description || ''}`));
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters || []).map((p) => h('li', {}, h('code', {}, p.name), ` (${p.in}${p.required ? ', required' : ''}): ${typeOf(spec, p.schema)}`,
        p.description ? ` — ${p.description}` : ''));
      const body = op.requestBody ? typeOf(spec, op.requestBody.content['application/json'].schema) : null;
      const responses = Object.entries(op.responses || {}).map(([code, r]) => {
        const sch = r.content && r.content['application/json'] ? typeOf(spec, r.content['application/json'].schema) : '';
        return h('li', {}, h('b', {}, code), ` ${r.description || ''} `, sch ? h('code', {}, sch) : '');
      });
      root.append(h('section', { class: 'card', id: op.operationId },
        h('h2', {}, h('code', {}, `${method.toUpperCase()} ${path}`), ` · ${op.summary || op.operationId}`),
        op.description ? h('p', { class: 'muted' }, op.description) : null,
        params.length ? [h('h3', {}, 'Parameters'), h('ul', {}, params)] : null,
        body ? [h('h3', {}, 'Body'), h('p', {}, h('code', {}, body))] : null,
        h('h3', {}, 'Responses'), h('ul', {}, responses)));
    }
  }
  root.append(h('section', { class: 'card' }, h('h2', {}, 'Schemas'), ...Object.keys(spec.components.schemas).sort().map((n) => schemaTable(spec, n))));
  document.body.dataset.rendered = 'docs';
}

main().catch((err) => { document.getElementById('docs').textContent = `cannot draw the API reference: ${err}`; });
