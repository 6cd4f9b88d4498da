import { readFileSync } from 'node:fs';

/** Environment of a reference peer, with the bench's defaults. */
export function peerEnv(): { port: number; host: string; broadcastIntervalMs: number; maxConnections: number } {
  return {
    port: Number(process.env['PORT'] ?? 8091),
    host: process.env['HOST'] ?? '127.0.0.1',
    broadcastIntervalMs: Number(process.env['BROADCAST_INTERVAL_MS'] ?? 200),
    maxConnections: Number(process.env['MAX_CONNECTIONS'] ?? 19_000),
  };
}

/**
 * The auctions a socket peer accepts: the ids the bench created, one per line in
 * KNOWN_AUCTIONS_FILE, held in memory. (Our server asks the backend instead; the bench warms its
 * cache first, so that both sides answer "does it exist?" from memory while measured.)
 */
export function knownAuctions(): Set<string> {
  const file = process.env['KNOWN_AUCTIONS_FILE'];
  if (file === undefined) throw new Error('KNOWN_AUCTIONS_FILE is not set');
  return new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line !== ''),
  );
}

/** Client messages a viewer may send per window before it is closed (as our server does). */
export const CLIENT_MESSAGE_BUDGET = 10;
export const CLIENT_MESSAGE_WINDOW_MS = 10_000;
export const MAX_CLIENT_MESSAGE_BYTES = 512;

/** The live feed's frame: `{"type":"viewerCountUpdate","auctionId","count","at"}`. */
export function countUpdate(auctionId: string, count: number): { type: 'viewerCountUpdate'; auctionId: string; count: number; at: string } {
  return { type: 'viewerCountUpdate', auctionId, count, at: new Date().toISOString() };
}
