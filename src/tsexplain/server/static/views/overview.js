// Network overview: the model, its layers, and every conv filter in 3D, stacked by layer (TSViz Fig. 11).
import { h, card, noModuleTree, noConvLayers, plotDiv, explainedOutput } from '../ui.js';
import { CONFIG, fmt } from '../plots.js';
import { go } from '../state.js';

export async function render(root, ctx) {
  const { model, dataset, index } = ctx.params;
  const summary = ctx.models.find((m) => m.name === model);
  const task = `${summary.task} (${summary.n_outputs} output${summary.n_outputs === 1 ? '' : 's'} in ${summary.output_unit})`;
  if (summary.kind === 'torchscript') {  // no module tree: the model card, then the note
    const shape = summary.input_shape ? `${summary.input_shape[0]} channels × ${summary.input_shape[1]} steps` : 'unknown';
    root.append(card(`Model ${model}`, h('dl', { class: 'kv', id: 'model-summary' },
      h('dt', {}, 'architecture'), h('dd', {}, summary.architecture || summary.kind),
      h('dt', {}, 'task'), h('dd', {}, task), h('dt', {}, 'input'), h('dd', {}, shape),
      h('dt', {}, 'parameters'), h('dd', { id: 'n-params' }, (summary.n_params ?? 0).toLocaleString()))));
    noModuleTree(root, ctx);
    return;
  }
  const net = await ctx.api.call('get_network', { model, dataset, index, target: ctx.target() });
  if (!ctx.isCurrent()) return;
  const dl = h('dl', { class: 'kv', id: 'model-summary' },
    h('dt', {}, 'architecture'), h('dd', {}, summary.architecture || summary.kind),
    h('dt', {}, 'task'), h('dd', {}, task),
    h('dt', {}, 'input'), h('dd', {}, `${net.input_shape[1]} channels × ${net.input_shape[2]} steps`),
    h('dt', {}, 'parameters'), h('dd', { id: 'n-params' }, net.n_params.toLocaleString()),
    h('dt', {}, 'filters'), h('dd', { id: 'n-filters' }, `${net.n_filters} in ${net.conv_layers.length} conv layers`),
    summary.description ? [h('dt', {}, 'about'), h('dd', {}, summary.description)] : null);
  const rows = net.layers.map((l) => h('tr', {},
    h('td', {}, l.n_filters ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); go('layer', { ...ctx.params, layer: l.name }); } }, l.name) : l.name),
    h('td', {}, l.kind), h('td', {}, l.output_shape ? `(${l.output_shape.join(', ')})` : '–'),
    h('td', { class: 'num' }, l.n_filters ?? ''), h('td', { class: 'num' }, l.kernel_size ?? ''), h('td', { class: 'num' }, l.n_params)));
  const table = h('table', { id: 'layer-table' }, h('thead', {}, h('tr', {}, ...['layer', 'kind', 'output shape', 'filters', 'kernel', 'params'].map((t, i) => h('th', { class: i >= 3 ? 'num' : '' }, t)))), h('tbody', {}, rows));
  root.append(h('div', { class: 'row' }, card(`Model ${model}`, dl), card('Layers in forward order', table)));
  if (noConvLayers(root, net)) return;
  const explained = explainedOutput(ctx, net.target);
  root.append(card(`Filters stacked by layer, height and colour = importance for sample ${index} of ${dataset}${explained ? `, ${explained}` : ''} (min-max scaled per layer; click a filter to open its layer)`, plotDiv('overview-3d', 'plot tall')));
  root.append(card('Filters per layer', plotDiv('overview-bars')));

  const xs = [], ys = [], zs = [], text = [], colors = [], layerOf = [];
  net.importance.forEach((li, depth) => {
    const F = li.scaled.length;
    li.scaled.forEach((s, f) => {
      // a square grid per layer, centred, as the TSViz overview lays filters out
      const side = Math.ceil(Math.sqrt(F));
      xs.push((f % side) - side / 2); ys.push(Math.floor(f / side) - side / 2); zs.push(-depth);
      colors.push(s); layerOf.push(li.layer);
      text.push(`${li.layer} filter ${f}<br>importance ${fmt(li.importance[f])} (scaled ${fmt(s)})`);
    });
  });
  const trace = { type: 'scatter3d', mode: 'markers', x: xs, y: ys, z: zs, text, hoverinfo: 'text', customdata: layerOf,
    marker: { size: colors.map((c) => 4 + 10 * c), color: colors, colorscale: 'Viridis', cmin: 0, cmax: 1, opacity: 0.9,
      colorbar: { title: { text: 'importance (scaled)' } } } };
  const layout = { height: 520, margin: { l: 0, r: 0, t: 0, b: 0 },
    scene: { xaxis: { title: { text: 'filter' }, showticklabels: false }, yaxis: { title: { text: 'filter' }, showticklabels: false },
      zaxis: { title: { text: 'layer (input on top)' }, tickvals: net.importance.map((_, i) => -i), ticktext: net.importance.map((l) => l.layer) },
      aspectmode: 'manual', aspectratio: { x: 1, y: 1, z: 1.1 }, camera: { eye: { x: 1.5, y: 1.5, z: 0.6 } } } };
  const div3d = document.getElementById('overview-3d');
  await Plotly.react(div3d, [trace], layout, CONFIG);
  div3d.on('plotly_click', (ev) => { const p = ev.points[0]; if (p) go('layer', { ...ctx.params, layer: p.customdata }); });
  const convs = net.layers.filter((l) => l.n_filters);
  await Plotly.react('overview-bars', [{ type: 'bar', x: convs.map((l) => l.name), y: convs.map((l) => l.n_filters),
    text: convs.map((l) => `${l.n_filters} filters, kernel ${l.kernel_size}`), marker: { color: '#1f6feb' } }],
  { height: 260, margin: { l: 50, r: 10, t: 10, b: 40 }, yaxis: { title: { text: 'filters' } } }, CONFIG);
}
