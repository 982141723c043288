// Inverse optimisation (TSViz Eq. 25-26): the input that drives the model to a chosen output.
import { h, card, plotDiv, jobPanel, runJobInto, errorBox, predictionLine, explainedOutput } from '../ui.js';
import { CONFIG, overlay, fmt } from '../plots.js';

const FIELDS = [['target_value', 1, 'any'], ['steps', 300, 1], ['alpha', 0.01, 'any'], ['smoothness', 0, 'any']];

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  const summary = ctx.models.find((m) => m.name === model);
  const inputs = Object.fromEntries(FIELDS.map(([name, def, step]) => [name, h('input', { type: 'number', id: `inv-${name}`, value: ctx.params[`inv.${name}`] ?? def, step })]));
  const opt = h('select', { id: 'inv-optimizer' }, ...['sgd', 'adam'].map((o) => h('option', { value: o, selected: (ctx.params['inv.optimizer'] || 'sgd') === o }, o)));
  const start = h('select', { id: 'inv-start' }, h('option', { value: 'sample', selected: ctx.params['inv.start'] !== 'random' }, `sample ${index} of ${dataset}`), h('option', { value: 'random', selected: ctx.params['inv.start'] === 'random' }, 'random (standard normal)'));
  const explained = explainedOutput(ctx, ctx.target());
  const targetHint = summary.task === 'binary' ? 'target probability of the positive class (0…1)' : summary.task === 'multiclass' ? 'target class index'
    : `target value (${summary.output_unit})${explained ? ` of the ${explained}` : ''}`;
  const result = h('div', { id: 'inverse-result' });
  root.append(card(`Inverse optimisation: x ← x − α ∇ₓ L(f(x), target) with the weights fixed (${targetHint})`,
    h('div', { class: 'controls' }, ...FIELDS.map(([name]) => h('label', {}, `${name.replace('_', ' ')} `, inputs[name])), h('label', {}, 'optimizer ', opt), h('label', {}, 'start ', start)),
    jobPanel('inverse', { label: 'Run inverse optimisation', onRun: async (opts) => {
      const body = { kind: 'inverse', model, target_value: Number(inputs.target_value.value), target: ctx.target(), steps: Number(inputs.steps.value), alpha: Number(inputs.alpha.value),
        smoothness: Number(inputs.smoothness.value), optimizer: opt.value, ...(start.value === 'sample' ? { dataset, index } : {}) };
      ctx.update(Object.fromEntries([...FIELDS.map(([n]) => [`inv.${n}`, inputs[n].value]), ['inv.optimizer', opt.value], ['inv.start', start.value]]));
      try { const job = await runJobInto(body, opts); ctx.update({ job: job.id }, { replace: true }); await show(job); } catch (err) { result.replaceChildren(errorBox(err)); }
    } })));
  root.append(result);

  async function show(job) {
    const r = job.result;
    result.replaceChildren(
      card(null, h('div', { id: 'inverse-before' }, predictionLine('Before', r.prediction_before)), h('div', { id: 'inverse-after' }, predictionLine('After', r.prediction_after)),
        r.explained_output == null ? null : h('div', { id: 'inverse-moved' }, `Moved ${explainedOutput(ctx, r.explained_output) || 'the output'} from ${fmt(r.output_before)} to ${fmt(r.output_after)} (target value ${fmt(r.target_value)})`)),
      h('div', { class: 'row' }, card('Start (dotted) and optimised input (red)', plotDiv('inverse-overlay')), card('Objective along the iterations', plotDiv('inverse-objective'))));
    await overlay('inverse-overlay', r.start.data, r.final.data, r.channel_names, { labels: ['start', 'optimised'] });
    await Plotly.react('inverse-objective', [{ x: r.objective.iteration, y: r.objective.value, mode: 'lines' }],
      { height: 300, margin: { l: 60, r: 10, t: 10, b: 40 }, xaxis: { title: { text: 'iteration' } }, yaxis: { title: { text: 'loss + penalties' }, type: 'log' } }, CONFIG);
  }
  if (ctx.params.job) {
    try { const job = await ctx.api.call('get_job', { job_id: ctx.params.job }); if (job.status === 'done' && job.kind === 'inverse') await show(job); } catch { ctx.update({ job: undefined }, { replace: true }); }
  }
}
