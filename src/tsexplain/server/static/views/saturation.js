// Saturation (TSViz Proposition 1) and temperature (Eq. 19): saturated outputs silence gradients.
import { h, card, noModuleTree, noAdditionalInputs, noConvNote, plotDiv, inPlace, explainedOutput } from '../ui.js';
import { CONFIG, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  if (ctx.models.find((m) => m.name === model).task === 'regression') {  // nothing to saturate
    root.append(card(null, h('div', { id: 'no-saturation', class: 'muted' },
      'A regression model has no sigmoid or softmax output, so its gradients cannot saturate: this view concerns classifiers.')));
    return;
  }
  if (noModuleTree(root, ctx) || noAdditionalInputs(root, ctx, 'the saturation view')) return;
  const temp = h('input', { type: 'number', id: 'sat-temperature', min: 0.01, step: 'any', value: ctx.params.T ?? 2 });
  const n = h('input', { type: 'number', id: 'sat-n', min: 1, max: 1000, value: ctx.params.n ?? 200 });
  const meta = h('div', { id: 'sat-meta' });
  const errors = h('div', { id: 'sat-error' });
  // the importance panel: bars per conv layer, or the note of a model without Conv1d layers
  const importance = h('div', {}, plotDiv('sat-importance'));
  root.append(card(null, h('div', { class: 'controls' }, h('label', {}, 'temperature T ', temp), h('label', {}, 'samples ', n)), meta, errors),
    h('div', { class: 'row' }, card('Top probability per sample at T = 1 and at T', plotDiv('sat-prob')),
      card(h('span', { id: 'sat-importance-title' }, "Mean total filter importance per layer, for the explained class's probability"), importance)));
  for (const el of [temp, n]) el.addEventListener('change', () => { ctx.update({ T: temp.value, n: n.value }); draw(); });

  const draw = () => inPlace(ctx, 'saturation', { busy: meta, slot: errors, clear: ['sat-prob', 'sat-importance'] }, async (current) => {
    const r = await ctx.api.call('get_saturation', { model, dataset, max_samples: Number(n.value), temperature: Number(temp.value), target: ctx.target() });
    if (!current()) return;
    document.getElementById('sat-importance-title').textContent = `Mean total filter importance per layer, for the probability of the ${explainedOutput(ctx, r.target) || 'explained output'}`;
    meta.textContent = `${(100 * r.fraction).toFixed(1)}% of ${r.n_samples} predictions saturated (${r.activation} > 1 − ${r.tol}) at T = 1; ${(100 * r.fraction_at_temperature).toFixed(1)}% at T = ${r.temperature}` +
      (r.suggested_temperature ? `; smallest temperature that removes saturation: ${r.suggested_temperature}` : '; nothing saturated');
    await Plotly.react('sat-prob', [
      { type: 'histogram', x: r.probability, name: 'T = 1', opacity: 0.6, nbinsx: 40 },
      { type: 'histogram', x: r.probability_at_temperature, name: `T = ${r.temperature}`, opacity: 0.6, nbinsx: 40 }],
    { barmode: 'overlay', height: 300, margin: { l: 50, r: 10, t: 10, b: 40 }, xaxis: { title: { text: 'top probability' } }, yaxis: { title: { text: 'samples' } } }, CONFIG);
    if (!r.layers.length) { importance.replaceChildren(noConvNote('this panel')); return; }
    await Plotly.react('sat-importance', [
      { type: 'bar', x: r.layers, y: r.importance, name: 'T = 1' }, { type: 'bar', x: r.layers, y: r.importance_at_temperature, name: `T = ${r.temperature}` }],
    { barmode: 'group', height: 300, margin: { l: 60, r: 10, t: 10, b: 40 }, yaxis: { title: { text: `importance of the probability (${fmt(r.importance[0])} at T = 1, first layer)` } } }, CONFIG);
  });
  await draw();
}
