import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, inject } from 'vitest';
import { testDatabaseName } from '@viewer-analytics/devdb';
import { freePort, NodeService, waitFor } from '@viewer-analytics/testkit';
import { VIEWER_ANALYTICS_COLLECTION, type SnapshotDocument, type ViewerCountUpdate } from '@viewer-analytics/shared';
export type { SnapshotDocument };
import { loadConfig, type SocketConfig } from '../src/config.js';
import { startSocketServer, type SocketServer } from '../src/socket-server.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export { freePort, waitFor } from '@viewer-analytics/testkit';
export const INTERNAL_API_KEY = 'socket-test-internal-key-0123456789';

/** A test file's database: its own name on the run's server, dropped at the end. */
export class TestDatabase {
  readonly name: string;
  readonly client: MongoClient;
  readonly db: Db;

  constructor(testFile: string) {
    this.name = testDatabaseName(testFile);
    this.client = new MongoClient(inject('mongoUri'));
    this.db = this.client.db(this.name);
  }

  async createAuction(enableViewerAnalytics = true): Promise<string> {
    const now = new Date();
    const { insertedId } = await this.db
      .collection('auctions')
      .insertOne({ title: 'Test auction', ownerId: 'owner-1', enableViewerAnalytics, createdAt: now, updatedAt: now });
    return insertedId.toHexString();
  }

  snapshots(auctionId: string): Promise<SnapshotDocument[]> {
    return this.db
      .collection<SnapshotDocument>(VIEWER_ANALYTICS_COLLECTION)
      .find({ auction: new ObjectId(auctionId) })
      .sort({ timestamp: 1 })
      .toArray();
  }

  async close(): Promise<void> {
    await this.db.dropDatabase();
    await this.client.close();
  }
}

/** The real backend, built by `tsc -b`, as a child process on a fixed port (so it can restart). */
export class BackendProcess extends NodeService {
  readonly url: string;

  constructor(
    readonly port: number,
    database: string,
    overrides: NodeJS.ProcessEnv = {},
  ) {
    super({
      name: 'backend',
      script: join(REPO, 'services/backend/dist/server.js'),
      healthUrl: `http://127.0.0.1:${port}/health`,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        BACKEND_HOST: '127.0.0.1',
        BACKEND_PORT: String(port),
        MONGODB_URI: inject('mongoUri'),
        MONGODB_DATABASE: database,
        INTERNAL_API_KEY,
        JWT_SECRET: 'socket-test-jwt-secret-0123456789abcdef',
        LOG_LEVEL: 'warn',
        ...overrides,
      },
    });
    this.url = `http://127.0.0.1:${port}`;
  }
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

const socketProcesses = new Set<SocketProcess>();

/** For `afterEach`: a test that failed half-way must not leave a socket server sending to a reused port. */
export async function stopSocketProcesses(): Promise<void> {
  await Promise.all([...socketProcesses].map((service) => service.stop('SIGKILL')));
  socketProcesses.clear();
}

/** The socket server built by `tsc -b` as a child process on a fixed port, its JSON log kept. */
export class SocketProcess extends NodeService {
  readonly url: string;

  constructor(
    readonly port: number,
    backendUrl: string,
    overrides: NodeJS.ProcessEnv = {},
  ) {
    super({
      name: 'socket server',
      script: join(REPO, 'services/socket/dist/main.js'),
      healthUrl: `http://127.0.0.1:${port}/health`,
      captureOutput: true,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        SOCKET_HOST: '127.0.0.1',
        SOCKET_PORT: String(port),
        BACKEND_API_URL: backendUrl,
        INTERNAL_API_KEY,
        // Never the default in the working tree: another run's snapshots would be sent here.
        OUTBOX_FILE: temporaryOutboxFile(),
        LOG_LEVEL: 'info',
        ...overrides,
      },
    });
    this.url = `ws://127.0.0.1:${port}`;
    socketProcesses.add(this);
  }

  /** Its log lines, parsed; other output (none is expected) is kept as a message. */
  get logs(): LogLine[] {
    return this.output
      .filter((line) => line.length > 0)
      .map((line) => {
        try {
          return JSON.parse(line) as LogLine;
        } catch {
          return { level: 60, msg: line };
        }
      });
  }

  /** Lines at warn level (40) and above. */
  get problems(): LogLine[] {
    return this.logs.filter((line) => line.level >= 40);
  }
}

