/**
 * Reference peer: the live feed served by Socket.IO 4, following its "Memory usage" and
 * "Performance tuning" pages — the first HTTP request of each session is discarded
 * (`io.engine.on('connection', raw => { raw.request = null })`), per-message deflate is off,
 * `bufferutil` is installed for ws, the WebSocket transport only (no long-polling) — one room per
 * auction, a middleware (`io.use`) that refuses like our close codes (connect_error with
 * `data.code` 4400 / 4404 / 1013), and the same per-auction counting and 200 ms coalescing as
 * our server. A viewer names its auction in the handshake's `auth` payload
 * (`io({ auth: { auctionId } })`), Socket.IO's place for such data; the event is
 * `viewerCountUpdate` with the same JSON object as our frames. Auction existence is an
 * in-memory Set of the ids the bench created (KNOWN_AUCTIONS_FILE).
 *
 * Run: PORT=… KNOWN_AUCTIONS_FILE=… node bench/dist/peers/socketio-server.js
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { CloseCode, OBJECT_ID_PATTERN } from '@viewer-analytics/shared';
import {
  CLIENT_MESSAGE_BUDGET,
  CLIENT_MESSAGE_WINDOW_MS,
  countUpdate,
  knownAuctions,
  MAX_CLIENT_MESSAGE_BYTES,
  peerEnv,
} from './common.js';

interface ServerToClientEvents {
  viewerCountUpdate: (update: ReturnType<typeof countUpdate>) => void;
}
type ClientToServerEvents = Record<string, never>;
type InterServerEvents = Record<string, never>;
interface SocketData {
  auctionId: string;
}

const env = peerEnv();
const known = knownAuctions();
const counts = new Map<string, number>();
const lastPublished = new Map<string, number>();
const changed = new Set<string>();

const httpServer = createServer((req, res) => {
  const healthy = req.method === 'GET' && req.url === '/health';
  res.writeHead(healthy ? 200 : 404, { 'content-type': 'application/json' });
  res.end(healthy ? '{"status":"ok"}' : '{"success":false,"error":{"code":"NOT_FOUND","message":"no such route"}}');
});

const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(httpServer, {
  serveClient: false,
  transports: ['websocket'],
  perMessageDeflate: false,
  maxHttpBufferSize: MAX_CLIENT_MESSAGE_BYTES,
});

// "Memory usage": the first HTTP request of each session is kept unless discarded.
io.engine.on('connection', (rawSocket: { request: unknown }) => {
  rawSocket.request = null;
});

function refusal(code: number, message: string): Error {
  // Socket.IO's documented way to give a refused client details: `err.data` (connect_error).
  return Object.assign(new Error(message), { data: { code } });
}

io.use((socket, next) => {
  const raw: unknown = socket.handshake.auth['auctionId'];
  if (io.engine.clientsCount > env.maxConnections) {
    next(refusal(CloseCode.tryAgainLater, 'server at capacity'));
    return;
  }
  if (typeof raw !== 'string' || !OBJECT_ID_PATTERN.test(raw)) {
    next(refusal(CloseCode.malformedAuctionId, 'malformed auction id'));
    return;
  }
  const auctionId = raw.toLowerCase();
  if (!known.has(auctionId)) {
    next(refusal(CloseCode.unknownAuction, 'unknown auction'));
    return;
  }
  socket.data.auctionId = auctionId;
  next();
});

const room = (auctionId: string): string => `auction/${auctionId}`;

io.on('connection', (socket) => {
  const { auctionId } = socket.data;
  void socket.join(room(auctionId));
  const count = (counts.get(auctionId) ?? 0) + 1;
  counts.set(auctionId, count);
  socket.emit('viewerCountUpdate', countUpdate(auctionId, count));
  if (count === 1) lastPublished.set(auctionId, 1);
  else changed.add(auctionId);

  let messages = 0;
  let messagesSince = Date.now();
  socket.onAny(() => {
    const now = Date.now();
    if (now - messagesSince > CLIENT_MESSAGE_WINDOW_MS) {
      messagesSince = now;
      messages = 0;
    }
    if (++messages > CLIENT_MESSAGE_BUDGET) socket.disconnect(true);
  });
  socket.on('disconnect', () => {
    const left = (counts.get(auctionId) ?? 1) - 1;
    if (left === 0) {
      counts.delete(auctionId);
      lastPublished.delete(auctionId);
    } else {
      counts.set(auctionId, left);
      changed.add(auctionId);
    }
  });
});

/** Coalesced counts: at most one event per auction per interval, none when it did not change. */
const broadcast = setInterval(() => {
  for (const auctionId of changed) {
    const count = counts.get(auctionId);
    if (count === undefined || count === lastPublished.get(auctionId)) continue;
    lastPublished.set(auctionId, count);
    io.to(room(auctionId)).emit('viewerCountUpdate', countUpdate(auctionId, count));
  }
  changed.clear();
}, env.broadcastIntervalMs);

httpServer.listen(env.port, env.host, () => {
  process.stdout.write(`Socket.IO peer listening on ${env.host}:${env.port} (${known.size} known auctions)\n`);
});

process.once('SIGTERM', () => {
  clearInterval(broadcast);
  void io.close();
  setTimeout(() => process.exit(0), 500).unref();
});
