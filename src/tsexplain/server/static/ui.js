// Small DOM helpers shared by the views.
import * as api from './api.js';
import { update, parse, methodParams, coerce } from './state.js';

export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'html') e.innerHTML = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c.nodeType ? c : String(c));
  return e;
}

export const card = (title, ...children) => h('section', { class: 'card' }, title ? h('h2', {}, title) : null, ...children);
export const plotDiv = (id, cls = 'plot') => h('div', { id, class: cls });

export function status(text, isError = false) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.classList.toggle('error', isError);
}

export function errorBox(err) {
  const status = err && err.status ? `${err.status}: ` : '';
  return h('div', { class: 'error-box', role: 'alert' }, status, err && err.detail ? err.detail : String(err && err.message || err));
}

// The filter views (TSViz) hook into a model's layers and read its 1D convolutions' filters. A
// TorchScript model (no module tree to hook into) or a model without a Conv1d layer (an LSTM, a
// Transformer without a convolutional front) gets a note saying so, not a request that fails.
const ANY_MODEL = 'The attribution views (Sample, Compare methods, Data-set aggregates, Deletion / '
  + 'insertion), Inverse optimisation and Adversarial work on any model.';

export function noModuleTree(root, ctx) {
  const summary = ctx.models.find((m) => m.name === ctx.params.model);
  if (!summary || summary.kind !== 'torchscript') return false;
  root.append(card(null, h('div', { id: 'no-module-tree', class: 'muted' },
    'This TorchScript model has no module tree to hook into, so this view cannot read its layers: ',
    'save it with torch.export.save (a .pt2 file) or add it as factory + weights. ', ANY_MODEL)));
  return true;
}

// A data set with further model inputs (arrays additional_0, ... for forward(x, *further)): the
// views that run the model on chunks of series of their own cannot give each series its further
// inputs (the server refuses them), so they say so instead of asking.
export function noAdditionalInputs(root, ctx, what) {
  const d = ctx.datasets.find((x) => x.name === ctx.params.dataset);
  if (!d || !d.additional_shapes.length) return false;
  const arrays = d.additional_shapes.map((s, i) => `additional_${i} (${s.join(' × ')})`).join(', ');
  root.append(card(null, h('div', { id: 'no-additional-inputs', class: 'muted' },
    `Data set ${d.name} carries further inputs of the model (${arrays}); ${what} runs the model on chunks of series without them. `,
    'The attribution views, the Network and Layer views of one sample, Inverse optimisation, Adversarial and the benchmark give each sample its own.')));
  return true;
}

// The note itself, for a view (noConvLayers) or for one panel of a view (`what`).
export function noConvNote(what = 'this view') {
  return h('div', { id: 'no-conv-layers', class: 'muted' },
    `This model has no Conv1d layer, so it has no filters for ${what} to show (the filter views `,
    'read 1D convolutions; Grad-CAM and layer IG in the attribution views take any named layer). ',
    ANY_MODEL);
}

export function noConvLayers(root, net) {
  if (net.conv_layers.length) return false;
  root.append(card(null, noConvNote()));
  return true;
}

// Run one in-page computation of a view: `busy` says "computing…" meanwhile; an answer to an
// older request (same key) or from a view the user left is dropped; an error replaces the
// plots listed in `clear` and is shown in `slot`, where the result would have been.
export async function inPlace(ctx, key, { busy = null, slot, clear = [] }, work) {
  const current = ctx.request(key);
  if (busy) busy.textContent = 'computing…';
  slot.replaceChildren();
  try {
    await work(current);
  } catch (err) {
    if (!current()) return;
    // the server's refusal of a request (4xx) is the answer, shown in place; anything else
    // (a 5xx, a failure of the page's own code) is a bug and goes to the console too
    if (!(err instanceof api.ApiError && err.status < 500)) console.error(err);
    if (busy) busy.textContent = '';
    for (const id of clear) { const el = document.getElementById(id); if (el && window.Plotly) { Plotly.purge(el); el.replaceChildren(); } }
    slot.replaceChildren(errorBox(err));
  }
}

