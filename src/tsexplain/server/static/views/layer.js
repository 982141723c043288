// Layer view: filter importance with a percentile slider, cluster shading, activations and saliency.
import { h, card, noModuleTree, noConvLayers, plotDiv, jobPanel, runJobInto, errorBox, predictionLine, explainedOutput } from '../ui.js';
import { CONFIG, heatmap, clusterColor, fmt } from '../plots.js';

function percentileValue(values, pct) {
  const s = [...values].sort((a, b) => a - b);
  if (pct <= 0) return -Infinity;
  const pos = (s.length - 1) * pct / 100;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  if (noModuleTree(root, ctx)) return;
  const target = ctx.target();
  const net = await ctx.api.call('get_network', { model, target });
  if (!ctx.isCurrent()) return;
  if (noConvLayers(root, net)) return;
  const layerName = net.conv_layers.includes(ctx.params.layer) ? ctx.params.layer : net.conv_layers[0];
  const k = ctx.params.k ? Number(ctx.params.k) : null;
  const data = await ctx.api.call('get_layer', { model, layer: layerName, dataset, index, k, target });
  if (!ctx.isCurrent()) return;
  ctx.update({ layer: layerName }, { replace: true });
  const explained = explainedOutput(ctx, data.target);
  let pct = Number(ctx.params.pct ?? 0);
  let selected = Number(ctx.params.filter ?? data.importance_scaled.indexOf(Math.max(...data.importance_scaled)));
  const labels = data.clusters ? data.clusters.labels : data.importance.map(() => 1);

  const layerSelect = h('select', { id: 'layer-select', 'aria-label': 'layer' }, ...net.conv_layers.map((n) => h('option', { value: n, selected: n === layerName }, n)));
  layerSelect.addEventListener('change', () => { ctx.update({ layer: layerSelect.value, filter: undefined, k: undefined }); ctx.rerender(); });
  const slider = h('input', { type: 'range', id: 'percentile', min: 0, max: 99, step: 1, value: pct, 'aria-label': 'importance percentile' });
  const pctLabel = h('span', { id: 'percentile-label' });
  const kInput = h('input', { type: 'number', id: 'k-input', min: 1, max: data.n_filters, value: data.clusters ? data.clusters.k : 1, 'aria-label': 'clusters k' });
  kInput.addEventListener('change', () => { ctx.update({ k: kInput.value }); ctx.rerender(); });
  root.append(card(null,
    h('div', { class: 'controls' }, h('label', {}, 'layer ', layerSelect),
      h('label', {}, 'show filters above the importance percentile ', slider), pctLabel,
      h('label', {}, 'clusters k ', kInput),
      h('span', { class: 'muted' }, data.clusters ? `best k by silhouette: ${data.clusters.best_k}` : (data.cluster_note || ''))),
    h('div', {}, predictionLine(`Sample ${index} of ${dataset}`, data.prediction)),
    h('div', { class: 'muted', id: 'layer-explained' }, 'Importance of filter f: sum over t of |d output / d activation_f(t)| (TSViz Eq. 16), in ',
      `${ctx.models.find((m) => m.name === model).output_unit} per activation unit${explained ? `; ${explained}` : ''}.`)));
  root.append(h('div', { class: 'row' }, card('Filter importance, shaded by cluster', plotDiv('layer-importance')),
    card('Activations of the shown filters (colour = cluster)', plotDiv('layer-activations'))));
  const salTitle = h('span', { id: 'saliency-title' });
  root.append(card(salTitle, plotDiv('layer-saliency')));
  const pruneBox = h('div', { id: 'pruning-result' });
  root.append(card('Pruning curve of this layer (TSViz Fig. 10): test loss as filters are removed',
    jobPanel('pruning', { label: 'Compute pruning curve', onRun: async (opts) => {
      pruneBox.replaceChildren(plotDiv('pruning-plot'));
      try {
        const job = await runJobInto({ kind: 'pruning', model, dataset, layer: layerName, order: 'both', max_samples: 500, target }, opts);
        const r = job.result;
        await Plotly.react('pruning-plot', Object.entries(r.curves).map(([order, c]) => ({ x: r.n_pruned, y: c.loss, mode: 'lines+markers', name: `${order} important first` })),
          { height: 300, margin: { l: 60, r: 10, t: 10, b: 40 }, xaxis: { title: { text: 'filters removed' } }, yaxis: { title: { text: `${r.loss_name} on ${r.n_samples} samples` } } }, CONFIG);
      } catch (err) { pruneBox.replaceChildren(errorBox(err)); }
    } }), pruneBox));

  const acts = data.activations.data;
  async function draw() {
    const thr = percentileValue(data.importance, pct);
    const shown = data.importance.map((v) => v >= thr);
    pctLabel.textContent = `${pct}th percentile: ${shown.filter(Boolean).length} of ${data.n_filters} filters shown (importance ≥ ${fmt(thr === -Infinity ? 0 : thr)})`;
    await Plotly.react('layer-importance', [{
      type: 'bar', x: data.importance.map((_, f) => f), y: data.importance,
      marker: { color: labels.map((l, f) => clusterColor(l)), opacity: shown.map((s, f) => (s ? (f === selected ? 1 : 0.85) : 0.15)),
        line: { color: shown.map((s, f) => (f === selected ? '#000' : 'rgba(0,0,0,0)')), width: 2 } },
      text: labels.map((l) => `cluster ${l}`), textposition: 'none', hovertemplate: 'filter %{x}<br>importance %{y:.4g}<br>%{text}<extra></extra>',
    }], { height: 300, margin: { l: 60, r: 10, t: 10, b: 40 }, xaxis: { title: { text: 'filter (click to see its input saliency)' } }, yaxis: { title: { text: 'importance' } } }, CONFIG);
    const traces = [];
    acts.forEach((row, f) => { if (shown[f]) traces.push({ y: row, mode: 'lines', name: `f${f} (c${labels[f]})`, line: { color: clusterColor(labels[f]), width: f === selected ? 3 : 1 }, showlegend: false,
      hovertemplate: `filter ${f}, cluster ${labels[f]}<br>t=%{x}: %{y:.3g}<extra></extra>` }); });
    await Plotly.react('layer-activations', traces, { height: 300, margin: { l: 50, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "activation step t'" } }, yaxis: { title: { text: 'activation' } } }, CONFIG);
    salTitle.textContent = `Input saliency of filter ${selected} (|d a_f / d x|, min-max scaled; TSViz Eq. 13-14), cluster ${labels[selected]}, importance ${fmt(data.importance[selected])}`;
    if (data.saliency) await heatmap('layer-saliency', data.saliency.data[selected], ctx.datasets.find((d) => d.name === dataset).channel_names, { unit: 'scaled saliency', signed: false });
  }
  slider.addEventListener('input', () => { pct = Number(slider.value); ctx.update({ pct: pct || undefined }); draw(); });
  await draw();
  document.getElementById('layer-importance').on('plotly_click', (ev) => { selected = ev.points[0].x; ctx.update({ filter: selected }); draw(); });
}
