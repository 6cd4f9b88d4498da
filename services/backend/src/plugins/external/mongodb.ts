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
      // Fail requests fast instead of queueing them for 30 s while the database is away.
      serverSelectionTimeoutMS: 5_000,
      appName: 'viewer-analytics-backend',
    });
  },
  { name: 'mongodb' },
);
