/**
 * A small line chart written as self-contained SVG text (no dependency, no script, no external
 * font or style): a title and subtitle, one legend for all panels, then panels side by side,
 * each with evenly spaced x categories, a y axis from 0 with "nice" ticks, grid lines, axis
 * labels, and one polyline (with point markers) per series. A series keeps its colour in every
 * panel. The scaling run (bench/scaling.ts) draws bench/scaling.svg with it.
 */

/** One line: a value for each x category of its panel, in the same order. */
export interface ChartSeries {
  name: string;
  values: readonly number[];
}

/** One plot. */
export interface ChartPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** The x positions, evenly spaced, labelled as given. */
  categories: readonly (string | number)[];
  series: readonly ChartSeries[];
}

/** The whole image. */
export interface ChartSpec {
  title: string;
  subtitle?: string;
  panels: readonly ChartPanel[];
  /** Width of one panel in px (default 470). */
  panelWidth?: number;
  /** Height of one panel in px (default 330). */
  panelHeight?: number;
}

const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f'];
const MARGIN = { left: 72, right: 18, top: 34, bottom: 56 };
const HEADER = 92;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

/** The chart as an SVG document; throws, naming the panel and series, on data it cannot draw. */
export function renderChart(spec: ChartSpec): string {
  validate(spec);
  const panelWidth = spec.panelWidth ?? 470;
  const panelHeight = spec.panelHeight ?? 330;
  const width = panelWidth * spec.panels.length + 20;
  const height = HEADER + panelHeight + 10;
  const names = [...new Set(spec.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colour = (name: string) => COLOURS[names.indexOf(name) % COLOURS.length] as string;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="17" font-weight="bold" fill="#222222">${escapeXml(spec.title)}</text>`,
  ];
  if (spec.subtitle) parts.push(`<text x="${width / 2}" y="44" text-anchor="middle" font-size="12" fill="#555555">${escapeXml(spec.subtitle)}</text>`);
  parts.push(legend(names, colour, width));
  spec.panels.forEach((panel, i) => parts.push(renderPanel(panel, 10 + i * panelWidth, HEADER, panelWidth, panelHeight, colour)));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Ticks from 0 to at least `max`, about `target` of them, steps of 1, 2 or 5 × 10^k. */
export function niceTicks(max: number, target = 5): number[] {
  if (!Number.isFinite(max) || max < 0) throw new Error(`svg-chart: cannot make ticks up to ${max}`);
  const top = max > 0 ? max : 1;
  const rough = top / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude);
  const ticks: number[] = [];
  for (let k = 0; ; k++) {
    const tick = round(k * step);
    ticks.push(tick);
    if (tick >= top) break;
  }
  return ticks;
}

/** `n` with thin groups of three digits ("12 709"), at most 2 decimals below 10. */
export function formatNumber(n: number): string {
  const fixed = Math.abs(n) < 10 && !Number.isInteger(n) ? n.toFixed(2).replace(/0+$/, '') : String(Math.round(n));
  const [int, frac] = fixed.split('.');
  const grouped = (int as string).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
  return frac ? `${grouped}.${frac}` : grouped;
}

function renderPanel(panel: ChartPanel, x0: number, y0: number, w: number, h: number, colour: (name: string) => string): string {
  const left = x0 + MARGIN.left;
  const top = y0 + MARGIN.top;
  const plotW = w - MARGIN.left - MARGIN.right;
  const plotH = h - MARGIN.top - MARGIN.bottom;
  const bottom = top + plotH;
  const ticks = niceTicks(Math.max(...panel.series.flatMap((s) => s.values)));
  const yMax = ticks[ticks.length - 1] as number;
  const xAt = (i: number) => round(left + ((i + 0.5) * plotW) / panel.categories.length);
  const yAt = (v: number) => round(bottom - (v / yMax) * plotH);

  const out: string[] = [`<g class="panel">`];
  out.push(`<text x="${round(left + plotW / 2)}" y="${y0 + 18}" text-anchor="middle" font-size="14" font-weight="bold" fill="#222222">${escapeXml(panel.title)}</text>`);
  out.push(`<rect class="plot-area" x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#cccccc"/>`);
  for (const tick of ticks) {
    const y = yAt(tick);
    out.push(`<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="#444444">${escapeXml(formatNumber(tick))}</text>`);
  }
  panel.categories.forEach((category, i) => {
    const x = xAt(i);
    out.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 5}" stroke="#444444"/>`);
    out.push(`<text x="${x}" y="${bottom + 18}" text-anchor="middle" font-size="11" fill="#444444">${escapeXml(String(category))}</text>`);
  });
  out.push(`<line x1="${left}" y1="${bottom}" x2="${left + plotW}" y2="${bottom}" stroke="#444444"/>`);
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#444444"/>`);
  out.push(`<text x="${round(left + plotW / 2)}" y="${bottom + 40}" text-anchor="middle" font-size="12" fill="#222222">${escapeXml(panel.xLabel)}</text>`);
  const yLabelX = x0 + 16;
  const yLabelY = round(top + plotH / 2);
  out.push(`<text x="${yLabelX}" y="${yLabelY}" transform="rotate(-90 ${yLabelX} ${yLabelY})" text-anchor="middle" font-size="12" fill="#222222">${escapeXml(panel.yLabel)}</text>`);
  for (const series of panel.series) {
    const c = colour(series.name);
    const points = series.values.map((v, i) => `${xAt(i)},${yAt(v)}`).join(' ');
    out.push(`<polyline class="series" data-series="${escapeXml(series.name)}" points="${points}" fill="none" stroke="${c}" stroke-width="2.5" stroke-linejoin="round"/>`);
    series.values.forEach((v, i) => {
      out.push(`<circle cx="${xAt(i)}" cy="${yAt(v)}" r="3.5" fill="${c}"><title>${escapeXml(`${series.name}, ${panel.categories[i]}: ${formatNumber(v)}`)}</title></circle>`);
    });
  }
  out.push('</g>');
  return out.join('\n');
}

function legend(names: readonly string[], colour: (name: string) => string, width: number): string {
  const itemWidth = (name: string) => 34 + name.length * 7;
  const total = names.reduce((s, n) => s + itemWidth(n), 0);
  let x = round(Math.max(10, (width - total) / 2));
  const out: string[] = ['<g class="legend">'];
  for (const name of names) {
    out.push(`<line x1="${x}" y1="66" x2="${x + 22}" y2="66" stroke="${colour(name)}" stroke-width="3"/>`);
    out.push(`<text x="${x + 28}" y="70" font-size="12" fill="#222222">${escapeXml(name)}</text>`);
    x += itemWidth(name);
  }
  out.push('</g>');
  return out.join('\n');
}

function validate(spec: ChartSpec): void {
  if (!spec.panels.length) throw new Error('svg-chart: no panels to draw');
  for (const panel of spec.panels) {
    const where = `panel "${panel.title}"`;
    if (!panel.categories.length) throw new Error(`svg-chart: ${where} has no x categories`);
    if (!panel.series.length) throw new Error(`svg-chart: ${where} has no series`);
    for (const series of panel.series) {
      const what = `series "${series.name}" of ${where}`;
      if (!series.values.length) throw new Error(`svg-chart: ${what} is empty`);
      if (series.values.length !== panel.categories.length) {
        throw new Error(`svg-chart: ${what} has ${series.values.length} values for ${panel.categories.length} x categories`);
      }
      series.values.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
          throw new Error(`svg-chart: ${what} has ${String(v)} at x = ${String(panel.categories[i])} (values must be finite numbers ≥ 0)`);
        }
      });
    }
  }
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
