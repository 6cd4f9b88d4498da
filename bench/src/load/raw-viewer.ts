/**
 * A deliberately small WebSocket viewer for the load generator: one net.Socket, a fixed upgrade
 * request, and a frame reader that counts frames and bytes instead of decoding JSON. Only viewers
 * that must know the count (latency probes) read the `"count":` digits out of the frame bytes.
 *
 * The same client drives every server, so client-side costs are equal: our uWS server and the
 * `ws` peer speak the live-feed protocol (docs/websocket-protocol.md), the Socket.IO peer speaks Engine.IO v4 /
 * Socket.IO v5 over the WebSocket transport (what socket.io-client does with
 * `transports: ['websocket']`). The conformance check of every run drives the servers with the
 * official `ws` and `socket.io-client` clients too.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export type TargetKind = 'plain' | 'socketio';

export interface Target {
  readonly kind: TargetKind;
  readonly host: string;
  readonly port: number;
}

/** Callbacks shared by many viewers (no closures per connection for them). */
export interface ViewerListener {
  /** The first count arrived: the viewer is counted and subscribed. */
  joined?(viewer: RawViewer): void;
  /** A later count arrived (only for viewers created with `parseCounts`). */
  update?(viewer: RawViewer, count: number): void;
  /** The TCP connection is gone, whatever the reason. */
  closed?(viewer: RawViewer): void;
}

// RFC 6455's sample key: servers do not care that every viewer sends the same one.
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const COUNT_KEY = Buffer.from('"count":');
const CODE_KEY = Buffer.from('"code":');
/** Client frames must be masked; a zero mask leaves the payload as it is (servers accept any key). */
const CLOSE_NORMAL = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
const ENGINE_IO_PONG = Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0x33]); // text "3"

const HTTP = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

export class RawViewer {
  /** Count frames received (viewerCountUpdate, or Socket.IO events). */
  updates = 0;
  bytes = 0;
  /** Last count read (parseCounts only), -1 before the first. */
  count = -1;
  /** Close code the server sent (or Socket.IO connect_error code), 0 if none. */
  closeCode = 0;
  error: string | undefined;
  readonly startedAt: number;
  joinedAt = 0;
  closedAt = 0;
  /** Free for the owner (index of an observer, a slot number...). */
  tag = 0;

  private state = HTTP;
  private rest: Buffer | undefined;
  private closeSent = false;
  private readonly socket: Socket;

  constructor(
    readonly target: Target,
    readonly auctionId: string,
    localAddress: string,
    private readonly listener: ViewerListener,
    readonly parseCounts = false,
  ) {
    this.startedAt = performance.now();
    this.socket = connect({ host: target.host, port: target.port, localAddress, noDelay: true });
    this.socket.on('data', this.onData);
    this.socket.on('error', this.onError);
    this.socket.on('close', this.onClosed);
    this.socket.write(upgradeRequest(target, auctionId));
  }

  get joined(): boolean {
    return this.joinedAt !== 0;
  }

  get isClosed(): boolean {
    return this.state === CLOSED;
  }

  /** Leaves like a browser tab: a close frame (1000); the server answers and ends the TCP connection. */
  leave(): void {
    if (this.state === CLOSED) return;
    if (this.state === OPEN && !this.closeSent) {
      this.closeSent = true;
      this.state = CLOSING;
      this.socket.write(CLOSE_NORMAL);
    } else if (this.state === HTTP) {
      this.socket.destroy();
    }
  }

