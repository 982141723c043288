// Deletion / insertion curves: how fast the explained output falls (rises) as the most attributed
// cells are replaced (restored); a random ranking is the reference.
import { h, card, plotDiv, methodPicker, inPlace, explainedOutput } from '../ui.js';
import { CONFIG, fmt } from '../plots.js';

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  const count = h('input', { type: 'number', id: 'curves-n', min: 1, max: 64, value: ctx.params.n ?? 8 });
  const meta = h('div', { id: 'curves-meta', class: 'muted' });
  const errors = h('div', { id: 'curves-error' });
  const picker = methodPicker(ctx, { id: 'curves-method', onChange: () => draw() });
  root.append(card(null, h('div', { class: 'controls' }, picker.element, h('label', {}, 'samples from the current one ', count)), meta, errors),
    h('div', { class: 'row' }, card('Deletion: most attributed cells replaced first (lower area = more faithful)', plotDiv('curves-deletion')),
      card('Insertion: most attributed cells restored first (higher area = more faithful)', plotDiv('curves-insertion'))));
  count.addEventListener('change', () => { ctx.update({ n: count.value }); draw(); });

  const draw = () => inPlace(ctx, 'curves', { busy: meta, slot: errors, clear: ['curves-deletion', 'curves-insertion'] }, async (current) => {
    const d = ctx.datasets.find((x) => x.name === dataset);
    const k = Math.max(1, Math.min(Number(count.value) || 1, d.shape[0] - index));
    const indices = Array.from({ length: k }, (_, i) => index + i);
    const r = await ctx.api.call('curves', {}, { model, dataset, indices, method: picker.method(), params: picker.params(), target: ctx.target() });
    if (!current()) return;
    const auc = (kind, ranking) => r.curves.find((c) => c.kind === kind && c.ranking === ranking).auc;
    const explained = explainedOutput(ctx, r.target);
    meta.textContent = `${r.method} on samples ${indices[0]}–${indices[indices.length - 1]}${explained ? ` (${explained})` : ''}: deletion area ${fmt(auc('deletion', 'attribution'))} (random ${fmt(auc('deletion', 'random'))}), insertion area ${fmt(auc('insertion', 'attribution'))} (random ${fmt(auc('insertion', 'random'))}); output in ${r.unit}; ${fmt(r.seconds)} s`;
    for (const kind of ['deletion', 'insertion']) {
      await Plotly.react(`curves-${kind}`, r.curves.filter((c) => c.kind === kind).map((c) => ({ x: c.fractions, y: c.mean, mode: 'lines+markers', name: `${c.ranking} (area ${fmt(c.auc)})`,
        line: { dash: c.ranking === 'random' ? 'dot' : 'solid' } })),
      { height: 300, margin: { l: 60, r: 10, t: 10, b: 40 }, xaxis: { title: { text: 'fraction of cells' } }, yaxis: { title: { text: `explained output (${r.unit})` } }, legend: { orientation: 'h', y: 1.12 } }, CONFIG);
    }
  });
  await draw();
}
