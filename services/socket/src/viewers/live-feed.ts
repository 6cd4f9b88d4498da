import { CloseCode, OBJECT_ID_PATTERN } from '@viewer-analytics/shared';
import { AUCTION_ID_LENGTH, type AuctionSlots } from '../auctions/auction-slots.js';
import type { LocalViewerCounts, ViewerCountSource } from '../auctions/viewer-counts.js';
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
import type { DailySalt } from '../visitors/daily-salt.js';
import { viewerParamOf, visitorIdentity } from '../visitors/visitor-identity.js';
import type { WindowVisitors } from '../visitors/window-visitors.js';
import type { AuctionDirectory } from './auction-directory.js';

/** Clients need not send anything; a few frames (app-level pings) are tolerated. */
const CLIENT_MESSAGE_BUDGET = 10;
const CLIENT_MESSAGE_WINDOW_MS = 10_000;
const MAX_CLIENT_MESSAGE_BYTES = 512;
/**
 * What uWS reads of one client message. Anything above it uWS cuts off at the frame header
 * without a close frame (1006, and it would reserve the whole frame's length first), so it is
 * kept well above MAX_CLIENT_MESSAGE_BYTES: messages in between are read and answered with 1009.
 */
const MAX_READ_MESSAGE_BYTES = 16 * 1024;
/** Above this many unsent bytes a viewer is skipped by publishes; `drain` catches it up. */
const MAX_BACKPRESSURE_BYTES = 64 * 1024;

export interface ViewerData {
  auctionId: string;
  /** The auction's slot once the viewer is counted; -1 before (and while its auction is looked up) and after. */
  slot: number;
  /** Open, waiting for the backend to say whether its auction exists: not counted yet. */
  lookingUp: boolean;
  /** Close code to end the connection with as soon as it opens; 0 for an accepted viewer. */
  rejectCode: number;
  rejectReason: string;
  /** The count this viewer was last sent directly (at join, or after a drain). */
  toldCount: number;
  messages: number;
  /** Start of the message budget's window, on the monotonic clock. */
  messagesSince: number;
  /** The viewer's visitor key (salted hash of auction and identity, uint32), or -1 when none could be made. */
  visitor: number;
}

export interface LiveFeedOptions {
  readonly slots: AuctionSlots;
  /** This process's viewers: joins and leaves, and the connection limit. */
  readonly counts: LocalViewerCounts;
  /** The counts viewers are told: `counts` alone, or summed over the cluster. */
  readonly shown: ViewerCountSource;
  readonly directory: AuctionDirectory;
  readonly encoder: CountMessageEncoder;
  readonly broadcaster: Broadcaster;
  readonly metrics: SocketMetrics;
  /** Open viewers accepted at most; connections still waiting for a lookup do not count. */
  readonly maxConnections: number;
  /**
   * Connections waiting for a lookup at most. Lookups of different auctions are bounded by the
   * directory; this bounds the connections of one auction whose lookup hangs (up to its timeout),
   * which would otherwise take open files without limit while the backend stalls.
   */
  readonly maxWaiting: number;
  /** Where each viewer counts as a visitor of its auction's open window. */
  readonly visitors: WindowVisitors;
  readonly salt: DailySalt;
  /** Proxies of our own in front of the server: X-Forwarded-For is read at that hop (0: never). */
  readonly trustedProxyHops: number;
}

/**
 * `ws://…/auctions/:id/live`: checks the auction, counts the viewer in the server's own
 * counters, tells it the count at once and subscribes it to the auction's topic after the next
 * publish (so that it never hears the same count twice). Refusals are WebSocket close codes (a
 * browser cannot read an HTTP status), so refused connections are upgraded and then ended right
 * away. An auction that holds a slot (it had viewers this window or the last) is accepted
 * without asking anyone: its viewers keep coming through a backend outage or a flood of lookups.
 *
 * Every upgrade completes inside uWS's upgrade handler; an auction that must be looked up is
 * looked up once the connection is open. Upgrading later, inside `res.cork()` as uWS's async
 * example does, lets uWS close some freshly opened sockets: after the upgrade its cork reads the
 * HTTP state from memory that now belongs to the WebSocket (uNetworking/uWebSockets#1928). That
 * disconnected (1006) a few in a thousand first viewers of an auction, right after their count.
 */
export class LiveFeed {
  private readonly sockets = new Set<WebSocket<ViewerData>>();
  /** Joined since the last tick: told their count directly, not yet subscribed. */
  private readonly newcomers: WebSocket<ViewerData>[] = [];
  private waiting = 0;
  private closing = false;

  constructor(private readonly options: LiveFeedOptions) {
    options.broadcaster.onPublished(this.admitNewcomers);
  }

  /** Open connections whose auction is being looked up: not counted yet. */
  get waitingForLookup(): number {
    return this.waiting;
  }

