/**
 * The one place that decides which MongoDB-compatible database a run uses (tests, the start
 * command, benchmarks): MONGODB_URI if set, else `mongo:7` through testcontainers when a Docker
 * engine answers, else a local FerretDB 1.x (SQLite backend) built once from the Go module proxy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startFerretDb, FERRETDB_BINARY } from './ferretdb.js';
import type { Database } from './database.js';
import { dockerEngineAnswers } from '@viewer-analytics/testkit';
import { startMongoContainer } from './docker.js';

export type { Database, DatabaseKind } from './database.js';

export interface StartDatabaseOptions {
  /** Where FerretDB keeps its SQLite files; a fresh temporary folder when omitted. */
  readonly dataDir?: string;
  readonly log?: (message: string) => void;
}

export class NoDatabaseError extends Error {
  constructor(detail: string) {
    super(
      `No database available (${detail}). Either:\n` +
        '  1. set MONGODB_URI to a running MongoDB (or FerretDB), e.g. MONGODB_URI=mongodb://127.0.0.1:27017/\n' +
        '  2. start a Docker engine, so that testcontainers can run mongo:7, or\n' +
        '  3. install Go (https://go.dev/dl/), so that a local FerretDB can be built into .tools/bin.',
    );
    this.name = 'NoDatabaseError';
  }
}

export async function startDatabase(options: StartDatabaseOptions = {}): Promise<Database> {
  const log = options.log ?? (() => undefined);
  const fromEnv = process.env['MONGODB_URI'];
  if (fromEnv !== undefined && fromEnv !== '') {
    log('using the database at MONGODB_URI');
    return { uri: fromEnv, kind: 'uri', stop: () => Promise.resolve() };
  }
  if (dockerEngineAnswers()) {
    log('Docker engine found: starting mongo:7 with testcontainers');
    return startMongoContainer();
  }
  if (!existsSync(FERRETDB_BINARY) && !goIsInstalled()) {
    throw new NoDatabaseError('MONGODB_URI is not set, no Docker engine answers, Go is not installed');
  }
  return startFerretDb({ dataDir: options.dataDir, log });
}

function goIsInstalled(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

export { testDatabaseName } from './names.js';
export { FERRETDB_BINARY, startFerretDb, type FerretDbOptions } from './ferretdb.js';
export { REPO_ROOT } from './paths.js';
