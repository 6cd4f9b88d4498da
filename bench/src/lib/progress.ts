import { performance } from 'node:perf_hooks';

/** Timestamped progress lines on stdout, so that a long run shows what it is doing. */
export class Progress {
  private readonly started = performance.now();

  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  step(message: string): void {
    const tenths = Math.floor(this.elapsedSeconds() * 10);
    const minutes = Math.floor(tenths / 600);
    const rest = tenths % 600;
    const stamp = `${String(minutes).padStart(2, '0')}:${String(Math.floor(rest / 10)).padStart(2, '0')}.${rest % 10}`;
    process.stdout.write(`[${stamp}] ${message}\n`);
  }

  /** Calls `report` every `everyMs` until the returned function is called. */
  every(everyMs: number, report: () => string): () => void {
    const timer = setInterval(() => {
      this.step(report());
    }, everyMs);
    return () => {
      clearInterval(timer);
    };
  }
}

export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
