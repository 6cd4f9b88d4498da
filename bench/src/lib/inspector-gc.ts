/**
 * A full garbage collection in another Node process, through its inspector (started with
 * --inspect=127.0.0.1:<port>): HeapProfiler.collectGarbage, twice. Memory per connection is an
 * RSS difference, and V8 keeps up to tens of MiB of garbage and unshrunk heap between collections,
 * as much as 10,000 connections take; after a full collection on both sides, the difference is
 * what the connections hold.
 */
import { request } from 'node:http';
import WebSocket from 'ws';

function debuggerUrl(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/json/list', timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          const targets = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { webSocketDebuggerUrl?: string }[];
          const url = targets[0]?.webSocketDebuggerUrl;
          if (url === undefined) reject(new Error(`no inspector target on port ${port}`));
          else resolve(url);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`inspector on port ${port} did not answer`)));
    req.end();
  });
}

/** Collects garbage twice in the process whose inspector listens on `port`. */
export async function collectGarbage(port: number, timeoutMs = 30_000): Promise<void> {
  const socket = new WebSocket(await debuggerUrl(port));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`garbage collection on port ${port} timed out`));
      }, timeoutMs);
      let answered = 0;
      socket.on('message', (data: Buffer) => {
        const reply = JSON.parse(data.toString('utf8')) as { id?: number; error?: { message: string } };
        if (reply.id === undefined) return;
        if (reply.error !== undefined) {
          clearTimeout(timer);
          reject(new Error(reply.error.message));
        } else if (++answered === 2) {
          clearTimeout(timer);
          resolve();
        }
      });
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('open', () => {
        // Two collections: the first finalizes what weak references kept for one more cycle.
        socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
        socket.send(JSON.stringify({ id: 2, method: 'HeapProfiler.collectGarbage' }));
      });
    });
  } finally {
    socket.close();
  }
}
