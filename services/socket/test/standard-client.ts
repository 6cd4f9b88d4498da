import { WebSocket as StandardWebSocket } from 'undici';

export interface StandardClose {
  readonly code: number;
  readonly reason: string;
  /** From the constructor to the `close` event: when a browser's page would learn of it. */
  readonly ms: number;
}

/**
 * Connects with the standard WebSocket client (undici's: the global `WebSocket` of Node 22, behind
 * a flag in Node 20), which, like browsers, reports `close` only once the TCP connection is closed.
 * `whenOpen` runs if the connection opens (to send something); resolves with how it ended.
 */
export function standardClose(url: string, whenOpen?: (socket: StandardWebSocket) => void): Promise<StandardClose> {
  const started = performance.now();
  const socket = new StandardWebSocket(url);
  return new Promise((resolve) => {
    socket.addEventListener('open', () => whenOpen?.(socket));
    socket.addEventListener('close', (event) => {
      resolve({ code: event.code, reason: event.reason, ms: performance.now() - started });
    });
  });
}
