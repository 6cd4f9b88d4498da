import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';

/**
 * A database name of its own for one test file: readable (from the file name) and unique per run,
 * within MongoDB's 63-byte limit and FerretDB's character set.
 */
export function testDatabaseName(testFile: string): string {
  const stem = basename(testFile)
    .replace(/\.(test|spec)\.[cm]?[jt]s$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 40);
  return `t_${stem}_${randomBytes(4).toString('hex')}`;
}
