/** What each socket process holds: its viewers (from its hash in Redis) and its RSS after a full GC. */
import { setTimeout as sleep } from 'node:timers/promises';
import { collectGarbage } from '../lib/inspector-gc.js';
import { sampleProcess } from '../lib/proc.js';
import type { RespClient } from '../lib/resp.js';
import { KEY_PREFIX, type ClusterStack } from './stack.js';

/** Each process's viewers: the sum of the auction fields of its hash. */
export async function connectionsPerProcess(admin: RespClient, stack: ClusterStack): Promise<number[]> {
  const replies = await admin.pipeline(stack.sockets.map((socket) => ['HGETALL', `${KEY_PREFIX}counts:${socket.processId}`]));
  return replies.map((reply) => {
    if (!Array.isArray(reply)) return 0;
    let total = 0;
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const field = reply[i];
      const value = reply[i + 1];
      // Fields are auction ids (24 hex) plus epoch and seq.
      if (Buffer.isBuffer(field) && field.length === 24 && Buffer.isBuffer(value)) total += Number(value.toString('latin1'));
    }
    return total;
  });
}

/**
 * Each process's RSS after a full garbage collection (through its inspector): V8 keeps up to tens
 * of MiB of garbage and unshrunk heap between collections, as much as 10,000 connections take, so
 * RSS read at a random moment compares heaps, not connections.
 */
export async function rssAfterCollection(stack: ClusterStack): Promise<number[]> {
  await Promise.all(stack.sockets.map((socket) => collectGarbage(socket.inspectPort)));
  await sleep(500); // freed pages leave RSS once the collector's threads have returned them
  return stack.sockets.map((socket) => sampleProcess(socket.service.pid)?.rssBytes ?? Number.NaN);
}
