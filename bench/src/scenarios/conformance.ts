/**
 * Before any load: every socket server must speak the protocol, checked with the official
 * clients (`ws` for the live feed, `socket.io-client` for the Socket.IO peer) — the newcomer's
 * count, the others' coalesced update, a leave, and the 4400 / 4404 refusals.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectId } from 'mongodb';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { SocketServerName } from '../config.js';
import type { Service } from '../lib/processes.js';

interface Update {
  readonly type?: unknown;
  readonly auctionId?: unknown;
  readonly count?: unknown;
  readonly at?: unknown;
}

/** Collects updates and lets a test wait for the next one. */
class Inbox {
  private readonly updates: Update[] = [];
  private waiter: (() => void) | undefined;

  push(update: Update): void {
    this.updates.push(update);
    this.waiter?.();
  }

  async next(timeoutMs = 2_000): Promise<Update> {
    const deadline = Date.now() + timeoutMs;
    while (this.updates.length === 0) {
      if (Date.now() > deadline) throw new Error('no update within 2 s');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    const update = this.updates.shift();
    if (update === undefined) throw new Error('unreachable');
    return update;
  }
}

/** `promise`, or a rejection naming `what` after `ms`: no check waits forever. */
function within<T>(promise: Promise<T>, what: string, ms = 3_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: nothing within ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

function check(problems: string[], ok: boolean, what: string): void {
  if (!ok) problems.push(what);
}

function checkUpdate(problems: string[], update: Update, auctionId: string, count: number, who: string): void {
  check(
    problems,
    update.type === 'viewerCountUpdate' && update.auctionId === auctionId && update.count === count && typeof update.at === 'string',
    `${who}: expected count ${count} for ${auctionId}, got ${JSON.stringify(update)}`,
  );
}

async function plainViewer(port: number, auctionId: string): Promise<{ ws: WebSocket; inbox: Inbox; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/auctions/${auctionId}/live`);
  const inbox = new Inbox();
  ws.on('message', (data: Buffer) => {
    inbox.push(JSON.parse(data.toString('utf8')) as Update);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => {
    resolve(code);
  }));
  ws.on('error', () => undefined);
  return { ws, inbox, closed };
}

async function checkPlain(port: number, auctionId: string, unknownId: string): Promise<string[]> {
  const problems: string[] = [];
  const a = await plainViewer(port, auctionId);
  checkUpdate(problems, await a.inbox.next(), auctionId, 1, 'first viewer');
  const b = await plainViewer(port, auctionId);
  checkUpdate(problems, await b.inbox.next(), auctionId, 2, 'second viewer');
  checkUpdate(problems, await a.inbox.next(), auctionId, 2, 'first viewer after a join');
  b.ws.close(1000);
  await within(b.closed, 'second viewer closing');
  checkUpdate(problems, await a.inbox.next(), auctionId, 1, 'first viewer after a leave');
  const malformed = await plainViewer(port, 'not-an-id');
  check(problems, (await within(malformed.closed, 'malformed id')) === 4400, 'malformed id: expected close 4400');
  const unknown = await plainViewer(port, unknownId);
  check(problems, (await within(unknown.closed, 'unknown auction')) === 4404, 'unknown auction: expected close 4404');
  a.ws.close(1000);
  await within(a.closed, 'first viewer closing');
  return problems;
}

function socketIoViewer(port: number, auctionId: string): { socket: Socket; inbox: Inbox; refused: Promise<unknown> } {
  const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { auctionId }, reconnection: false, forceNew: true });
  const inbox = new Inbox();
  socket.on('viewerCountUpdate', (update: Update) => {
    inbox.push(update);
  });
  const refused = new Promise<unknown>((resolve) => {
    socket.on('connect_error', (error: Error & { data?: { code?: unknown } }) => {
      resolve(error.data?.code);
    });
  });
  return { socket, inbox, refused };
}

async function checkSocketIo(port: number, auctionId: string, unknownId: string): Promise<string[]> {
  const problems: string[] = [];
  const a = socketIoViewer(port, auctionId);
  checkUpdate(problems, await a.inbox.next(), auctionId, 1, 'first viewer');
  const b = socketIoViewer(port, auctionId);
  checkUpdate(problems, await b.inbox.next(), auctionId, 2, 'second viewer');
  checkUpdate(problems, await a.inbox.next(), auctionId, 2, 'first viewer after a join');
  b.socket.disconnect();
  checkUpdate(problems, await a.inbox.next(), auctionId, 1, 'first viewer after a leave');
  const malformed = socketIoViewer(port, 'not-an-id');
  check(problems, (await within(malformed.refused, 'malformed id')) === 4400, 'malformed id: expected connect_error code 4400');
  const unknown = socketIoViewer(port, unknownId);
  check(problems, (await within(unknown.refused, 'unknown auction')) === 4404, 'unknown auction: expected connect_error code 4404');
  for (const viewer of [a, malformed, unknown]) viewer.socket.disconnect();
  await sleep(100);
  return problems;
}

/** Problems found (empty when the server conforms). */
export async function checkConformance(server: SocketServerName, service: Service, auctionId: string): Promise<string[]> {
  const unknownId = new ObjectId().toHexString();
  const run = server === 'socketio' ? checkSocketIo(service.port, auctionId, unknownId) : checkPlain(service.port, auctionId, unknownId);
  try {
    return await run;
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}
