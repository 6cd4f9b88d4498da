/**
 * Just enough of the Prometheus text exposition format (version 0.0.4) for counters and
 * histograms, so that the backend needs no metrics library.
 */

type Labels<N extends string> = Readonly<Record<N, string>>;

export interface Metric {
  render(): string;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

function header(name: string, help: string, type: 'counter' | 'histogram'): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** Label values in the declared order: the key of a series and its rendering. */
function labelPairs<N extends string>(labelNames: readonly N[], labels: Labels<N>): [string, string][] {
  return labelNames.map((name) => [name, labels[name]]);
}

export class Counter<N extends string = never> implements Metric {
  private readonly series = new Map<string, { pairs: [string, string][]; value: number }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly N[] = [],
  ) {}

  inc(labels: Labels<N>, by = 1): void {
    const pairs = labelPairs(this.labelNames, labels);
    const key = JSON.stringify(pairs);
    const entry = this.series.get(key);
    if (entry === undefined) this.series.set(key, { pairs, value: by });
    else entry.value += by;
  }

  render(): string {
    let text = header(this.name, this.help, 'counter');
    for (const { pairs, value } of this.series.values()) text += `${this.name}${formatLabels(pairs)} ${value}\n`;
    return text;
  }
}

export class Histogram<N extends string = never> implements Metric {
  private readonly series = new Map<string, { pairs: [string, string][]; buckets: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly N[],
    /** Upper bounds, ascending; `+Inf` is implied. */
    private readonly bounds: readonly number[],
  ) {}

  observe(labels: Labels<N>, value: number): void {
    const pairs = labelPairs(this.labelNames, labels);
    const key = JSON.stringify(pairs);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { pairs, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    // Buckets are stored non-cumulative and summed when rendered: one increment per observation.
    const bucket = this.bounds.findIndex((bound) => value <= bound);
    if (bucket !== -1) entry.buckets[bucket] = (entry.buckets[bucket] ?? 0) + 1;
    entry.sum += value;
    entry.count += 1;
  }

  render(): string {
    let text = header(this.name, this.help, 'histogram');
    for (const { pairs, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += buckets[i] ?? 0;
        text += `${this.name}_bucket${formatLabels([...pairs, ['le', String(bound)]])} ${cumulative}\n`;
      });
      text += `${this.name}_bucket${formatLabels([...pairs, ['le', '+Inf']])} ${count}\n`;
      text += `${this.name}_sum${formatLabels(pairs)} ${sum}\n`;
      text += `${this.name}_count${formatLabels(pairs)} ${count}\n`;
    }
    return text;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function renderMetrics(metrics: readonly Metric[]): string {
  return metrics.map((metric) => metric.render()).join('');
}
