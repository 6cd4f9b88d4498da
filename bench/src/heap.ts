import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface AllocationReport {
  /** Heap growth over the first `runs`, and over the `2 × runs` after them. */
  readonly heapGrowthBytes: readonly [number, number];
  /** Bytes allocated per unit of work (e.g. per auction per tick): fixed costs cancel out. */
  readonly marginalBytesPerUnit: number;
  /** Young-generation collections during the work: any steady allocation would cause them. */
  readonly scavenges: number;
}

/** Runs `work` 3 × `runs` times after a full GC and watches the heap (needs --expose-gc). */
export async function measureAllocation(work: () => void, runs: number, unitsPerRun: number): Promise<AllocationReport> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  await new Promise((resolve) => setTimeout(resolve, 10));
  let scavenges = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const start = process.memoryUsage().heapUsed;
  for (let i = 0; i < runs; i++) work();
  const middle = process.memoryUsage().heapUsed;
  for (let i = 0; i < 2 * runs; i++) work();
  const end = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setTimeout(resolve, 10));
  observer.disconnect();
  const first = middle - start;
  const rest = end - middle;
  return {
    heapGrowthBytes: [first, rest],
    marginalBytesPerUnit: Math.max(0, rest - first) / (runs * unitsPerRun),
    scavenges,
  };
}
