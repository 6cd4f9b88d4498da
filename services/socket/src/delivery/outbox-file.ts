import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SnapshotOutbox } from './snapshot-outbox.js';

/**
 * Loads what a previous process could not deliver, then removes the file: from here on the
 * records live in memory and a graceful stop writes them again. Returns the last window the
 * previous process flushed, or -1.
 */
export async function restoreOutbox(path: string, outbox: SnapshotOutbox): Promise<{ lastFlushedWindow: number; restored: number }> {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lastFlushedWindow: -1, restored: 0 };
    throw error;
  }
  const before = outbox.size;
  const lastFlushedWindow = outbox.restore(body);
  await unlink(path);
  return { lastFlushedWindow, restored: outbox.size - before };
}

/** Writes the undelivered records atomically (temporary file, then rename). */
export async function persistOutbox(path: string, outbox: SnapshotOutbox, lastFlushedWindow: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${String(process.pid)}.tmp`;
  await writeFile(temporary, outbox.serialize(lastFlushedWindow));
  await rename(temporary, path);
}
