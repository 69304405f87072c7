import { expect } from 'chai';
import { formatNumber, niceTicks, renderChart, type ChartPanel, type ChartSpec } from '../../bench/lib/svg-chart.js';

/**
 * A small XML well-formedness check (no parser among the dependencies): every tag is closed in
 * order, attributes are name="value" pairs without a raw `<` or a bare `&`, text has no raw `<`
 * or bare `&`, and there is exactly one root element. Returns the root's name.
 */
function checkWellFormed(xml: string): string {
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const bareAmp = (text: string) => text.replace(entity, '').includes('&');
  const stack: string[] = [];
  const roots: string[] = [];
  const tokens = xml.replace(/^<\?xml[^>]*\?>/, '').match(/<[^>]*>|[^<]+|</g) ?? [];
  for (const token of tokens) {
    if (!token.startsWith('<')) {
      if (bareAmp(token)) throw new Error(`bare & in text: ${token}`);
      if (!stack.length && token.trim()) throw new Error(`text outside the root: ${token}`);
      continue;
    }
    if (token === '<' || !token.endsWith('>')) throw new Error(`unclosed tag: ${token}`);
    const close = /^<\/([A-Za-z_][\w.-]*)\s*>$/.exec(token);
    if (close) {
      const open = stack.pop();
      if (open !== close[1]) throw new Error(`</${close[1]}> closes <${open}>`);
      continue;
    }
    const tag = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_:][\w.:-]*="[^"<]*")*)\s*(\/?)>$/.exec(token);
    if (!tag) throw new Error(`malformed tag: ${token}`);
    const [, name, attrs = '', selfClosing] = tag as unknown as [string, string, string, string];
    const names = [...attrs.matchAll(/([A-Za-z_:][\w.:-]*)="([^"]*)"/g)].map((m) => {
      if (bareAmp(m[2] as string)) throw new Error(`bare & in attribute ${m[1]} of <${name}>`);
      return m[1];
    });
    if (new Set(names).size !== names.length) throw new Error(`duplicate attribute in <${name}>`);
    if (!stack.length) roots.push(name);
    if (!selfClosing) stack.push(name);
  }
  if (stack.length) throw new Error(`unclosed elements: ${stack.join(' > ')}`);
  if (roots.length !== 1) throw new Error(`${roots.length} root elements`);
  return roots[0] as string;
}