  /** Drops the TCP connection without a close handshake (safety net for stuck closes). */
  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    let offset = 0;
    if (this.state === HTTP) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 8192) this.fail('oversized HTTP response');
        else this.rest = buf;
        return;
      }
      const head = buf.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(ACCEPT)) {
        this.fail(`upgrade refused: ${head.slice(0, head.indexOf('\r\n'))}`);
        return;
      }
      this.state = OPEN;
      offset = end + 4;
    }
    while (offset < buf.length) {
      const available = buf.length - offset;
      if (available < 2) break;
      const b0 = buf[offset] ?? 0;
      const b1 = buf[offset + 1] ?? 0;
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (available < 4) break;
        length = buf.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (available < 10) break;
        length = Number(buf.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if ((b1 & 0x80) !== 0) header += 4; // servers do not mask; skip a key if one came anyway
      if (available < header + length) break;
      const start = offset + header;
      const end = start + length;
      switch (b0 & 0x0f) {
        case 0x1:
          this.onText(buf, start, end);
          break;
        case 0x8:
          this.onCloseFrame(buf, start, end);
          break;
        case 0x9:
          this.pong(buf.subarray(start, end));
          break;
        default:
          break;
      }
      offset = end;
    }
    if (offset < buf.length) this.rest = Buffer.from(buf.subarray(offset));
  };

  private onText(buf: Buffer, start: number, end: number): void {
    if (this.target.kind === 'socketio') {
      const type = buf[start];
      if (type === 0x32 /* 2: Engine.IO ping */) {
        this.socket.write(ENGINE_IO_PONG);
        return;
      }
      if (type === 0x30 /* 0: Engine.IO open */) {
        this.sendText(`40{"auctionId":"${this.auctionId}"}`);
        return;
      }
      if (type !== 0x34 /* 4: Engine.IO message */) return;
      const packet = buf[start + 1];
      if (packet === 0x34 /* 4: Socket.IO CONNECT_ERROR */) {
        this.closeCode = readNumberAfter(buf, CODE_KEY, start, end);
        this.leave();
        return;
      }
      if (packet !== 0x32 /* 2: Socket.IO EVENT */) return;
    }
    this.updates++;
    const count = this.parseCounts ? readNumberAfter(buf, COUNT_KEY, start, end) : -1;
    if (this.parseCounts) this.count = count;
    if (this.joinedAt === 0) {
      this.joinedAt = performance.now();
      this.listener.joined?.(this);
    } else if (this.parseCounts) {
      this.listener.update?.(this, count);
    }
  }

  private onCloseFrame(buf: Buffer, start: number, end: number): void {
    if (this.closeCode === 0) this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
    if (!this.closeSent) {
      // Echo the close; the server then ends the TCP connection (it closes first, so the
      // TIME_WAIT stays on its side and the generator's ephemeral ports are freed at once).
      this.closeSent = true;
      this.socket.write(CLOSE_NORMAL);
    }
    this.state = CLOSING;
  }

  private pong(payload: Buffer): void {
    if (this.state !== OPEN || payload.length > 125) return;
    const frame = Buffer.allocUnsafe(6 + payload.length);
    frame[0] = 0x8a;
    frame[1] = 0x80 | payload.length;
    frame.writeUInt32BE(0, 2);
    payload.copy(frame, 6);
    this.socket.write(frame);
  }

  private sendText(text: string): void {
    const payload = Buffer.from(text);
    if (payload.length > 125) throw new RangeError('frame too long for this client');
    const frame = Buffer.allocUnsafe(6 + payload.length);
    frame[0] = 0x81;
    frame[1] = 0x80 | payload.length;
    frame.writeUInt32BE(0, 2);
    payload.copy(frame, 6);
    this.socket.write(frame);
  }

  private fail(reason: string): void {
    this.error ??= reason;
    this.socket.destroy();
  }

  private readonly onError = (error: Error): void => {
    this.error ??= (error as NodeJS.ErrnoException).code ?? error.message;
  };

  private readonly onClosed = (): void => {
    this.state = CLOSED;
    this.closedAt = performance.now();
    this.listener.closed?.(this);
  };
}

function upgradeRequest(target: Target, auctionId: string): string {
  const path = target.kind === 'socketio' ? '/socket.io/?EIO=4&transport=websocket' : `/auctions/${auctionId}/live`;
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** The unsigned integer right after `key` within [start, end), or -1. */
function readNumberAfter(buf: Buffer, key: Buffer, start: number, end: number): number {
  const at = buf.indexOf(key, start);
  if (at < 0 || at >= end) return -1;
  let value = 0;
  let digits = 0;
  for (let i = at + key.length; i < end; i++) {
    const c = buf[i] ?? 0;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? -1 : value;
}
