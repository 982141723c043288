// Adversarial examples (TSViz Eq. 27-28): FGSM / iterative FGSM with before/after overlays. A
// classifier's attack says whether the prediction flipped; a regression model's says how far its
// explained output moved (a value has no class to flip).
import { h, card, plotDiv, jobPanel, runJobInto, errorBox, predictionLine, explainedOutput } from '../ui.js';
import { CONFIG, overlay, heatmap, fmt } from '../plots.js';

const FIELDS = [['epsilon', 0.5, 'any'], ['alpha', 0.01, 'any'], ['steps', 300, 1]];

export async function render(root, ctx) {
  const { model, dataset } = ctx.params;
  const index = Number(ctx.params.index);
  const d = ctx.datasets.find((x) => x.name === dataset);
  const regression = ctx.models.find((m) => m.name === model).task === 'regression';
  const inputs = Object.fromEntries(FIELDS.map(([name, def, step]) => [name, h('input', { type: 'number', id: `adv-${name}`, value: ctx.params[`adv.${name}`] ?? def, step })]));
  const method = h('select', { id: 'adv-method' }, ...['iterative', 'fgsm'].map((o) => h('option', { value: o, selected: (ctx.params['adv.method'] || 'iterative') === o }, o === 'fgsm' ? 'FGSM (one step)' : 'iterative FGSM')));
  const targeted = h('input', { type: 'checkbox', id: 'adv-targeted', checked: ctx.params['adv.targeted'] === '1' });
  const yInput = h('input', { type: 'number', id: 'adv-y', step: 'any', value: ctx.params['adv.y'] ?? '', placeholder: regression ? 'value' : 'label' });
  const stopOnFlip = regression ? null : h('input', { type: 'checkbox', id: 'adv-stop', checked: ctx.params['adv.stop'] !== '0' });
  const explained = explainedOutput(ctx, ctx.target());
  const result = h('div', { id: 'adversarial-result' });
  root.append(card(`Adversarial example for sample ${index} of ${dataset}${explained ? ` (${explained})` : ''}: perturbation bounded by ε in every value (${d.value_unit})`,
    h('div', { class: 'controls' }, h('label', {}, 'method ', method), ...FIELDS.map(([name]) => h('label', {}, `${name} `, inputs[name]))),
    h('div', { class: 'controls' }, h('label', { title: regression ? 'move the explained output toward y instead of up' : 'move toward y instead of away from the current prediction' }, targeted, ' targeted, toward y = '), yInput,
      stopOnFlip ? h('label', { title: 'stop as soon as the predicted class changes' }, stopOnFlip, ' stop when the prediction flips') : null),
    jobPanel('adversarial', { label: 'Search adversarial example', onRun: async (opts) => {
      const body = { kind: 'adversarial', model, dataset, index, method: method.value, epsilon: Number(inputs.epsilon.value), alpha: Number(inputs.alpha.value), steps: Number(inputs.steps.value),
        targeted: targeted.checked, target: ctx.target(), ...(stopOnFlip ? { stop_on_flip: stopOnFlip.checked } : {}), ...(yInput.value !== '' ? { y: Number(yInput.value) } : {}) };
      ctx.update(Object.fromEntries([...FIELDS.map(([n]) => [`adv.${n}`, inputs[n].value]), ['adv.method', method.value],
        ['adv.targeted', targeted.checked ? '1' : undefined], ['adv.y', yInput.value || undefined], ['adv.stop', !stopOnFlip || stopOnFlip.checked ? undefined : '0']]));
      try { const job = await runJobInto(body, opts); ctx.update({ job: job.id }, { replace: true }); await show(job); } catch (err) { result.replaceChildren(errorBox(err)); }
    } })));
  root.append(result);

  // What the attack did: a flipped (or kept) class, or how far the explained output moved.
  function outcome(r) {
    if (r.flipped === null) {
      const named = explainedOutput(ctx, r.explained_output) || 'the output';
      return `Moved ${named} from ${fmt(r.output_before)} to ${fmt(r.output_after)} (${r.output_after >= r.output_before ? '+' : ''}${fmt(r.output_after - r.output_before)})`;
    }
    return r.flipped ? 'Prediction flipped' : 'Prediction not flipped';
  }

  async function show(job) {
    const r = job.result;
    result.replaceChildren(
      card(null, h('div', { id: 'adv-before' }, predictionLine('Original', r.prediction_before)), h('div', { id: 'adv-after' }, predictionLine('Adversarial', r.prediction_after)),
        h('div', { id: 'adv-summary', class: r.flipped === false ? 'muted' : '' }, `${outcome(r)} after ${r.steps} step(s); max |perturbation| ${fmt(r.max_abs_perturbation)} ${r.value_unit} (ε = ${r.epsilon}); share of the perturbation per channel: `,
          r.channel_names.map((c, i) => `${c} ${(100 * r.channel_share[i]).toFixed(1)}%`).join(', '))),
      card('Original (dotted) and adversarial (red) series', plotDiv('adv-overlay')),
      h('div', { class: 'row' }, card('Perturbation x_adv − x', plotDiv('adv-perturbation')), card('Saliency before', plotDiv('adv-sal-before')), card('Saliency after', plotDiv('adv-sal-after'))));
    await overlay('adv-overlay', r.x.data, r.x_adv.data, r.channel_names, { labels: ['original', 'adversarial'], valueUnit: r.value_unit });
    await heatmap('adv-perturbation', r.perturbation.data, r.channel_names, { unit: r.value_unit });
    await heatmap('adv-sal-before', r.saliency_before.data, r.channel_names, { unit: 'gradient' });
    await heatmap('adv-sal-after', r.saliency_after.data, r.channel_names, { unit: 'gradient' });
  }
  if (ctx.params.job) {
    try { const job = await ctx.api.call('get_job', { job_id: ctx.params.job }); if (job.status === 'done' && job.kind === 'adversarial') await show(job); } catch { ctx.update({ job: undefined }, { replace: true }); }
  }
}
