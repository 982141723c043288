// Data-set aggregates: mean attribution (channels x time) per class, and the share per channel.
import { h, card, plotDiv, methodPicker, inPlace, explainedOutput } from '../ui.js';
import { CONFIG, heatmap, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const d = ctx.datasets.find((x) => x.name === dataset);
  const picker = methodPicker(ctx, { id: 'agg-method', onChange: () => draw() });
  const groupBy = h('select', { id: 'agg-group' }, ...['label', 'prediction'].map((g) => h('option', { value: g, selected: (ctx.params.group || (d.has_labels ? 'label' : 'prediction')) === g }, g)));
  const nInput = h('input', { type: 'number', id: 'agg-n', min: 1, max: 1000, value: ctx.params.n || Math.min(200, d.shape[0]) });
  const meta = h('div', { id: 'agg-meta', class: 'muted' });
  const errors = h('div', { id: 'agg-error' });
  const abs = h('input', { type: 'checkbox', id: 'agg-abs', checked: ctx.params.abs === '1' });
  root.append(card(null, h('div', { class: 'controls' }, picker.element, h('label', {}, 'group by ', groupBy), h('label', {}, 'samples ', nInput), h('label', {}, abs, ' mean |attribution|')), meta, errors));
  const grid = h('div', { class: 'grid', id: 'agg-grid' });
  root.append(grid, card('Share of the mean |attribution| per channel', plotDiv('agg-share')));
  for (const el of [groupBy, nInput, abs]) el.addEventListener('change', () => { ctx.update({ group: groupBy.value, n: nInput.value, abs: abs.checked ? '1' : undefined }); draw(); });

  const draw = () => inPlace(ctx, 'aggregates', { busy: meta, slot: errors, clear: ['agg-share'] }, async (current) => {
    grid.replaceChildren();
    const r = await ctx.api.call('aggregates', {}, { model, dataset, method: picker.method(), params: picker.params(), group_by: groupBy.value, max_samples: Number(nInput.value), target: ctx.target() });
    if (!current()) return;
    const params = Object.entries(r.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    const explained = explainedOutput(ctx, r.target);
    meta.textContent = `${r.method}(${params}) over the first ${r.n_samples} samples${explained ? `, ${explained}` : ''}, ${r.grouping}; values in ${r.unit}; ${fmt(r.seconds)} s${r.cached ? ' (cached)' : ''}`;
    // a regression model's groups are quartiles, already named by their range ("prediction in [a, b]")
    const binned = ctx.models.find((m) => m.name === model).task === 'regression';
    grid.replaceChildren(...r.groups.map((g, i) => card(`${binned ? g.name : `${r.group_by} = ${g.name}`} (${g.count} samples)`, plotDiv(`agg-${i}`))));
    const useAbs = abs.checked;
    for (const [i, g] of r.groups.entries()) {
      await heatmap(`agg-${i}`, (useAbs ? g.mean_abs : g.mean).data, r.channel_names, { unit: r.unit, signed: r.signed && !useAbs, title: `mean ${useAbs ? '|attribution|' : 'attribution'}: ${g.name}` });
    }
    await Plotly.react('agg-share', r.groups.map((g) => ({ type: 'bar', name: `${g.name} (${g.count})`, x: r.channel_names, y: g.channel_share.map((v) => 100 * v) })),
      { height: 300, barmode: 'group', margin: { l: 60, r: 10, t: 10, b: 40 }, yaxis: { title: { text: '% of mean |attribution|' } } }, CONFIG);
  });
  await draw();
}
