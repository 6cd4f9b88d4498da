/**
 * Whether one given process listens on a TCP port. Processes that share a port (SO_REUSEPORT)
 * answer its health URL in turn, so only the kernel's tables tell that each of them listens.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
/** The `st` column of a listening socket in /proc/net/tcp. */
const LISTEN = '0A';

/** Linux only: elsewhere there is no /proc to read, and the caller falls back on its health URL. */
export function canTellListeners(): boolean {
  return existsSync(TABLES[0] ?? '');
}

/** True when process `pid` holds a socket listening on TCP `port` (any address, IPv4 or IPv6). */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const table of TABLES) {
    if (!existsSync(table)) continue;
    // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const localPort = fields[1]?.split(':')[1];
      if (fields[3] === LISTEN && localPort !== undefined && Number.parseInt(localPort, 16) === port && fields[9] !== undefined) {
        inodes.add(`socket:[${fields[9]}]`);
      }
    }
  }
  if (inodes.size === 0) return false;
  let descriptors: string[];
  try {
    descriptors = readdirSync(`/proc/${String(pid)}/fd`);
  } catch {
    return false; // gone already
  }
  return descriptors.some((fd) => {
    try {
      return inodes.has(readlinkSync(`/proc/${String(pid)}/fd/${fd}`));
    } catch {
      return false; // closed meanwhile
    }
  });
}

/**
 * True when process `pid` serves on `port`: it listens there (Linux), or, where the kernel's
 * tables cannot be read, someone answers `healthUrl` (then every process counts once one does).
 */
export async function servesOn(pid: number, port: number, healthUrl: string): Promise<boolean> {
  if (canTellListeners()) return listensOn(pid, port);
  const response = await fetch(healthUrl).catch(() => undefined);
  await response?.body?.cancel();
  return response?.ok === true;
}
