import fp from 'fastify-plugin';
import type { BackendConfig } from '../../config.js';

const DAY_SECONDS = 86_400;

/**
 * Keeps snapshots RETENTION_DAYS, and the hour marks and copies made of them as long as they: TTL
 * indexes where the server has them; elsewhere (FerretDB 1.x) a purge when the app is ready and
 * every RETENTION_PURGE_INTERVAL_MS until it closes.
 */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    const retentionMs = config.RETENTION_DAYS * DAY_SECONDS * 1000;
    const index = await fastify.viewerAnalytics.ensureRetentionIndex(retentionMs / 1000);
    // The marks' index on `at` also serves their reads since the last one; the same server, so the same kind.
    const hoursIndex = await fastify.viewerHours.ensureRetention();
    if (index === 'ttl' && hoursIndex === 'ttl') return;

    fastify.log.info(
      { retentionDays: config.RETENTION_DAYS, intervalMs: config.RETENTION_PURGE_INTERVAL_MS },
      'the database rejects TTL indexes: purging snapshots past retention periodically instead',
    );

    async function purgeOnce(): Promise<void> {
      try {
        const deleted = index === 'ttl' ? 0 : await fastify.viewerAnalytics.purgeCreatedBefore(new Date(Date.now() - retentionMs));
        const hoursDeleted = hoursIndex === 'ttl' ? 0 : await fastify.viewerHours.purgeExpired();
        if (deleted > 0 || hoursDeleted > 0) fastify.log.info({ deleted, hoursDeleted }, 'purged snapshots past retention');
      } catch (err) {
        fastify.log.warn({ err }, 'purging snapshots past retention failed; retrying at the next interval');
      }
    }
    // At most one purge at a time: on a slow database, ticks during a purge are skipped, not queued.
    let inFlight: Promise<void> | undefined;
    function purge(): void {
      inFlight ??= purgeOnce().finally(() => {
        inFlight = undefined;
      });
    }

    let timer: NodeJS.Timeout | undefined;
    fastify.addHook('onReady', async () => {
      purge();
      timer = setInterval(purge, config.RETENTION_PURGE_INTERVAL_MS);
    });
    fastify.addHook('onClose', async () => {
      clearInterval(timer);
      await inFlight;
    });
  },
  { name: 'retention', dependencies: ['viewer-analytics-repository', 'viewer-hours'] },
);
