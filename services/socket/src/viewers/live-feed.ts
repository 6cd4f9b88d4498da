import type { Logger } from 'pino';
import { CloseCode, OBJECT_ID_PATTERN } from '@viewer-analytics/shared';
import { AUCTION_ID_LENGTH, type AuctionSlots } from '../auctions/auction-slots.js';
import type { LocalViewerCounts } from '../auctions/viewer-counts.js';
import type { Broadcaster } from '../broadcast/broadcaster.js';
import type { CountMessageEncoder } from '../broadcast/count-message.js';
import type { RejectReason, SocketMetrics } from '../metrics.js';
import uWS, {
  type HttpRequest,
  type HttpResponse,
  type us_socket_context_t,
  type WebSocket,
  type WebSocketBehavior,
} from '../uws.js';
import type { AuctionDirectory } from './auction-directory.js';

/** Clients need not send anything; a few frames (app-level pings) are tolerated. */
const CLIENT_MESSAGE_BUDGET = 10;
const CLIENT_MESSAGE_WINDOW_MS = 10_000;
const MAX_CLIENT_MESSAGE_BYTES = 512;
/** Above this many unsent bytes a viewer is skipped by publishes; `drain` catches it up. */
const MAX_BACKPRESSURE_BYTES = 64 * 1024;

export interface ViewerData {
  auctionId: string;
  slot: number;
  /** Close code to end the connection with as soon as it opens; 0 for an accepted viewer. */
  rejectCode: number;
  rejectReason: string;
  messages: number;
  messagesSince: number;
}

export interface LiveFeedOptions {
  readonly slots: AuctionSlots;
  readonly counts: LocalViewerCounts;
  readonly directory: AuctionDirectory;
  readonly encoder: CountMessageEncoder;
  readonly broadcaster: Broadcaster;
  readonly metrics: SocketMetrics;
  readonly log: Logger;
  readonly maxConnections: number;
}

/**
 * `ws://…/auctions/:id/live`: checks the auction, counts the viewer in the server's own
 * counters, subscribes it to the auction's topic and tells it the count at once. Refusals are
 * WebSocket close codes (a browser cannot read an HTTP status), so refused connections are
 * upgraded and then ended right away.
 */
export class LiveFeed {
  private readonly sockets = new Set<WebSocket<ViewerData>>();
  private pendingUpgrades = 0;
  private closing = false;

  constructor(private readonly options: LiveFeedOptions) {}

  behavior(): WebSocketBehavior<ViewerData> {
    return {
      compression: uWS.DISABLED,
      maxPayloadLength: MAX_CLIENT_MESSAGE_BYTES,
      maxBackpressure: MAX_BACKPRESSURE_BYTES,
      closeOnBackpressureLimit: 0, // a number in these typings; 0 = keep the viewer, skip it
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: this.upgrade,
      open: this.open,
      message: this.message,
      drain: this.drain,
      close: this.close,
    };
  }

  /** Ends every viewer's connection (at shutdown). Their close handlers do the counting. */
  closeAll(code: number, reason: string): void {
    this.closing = true;
    for (const ws of [...this.sockets]) ws.end(code, reason);
  }

  private readonly upgrade = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    // Everything needed from `req` is copied now: it is gone after this function returns.
    const rawId = req.getParameter(0);
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const accept = (data: ViewerData): void => {
      res.upgrade(data, key, protocol, extensions, context);
    };

