// Method comparison: the same sample explained by several methods, side by side.
import { h, card, plotDiv, inPlace, explainedOutput } from '../ui.js';
import { heatmap, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  const all = ctx.methods.filter((m) => !m.sequence_method).map((m) => m.name);
  const cheap = ['saliency', 'gradient_x_input', 'smoothgrad', 'integrated_gradients'].filter((m) => all.includes(m));
  const chosen = (ctx.params.methods ? ctx.params.methods.split(',') : cheap).filter((m) => all.includes(m));
  const selected = () => [...root.querySelectorAll('input.method-box:checked')].map((e) => e.value);
  const boxes = all.map((name) => h('label', {}, h('input', { type: 'checkbox', class: 'method-box', value: name, checked: chosen.includes(name),
    onchange: () => { const sel = selected(); ctx.update({ methods: sel.join(',') }); draw(); } }), ` ${name}`));
  const shared = h('input', { type: 'checkbox', id: 'shared-scale', checked: ctx.params.shared === '1',
    onchange: (e) => { ctx.update({ shared: e.target.checked ? '1' : undefined }); redraw(); } });
  const note = h('div', { id: 'compare-scale', class: 'muted' });
  const errors = h('div', { id: 'compare-error' });
  root.append(card(`Sample ${index} of ${dataset}, model ${model}: every method with its default parameters`,
    h('div', { class: 'controls' }, ...boxes, h('label', { title: 'one colour scale for every panel' }, 'shared scale ', shared)), note, errors));
  const grid = h('div', { class: 'grid', id: 'compare-grid' });
  root.append(grid);
  let results = [];

  // Draw the heatmaps of the last results; with a shared scale every panel uses one range,
  // the largest |value| over all methods, so colours compare across panels.
  async function redraw() {
    const ok = results.filter((r) => !r.error);
    const absmax = Math.max(1e-30, ...ok.map((r) => Math.max(...r.values.data[0].flat().map(Math.abs))));
    const sharedScale = shared.checked;
    const units = [...new Set(ok.map((r) => r.unit))];
    const explained = ok.length && Array.isArray(ok[0].target) ? explainedOutput(ctx, ok[0].target[0]) : '';
    note.textContent = (sharedScale
      ? `one colour scale for all panels: |value| ≤ ${fmt(absmax)}${units.length > 1 ? ` (units differ: ${units.join('; ')})` : ` ${units[0] || ''}`}`
      : 'each panel on its own colour scale') + (explained ? ` · ${explained}` : '');
    for (const r of results) {
      const meta = document.getElementById(`compare-meta-${r.method}`);
      if (!meta) continue;
      if (r.error) { meta.replaceChildren(h('span', { class: 'error-box', role: 'alert' }, namingMethod(r.method, String(r.error.detail || r.error)))); continue; }
      const params = Object.entries(r.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
      meta.textContent = `${r.method}(${params}) · ${r.unit} · ${fmt(r.seconds * 1000)} ms`;
      await heatmap(`compare-${r.method}`, r.values.data[0], r.channel_names,
        { unit: r.unit, signed: r.signed, title: r.method, zmax: sharedScale ? absmax : null });
    }
  }

  const draw = () => inPlace(ctx, 'compare', { busy: note, slot: errors }, async (current) => {
    const names = selected();
    grid.replaceChildren(...names.map((n) => card(null, h('div', { class: 'muted', id: `compare-meta-${n}` }, `${n}: computing…`), plotDiv(`compare-${n}`))));
    const got = await Promise.all(names.map((method) => ctx.api.call('explain', {}, { model, dataset, indices: [index], method, target: ctx.target() })
      .catch((err) => ({ error: err, method }))));
    if (!current()) return;
    results = got;
    await redraw();
  });
  await draw();
}

// A refusal names its method once: the library's messages mostly begin with it already.
function namingMethod(method, text) {
  return text.startsWith(`${method}:`) || text.startsWith(`${method} `) ? text : `${method}: ${text}`;
}