/** An outbox file path of its own, in a new temporary folder. */
export function temporaryOutboxFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'socket-outbox-')), 'outbox.bin');
}

export function socketConfig(backendUrl: string, overrides: NodeJS.ProcessEnv = {}): SocketConfig {
  return loadConfig({
    NODE_ENV: 'test',
    SOCKET_HOST: '127.0.0.1',
    SOCKET_PORT: '0',
    BACKEND_API_URL: backendUrl,
    INTERNAL_API_KEY,
    OUTBOX_FILE: temporaryOutboxFile(),
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

/**
 * The window variables of a socket server's environment, for its backend: the backend refuses
 * snapshots whose timestamps do not start one of its windows.
 */
export function windowEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { SAMPLE_INTERVAL_MS: env['SAMPLE_INTERVAL_MS'], SAMPLES_PER_SNAPSHOT: env['SAMPLES_PER_SNAPSHOT'] };
}

export type InProcessServer = SocketServer & { readonly url: string };

/** The socket server in this process: a real uWS listener on a free port. */
export async function startInProcess(config: SocketConfig): Promise<InProcessServer> {
  const server = await startSocketServer(config, pino({ level: config.LOG_LEVEL }));
  return Object.assign(server, { url: `ws://127.0.0.1:${server.port}` });
}

/** A part of a test stack, which exists once its beforeAll has run. */
export function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the stack starts in beforeAll');
  return value;
}

export interface SocketStack {
  readonly database: TestDatabase;
  readonly backend: BackendProcess;
  readonly server: InProcessServer;
}

/** For a test file: its database, the real backend on it and a socket server, up before its tests, down after. */
export function useSocketStack(testFile: string, overrides: NodeJS.ProcessEnv = {}): SocketStack {
  const database = new TestDatabase(testFile);
  let backend: BackendProcess | undefined;
  let server: InProcessServer | undefined;
  beforeAll(async () => {
    backend = new BackendProcess(await freePort(), database.name, windowEnv(overrides));
    await backend.start();
    server = await startInProcess(socketConfig(backend.url, overrides));
  });
  afterAll(async () => {
    await server?.shutdown();
    await backend?.stop();
    await database.close();
  });
  return {
    database,
    get backend() {
      return started(backend);
    },
    get server() {
      return started(server);
    },
  };
}

/** A browser-like viewer: every viewerCountUpdate it got, and how its connection ended. */
export class Viewer {
  readonly updates: ViewerCountUpdate[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** How the connection ended, once it has: failed waits name it. */
  private ending: string | undefined;

  /** `headers`: what a browser would send with the upgrade, e.g. its User-Agent. */
  constructor(url: string, headers?: Record<string, string>) {
    this.socket = new WebSocket(url, headers === undefined ? undefined : { headers });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => {
        resolve();
      });
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code, reason) => {
        this.ending = `closed ${String(code)} ${reason.toString()}`;
        resolve({ code, reason: reason.toString() });
      });
    });
    this.socket.on('message', (data: Buffer) => {
      this.updates.push(JSON.parse(data.toString()) as ViewerCountUpdate);
    });
  }

  get count(): number | undefined {
    return this.updates.at(-1)?.count;
  }

  async sees(count: number, timeoutMs = 2_000): Promise<void> {
    await waitFor(() => this.count === count, timeoutMs, () => `count ${count} (last seen ${String(this.count)}; ${this.ending ?? 'still open'})`);
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}

/** One unlabelled sample of the server's /metrics; NaN when it has none. */
export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(match?.[1] ?? Number.NaN);
}

export function liveUrl(server: { url: string }, auctionId: string): string {
  return `${server.url}/auctions/${auctionId}/live`;
}
