import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '@viewer-analytics/testkit';
import { buildApp, createAuction, dropAndClose, internalKey, snapshot, testConfig, windowStart } from '../../helper.js';

/**
 * A TCP relay to the real database that can turn into a black hole: connections stay open but
 * nothing passes either way, as in a network partition or a host that froze. Unlike a killed
 * server, nothing closes the driver's sockets, and the driver has no operation deadline of its own.
 */
class BlackHoleRelay {
  blocked = false;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly upstream: { host: string; port: number }) {
    this.server = createServer((client) => {
      this.track(client);
      if (this.blocked) return; // accepted, never answered
      const server = createConnection(upstream);
      this.track(server);
      const relay = (from: Socket, to: Socket): void => {
        from.on('data', (chunk: Buffer) => {
          if (!this.blocked) to.write(chunk);
        });
        from.on('close', () => to.destroy());
        from.on('error', () => to.destroy());
      };
      relay(client, server);
      relay(server, client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

describe('a database that stops answering without closing its connections', () => {
  const uri = new URL(inject('mongoUri'));
  const relay = new BlackHoleRelay({ host: uri.hostname, port: Number(uri.port) });
  let app: FastifyInstance | undefined;

  afterAll(async () => {
    relay.blocked = false;
    if (app !== undefined) await dropAndClose(app);
    await relay.close();
  });

  it('gets 503 DATABASE_UNAVAILABLE within seconds, not a request that hangs, and recovers', { timeout: 60_000 }, async () => {
    const relayed = new URL(uri);
    relayed.host = `127.0.0.1:${String(await relay.listen())}`;
    const backend = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: relayed.toString() }));
    app = backend;
    const auctionId = await createAuction(backend);
    const post = (minutesAgo: number) =>
      backend.inject({
        method: 'POST',
        url: '/api/v1/analytics/snapshots',
        headers: internalKey,
        payload: { snapshots: [{ auctionId, ...snapshot({ timestamp: windowStart(minutesAgo) }) }] },
      });
    expect((await post(1)).statusCode).toBe(200);

    relay.blocked = true;
    const started = Date.now();
    const reply = await post(2);
    const waited = Date.now() - started;
    expect(reply.statusCode).toBe(503);
    expect(reply.json()).toMatchObject({ success: false, error: { code: 'DATABASE_UNAVAILABLE' } });
    // Noticed by the driver's heartbeat (every 2 s, 3 s to answer), then given up after 3 s more.
    expect(waited).toBeLessThan(12_000);
    expect((await backend.inject({ url: '/ready' })).statusCode).toBe(503);

    relay.blocked = false;
    await waitFor(async () => (await post(2)).statusCode === 200, 30_000, 'the backend to store again once the database answers');
  });
});
