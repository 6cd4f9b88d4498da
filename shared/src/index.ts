export * from './config.js';
export * from './protocol.js';
export * from './schemas/analytics.js';
export * from './schemas/auction.js';
export * from './schemas/auth.js';
export * from './schemas/envelope.js';
export * from './schemas/ids.js';
export * from './schemas/snapshot.js';
