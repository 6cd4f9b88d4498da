import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Snapshot } from '@viewer-analytics/shared';
import { freePort, NodeService, waitFor } from '@viewer-analytics/testkit';
import { launchChromium } from '@viewer-analytics/testkit/chromium';
import { buildApp, internalKey, TEST_INTERNAL_API_KEY, testConfig } from '../helper.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Screenshots land here (git-ignored) for people to look at after a run. */
export const ARTIFACTS = join(REPO, 'artifacts', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export async function textOf(page: Page, selector: string, expected: string | RegExp, timeoutMs = 5_000): Promise<void> {
  const locator = page.locator(selector);
  await waitFor(
    async () => {
      const text = (await locator.textContent()) ?? '';
      return typeof expected === 'string' ? text === expected : expected.test(text);
    },
    timeoutMs,
    `${selector} to read ${String(expected)} (it reads "${(await locator.textContent().catch(() => '')) ?? ''}")`,
  );
}

/** Stores snapshots of one auction through the real ingest route (the socket server's internal API), checking every one was stored. */
export async function ingest(app: FastifyInstance, auctionId: string, snapshots: readonly Snapshot[]): Promise<void> {
  const reply = await app.inject({
    method: 'POST',
    url: '/api/v1/analytics/snapshots',
    headers: internalKey,
    payload: { snapshots: snapshots.map((snapshot) => ({ auctionId, ...snapshot })) },
  });
  expect(reply.json(), JSON.stringify(reply.json())).toMatchObject({ data: { stored: snapshots.length } });
}

/** The backend listening for real (pages and APIs) and the socket server beside it. */
export interface System {
  readonly app: FastifyInstance;
  readonly backendUrl: string;
  readonly socket: NodeService;
  /** Drops the test database and closes the backend (once). */
  stopBackend(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSystem(testFile: string): Promise<System> {
  const socketPort = await freePort();
  const app = await buildApp(testConfig(testFile, { PUBLIC_SOCKET_URL: `ws://127.0.0.1:${String(socketPort)}` }));
  const backendUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const socket = new NodeService({
    name: 'socket server',
    script: join(REPO, 'services/socket/dist/main.js'),
    healthUrl: `http://127.0.0.1:${String(socketPort)}/health`,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      SOCKET_HOST: '127.0.0.1',
      SOCKET_PORT: String(socketPort),
      BACKEND_API_URL: backendUrl,
      INTERNAL_API_KEY: TEST_INTERNAL_API_KEY,
      OUTBOX_FILE: join(mkdtempSync(join(tmpdir(), 'socket-outbox-')), 'outbox.bin'),
      LOG_LEVEL: 'warn',
    },
  });
  await socket.start();
  let backendStopped: Promise<void> | undefined;
  const stopBackend = (): Promise<void> =>
    (backendStopped ??= (async () => {
      await app.mongo.db?.dropDatabase();
      await app.close();
    })());
  return {
    app,
    backendUrl,
    socket,
    stopBackend,
    async stop() {
      await socket.stop();
      await stopBackend();
    },
  };
}

/** For a test file: the system and a Chromium, up before its tests, down after. */
export function useSystemAndBrowser(testFile: string): { readonly system: System; readonly browser: Browser } {
  let system: System | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    [system, browser] = await Promise.all([startSystem(testFile), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the system starts in beforeAll');
    return value;
  };
  return {
    get system() {
      return started(system);
    },
    get browser() {
      return started(browser);
    },
  };
}
