import type { HttpResponse, TemplatedApp } from '../uws.js';

export interface HttpRoutesOptions {
  /** Prometheus text of the server's metrics. */
  readonly metrics: () => string;
  /** True when the server can do its job: the backend answers. */
  readonly ready: () => Promise<boolean>;
}

const JSON_TYPE = 'application/json';

/** `/health`, `/ready` and `/metrics` beside the live feed, and a JSON 404 for anything else. */
export function registerHttpRoutes(app: TemplatedApp, options: HttpRoutesOptions): void {
  app.get('/health', (res) => {
    reply(res, '200 OK', JSON_TYPE, '{"status":"ok"}');
  });

  app.get('/ready', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void options.ready().then((ready) => {
      if (aborted) return;
      res.cork(() => {
        if (ready) reply(res, '200 OK', JSON_TYPE, '{"status":"ready"}');
        else reply(res, '503 Service Unavailable', JSON_TYPE, errorBody('SERVICE_UNAVAILABLE', 'the backend does not answer'));
      });
    });
  });

  app.get('/metrics', (res) => {
    reply(res, '200 OK', 'text/plain; version=0.0.4', options.metrics());
  });

  app.any('/*', (res) => {
    reply(res, '404 Not Found', JSON_TYPE, errorBody('NOT_FOUND', 'no such route; viewers connect to /auctions/<id>/live'));
  });
}

function reply(res: HttpResponse, status: string, contentType: string, body: string): void {
  res.writeStatus(status).writeHeader('content-type', contentType).end(body);
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ success: false, error: { code, message } });
}
