// Every view's state lives in the URL hash: #/view?model=..&dataset=..&index=..&...
export function parse() {
  const h = location.hash.replace(/^#\/?/, '');
  const [view, qs] = h.split('?');
  return { view: view || 'overview', params: Object.fromEntries(new URLSearchParams(qs || '')) };
}

export function build(view, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  return `#/${view}?${q.toString()}`;
}

// The hash the app last drew (or wrote itself): navigation to any other hash re-renders.
export const drawn = { hash: null };

// Change the state without re-rendering (pickers, sliders that redraw themselves). A change the
// user makes gets its own history entry, so Back undoes it; { replace: true } for bookkeeping
// (defaults filled in, a finished job's id).
export function update(patch, { replace = false } = {}) {
  const { view, params } = parse();
  const next = { ...params, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined || v === null || v === '') delete next[k];
  const hash = build(view, next);
  if (hash !== location.hash) {
    if (replace) history.replaceState(null, '', hash);
    else history.pushState(null, '', hash);
  }
  drawn.hash = location.hash;
  return next;
}

// Go to a view (adds a history entry and re-renders through hashchange).
export function go(view, params) { location.hash = build(view, params); }

// Method parameters travel as p.NAME=value; values are parsed back to numbers/booleans.
export function methodParams(params, defaults) {
  const out = {};
  for (const [k, v] of Object.entries(params)) {
    if (!k.startsWith('p.')) continue;
    const name = k.slice(2);
    if (!(name in defaults)) continue;
    out[name] = coerce(v, defaults[name]);
  }
  return out;
}

export function coerce(v, like) {
  if (typeof like === 'boolean') return v === true || v === 'true' || v === '1';
  if (typeof like === 'number') { const n = Number(v); return Number.isFinite(n) ? n : like; }
  if (v === 'null' || v === '') return null;
  // another method's parameters (tsr's base_params) are typed as a JSON object, {"steps": 16};
  // text that is not one is sent as it is, for the server to refuse by name
  if (like === null && typeof v === 'string' && v.trim().startsWith('{')) {
    try { const o = JSON.parse(v); if (o && typeof o === 'object' && !Array.isArray(o)) return o; } catch (e) { /* sent as text */ }
  }
  const n = Number(v);
  return like === null && v !== '' && Number.isFinite(n) ? n : v;
}
