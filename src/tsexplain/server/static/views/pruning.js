// Pruning faithfulness (TSViz Table 1): the test loss with one filter of each layer removed, chosen
// as the most / least important, a random one, or a redundant member of the largest DTW cluster.
import { h, card, noModuleTree, noAdditionalInputs, noConvLayers, jobPanel, runJobInto, errorBox } from '../ui.js';
import { fmt } from '../plots.js';

const STRATEGIES = [['most', 'most important'], ['least', 'least important'], ['random', 'random filter'], ['cluster', 'cluster: redundant member']];

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  if (noModuleTree(root, ctx) || noAdditionalInputs(root, ctx, 'the pruning table')) return;
  const target = ctx.target();
  const net = await ctx.api.call('get_network', { model, target });
  if (!ctx.isCurrent() || noConvLayers(root, net)) return;
  const d = ctx.datasets.find((x) => x.name === dataset);
  const checks = Object.fromEntries(STRATEGIES.map(([k]) => [k, h('input', { type: 'checkbox', class: 'strategy', value: k, checked: (ctx.params.strategies || 'most,least,random,cluster').split(',').includes(k) })]));
  const epochs = h('input', { type: 'number', id: 'prune-epochs', min: 0, max: 20, value: ctx.params.ft ?? 0 });
  const labelled = ctx.datasets.filter((x) => x.has_labels && x.shape[1] === d.shape[1] && x.shape[2] === d.shape[2]);
  const trainSel = h('select', { id: 'prune-train' }, ...labelled.map((x) => h('option', { value: x.name, selected: x.name === (ctx.params.train || labelled.find((y) => y.name !== dataset)?.name) }, x.name)));
  const samples = h('input', { type: 'number', id: 'prune-n', min: 2, max: 20000, value: ctx.params.n ?? Math.min(500, d.shape[0]) });
  const result = h('div', { id: 'pruning-table-result' });
  root.append(card(`Faithfulness of filter importance on ${dataset}: loss with one filter removed per layer (TSViz Table 1)`,
    h('div', { class: 'controls' }, ...STRATEGIES.map(([k, label]) => h('label', {}, checks[k], ` ${label}`))),
    h('div', { class: 'controls' }, h('label', {}, 'samples ', samples), h('label', { title: 'epochs of fine-tuning after the removal (0: none)' }, 'fine-tune epochs ', epochs),
      h('label', {}, 'fine-tune on ', trainSel)),
    h('p', { class: 'muted' }, 'A faithful importance makes the loss rise much more without the most important filter than without the least important or a random one.'),
    jobPanel('faithfulness', { label: 'Compute table', onRun: async (opts) => {
      const strategies = STRATEGIES.map(([k]) => k).filter((k) => checks[k].checked);
      const ft = Number(epochs.value);
      ctx.update({ strategies: strategies.join(','), ft: ft || undefined, n: samples.value, train: ft ? trainSel.value : undefined });
      const body = { kind: 'faithfulness', model, dataset, strategies, max_samples: Number(samples.value), fine_tune_epochs: ft, target, ...(ft ? { train_dataset: trainSel.value } : {}) };
      try { show((await runJobInto(body, opts)).result); } catch (err) { result.replaceChildren(errorBox(err)); }
    } })));
  root.append(result);

  function show(r) {
    const head = h('tr', {}, h('th', {}, 'layer'), h('th', { class: 'num' }, 'filters'), ...r.strategies.map((k) => h('th', { class: 'num' }, `without ${STRATEGIES.find(([s]) => s === k)[1]} (filter)`)));
    const rows = r.rows.map((row) => h('tr', {}, h('td', {}, row.layer), h('td', { class: 'num' }, row.n_filters),
      ...r.strategies.map((k) => h('td', { class: 'num' }, row.loss[k] === null || row.loss[k] === undefined ? (row.note || '–') : `${fmt(row.loss[k], 4)} (${row.filters[k]})`))));
    result.replaceChildren(card(`${r.loss_name} on ${r.n_samples} samples; unpruned model: ${fmt(r.baseline_loss, 4)}${r.fine_tune_epochs ? `; ${r.fine_tune_epochs} fine-tuning epoch(s) after each removal` : '; no fine-tuning'}`,
      h('table', { id: 'faithfulness-table' }, h('thead', {}, head), h('tbody', {}, rows))));
  }
}
