/**
 * Reference peer: the live feed (docs/websocket-protocol.md) served by `ws`, the way its README shows it — one
 * WebSocketServer in `noServer` mode behind a plain HTTP server's `upgrade` event
 * (`handleUpgrade`, then `emit('connection')`), a Set of clients per auction for broadcasts, and
 * the ping/pong heartbeat of "How to detect and close broken connections". Same counting,
 * 200 ms coalescing and close codes as our server. Auction existence is an in-memory Set of the
 * ids the bench created (KNOWN_AUCTIONS_FILE); per-message deflate is off (ws's server default).
 *
 * Run: PORT=… KNOWN_AUCTIONS_FILE=… node bench/dist/peers/ws-server.js
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode, OBJECT_ID_PATTERN } from '@viewer-analytics/shared';
import {
  CLIENT_MESSAGE_BUDGET,
  CLIENT_MESSAGE_WINDOW_MS,
  countUpdate,
  knownAuctions,
  MAX_CLIENT_MESSAGE_BYTES,
  peerEnv,
} from './common.js';

/** Per-connection state lives on the socket, as in ws's heartbeat example (`ws.isAlive`). */
interface Viewer extends WebSocket {
  isAlive: boolean;
  messages: number;
  messagesSince: number;
}

interface Auction {
  readonly viewers: Set<Viewer>;
  /** The count every viewer of the auction was last told, -1 when none. */
  lastPublished: number;
}

const HEARTBEAT_MS = 30_000;
const LIVE_PATH = /^\/auctions\/([^/]+)\/live$/;

const env = peerEnv();
const known = knownAuctions();
const auctions = new Map<string, Auction>();
const changed = new Set<string>();
let connections = 0;

const server = createServer((req, res) => {
  const healthy = req.method === 'GET' && req.url === '/health';
  res.writeHead(healthy ? 200 : 404, { 'content-type': 'application/json' });
  res.end(healthy ? '{"status":"ok"}' : '{"success":false,"error":{"code":"NOT_FOUND","message":"no such route"}}');
});
const wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: MAX_CLIENT_MESSAGE_BYTES });

/** A viewer that vanished mid-handshake or sent garbage: `close` follows, nothing else to do. */
function onSocketError(): void {
  // intentionally empty: without a listener, the error event would crash the process
}

server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
  socket.on('error', onSocketError);
  const { pathname } = new URL(request.url ?? '/', 'ws://localhost');
  const match = LIVE_PATH.exec(pathname);
  if (match === null) {
    socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    socket.destroy();
    return;
  }
  const rawId = decodeURIComponent(match[1] ?? '');
  socket.removeListener('error', onSocketError);
  wss.handleUpgrade(request, socket, head, (ws) => {
    wss.emit('connection', ws, request, rawId);
  });
});

wss.on('connection', (ws: WebSocket, _request: IncomingMessage, rawId: string) => {
  // Refusals are close codes: a browser cannot read the status of a refused upgrade.
  if (connections >= env.maxConnections) {
    ws.close(CloseCode.tryAgainLater, 'server at capacity');
    return;
  }
  if (!OBJECT_ID_PATTERN.test(rawId)) {
    ws.close(CloseCode.malformedAuctionId, 'malformed auction id');
    return;
  }
  const auctionId = rawId.toLowerCase();
  if (!known.has(auctionId)) {
    ws.close(CloseCode.unknownAuction, 'unknown auction');
    return;
  }

  const viewer = ws as Viewer;
  viewer.isAlive = true;
  viewer.messages = 0;
  viewer.messagesSince = Date.now();
  let auction = auctions.get(auctionId);
  if (auction === undefined) {
    auction = { viewers: new Set(), lastPublished: -1 };
    auctions.set(auctionId, auction);
  }
  const { viewers } = auction;
  viewers.add(viewer);
  connections++;
  const count = viewers.size;
  viewer.send(JSON.stringify(countUpdate(auctionId, count)));
  // Alone, the newcomer is everyone who needs to know; otherwise the others hear it next tick.
  if (count === 1) auction.lastPublished = 1;
  else changed.add(auctionId);

  viewer.on('pong', heartbeat);
  viewer.on('message', onMessage);
  viewer.on('error', onSocketError);
  viewer.on('close', () => {
    connections--;
    viewers.delete(viewer);
    if (viewers.size === 0) auctions.delete(auctionId);
    else changed.add(auctionId);
  });
});

function heartbeat(this: WebSocket): void {
  (this as Viewer).isAlive = true;
}

function onMessage(this: WebSocket): void {
  const viewer = this as Viewer;
  const now = Date.now();
  if (now - viewer.messagesSince > CLIENT_MESSAGE_WINDOW_MS) {
    viewer.messagesSince = now;
    viewer.messages = 0;
  }
  if (++viewer.messages > CLIENT_MESSAGE_BUDGET) viewer.close(CloseCode.policyViolation, 'too many messages');
}

/** Coalesced counts: at most one frame per auction per interval, none when it did not change. */
const broadcast = setInterval(() => {
  for (const auctionId of changed) {
    const auction = auctions.get(auctionId);
    if (auction === undefined || auction.viewers.size === auction.lastPublished) continue;
    auction.lastPublished = auction.viewers.size;
    // Encoded once per auction, then sent as a text frame to each of its viewers.
    const frame = Buffer.from(JSON.stringify(countUpdate(auctionId, auction.lastPublished)));
    for (const viewer of auction.viewers) {
      if (viewer.readyState === WebSocket.OPEN) viewer.send(frame, { binary: false });
    }
  }
  changed.clear();
}, env.broadcastIntervalMs);

const heartbeats = setInterval(() => {
  for (const auction of auctions.values()) {
    for (const viewer of auction.viewers) {
      if (!viewer.isAlive) {
        viewer.terminate();
        continue;
      }
      viewer.isAlive = false;
      viewer.ping();
    }
  }
}, HEARTBEAT_MS);

server.listen(env.port, env.host, () => {
  process.stdout.write(`ws peer listening on ${env.host}:${env.port} (${known.size} known auctions)\n`);
});

process.once('SIGTERM', () => {
  clearInterval(broadcast);
  clearInterval(heartbeats);
  for (const auction of auctions.values()) {
    for (const viewer of auction.viewers) viewer.close(CloseCode.goingAway, 'server shutting down');
  }
  server.close();
  setTimeout(() => process.exit(0), 500).unref();
});
