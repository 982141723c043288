// Cluster view: silhouette over k and the dendrogram of the filters' DTW clustering, cut at k.
import { h, card, noModuleTree, noConvLayers, plotDiv, inPlace } from '../ui.js';
import { CONFIG, clusterColor, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  if (noModuleTree(root, ctx)) return;
  const target = ctx.target();
  const net = await ctx.api.call('get_network', { model, target });
  if (!ctx.isCurrent()) return;
  if (noConvLayers(root, net)) return;
  const layerName = net.conv_layers.includes(ctx.params.layer) ? ctx.params.layer : net.conv_layers[net.conv_layers.length > 1 ? 1 : 0];
  const layerSelect = h('select', { id: 'cluster-layer', 'aria-label': 'layer' }, ...net.conv_layers.map((n) => h('option', { value: n, selected: n === layerName }, n)));
  const kSlider = h('input', { type: 'range', id: 'cluster-k', min: 1, max: 2, value: 1, 'aria-label': 'number of clusters' });
  const kLabel = h('b', { id: 'cluster-k-label' });
  const summary = h('div', { id: 'cluster-summary', class: 'muted' });
  const errors = h('div', { id: 'cluster-error' });
  root.append(card(null, h('div', { class: 'controls' }, h('label', {}, 'layer ', layerSelect), h('label', {}, 'cut at k = ', kSlider), kLabel), summary, errors));
  root.append(h('div', { class: 'row' }, card('Silhouette score by number of clusters (DTW distances, complete linkage)', plotDiv('cluster-silhouette')),
    card('Dendrogram, cut at k', plotDiv('cluster-dendrogram'))));
  root.append(card('Filter activations grouped by cluster', plotDiv('cluster-members', 'plot tall')));

  layerSelect.addEventListener('change', () => { ctx.update({ layer: layerSelect.value, k: undefined }); ctx.rerender(); });
  let k = ctx.params.k ? Number(ctx.params.k) : null;

  const draw = () => inPlace(ctx, 'clusters', { busy: summary, slot: errors, clear: ['cluster-silhouette', 'cluster-dendrogram', 'cluster-members'] }, async (current) => {
    const data = await ctx.api.call('get_layer', { model, layer: layerName, dataset, index, k, saliency: false, target });
    if (!current()) return;
    ctx.update({ layer: layerName }, { replace: true });
    const c = data.clusters;
    if (!c) { summary.textContent = data.cluster_note; return; }
    kSlider.max = data.n_filters; kSlider.value = c.k; kLabel.textContent = `${c.k}`;
    const sizes = {};
    c.labels.forEach((l) => { sizes[l] = (sizes[l] || 0) + 1; });
    const sil = c.silhouette.find((p) => p.k === c.k);
    summary.textContent = `${data.n_filters} filters of ${layerName} on sample ${index}: ${c.k} clusters (sizes ${Object.values(sizes).join(', ')}); best k by silhouette ${c.best_k}` + (sil ? `; silhouette at k=${c.k}: ${fmt(sil.score)}` : '');
    await Plotly.react('cluster-silhouette', [
      { x: c.silhouette.map((p) => p.k), y: c.silhouette.map((p) => p.score), mode: 'lines+markers', name: 'silhouette' },
      { x: [c.best_k], y: [c.silhouette.find((p) => p.k === c.best_k)?.score], mode: 'markers', name: 'best k', marker: { size: 14, symbol: 'star', color: '#d62728' } },
      ...(sil ? [{ x: [c.k], y: [sil.score], mode: 'markers', name: 'chosen k', marker: { size: 12, symbol: 'circle-open', color: '#000', line: { width: 2 } } }] : []),
    ], { height: 320, margin: { l: 60, r: 10, t: 10, b: 40 }, xaxis: { title: { text: 'k (clusters)' } }, yaxis: { title: { text: 'silhouette (−1…1)' } } }, CONFIG);
    const d = c.dendrogram;
    const leafCluster = {};
    d.leaves.forEach((f, i) => { leafCluster[5 + 10 * i] = c.labels[f]; });
    const links = d.icoord.map((xs, i) => ({ x: xs, y: d.dcoord[i], mode: 'lines', line: { color: d.dcoord[i][1] > d.cut_height ? '#9aa4b2' : clusterColor(leafCluster[xs[0]] || 1), width: 1.5 }, hoverinfo: 'skip', showlegend: false }));
    const xmax = 10 * d.leaves.length;
    links.push({ x: [0, xmax], y: [d.cut_height, d.cut_height], mode: 'lines', name: `cut at k=${c.k}`, line: { color: '#d62728', dash: 'dash' } });
    links.push({ x: d.leaves.map((_, i) => 5 + 10 * i), y: d.leaves.map(() => 0), mode: 'markers', showlegend: false,
      marker: { color: d.leaves.map((f) => clusterColor(c.labels[f])), size: 8 }, text: d.leaves.map((f) => `filter ${f}, cluster ${c.labels[f]}`), hoverinfo: 'text' });
    await Plotly.react('cluster-dendrogram', links, { height: 320, margin: { l: 60, r: 10, t: 10, b: 50 },
      xaxis: { tickvals: d.leaves.map((_, i) => 5 + 10 * i), ticktext: d.leaves.map(String), title: { text: 'filter' } }, yaxis: { title: { text: 'DTW distance (merge height)' } }, legend: { orientation: 'h', y: 1.1 } }, CONFIG);
    const acts = data.activations.data;
    await Plotly.react('cluster-members', acts.map((row, f) => ({ y: row, mode: 'lines', legendgroup: `c${c.labels[f]}`, name: `cluster ${c.labels[f]}`,
      showlegend: c.labels.indexOf(c.labels[f]) === f, line: { color: clusterColor(c.labels[f]), width: 1 }, hovertemplate: `filter ${f}<extra>cluster ${c.labels[f]}</extra>` })),
    { height: 380, margin: { l: 50, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "activation step t'" } }, yaxis: { title: { text: 'activation' } } }, CONFIG);
  });
  kSlider.addEventListener('change', () => { k = Number(kSlider.value); ctx.update({ k }); draw(); });
  kSlider.addEventListener('input', () => { kLabel.textContent = kSlider.value; });
  await draw();
}