  behavior(): WebSocketBehavior<ViewerData> {
    return {
      compression: uWS.DISABLED,
      maxPayloadLength: MAX_READ_MESSAGE_BYTES,
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

  /** Hands every open viewer's slot and visitor key to `add`: those still here when a window opens. */
  readonly forEachVisitor = (add: (slot: number, key: number) => void): void => {
    for (const ws of this.sockets) {
      const { slot, visitor } = ws.getUserData();
      if (slot >= 0 && visitor >= 0) add(slot, visitor);
    }
  };

  /** Ends every viewer's connection (at shutdown), those still waiting for a lookup too. Their close handlers do the counting. */
  closeAll(code: number, reason: string): void {
    this.closing = true;
    for (const ws of [...this.sockets]) ws.end(code, reason);
  }

  private readonly upgrade = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    // Everything needed from `req` is copied now: it is gone after this function returns.
    const rawId = req.getParameter(0);
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const identity = visitorIdentity(
      {
        viewerParam: viewerParamOf(req.getQuery()),
        peer: Buffer.from(res.getRemoteAddressAsText()).toString(),
        forwardedFor: req.getHeader('x-forwarded-for'),
        userAgent: req.getHeader('user-agent'),
      },
      this.options.trustedProxyHops,
    );
    const accept = (data: ViewerData): void => {
      // No extensions offered back: with compression off uWS negotiates none, so the header is not read.
      res.upgrade(data, key, protocol, '', context);
    };

    const { directory, counts, slots, maxConnections, maxWaiting, salt } = this.options;
    const auctionId = rawId.toLowerCase();
    if (this.closing) accept(refusal(CloseCode.goingAway, 'server shutting down'));
    else if (counts.connections >= maxConnections) {
      accept(this.refuse('at_capacity', CloseCode.tryAgainLater, 'server at capacity'));
    } else if (!OBJECT_ID_PATTERN.test(rawId)) {
      accept(this.refuse('malformed_id', CloseCode.malformedAuctionId, 'malformed auction id'));
    } else if (identity === undefined) {
      accept(this.refuse('malformed_viewer', CloseCode.malformedViewerId, 'malformed viewer id'));
    } else {
      // Hashed only for a connection that may stay (a flood of refused ones costs no HMAC), and now,
      // before any lookup, while the salt of the day of the upgrade is in memory; the identity itself is not kept.
      const visitor = salt.visitorKey(auctionId, identity) ?? -1;
      const known = slots.slotOf(auctionId) >= 0 || directory.cached(auctionId);
      if (known === false) accept(this.refuse('unknown_auction', CloseCode.unknownAuction, 'unknown auction'));
      else if (known === undefined && (this.waiting >= maxWaiting || !directory.canAsk(auctionId))) {
        accept(this.refuse('at_capacity', CloseCode.tryAgainLater, 'too many auction lookups'));
      } else accept(viewer(auctionId, visitor, known === undefined));
    }
  };

  private readonly open = (ws: WebSocket<ViewerData>): void => {
    const data = ws.getUserData();
    if (data.rejectCode !== 0) {
      ws.end(data.rejectCode, data.rejectReason);
      return;
    }
    this.sockets.add(ws);
    if (data.lookingUp) {
      this.waiting++;
      this.lookUpThenJoin(ws, data);
    } else if (this.takeSlot(ws, data)) this.join(ws, data);
  };

  /** The viewer is open but not counted until the backend says its auction exists; it may leave meanwhile. */
  private lookUpThenJoin(ws: WebSocket<ViewerData>, data: ViewerData): void {
    const { directory, counts, maxConnections } = this.options;
    directory.exists(data.auctionId).then(
      (exists) => {
        if (!this.sockets.has(ws)) return; // gone, or ended by a shutdown
        this.stopWaiting(data);
        if (!exists) this.reject(ws, 'unknown_auction', CloseCode.unknownAuction, 'unknown auction');
        else if (counts.connections >= maxConnections) this.reject(ws, 'at_capacity', CloseCode.tryAgainLater, 'server at capacity');
        else if (this.takeSlot(ws, data)) {
          ws.cork(() => {
            this.join(ws, data);
          });
        }
      },
      () => {
        // The directory logged the failure, once for every viewer waiting on it.
        if (!this.sockets.has(ws)) return;
        this.stopWaiting(data);
        this.reject(ws, 'lookup_failed', CloseCode.tryAgainLater, 'auction lookup unavailable');
      },
    );
  }

  /**
   * Gives the viewer its auction's slot, or ends it when every slot is taken. Not inside a cork:
   * uWS sends the TCP FIN of an `end` made while corked only at the idle timeout.
   */
  private takeSlot(ws: WebSocket<ViewerData>, data: ViewerData): boolean {
    const { slots, broadcaster } = this.options;
    // One lookup of the id, not two: the auction took a slot when there are more of them after.
    const live = slots.size;
    const slot = slots.acquire(data.auctionId);
    if (slot < 0) {
      this.reject(ws, 'at_capacity', CloseCode.tryAgainLater, 'too many live auctions');
      return false;
    }
    if (slots.size > live) broadcaster.forget(slot);
    data.slot = slot;
    return true;
  }

  /** Counts the viewer in, tells it the count and subscribes it (or queues it to be). */
  private join(ws: WebSocket<ViewerData>, data: ViewerData): void {
    const { slots, counts, shown, broadcaster, encoder, metrics } = this.options;
    const { slot } = data;
    if (data.visitor >= 0) this.options.visitors.add(slot, data.visitor);
    const local = counts.join(slot);
    const count = shown.countAt(slot);
    metrics.joins++;
    encoder.setTime(Date.now());
    ws.send(encoder.encode(slots.idBytes, slot * AUCTION_ID_LENGTH, count), false);
    data.toldCount = count;
    // Alone on its topic (topics are per process), the newcomer is everyone who needs to know: no broadcast for it.
    if (local === 1) broadcaster.told(slot, count);
    else broadcaster.nudge(slot);
    // Subscribed once its topic has heard this count, which the older viewers need and it does not
    // (at once when it is alone on it, else after the leading publish or a tick).
    if (broadcaster.isCurrent(slot)) ws.subscribe(slots.topicOf(slot));
    else this.newcomers.push(ws);
  }

  /**
   * After a tick's publishes: each newcomer whose topic has heard its auction's count joins it
   * now, and is sent the count only when it differs from the one it was told; the others wait
   * for a later tick (their auction's interval has not passed yet).
   */
  private readonly admitNewcomers = (): void => {
    const { newcomers } = this;
    if (newcomers.length === 0) return;
    const { slots, shown, encoder, broadcaster } = this.options;
    let kept = 0;
    for (const ws of newcomers) {
      if (!this.sockets.has(ws)) continue; // gone before its first tick
      const data = ws.getUserData();
      if (!broadcaster.isCurrent(data.slot)) {
        newcomers[kept++] = ws;
        continue;
      }
      ws.subscribe(slots.topicOf(data.slot));
      const count = shown.countAt(data.slot);
      if (count === data.toldCount) continue;
      ws.send(encoder.encode(slots.idBytes, data.slot * AUCTION_ID_LENGTH, count), false);
    }
    newcomers.length = kept;
  };

  private readonly message = (ws: WebSocket<ViewerData>, message: ArrayBuffer): void => {
    const data = ws.getUserData();
    const { metrics } = this.options;
    if (message.byteLength > MAX_CLIENT_MESSAGE_BYTES) {
      metrics.clientsClosedForMisuse++;
      ws.end(CloseCode.messageTooBig, 'message too big');
      return;
    }
    // Monotonic: a wall clock stepped back would never reset the budget.
    const now = performance.now();
    if (now - data.messagesSince > CLIENT_MESSAGE_WINDOW_MS) {
      data.messagesSince = now;
      data.messages = 0;
    }
    if (++data.messages > CLIENT_MESSAGE_BUDGET) {
      metrics.clientsClosedForMisuse++;
      ws.end(CloseCode.policyViolation, 'too many messages');
    }
  };

  /** The viewer's socket buffer emptied: publishes it missed meanwhile are replaced by the count now. */
  private readonly drain = (ws: WebSocket<ViewerData>): void => {
    const data = ws.getUserData();
    if (data.slot < 0 || ws.getBufferedAmount() > 0) return;
    const { slots, shown, encoder } = this.options;
    encoder.setTime(Date.now());
    data.toldCount = shown.countAt(data.slot);
    ws.send(encoder.encode(slots.idBytes, data.slot * AUCTION_ID_LENGTH, data.toldCount), false);
  };

  // Never send here: the socket is already closed.
  private readonly close = (ws: WebSocket<ViewerData>): void => {
    // Also a viewer still waiting for its lookup: the answer then finds it gone.
    this.sockets.delete(ws);
    const data = ws.getUserData();
    this.stopWaiting(data);
    if (data.slot < 0) return;
    this.options.counts.leave(data.slot);
    this.options.metrics.leaves++;
    data.slot = -1;
  };

  private stopWaiting(data: ViewerData): void {
    if (!data.lookingUp) return;
    data.lookingUp = false;
    this.waiting--;
  }

  /** A refusal decided in the upgrade: the connection opens and is ended at once. */
  private refuse(reason: RejectReason, code: number, message: string): ViewerData {
    this.options.metrics.rejected[reason]++;
    return refusal(code, message);
  }

  /** A refusal decided once the connection is open (no free slot, or after its lookup). */
  private reject(ws: WebSocket<ViewerData>, reason: RejectReason, code: number, message: string): void {
    this.options.metrics.rejected[reason]++;
    ws.end(code, message);
  }
}

function viewer(auctionId: string, visitor: number, lookingUp: boolean): ViewerData {
  return { auctionId, slot: -1, lookingUp, rejectCode: 0, rejectReason: '', toldCount: -1, messages: 0, messagesSince: performance.now(), visitor };
}

function refusal(code: number, reason: string): ViewerData {
  return { auctionId: '', slot: -1, lookingUp: false, rejectCode: code, rejectReason: reason, toldCount: -1, messages: 0, messagesSince: 0, visitor: -1 };
}
