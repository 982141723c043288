// Sample browser: the series coloured by its attribution and the channels x time heatmap.
import { h, card, plotDiv, methodPicker, predictionLine, inPlace, explainedOutput } from '../ui.js';
import { seriesColored, heatmap, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  const d = ctx.datasets.find((x) => x.name === dataset);
  const info = h('div', { id: 'sample-info' });
  const meta = h('div', { id: 'attr-meta', class: 'muted' });
  const errors = h('div', { id: 'sample-error' });
  const picker = methodPicker(ctx, { id: 'sample-method', onChange: () => draw() });
  const nav = h('span', { class: 'controls' },
    h('button', { class: 'secondary', id: 'prev-sample', onclick: () => ctx.goShared({ index: String(Math.max(0, index - 1)) }) }, '◀ previous'),
    h('button', { class: 'secondary', id: 'next-sample', onclick: () => ctx.goShared({ index: String(Math.min(d.shape[0] - 1, index + 1)) }) }, 'next ▶'));
  root.append(card(null, h('div', { class: 'controls' }, nav, picker.element), info, meta, errors));
  root.append(card(`Series coloured by attribution (red: raises the explained output, blue: lowers it${d.has_mask ? '; rings: true anomalies' : ''})`, plotDiv('sample-series')));
  root.append(card('Channels × time', plotDiv('sample-heatmap')));

  const smp = await ctx.api.call('get_sample', { dataset, index, model });
  if (!ctx.isCurrent()) return;
  info.replaceChildren(
    h('div', {}, `Sample ${index} of ${dataset} (${d.shape[1]} channels × ${d.shape[2]} ${smp.time_unit}s, values in ${smp.value_unit})`,
      smp.label_name !== null ? [' · true label: ', h('b', { id: 'true-label' }, smp.label_name)] : null),
    h('div', { id: 'prediction' }, predictionLine(`Model ${model}`, smp.prediction)));

  const draw = () => inPlace(ctx, 'explain', { busy: meta, slot: errors, clear: ['sample-series', 'sample-heatmap'] }, async (current) => {
    const res = await ctx.api.call('explain', {}, { model, dataset, indices: [index], method: picker.method(), params: picker.params(), target: ctx.target() });
    if (!current()) return;
    const values = res.values.data[0];
    const params = Object.entries(res.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    const gap = res.extras.completeness_gap ? ` · completeness gap ${fmt(res.extras.completeness_gap[0])} ${res.unit}` : '';
    const named = explainedOutput(ctx, Array.isArray(res.target) && res.target.length ? res.target[0] : null);
    const explained = named ? ` · ${named}` : '';
    meta.textContent = `${res.method}(${params})${explained} · values in ${res.unit} · ${res.signed ? 'signed' : 'absolute'} · ${fmt(res.seconds * 1000)} ms${res.cached ? ' (cached)' : ''}${gap}`;
    await seriesColored('sample-series', smp.x.data, values, res.channel_names,
      { unit: res.unit, mask: smp.mask ? smp.mask.data : null, time: smp.time, signed: res.signed, valueUnit: smp.value_unit });
    await heatmap('sample-heatmap', values, res.channel_names, { unit: res.unit, signed: res.signed, time: smp.time });
  });
  await draw();
}
