import type { TestProject } from 'vitest/node';
import { startDatabase } from '@viewer-analytics/devdb';

/** One database server for the run (MONGODB_URI, Docker or a local FerretDB), stopped at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const database = await startDatabase({
    log: (message) => {
      process.stdout.write(`[database] ${message}\n`);
    },
  });
  project.provide('mongoUri', database.uri);
  project.provide('databaseKind', database.kind);
  return () => database.stop();
}
