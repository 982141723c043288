// The explorer: a router over views, each drawing from the REST API; state in the URL hash.
import * as api from './api.js';
import { parse, build, update, drawn } from './state.js';
import { status, errorBox } from './ui.js';
import * as overview from './views/overview.js';
import * as sample from './views/sample.js';
import * as compare from './views/compare.js';
import * as layer from './views/layer.js';
import * as clusters from './views/clusters.js';
import * as inverse from './views/inverse.js';
import * as adversarial from './views/adversarial.js';
import * as aggregates from './views/aggregates.js';
import * as pruning from './views/pruning.js';
import * as filters from './views/filters.js';
import * as saturation from './views/saturation.js';
import * as curves from './views/curves.js';

const VIEWS = { overview, sample, compare, layer, clusters, inverse, adversarial, aggregates, pruning, filters, saturation, curves };
const SHARED = ['model', 'dataset', 'index', 'output'];
const ctx = { api, models: [], datasets: [], methods: [], params: {}, view: 'overview', renderId: 0 };

function withDefaults(params) {
  const p = { ...params };
  const model = ctx.models.find((m) => m.name === p.model) || ctx.models.find((m) => !m.problem);
  if (model) p.model = model.name;
  const compatible = (d) => !model || !model.input_shape || (d.shape[1] === model.input_shape[0] && d.shape[2] === model.input_shape[1]);
  if (!ctx.datasets.find((d) => d.name === p.dataset && compatible(d))) {
    const d = ctx.datasets.find((x) => x.name === (model && model.default_dataset)) || ctx.datasets.find(compatible) || ctx.datasets[0];
    if (d) p.dataset = d.name;
  }
  const d = ctx.datasets.find((x) => x.name === p.dataset);
  let idx = Number.parseInt(p.index ?? '0', 10);
  if (!Number.isFinite(idx) || idx < 0) idx = 0;
  if (d && idx >= d.shape[0]) idx = d.shape[0] - 1;
  p.index = String(idx);
  // a regressor with several outputs is explained at one output the user picks (a forecast
  // step); a classifier at its predicted class
  if (model && outputChoice(model)) {
    let out = Number.parseInt(p.output ?? '0', 10);
    if (!Number.isFinite(out) || out < 0 || out >= model.n_outputs) out = 0;
    p.output = String(out);
  } else {
    delete p.output;
  }
  return p;
}

// Whether the model's views need an output picked: a regression model with several outputs.
function outputChoice(model) { return model.task === 'regression' && (model.n_outputs ?? 1) > 1; }

// The target every view sends (attributions, network views, jobs): the picked output of a
// regressor with several outputs, null (the only output) for a single-output model, else
// 'predicted' (a classifier's predicted class).
function target() {
  const model = ctx.models.find((m) => m.name === ctx.params.model);
  if (model && outputChoice(model)) return Number(ctx.params.output);
  return model && model.n_outputs === 1 ? null : 'predicted';
}

function syncHeader() {
  const ms = document.getElementById('model-select');
  const ds = document.getElementById('dataset-select');
  const ix = document.getElementById('index-input');
  ms.value = ctx.params.model; ds.value = ctx.params.dataset; ix.value = ctx.params.index;
  const model = ctx.models.find((m) => m.name === ctx.params.model);
  const outLabel = document.getElementById('output-label');
  const os = document.getElementById('output-select');
  outLabel.hidden = !(model && outputChoice(model));
  if (!outLabel.hidden) {
    const names = model.output_names || [];
    os.replaceChildren(...Array.from({ length: model.n_outputs }, (_, k) => new Option(names[k] ? `${k}: ${names[k]}` : `output ${k}`, String(k))));
    os.value = ctx.params.output;
  }
  const d = ctx.datasets.find((x) => x.name === ctx.params.dataset);
  if (d) ix.max = d.shape[0] - 1;
  for (const a of document.querySelectorAll('#nav a[data-view]')) {
    const shared = Object.fromEntries(SHARED.map((k) => [k, ctx.params[k]]));
    a.href = build(a.dataset.view, shared);
    a.classList.toggle('active', a.dataset.view === ctx.view);
  }
}

// Each render gets its own view context: its isCurrent() is true only while no later render has
// started, and request(key) gives a guard that is true only for the latest request of that key in
// this render (a slow answer to an earlier parameter choice is dropped, never drawn).
function viewContext(id) {
  const vctx = Object.create(ctx);
  const latest = {};
  vctx.isCurrent = () => id === ctx.renderId;
  vctx.request = (key) => {
    const token = (latest[key] || 0) + 1;
    latest[key] = token;
    return () => vctx.isCurrent() && latest[key] === token;
  };
  return vctx;
}

async function route() {
  if (location.hash === drawn.hash) return;  // an in-page change already drawn
  const { view, params } = parse();
  const v = VIEWS[view] ? view : 'overview';
  ctx.view = v;
  ctx.params = withDefaults(params);
  if (build(v, ctx.params) !== location.hash) history.replaceState(null, '', build(v, ctx.params));
  drawn.hash = location.hash;
  syncHeader();
  const root = document.getElementById('view');
  root.innerHTML = '';
  root.dataset.view = v;
  const id = ++ctx.renderId;
  const vctx = viewContext(id);
  document.body.dataset.rendered = '';
  status('loading…');
  try {
    await VIEWS[v].render(root, vctx);
    if (vctx.isCurrent()) status('');
  } catch (err) {
    if (!vctx.isCurrent()) return;
    console.error(err);
    root.append(errorBox(err));
    status('error', true);
  }
  if (vctx.isCurrent()) document.body.dataset.rendered = v;
}

// Re-render the current view from the URL (after a change that needs a full redraw).
function rerender() { drawn.hash = null; route(); }

function goShared(patch) {
  const { view, params } = parse();
  location.hash = build(view, withDefaults({ ...params, ...patch }));
}

async function main() {
  try {
    await api.init();
    [ctx.models, ctx.datasets, ctx.methods] = await Promise.all([
      api.call('list_models'), api.call('list_datasets'), api.call('list_methods')]);
  } catch (err) {
    document.getElementById('view').replaceChildren(errorBox(err));
    return;
  }
  const ms = document.getElementById('model-select');
  const ds = document.getElementById('dataset-select');
  for (const m of ctx.models) {
    const opt = new Option(m.problem ? `${m.name} (unavailable)` : `${m.name} (${m.architecture || m.kind})`, m.name);
    if (m.problem) { opt.disabled = true; opt.title = m.problem; }
    ms.append(opt);
  }
  const further = (d) => (d.additional_shapes.length ? ` + ${d.additional_shapes.length} further input${d.additional_shapes.length > 1 ? 's' : ''}` : '');
  for (const d of ctx.datasets) ds.append(new Option(`${d.name} (${d.shape.join(' × ')}${further(d)})`, d.name));
  ms.addEventListener('change', () => goShared({ model: ms.value }));
  ds.addEventListener('change', () => goShared({ dataset: ds.value, index: '0' }));
  document.getElementById('index-input').addEventListener('change', (e) => goShared({ index: e.target.value }));
  document.getElementById('output-select').addEventListener('change', (e) => goShared({ output: e.target.value }));
  window.addEventListener('hashchange', route);
  window.addEventListener('popstate', route);
  ctx.update = update;
  ctx.goShared = goShared;
  ctx.rerender = rerender;
  ctx.target = target;
  await route();
}

main();
