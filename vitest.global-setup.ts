import type { TestProject } from 'vitest/node';
import { startDatabase, type DatabaseKind } from '@viewer-analytics/devdb';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server URI without a database name: each test file picks its own (testDatabaseName). */
    mongoUri: string;
    databaseKind: DatabaseKind;
  }
}

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
