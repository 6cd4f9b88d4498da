/**
 * The package ships no types. This declares what it returns, as its README and parser show:
 * prom2json's shape, every value a string as written ("0", "+Inf"). It throws on a line that is
 * not valid exposition text.
 */
declare module 'parse-prometheus-text-format' {
  export type Labels = Readonly<Record<string, string>>;

  /** A counter's, gauge's or untyped metric's series. */
  export interface ValueSample {
    readonly value: string;
    readonly labels?: Labels;
  }

  /**
   * A histogram's series: cumulative counts by upper bound (`le`), sum and count. For a histogram
   * with labels of its own the parser folds every series into one, keeping only the last series'
   * buckets and dropping sum and count: hence everything optional.
   */
  export interface HistogramSample {
    readonly buckets?: Readonly<Record<string, string>>;
    readonly count?: string;
    readonly sum?: string;
    readonly labels?: Labels;
  }

  /** A summary's series: values by quantile, sum and count; folded like a histogram's. */
  export interface SummarySample {
    readonly quantiles?: Readonly<Record<string, string>>;
    readonly count?: string;
    readonly sum?: string;
    readonly labels?: Labels;
  }

  interface Family<T extends string, S> {
    readonly name: string;
    /** Empty when the text has no HELP line for it. */
    readonly help: string;
    /** UNTYPED when the text has no TYPE line for it. */
    readonly type: T;
    readonly metrics: readonly S[];
  }

  export type MetricFamily =
    | Family<'COUNTER' | 'GAUGE' | 'UNTYPED', ValueSample>
    | Family<'HISTOGRAM', HistogramSample>
    | Family<'SUMMARY', SummarySample>;

  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
