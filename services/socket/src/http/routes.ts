import { OBJECT_ID_PATTERN } from '@viewer-analytics/shared';
import type { HttpResponse, TemplatedApp } from '../uws.js';

/** The most auctions one `/counts` request may name (an owner's overview page asks for all of theirs at once). */
export const MAX_COUNTS_AUCTIONS = 500;

export interface HttpRoutesOptions {
  /** The server's Prometheus registry (prom-client's Registry fits). */
  readonly metrics: { readonly contentType: string; metrics(): Promise<string> };
  /** True when the server can do its job: the backend answers. */
  readonly ready: () => Promise<boolean>;
  /** Why the server cannot do its job apart from the backend (e.g. Redis is away), or undefined. */
  readonly unavailable?: () => string | undefined;
  /** Live viewers of an auction (lower-case hex id) right now: the whole cluster's with Redis; 0 when none. */
  readonly liveCount: (auctionId: string) => number;
}

const JSON_TYPE = 'application/json';

/** `/health`, `/ready`, `/metrics` and `/counts` beside the live feed, and a JSON 404 for anything else. */
export function registerHttpRoutes(app: TemplatedApp, options: HttpRoutesOptions): void {
  // Public like the live feed (every viewer sees these counts), so any page may ask: CORS open, no credentials.
  app.get('/counts', (res, req) => {
    const ids = auctionIdsOf(req.getQuery('auctions'));
    if (typeof ids === 'string') {
      res.writeStatus('400 Bad Request').writeHeader('access-control-allow-origin', '*').writeHeader('content-type', JSON_TYPE);
      res.end(errorBody('VALIDATION_ERROR', ids));
      return;
    }
    const counts: Record<string, number> = {};
    for (const id of ids) counts[id] = options.liveCount(id);
    res.writeStatus('200 OK').writeHeader('access-control-allow-origin', '*').writeHeader('content-type', JSON_TYPE);
    res.writeHeader('cache-control', 'no-store').end(JSON.stringify({ counts }));
  });

  app.get('/health', (res) => {
    reply(res, '200 OK', JSON_TYPE, '{"status":"ok"}');
  });

  app.get('/ready', (res) => {
    replyLater(res, options.ready(), (ready) => {
      // Read after the backend answered: the freshest state when the reply goes out.
      const reason = ready ? options.unavailable?.() : 'the backend does not answer';
      if (reason === undefined) reply(res, '200 OK', JSON_TYPE, '{"status":"ready"}');
      else reply(res, '503 Service Unavailable', JSON_TYPE, errorBody('SERVICE_UNAVAILABLE', reason));
    });
  });

  app.get('/metrics', (res) => {
    replyLater(res, options.metrics.metrics(), (text) => {
      reply(res, '200 OK', options.metrics.contentType, text);
    });
  });

  app.any('/*', (res) => {
    reply(res, '404 Not Found', JSON_TYPE, errorBody('NOT_FOUND', 'no such route; viewers connect to /auctions/<id>/live'));
  });
}

/** Answers once `answer` settles, unless the client has gone by then (uWS forbids touching `res` after that). */
function replyLater<T>(res: HttpResponse, answer: Promise<T>, write: (value: T) => void): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  answer.then(
    (value) => {
      if (!aborted) res.cork(() => {
        write(value);
      });
    },
    (err: unknown) => {
      if (!aborted) res.cork(() => {
        reply(res, '500 Internal Server Error', JSON_TYPE, errorBody('INTERNAL_ERROR', err instanceof Error ? err.message : String(err)));
      });
    },
  );
}

/** The lower-cased ids of `?auctions=a,b,…`, or why the list is refused (undefined: uWS's answer for a URL without a query). */
function auctionIdsOf(list: string | undefined): string[] | string {
  if (list === undefined || list === '') return 'auctions: give 1 to 500 auction ids, comma-separated (?auctions=<id>,<id>)';
  const ids = list.split(',');
  if (ids.length > MAX_COUNTS_AUCTIONS) return `auctions: at most ${String(MAX_COUNTS_AUCTIONS)} ids, got ${String(ids.length)}`;
  const bad = ids.find((id) => !OBJECT_ID_PATTERN.test(id));
  if (bad !== undefined) return `auctions: "${bad.slice(0, 40)}" is not an auction id (24 hexadecimal characters)`;
  return ids.map((id) => id.toLowerCase());
}

function reply(res: HttpResponse, status: string, contentType: string, body: string): void {
  res.writeStatus(status).writeHeader('content-type', contentType).end(body);
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ success: false, error: { code, message } });
}