    const { directory, counts, maxConnections } = this.options;
    const auctionId = rawId.toLowerCase();
    const known = directory.cached(auctionId);
    if (this.closing) accept(refusal(CloseCode.goingAway, 'server shutting down'));
    else if (counts.connections + this.pendingUpgrades >= maxConnections) {
      accept(this.refuse('at_capacity', CloseCode.tryAgainLater, 'server at capacity'));
    } else if (!OBJECT_ID_PATTERN.test(rawId)) {
      accept(this.refuse('malformed_id', CloseCode.malformedAuctionId, 'malformed auction id'));
    } else if (known !== undefined) {
      accept(known ? viewer(auctionId) : this.refuse('unknown_auction', CloseCode.unknownAuction, 'unknown auction'));
    } else {
      this.lookUpThenAccept(res, auctionId, accept);
    }
  };

  /** The backend must be asked: `res` may be aborted meanwhile, and the upgrade is corked. */
  private lookUpThenAccept(res: HttpResponse, auctionId: string, accept: (data: ViewerData) => void): void {
    const { directory, metrics } = this.options;
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    this.pendingUpgrades++;
    directory.exists(auctionId).then(
      (exists) => {
        this.pendingUpgrades--;
        if (aborted) return;
        res.cork(() => {
          accept(exists ? viewer(auctionId) : this.refuse('unknown_auction', CloseCode.unknownAuction, 'unknown auction'));
        });
      },
      (error: unknown) => {
        this.pendingUpgrades--;
        this.options.log.warn({ auctionId, err: error }, 'auction lookup failed; viewer asked to retry');
        if (aborted) return;
        metrics.rejected.lookup_failed++;
        res.cork(() => {
          accept(refusal(CloseCode.tryAgainLater, 'auction lookup unavailable'));
        });
      },
    );
  }

  private readonly open = (ws: WebSocket<ViewerData>): void => {
    const data = ws.getUserData();
    if (data.rejectCode !== 0) {
      ws.end(data.rejectCode, data.rejectReason);
      return;
    }
    // An upgrade whose lookup was still under way when shutdown began.
    if (this.closing) {
      ws.end(CloseCode.goingAway, 'server shutting down');
      return;
    }
    const { slots, counts, broadcaster, encoder, metrics } = this.options;
    const isNew = slots.slotOf(data.auctionId) < 0;
    const slot = slots.acquire(data.auctionId);
    if (slot < 0) {
      metrics.rejected.at_capacity++;
      ws.end(CloseCode.tryAgainLater, 'too many live auctions');
      return;
    }
    if (isNew) broadcaster.forget(slot);
    data.slot = slot;
    const count = counts.join(slot);
    metrics.joins++;
    this.sockets.add(ws);
    ws.subscribe(slots.topicOf(slot));
    encoder.setTime(Date.now());
    ws.send(encoder.encode(slots.idBytes, slot * AUCTION_ID_LENGTH, count), false);
    // Alone on its topic, the newcomer is everyone who needs to know: no broadcast for it.
    if (count === 1) broadcaster.told(slot, count);
  };

  private readonly message = (ws: WebSocket<ViewerData>): void => {
    const data = ws.getUserData();
    const now = Date.now();
    if (now - data.messagesSince > CLIENT_MESSAGE_WINDOW_MS) {
      data.messagesSince = now;
      data.messages = 0;
    }
    if (++data.messages > CLIENT_MESSAGE_BUDGET) {
      this.options.metrics.clientsClosedForMisuse++;
      ws.end(CloseCode.policyViolation, 'too many messages');
    }
  };

  /** The viewer's socket buffer emptied: publishes it missed meanwhile are replaced by the count now. */
  private readonly drain = (ws: WebSocket<ViewerData>): void => {
    const { slot } = ws.getUserData();
    if (slot < 0 || ws.getBufferedAmount() > 0) return;
    const { slots, counts, encoder } = this.options;
    encoder.setTime(Date.now());
    ws.send(encoder.encode(slots.idBytes, slot * AUCTION_ID_LENGTH, counts.countAt(slot)), false);
  };

  // Never send here: the socket is already closed.
  private readonly close = (ws: WebSocket<ViewerData>): void => {
    const data = ws.getUserData();
    if (data.slot < 0) return;
    this.options.counts.leave(data.slot);
    this.options.metrics.leaves++;
    data.slot = -1;
    this.sockets.delete(ws);
  };

  private refuse(reason: RejectReason, code: number, message: string): ViewerData {
    this.options.metrics.rejected[reason]++;
    return refusal(code, message);
  }
}

function viewer(auctionId: string): ViewerData {
  return { auctionId, slot: -1, rejectCode: 0, rejectReason: '', messages: 0, messagesSince: Date.now() };
}

function refusal(code: number, reason: string): ViewerData {
  return { auctionId: '', slot: -1, rejectCode: code, rejectReason: reason, messages: 0, messagesSince: 0 };
}
