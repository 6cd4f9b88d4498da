import { readFileSync } from 'node:fs';

interface LogLine {
  readonly reqId?: string;
  readonly msg?: string;
  readonly req?: { readonly url?: string };
  readonly responseTime?: number;
}

/**
 * Fastify's own time for each request (`responseTime` of its "request completed" line at
 * LOG_LEVEL=info: from the request's arrival to the reply's last byte handed to the socket), per
 * URL, in the order the requests came; undefined for a request that never completed (its
 * connection closed first). What the client measured beyond it is the HTTP transport.
 */
export function responseTimesByUrl(logFile: string): Map<string, (number | undefined)[]> {
  const arrived: { reqId: string; url: string }[] = [];
  const completed = new Map<string, number>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: LogLine;
    try {
      entry = JSON.parse(line) as LogLine;
    } catch {
      continue;
    }
    if (entry.reqId === undefined) continue;
    if (entry.msg === 'incoming request' && entry.req?.url !== undefined) arrived.push({ reqId: entry.reqId, url: entry.req.url });
    if (entry.msg === 'request completed' && entry.responseTime !== undefined) completed.set(entry.reqId, entry.responseTime);
  }
  const times = new Map<string, (number | undefined)[]>();
  for (const { reqId, url } of arrived) {
    const list = times.get(url) ?? [];
    list.push(completed.get(reqId));
    times.set(url, list);
  }
  return times;
}
