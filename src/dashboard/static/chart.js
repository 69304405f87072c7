// The throughput chart (uPlot): tasks ended per 10 s, by outcome, over the last 15 minutes.
import { useEffect, useRef } from './vendor/hooks.mjs';
import uPlot from './vendor/uplot.mjs';
import { html } from './html.js';

const SERIES = [
  ['succeeded', '#2a9d8f'],
  ['failed', '#e63946'],
  ['revoked', '#8d99ae'],
];

export function ThroughputChart({ series }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = [series.map((b) => b.t), ...SERIES.map(([key]) => series.map((b) => b[key]))];
  useEffect(() => {
    if (!plot.current) {
      plot.current = new uPlot(
        {
          width: Math.max(300, box.current.clientWidth || 600),
          height: 180,
          series: [{}, ...SERIES.map(([label, stroke]) => ({ label, stroke, width: 2, fill: `${stroke}22` }))],
          axes: [{}, { label: 'tasks / 10 s' }],
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        },
        data,
        box.current,
      );
    } else {
      plot.current.setData(data);
    }
  });
  useEffect(() => () => plot.current?.destroy(), []);
  return html`<div class="chart" ref=${box}></div>`;
}
