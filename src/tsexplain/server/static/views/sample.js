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
  // set once the sample has loaded: a method picked while it failed to load does nothing
  let draw = () => {};
  const picker = methodPicker(ctx, { id: 'sample-method', onChange: () => draw() });
  const nav = h('span', { class: 'controls' },
    h('button', { class: 'secondary', id: 'prev-sample', onclick: () => ctx.goShared({ index: String(Math.max(0, index - 1)) }) }, '◀ previous'),
    h('button', { class: 'secondary', id: 'next-sample', onclick: () => ctx.goShared({ index: String(Math.min(d.shape[0] - 1, index + 1)) }) }, 'next ▶'));
  root.append(card(null, h('div', { class: 'controls' }, nav, picker.element), info, meta, errors));
  // the caption follows the method drawn: a signed one diverges around 0 (red / blue), a
  // non-negative relevance (grad_cam, tsr) runs from 0 up on a sequential scale
  const rings = d.has_mask ? '; rings: true anomalies' : '';
  const seriesCard = card(`Series coloured by attribution (red: raises the explained output, blue: lowers it${rings})`, plotDiv('sample-series'));
  const seriesTitle = seriesCard.querySelector('h2');
  seriesTitle.id = 'sample-series-title';
  root.append(seriesCard);
  root.append(card('Channels × time', plotDiv('sample-heatmap')));
  // a model with further inputs (forward(x, *further)): the sample's values and their attribution
  const further = h('div', { id: 'additional-attribution' });
  if (d.additional_shapes.length) root.append(card('Further inputs of the model at this sample, and their attribution', further));

  const smp = await ctx.api.call('get_sample', { dataset, index, model });
  if (!ctx.isCurrent()) return;
  info.replaceChildren(
    h('div', {}, `Sample ${index} of ${dataset} (${d.shape[1]} channels × ${d.shape[2]} time steps${smp.time_unit === 'step' ? '' : ` of ${smp.time_unit}`}, values in ${smp.value_unit})`,
      smp.label_name !== null ? [' · true label: ', h('b', { id: 'true-label' }, smp.label_name)] : null,
      d.additional_shapes.length ? ` · further inputs: ${d.additional_shapes.map((s, i) => `additional_${i} (${s.join(' × ')})`).join(', ')}` : null),
    h('div', { id: 'prediction' }, predictionLine(`Model ${model}`, smp.prediction)));

  draw = () => inPlace(ctx, 'explain', { busy: meta, slot: errors, clear: ['sample-series', 'sample-heatmap'] }, async (current) => {
    const res = await ctx.api.call('explain', {}, { model, dataset, indices: [index], method: picker.method(), params: picker.params(), target: ctx.target() });
    if (!current()) return;
    const values = res.values.data[0];
    const params = Object.entries(res.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    const gap = res.extras.completeness_gap ? ` · completeness gap ${fmt(res.extras.completeness_gap[0])} ${res.unit}` : '';
    const named = explainedOutput(ctx, Array.isArray(res.target) && res.target.length ? res.target[0] : null);
    const explained = named ? ` · ${named}` : '';
    seriesTitle.textContent = res.signed
      ? `Series coloured by attribution (red: raises the explained output, blue: lowers it${rings})`
      : `Series coloured by attribution (${res.method} is a non-negative relevance: 0 is dark, the most relevant points are bright${rings})`;
    meta.textContent = `${res.method}(${params})${explained} · values in ${res.unit} · ${res.signed ? 'signed' : 'non-negative'} · ${fmt(res.seconds * 1000)} ms${res.cached ? ' (cached)' : ''}${gap}`;
    await seriesColored('sample-series', smp.x.data, values, res.channel_names,
      { unit: res.unit, mask: smp.mask ? smp.mask.data : null, time: smp.time, signed: res.signed, valueUnit: smp.value_unit });
    await heatmap('sample-heatmap', values, res.channel_names, { unit: res.unit, signed: res.signed, time: smp.time });
    further.replaceChildren(...additionalTable(res));
  });
  await draw();
}

// One row per value of each further input (at most 32 per input): the value, its attribution
// as a number and a bar (red raises the explained output, blue lowers it, as in the plots).
function additionalTable(res) {
  const rows = [];
  const flat = (a) => (Array.isArray(a) ? a.flat(Infinity) : [a]);
  const attributed = res.additional.filter((a) => a.values).map((a) => flat(a.values.data[0]));
  const scale = Math.max(1e-30, ...attributed.flat().map(Math.abs));
  for (const a of res.additional) {
    const inputs = flat(a.inputs.data[0]);
    const values = a.values ? flat(a.values.data[0]) : null;
    inputs.slice(0, 32).forEach((v, j) => {
      const w = values ? Math.round(100 * Math.abs(values[j]) / scale) : 0;
      const bar = values ? h('span', { class: 'bar', style: `width:${w}px;background:${values[j] >= 0 ? '#d62728' : '#1f77b4'}` }) : null;
      rows.push(h('tr', {}, h('td', {}, a.name), h('td', { class: 'num' }, j), h('td', { class: 'num' }, fmt(v)),
        h('td', { class: 'num' }, values ? fmt(values[j]) : '–'), h('td', {}, bar)));
    });
    if (inputs.length > 32) rows.push(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, `${a.name}: ${inputs.length - 32} more values not shown`)));
  }
  const note = res.additional.some((a) => !a.values)
    ? h('div', { class: 'muted' }, `– : not attributed (${res.method} attributes the series only, or the input holds integers); the model gets the values as they are.`)
    : null;
  const [out, per] = res.unit.split(' per ');
  const unit = h('div', { class: 'muted' }, `attribution in ${out}${per ? ' per unit of the input' : ''}`);
  const head = h('tr', {}, ...['input', 'column', 'value', 'attribution', ''].map((t, i) => h('th', { class: i && i < 4 ? 'num' : '' }, t)));
  return [h('table', { id: 'additional-table' }, h('thead', {}, head), h('tbody', {}, rows)), unit, note].filter(Boolean);
}
