import fastifyMongo from '@fastify/mongodb';
import fp from 'fastify-plugin';
import type { BackendConfig } from '../../config.js';

/**
 * While the database is away, requests fail within this (503) instead of queueing for the
 * driver's default 30 s.
 */
export const SERVER_SELECTION_TIMEOUT_MS = 3_000;

/** The native MongoDB driver, one client for the process, closed with the app. */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    await fastify.register(fastifyMongo, {
      url: config.MONGODB_URI,
      database: config.MONGODB_DATABASE,
      forceClose: true,
      // Requests get their deadline from the database-availability plugin. The socket timeout
      // only frees connections stuck on a server that stopped answering: on FerretDB a purge pass
      // scans the whole collection and takes seconds, so it is far above any legitimate reply.
      serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
      socketTimeoutMS: 120_000,
      // A server that stops answering is noticed within one heartbeat plus connectTimeoutMS.
      heartbeatFrequencyMS: 2_000,
      connectTimeoutMS: 3_000,
      appName: 'viewer-analytics-backend',
    });
  },
  { name: 'mongodb' },
);
