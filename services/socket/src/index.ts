export { loadConfig, windowMs, type SocketConfig } from './config.js';
export { startSocketServer, type SocketServer } from './socket-server.js';
