import { createRequire } from 'node:module';
import uWS from 'uWebSockets.js';

/**
 * The Truffle fork of uWebSockets.js falls back to a slow pure-JS implementation when its native
 * addon does not load (another Node ABI, another libc). We chose uWS for speed: refuse to run
 * on the fallback. Both the fork and upstream load `uws_<platform>_<arch>_<abi>.node`.
 */
export function assertNativeUws(): void {
  const require = createRequire(import.meta.url);
  const loaded = Object.keys(require.cache).some((path) => /uws_[^/\\]+\.node$/.test(path));
  if (!loaded) {
    throw new Error(
      `uWebSockets.js native addon did not load for Node ${process.version} (ABI ${process.versions.modules}, ` +
        `${process.platform}-${process.arch}); refusing to run on the slow fallback. ` +
        'See README.md, "uWebSockets.js", for the builds that load here.',
    );
  }
}

export default uWS;
export type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
  us_socket_context_t,
  WebSocket,
  WebSocketBehavior,
} from 'uWebSockets.js';
