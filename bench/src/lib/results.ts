import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress } from './progress.js';

/** Writes a run's figures (`<stamp>.json`, sample arrays left out) and its tables (`<stamp>.md`), and prints the tables. */
export function writeResults(resultsDir: string, stamp: string, results: unknown, markdown: string, progress: Progress): void {
  const jsonFile = join(resultsDir, `${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(results, (_key, value: unknown) => (value instanceof Float64Array ? undefined : value), 2)}\n`);
  writeFileSync(join(resultsDir, `${stamp}.md`), `${markdown}\n`);
  process.stdout.write(`\n${markdown}\n\n`);
  progress.step(`results: ${jsonFile}`);
}

/** Runs a benchmark's main, cleans up whatever happens, and exits 0, or 1 with the error. */
export async function runToExit(name: string, main: () => Promise<void>, cleanUp: () => Promise<void>): Promise<never> {
  try {
    await main();
    await cleanUp();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await cleanUp();
    process.exit(1);
  }
}