// Method picker + its parameters as inputs; state in the URL (method=, p.NAME=).
export function methodPicker(ctx, { id = 'method', methodKey = 'method', onChange }) {
  // the explorer serves (N, C, T) -> (N, K) models: a sequence method (one output per time
  // step) would be refused for every one of them, so it is not offered
  const methods = ctx.methods.filter((m) => !m.sequence_method);
  const current = ctx.params[methodKey] || 'integrated_gradients';
  const select = h('select', { id: `${id}-select`, 'aria-label': 'method' },
    ...methods.map((m) => h('option', { value: m.name, selected: m.name === current, title: m.summary }, m.name)));
  const paramsBox = h('span', { class: 'params', id: `${id}-params` });
  const info = () => methods.find((m) => m.name === select.value) || methods[0];
  const values = () => methodParams(parse().params, info().parameters);
  function drawParams() {
    paramsBox.innerHTML = '';
    const m = info();
    const vals = values();
    for (const [name, def] of Object.entries(m.parameters)) {
      const v = name in vals ? vals[name] : def;
      let input;
      if (typeof def === 'boolean') input = h('input', { type: 'checkbox', checked: !!v });
      else if (typeof def === 'number') input = h('input', { type: 'number', value: v, step: Number.isInteger(def) ? 1 : 'any' });
      else input = h('input', { type: 'text', value: v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : v, size: 8, placeholder: def === null ? 'default' : '' });
      input.dataset.param = name;
      input.addEventListener('change', () => {
        const raw = input.type === 'checkbox' ? input.checked : input.value;
        const val = coerce(raw, def);
        update({ [`p.${name}`]: val === def || val === null ? undefined : typeof val === 'object' ? JSON.stringify(val) : String(val) });
        onChange();
      });
      paramsBox.append(h('label', { title: `default ${JSON.stringify(def)}` }, `${name} `, input));
    }
  }
  select.addEventListener('change', () => {
    const clear = {};
    for (const k of Object.keys(parse().params)) if (k.startsWith('p.')) clear[k] = undefined;
    update({ ...clear, [methodKey]: select.value });
    drawParams();
    onChange();
  });
  drawParams();
  return { element: h('span', { class: 'controls' }, h('label', {}, 'method ', select), paramsBox),
    method: () => select.value, params: values };
}

// A job's run button, progress bar and cancel button.
export function jobPanel(id, { label = 'Run', onRun }) {
  const progress = h('progress', { id: `${id}-progress`, max: 1, value: 0 });
  const message = h('span', { id: `${id}-message`, class: 'muted' });
  const cancel = h('button', { class: 'secondary', id: `${id}-cancel`, disabled: true }, 'Cancel');
  let controller = null;
  const run = h('button', { id: `${id}-run` }, label);
  run.addEventListener('click', async () => {
    controller = new AbortController();
    run.disabled = true; cancel.disabled = false;
    try {
      await onRun({ signal: controller.signal,
        onProgress: (job) => { progress.value = job.progress; message.textContent = `${job.status}: ${job.message}`; } });
    } finally { run.disabled = false; cancel.disabled = true; }
  });
  cancel.addEventListener('click', () => controller && controller.abort());
  return h('span', { class: 'controls' }, run, cancel, progress, message);
}

export async function runJobInto(body, opts) {
  const job = await api.runJob(body, opts);
  if (job.status === 'failed') throw new api.ApiError(422, job.error);
  if (job.status === 'cancelled') throw new api.ApiError(499, 'job cancelled');
  return job;
}

// The output a view explains, in words, from the `target` the server answers with (its default
// filled in) or the per-sample index of an attribution: "explained output 3 (step 4)",
// "explained output: the predicted class"; '' for the only output of a single-output model.
export function explainedOutput(ctx, target) {
  const model = ctx.models.find((m) => m.name === ctx.params.model);
  if (target === null || target === undefined || (model && model.n_outputs === 1)) return '';
  if (target === 'predicted') return `explained output: ${model && model.task === 'regression' ? "each sample's largest output" : 'the predicted class'}`;
  const name = model && model.output_names ? model.output_names[target] : null;
  return `explained output ${target}${name && name !== `output ${target}` ? ` (${name})` : ''}`;
}

// "Prefix: class · text" (a classifier), "Prefix: text" (a regression model has no class name).
export function predictionLine(prefix, pred) {
  const name = pred.predicted_name ? [h('b', {}, pred.predicted_name), ' · '] : [];
  return h('span', { class: 'prediction' }, `${prefix}: `, ...name, pred.text);
}
