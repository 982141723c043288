// Data-set filter importance (TSViz Fig. 9): min, mean and max of each filter's importance.
import { h, card, noModuleTree, noAdditionalInputs, noConvLayers, plotDiv, inPlace, explainedOutput } from '../ui.js';
import { CONFIG, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  if (noModuleTree(root, ctx) || noAdditionalInputs(root, ctx, 'the data-set filter importance')) return;
  const target = ctx.target();
  const net = await ctx.api.call('get_network', { model, target });
  if (!ctx.isCurrent()) return;
  if (noConvLayers(root, net)) return;
  const layerName = net.conv_layers.includes(ctx.params.layer) ? ctx.params.layer : net.conv_layers[0];
  const layerSelect = h('select', { id: 'filters-layer', 'aria-label': 'layer' }, ...net.conv_layers.map((n) => h('option', { value: n, selected: n === layerName }, n)));
  const n = h('input', { type: 'number', id: 'filters-n', min: 1, max: 1000, value: ctx.params.n ?? 200 });
  const meta = h('div', { id: 'filters-meta', class: 'muted' });
  const errors = h('div', { id: 'filters-error' });
  root.append(card(null, h('div', { class: 'controls' }, h('label', {}, 'layer ', layerSelect), h('label', {}, 'samples ', n)), meta, errors),
    card('Importance of every filter over the data set: mean (bar) with min and max (whiskers), most important first', plotDiv('filters-plot')));
  for (const el of [layerSelect, n]) el.addEventListener('change', () => { ctx.update({ layer: layerSelect.value, n: n.value }); draw(); });

  const draw = () => inPlace(ctx, 'filters', { busy: meta, slot: errors, clear: ['filters-plot'] }, async (current) => {
    const r = await ctx.api.call('get_filter_stats', { model, layer: layerSelect.value, dataset, max_samples: Number(n.value), target });
    if (!current()) return;
    const order = r.ranking;
    const explained = explainedOutput(ctx, r.target);
    meta.textContent = `${r.layer}: ${r.mean.length} filters over ${r.n_samples} samples of ${r.dataset}${explained ? `, ${explained}` : ''}; most important filter ${order[0]} (mean ${fmt(r.mean[order[0]])}), least ${order[order.length - 1]} (mean ${fmt(r.mean[order[order.length - 1]])})`;
    await Plotly.react('filters-plot', [{ type: 'bar', x: order.map((f) => `f${f}`), y: order.map((f) => r.mean[f]), name: 'mean',
      error_y: { type: 'data', symmetric: false, array: order.map((f) => r.max[f] - r.mean[f]), arrayminus: order.map((f) => r.mean[f] - r.min[f]) } }],
    { height: 340, margin: { l: 60, r: 10, t: 10, b: 50 }, xaxis: { title: { text: 'filter (most important first)' } }, yaxis: { title: { text: 'importance (Eq. 16)' } } }, CONFIG);
  });
  await draw();
}
