import { describe, expect, it } from 'vitest';
import { Counter, Histogram, renderMetrics } from '../../src/metrics/prometheus.js';

describe('Prometheus text rendering', () => {
  it('renders counters with HELP, TYPE and one line per label set', () => {
    const counter = new Counter('jobs_total', 'Jobs done', ['queue']);
    counter.inc({ queue: 'a' });
    counter.inc({ queue: 'a' }, 2);
    counter.inc({ queue: 'b' });
    expect(counter.render()).toBe('# HELP jobs_total Jobs done\n# TYPE jobs_total counter\njobs_total{queue="a"} 3\njobs_total{queue="b"} 1\n');
  });

  it('renders a counter without labels bare', () => {
    const counter = new Counter('up_total', 'Ups');
    counter.inc({}, 0);
    expect(counter.render()).toContain('\nup_total 0\n');
  });

  it('escapes backslashes, quotes and newlines in label values', () => {
    const counter = new Counter('odd_total', 'Odd', ['value']);
    counter.inc({ value: 'a\\b"c\nd' });
    expect(counter.render()).toContain('odd_total{value="a\\\\b\\"c\\nd"} 1\n');
  });

  it('renders histograms with cumulative buckets, +Inf, sum and count', () => {
    const histogram = new Histogram('latency_seconds', 'Latency', ['route'], [0.1, 1]);
    for (const value of [0.05, 0.1, 0.5, 3]) histogram.observe({ route: '/x' }, value);
    expect(histogram.render()).toBe(
      [
        '# HELP latency_seconds Latency',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{route="/x",le="0.1"} 2',
        'latency_seconds_bucket{route="/x",le="1"} 3',
        'latency_seconds_bucket{route="/x",le="+Inf"} 4',
        'latency_seconds_sum{route="/x"} 3.65',
        'latency_seconds_count{route="/x"} 4',
        '',
      ].join('\n'),
    );
  });

  it('joins several metrics', () => {
    const a = new Counter('a_total', 'A');
    const b = new Counter('b_total', 'B');
    expect(renderMetrics([a, b])).toBe(a.render() + b.render());
  });
});
