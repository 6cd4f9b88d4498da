import type { HttpResponse, TemplatedApp } from '../uws.js';

export interface HttpRoutesOptions {
  /** The server's Prometheus registry (prom-client's Registry fits). */
  readonly metrics: { readonly contentType: string; metrics(): Promise<string> };
  /** True when the server can do its job: the backend answers. */
  readonly ready: () => Promise<boolean>;
  /** Why the server cannot do its job apart from the backend (e.g. Redis is away), or undefined. */
  readonly unavailable?: () => string | undefined;
}

const JSON_TYPE = 'application/json';

/** `/health`, `/ready` and `/metrics` beside the live feed, and a JSON 404 for anything else. */
export function registerHttpRoutes(app: TemplatedApp, options: HttpRoutesOptions): void {
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

function reply(res: HttpResponse, status: string, contentType: string, body: string): void {
  res.writeStatus(status).writeHeader('content-type', contentType).end(body);
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ success: false, error: { code, message } });
}
