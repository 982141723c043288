// Method comparison: the same sample explained by several methods, side by side.
import { h, card, plotDiv } from '../ui.js';
import { heatmap, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  const all = ctx.methods.filter((m) => !m.sequence_method).map((m) => m.name);
  const chosen = (ctx.params.methods ? ctx.params.methods.split(',') : all).filter((m) => all.includes(m));
  const boxes = all.map((name) => h('label', {}, h('input', { type: 'checkbox', value: name, checked: chosen.includes(name),
    onchange: () => { const sel = [...root.querySelectorAll('input[type=checkbox]:checked')].map((e) => e.value); ctx.update({ methods: sel.join(',') }); draw(sel); } }), ` ${name}`));
  const shared = h('label', {}, 'shared scale ', h('input', { type: 'checkbox', id: 'shared-scale', checked: ctx.params.shared === '1',
    onchange: (e) => { ctx.update({ shared: e.target.checked ? '1' : undefined }); draw(chosen); } }));
  root.append(card(`Sample ${index} of ${dataset}, model ${model}: every method with its default parameters`, h('div', { class: 'controls' }, ...boxes, shared)));
  const grid = h('div', { class: 'grid', id: 'compare-grid' });
  root.append(grid);

  async function draw(names) {
    chosen.splice(0, chosen.length, ...names);
    grid.replaceChildren(...names.map((n) => card(null, h('div', { class: 'muted', id: `compare-meta-${n}` }, n), plotDiv(`compare-${n}`))));
    const results = await Promise.all(names.map((method) => ctx.api.call('explain', {}, { model, dataset, indices: [index], method, target: 'predicted' })
      .catch((err) => ({ error: err, method }))));
    if (!ctx.isCurrent()) return;
    const sharedScale = root.querySelector('#shared-scale').checked;
    const absmax = Math.max(...results.filter((r) => !r.error).map((r) => Math.max(...r.values.data[0].flat().map(Math.abs))));
    for (const r of results) {
      const meta = document.getElementById(`compare-meta-${r.method}`);
      if (r.error) { meta.textContent = `${r.method}: ${r.error.detail || r.error}`; continue; }
      const params = Object.entries(r.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
      meta.textContent = `${r.method}(${params}) · ${r.unit} · ${fmt(r.seconds * 1000)} ms`;
      let values = r.values.data[0];
      if (sharedScale) { const m = Math.max(...values.flat().map(Math.abs)) || 1; values = values.map((row) => row.map((v) => v / m * 1)); }
      await heatmap(`compare-${r.method}`, values, r.channel_names,
        { unit: sharedScale ? 'scaled to max |value| = 1' : r.unit, signed: r.signed, title: r.method });
    }
    return absmax;
  }
  await draw(chosen);
}
