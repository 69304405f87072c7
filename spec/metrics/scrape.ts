/**
 * Reading `/metrics` in the specs: fetched over HTTP and parsed with a Prometheus text parser.
 */
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

/** A parsed scrape: look samples up by metric name and labels. */
export class Scrape {
  constructor(readonly families: ParsedFamily[]) {}

  /** The value of the sample of `name` whose labels include `labels` (0 when there is none). */
  value(name: string, labels: Record<string, string> = {}): number {
    const sample = this.sample(name, labels);
    return sample?.value === undefined ? 0 : Number(sample.value);
  }

  /** The family of `name`, if exposed. */
  family(name: string): ParsedFamily | undefined {
    return this.families.find((f) => f.name === name);
  }

  private sample(name: string, labels: Record<string, string>) {
    return this.family(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  }
}

/** GETs `<url>/metrics` and parses it; throws on a status other than 200. */
export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 200)}`);
  return new Scrape(parsePrometheusTextFormat(text));
}
