// Plot helpers over the global Plotly (served from the installed plotly package, no CDN).
export const CONFIG = { responsive: true, displaylogo: false };
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
  '#7f7f7f', '#bcbd22', '#17becf'];
export const clusterColor = (label) => PALETTE[(label - 1) % PALETTE.length];

export function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

export function absMax(rows) {
  let m = 0;
  for (const r of rows) for (const v of (Array.isArray(r) ? r : [r])) if (Math.abs(v) > m) m = Math.abs(v);
  return m || 1;
}

// One y axis per channel, stacked; returns layout fragments.
export function stackedAxes(names, { gap = 0.05, xTitle = 'time step' } = {}) {
  const n = names.length;
  const h = (1 - gap * (n - 1)) / n;
  const layout = { xaxis: { title: { text: xTitle }, anchor: `y${n === 1 ? '' : n}` } };
  names.forEach((name, c) => {
    const top = 1 - c * (h + gap);
    layout[c === 0 ? 'yaxis' : `yaxis${c + 1}`] = { domain: [top - h, top], title: { text: name, font: { size: 11 } }, zeroline: false };
  });
  return layout;
}
const yref = (c) => (c === 0 ? 'y' : `y${c + 1}`);

function timeAxis(T, time) { return time || Array.from({ length: T }, (_, i) => i); }

// The series coloured by its attribution, one panel per channel; ground-truth cells marked.
export function seriesColored(div, x, attr, names, { unit = '', mask = null, time = null, signed = true, valueUnit = '' } = {}) {
  const t = timeAxis(x[0].length, time);
  const m = absMax(attr);
  const traces = [];
  x.forEach((row, c) => {
    traces.push({ x: t, y: row, yaxis: yref(c), mode: 'lines', line: { color: '#b0b7c3', width: 1.5 }, hoverinfo: 'skip', showlegend: false });
    traces.push({
      x: t, y: row, yaxis: yref(c), mode: 'markers', name: names[c], showlegend: false,
      customdata: attr[c], hovertemplate: `${names[c]}<br>t=%{x}<br>x=%{y:.3f} ${valueUnit}<br>attribution=%{customdata:.4g} ${unit}<extra></extra>`,
      marker: { size: 7, color: attr[c], cmin: signed ? -m : 0, cmax: m, colorscale: signed ? 'RdBu' : 'Viridis',
        showscale: c === 0, colorbar: c === 0 ? { title: { text: unit, side: 'right' }, len: 0.9 } : undefined, line: { width: 0.5, color: '#555' } },
    });
    if (mask) {
      const tx = [], ty = [];
      mask[c].forEach((v, i) => { if (v > 0) { tx.push(t[i]); ty.push(row[i]); } });
      if (tx.length) traces.push({ x: tx, y: ty, yaxis: yref(c), mode: 'markers', name: 'true anomaly', showlegend: c === names.length - 1 || true,
        marker: { symbol: 'circle-open', size: 16, color: '#111', line: { width: 2 } }, hoverinfo: 'skip' });
    }
  });
  const layout = { ...stackedAxes(names), height: 120 + 110 * names.length, margin: { l: 80, r: 20, t: 10, b: 40 }, legend: { orientation: 'h', y: -0.12 } };
  return Plotly.react(div, traces, layout, CONFIG);
}

// Channels x time heatmap.
export function heatmap(div, values, names, { unit = '', signed = true, title = '', time = null, height = null, zmax = null } = {}) {
  const m = zmax || absMax(values);
  const trace = {
    type: 'heatmap', z: values, y: names, x: timeAxis(values[0].length, time),
    colorscale: signed ? 'RdBu' : 'Viridis', zmin: signed ? -m : 0, zmax: m,
    colorbar: { title: { text: unit, side: 'right', font: { size: 10 } } }, hovertemplate: '%{y}, t=%{x}: %{z:.4g}<extra></extra>',
  };
  const layout = { title: title ? { text: title, font: { size: 13 } } : undefined, height: height || 90 + 36 * names.length,
    margin: { l: 90, r: 10, t: title ? 30 : 10, b: 36 }, xaxis: { title: { text: 'time step' } }, yaxis: { autorange: 'reversed' } };
  return Plotly.react(div, [trace], layout, CONFIG);
}

// Before/after overlay of two (C, T) series, one panel per channel.
export function overlay(div, before, after, names, { labels = ['before', 'after'], valueUnit = '' } = {}) {
  const t = timeAxis(before[0].length);
  const traces = [];
  names.forEach((name, c) => {
    traces.push({ x: t, y: before[c], yaxis: yref(c), mode: 'lines', name: labels[0], legendgroup: 'b', showlegend: c === 0,
      line: { color: '#7f8897', dash: 'dot', width: 2 }, hovertemplate: `${name} ${labels[0]} %{y:.3f} ${valueUnit}<extra></extra>` });
    traces.push({ x: t, y: after[c], yaxis: yref(c), mode: 'lines', name: labels[1], legendgroup: 'a', showlegend: c === 0,
      line: { color: '#d62728', width: 2 }, hovertemplate: `${name} ${labels[1]} %{y:.3f} ${valueUnit}<extra></extra>` });
  });
  const layout = { ...stackedAxes(names), height: 120 + 110 * names.length, margin: { l: 80, r: 20, t: 10, b: 40 }, legend: { orientation: 'h', y: 1.08 } };
  return Plotly.react(div, traces, layout, CONFIG);
}
