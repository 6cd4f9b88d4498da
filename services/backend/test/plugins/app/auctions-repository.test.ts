import type { FastifyInstance } from 'fastify';
import { ObjectId, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BatchOutcome } from '@viewer-analytics/shared';
import { buildApp, createAuction, dropAndClose, internalKey, snapshot, testConfig, windowStart } from '../../helper.js';

/** The run's database, with every command of this client reported (to count what a request reads). */
function monitoredUri(): string {
  const uri = new URL(inject('mongoUri'));
  uri.searchParams.set('monitorCommands', 'true');
  return uri.toString();
}

describe('analytics settings read by the ingest: remembered, yet exact across backend instances', () => {
  let ingesting: FastifyInstance;
  let toggling: FastifyInstance;
  const commands: CommandStartedEvent[] = [];

  beforeAll(async () => {
    // Two instances of the backend on one database, as behind a load balancer.
    toggling = await buildApp(testConfig(import.meta.filename));
    ingesting = await buildApp(testConfig(import.meta.filename, { MONGODB_URI: monitoredUri(), MONGODB_DATABASE: toggling.mongo.db?.databaseName }));
    ingesting.mongo.client.on('commandStarted', (event) => commands.push(event));
  });
  afterAll(async () => {
    await ingesting.close();
    await dropAndClose(toggling);
  });

  const ingest = async (auctionIds: readonly string[], minutesAgo: number): Promise<BatchOutcome> => {
    const reply = await ingesting.inject({
      method: 'POST',
      url: '/api/v1/analytics/snapshots',
      headers: internalKey,
      payload: { snapshots: auctionIds.map((auctionId) => ({ auctionId, ...snapshot({ timestamp: windowStart(minutesAgo) }) })) },
    });
    expect(reply.statusCode).toBe(200);
    return reply.json<{ data: BatchOutcome }>().data;
  };
  const reads = (collection: string): number =>
    commands.filter((event) => event.commandName === 'find' && event.command['find'] === collection).length;

  it('reads each auction once, then only the settings generation, by _id', async () => {
    const auctionIds = await Promise.all(Array.from({ length: 40 }, () => createAuction(toggling)));
    expect(await ingest(auctionIds, 10)).toMatchObject({ stored: 40 });
    commands.length = 0;
    expect(await ingest(auctionIds, 9)).toMatchObject({ stored: 40 });
    expect(reads('auctions')).toBe(0);
    expect(reads('settingsgeneration')).toBe(1);
    const generationRead = commands.find((event) => event.command['find'] === 'settingsgeneration');
    expect(generationRead?.command['filter']).toEqual({ _id: 'generation' });
  });

  it('applies a change made through another instance to every snapshot that arrives after it returned', async () => {
    const auctionId = await createAuction(toggling);
    const other = await createAuction(toggling);
    expect(await ingest([auctionId, other], 8)).toMatchObject({ stored: 2, disabled: 0 });

    const off = await toggling.auctions.setViewerAnalytics(new ObjectId(auctionId), false);
    expect(off?.enableViewerAnalytics).toBe(false);
    expect(await ingest([auctionId, other], 7)).toMatchObject({ stored: 1, disabled: 1 });

    await toggling.auctions.setViewerAnalytics(new ObjectId(auctionId), true);
    expect(await ingest([auctionId, other], 6)).toMatchObject({ stored: 2, disabled: 0 });
  });

  it('answers auctions that do not exist as unknown every time, and remembers none of them', async () => {
    const missing = '0123456789abcdef01234567';
    expect(await ingest([missing], 5)).toMatchObject({ unknown: 1 });
    commands.length = 0;
    expect(await ingest([missing], 4)).toMatchObject({ unknown: 1 });
    expect(reads('auctions')).toBe(1);
  });
});
