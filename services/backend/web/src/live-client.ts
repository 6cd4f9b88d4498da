/**
 * The live viewer count of an auction, for any page: connects to the socket server, reports
 * every count, and reconnects with exponential backoff and jitter after a drop. ESM, no
 * dependencies; embed it with `import { watchViewerCount } from '…/assets/live-client.js'`.
 */
import type { CloseCode, ViewerCountUpdate } from '@viewer-analytics/shared';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface WatchOptions {
  /** Socket server origin, e.g. `wss://live.example.com` or `ws://localhost:8081`. */
  readonly socketUrl: string;
  readonly auctionId: string;
  readonly onCount: (count: number, update: ViewerCountUpdate) => void;
  readonly onStatus?: (status: LiveStatus, detail: string) => void;
  /** First and longest wait before reconnecting (ms): 500 and 15,000 by default. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

export interface LiveWatch {
  readonly status: LiveStatus;
  /** Stops watching for good. */
  close(): void;
}

/** Close codes after which trying again cannot help: the auction id is wrong. */
const FINAL_CLOSE_CODES: readonly (typeof CloseCode)[keyof typeof CloseCode][] = [4400, 4404];
const VIEWER_ID_KEY = 'viewer-analytics:viewer-id';

export function watchViewerCount(options: WatchOptions): LiveWatch {
  const retryBaseMs = options.retryBaseMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 15_000;
  let status: LiveStatus = 'connecting';
  let socket: WebSocket | undefined;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const setStatus = (next: LiveStatus, detail = ''): void => {
    status = next;
    options.onStatus?.(next, detail);
  };

  const connect = (): void => {
    const url = new URL(`/auctions/${encodeURIComponent(options.auctionId)}/live`, options.socketUrl);
    url.searchParams.set('viewer', viewerId());
    socket = new WebSocket(url);
    socket.onmessage = (event: MessageEvent<string>) => {
      const update = JSON.parse(event.data) as Partial<ViewerCountUpdate>;
      if (update.type !== 'viewerCountUpdate' || typeof update.count !== 'number') return;
      attempt = 0;
      if (status !== 'live') setStatus('live');
      options.onCount(update.count, update as ViewerCountUpdate);
    };
    socket.onclose = (event) => {
      socket = undefined;
      if (status === 'stopped') return;
      if ((FINAL_CLOSE_CODES as readonly number[]).includes(event.code)) {
        setStatus('stopped', event.reason || `closed with ${String(event.code)}`);
        return;
      }
      // Full-jitter backoff: reconnecting crowds after a server restart spread out.
      const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** attempt++);
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      setStatus('reconnecting', event.reason || 'connection lost');
      retryTimer = setTimeout(connect, delay);
    };
  };

  setStatus('connecting');
  connect();
  return {
    get status() {
      return status;
    },
    close() {
      setStatus('stopped', 'closed by the page');
      clearTimeout(retryTimer);
      socket?.close(1000);
    },
  };
}

/** One random id per browser, reserved for unique-viewer counts (the server ignores it for now). */
function viewerId(): string {
  try {
    const stored = localStorage.getItem(VIEWER_ID_KEY);
    if (stored !== null) return stored;
    const fresh = crypto.randomUUID();
    localStorage.setItem(VIEWER_ID_KEY, fresh);
    return fresh;
  } catch {
    return 'anonymous'; // storage disabled (private mode, sandboxed frame)
  }
}
