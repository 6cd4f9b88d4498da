// What the global setup (vitest.global-setup.ts) provides to every test file through inject().
import type { DatabaseKind } from '@viewer-analytics/devdb';
// An augmentation needs the module it augments in the program.
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server URI without a database name: each test file picks its own (testDatabaseName). */
    mongoUri: string;
    databaseKind: DatabaseKind;
  }
}
