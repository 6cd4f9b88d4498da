import fastifyMongo from '@fastify/mongodb';
import fp from 'fastify-plugin';
import type { BackendConfig } from '../../config.js';

/** The native MongoDB driver, one client for the process, closed with the app. */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    await fastify.register(fastifyMongo, {
      url: config.MONGODB_URI,
      database: config.MONGODB_DATABASE,
      forceClose: true,
      // While the database is away, requests fail within seconds (503) instead of queueing for
      // the driver's default 30 s. No socket timeout: on FerretDB a purge pass scans the whole
      // collection and may take minutes; a database that dies drops its connections at once.
      serverSelectionTimeoutMS: 3_000,
      connectTimeoutMS: 3_000,
      appName: 'viewer-analytics-backend',
    });
  },
  { name: 'mongodb' },
);
