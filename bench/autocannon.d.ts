// autocannon@8 ships no type declarations. This covers only what
// bench/lib/load.ts uses; extend it when the bench needs more.
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string;
      method?: string;
      connections?: number;
      /** Seconds. */
      duration?: number;
      headers?: Record<string, string>;
      /** Seconds before a request counts as a timeout (default 10). */
      timeout?: number;
      body?: string;
      /** A run before the measured one whose numbers are discarded. */
      warmup?: { connections?: number; duration?: number };
    }

    /** hdr-histogram-percentiles-obj shape (only the keys we read). */
    interface Histogram {
      mean: number;
      stddev: number;
      min: number;
      max: number;
      p50: number;
      p90: number;
      p99: number;
    }

    interface Result {
      /** Seconds. */
      duration: number;
      /** Connection errors, including timeouts. */
      errors: number;
      timeouts: number;
      non2xx: number;
      '2xx': number;
      statusCodeStats: Record<string, { count: number }>;
      /** Milliseconds per request. */
      latency: Histogram;
      /** Completed requests per one-second sample. */
      requests: Histogram & { total: number; sent: number };
    }
  }

  /** Without a callback, the returned instance is also thenable. */
  function autocannon(opts: autocannon.Options): PromiseLike<autocannon.Result>;
  export = autocannon;
}