/** The attributes of every element named `tag`, in document order. */
function elements(svg: string, tag: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\s([^>]*?)\\/?>`, 'g'))].map((m) =>
    Object.fromEntries([...(m[1] as string).matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1] as string, a[2] as string])),
  );
}

function points(polyline: Record<string, string>): { x: number; y: number }[] {
  return (polyline.points ?? '').split(' ').map((pair) => {
    const [x, y] = pair.split(',').map(Number) as [number, number];
    return { x, y };
  });
}

const concurrency: ChartPanel = {
  title: 'vs concurrency',
  xLabel: 'concurrent tasks per worker',
  yLabel: 'tasks/s',
  categories: [1, 10, 50, 200],
  series: [
    { name: 'pulsar-tasks redis://', values: [2298, 8102, 7842, 12206] },
    { name: 'BullMQ', values: [1686, 7569, 7065, 9321] },
    { name: 'bee-queue', values: [4360, 9737, 17475, 19111] },
  ],
};
const workers: ChartPanel = {
  title: 'vs workers',
  xLabel: 'worker processes',
  yLabel: 'tasks/s',
  categories: [1, 2, 4],
  series: [
    { name: 'pulsar-tasks redis://', values: [7984, 7842, 9361] },
    { name: 'BullMQ', values: [10048, 7065, 3924] },
    { name: 'bee-queue', values: [13512, 17475, 11330] },
  ],
};

describe('bench svg-chart', () => {
  it('writes one well-formed SVG document with one polyline per series of each panel, a legend and escaped text', () => {
    const svg = renderChart({ title: 'Scaling <redis://> & "BullMQ"', subtitle: "2 CPUs · it's noisy", panels: [concurrency, workers] });
    expect(checkWellFormed(svg)).to.equal('svg');
    expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
    expect(svg).to.include('Scaling &lt;redis://&gt; &amp; &quot;BullMQ&quot;');
    expect(svg).to.include('it&apos;s noisy');
    const lines = elements(svg, 'polyline');
    expect(lines.map((l) => l['data-series'])).to.deep.equal([
      'pulsar-tasks redis://', 'BullMQ', 'bee-queue',
      'pulsar-tasks redis://', 'BullMQ', 'bee-queue',
    ]);
    expect(lines.map((l) => points(l).length)).to.deep.equal([4, 4, 4, 3, 3, 3]);
    // A series keeps its colour in both panels, and the colours differ between series.
    const strokes = lines.map((l) => l.stroke);
    expect(strokes.slice(0, 3)).to.deep.equal(strokes.slice(3));
    expect(new Set(strokes.slice(0, 3)).size).to.equal(3);
    // One legend entry per series name, not per panel.
    const legend = /<g class="legend">([\s\S]*?)<\/g>/.exec(svg)?.[1] ?? '';
    expect([...legend.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])).to.deep.equal(['pulsar-tasks redis://', 'BullMQ', 'bee-queue']);
    // Axis labels and category ticks are there.
    for (const text of ['concurrent tasks per worker', 'worker processes', '>200<', '>4<', 'tasks/s']) expect(svg).to.include(text);
  });

  it('scales values linearly into the plot area: 0 on its bottom edge, the largest value inside, x in category order', () => {
    const panel: ChartPanel = { ...concurrency, series: [{ name: 'a', values: [0, 250, 500, 1000] }, { name: 'b', values: [999, 1, 730, 10] }] };
    const svg = renderChart({ title: 't', panels: [panel] });
    const [area] = elements(svg, 'rect').filter((r) => r.class === 'plot-area');
    expect(area, 'plot-area rect').to.not.equal(undefined);
    const left = Number(area?.x);
    const top = Number(area?.y);
    const right = left + Number(area?.width);
    const bottom = top + Number(area?.height);
    const [a, b] = elements(svg, 'polyline').map(points) as [{ x: number; y: number }[], { x: number; y: number }[]];
    for (const p of [...a, ...b]) {
      expect(p.x).to.be.within(left, right);
      expect(p.y).to.be.within(top, bottom);
    }
    expect(a[0]?.y).to.equal(bottom);
    // Linear: height above the bottom is proportional to the value (250 : 500 : 1000).
    const h = a.map((p) => bottom - p.y);
    expect(h[2]).to.be.closeTo(2 * (h[1] as number), 0.05);
    expect(h[3]).to.be.closeTo(4 * (h[1] as number), 0.05);
    // The top tick covers the largest value, so 1000 sits at or below the top edge, and above the middle.
    expect(a[3]?.y).to.be.at.least(top).and.below((top + bottom) / 2);
    // Same x per category in every series, increasing left to right, evenly spaced.
    expect(a.map((p) => p.x)).to.deep.equal(b.map((p) => p.x));
    const gaps = a.slice(1).map((p, i) => p.x - (a[i] as { x: number }).x);
    for (const gap of gaps) expect(gap).to.be.closeTo(gaps[0] as number, 0.05).and.above(0);
    // A larger value is drawn higher.
    expect(b[0]?.y).to.be.below(b[2]?.y as number);
    expect(b[2]?.y).to.be.below(b[3]?.y as number);
  });

  it('refuses what it cannot draw, naming the panel and the series', () => {
    const draw = (spec: Partial<ChartSpec>) => () => renderChart({ title: 't', panels: [concurrency], ...spec });
    const withSeries = (values: number[]) => draw({ panels: [{ ...concurrency, series: [{ name: 'BullMQ', values }] }] });
    expect(draw({ panels: [] })).to.throw(/no panels/);
    expect(withSeries([])).to.throw(/series "BullMQ" of panel "vs concurrency" is empty/);
    expect(withSeries([1, Number.NaN, 3, 4])).to.throw(/series "BullMQ" of panel "vs concurrency" has NaN at x = 10/);
    expect(withSeries([1, 2, Number.POSITIVE_INFINITY, 4])).to.throw(/has Infinity at x = 50/);
    expect(withSeries([1, 2, 3, -4])).to.throw(/has -4 at x = 200/);
    expect(withSeries([1, 2, 3])).to.throw(/has 3 values for 4 x categories/);
    expect(draw({ panels: [{ ...concurrency, series: [] }] })).to.throw(/panel "vs concurrency" has no series/);
    expect(draw({ panels: [{ ...concurrency, categories: [] }] })).to.throw(/panel "vs concurrency" has no x categories/);
  });

  it('picks y ticks of 1, 2 or 5 × 10^k from 0 up to at least the largest value', () => {
    expect(niceTicks(19_111)).to.deep.equal([0, 5000, 10_000, 15_000, 20_000]);
    expect(niceTicks(1000)).to.deep.equal([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(7)).to.deep.equal([0, 2, 4, 6, 8]);
    expect(niceTicks(0)).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(() => niceTicks(Number.NaN)).to.throw(/cannot make ticks up to NaN/);
    expect(formatNumber(12_709)).to.equal('12\u2009709');
    expect(formatNumber(2.5)).to.equal('2.5');
  });
});
