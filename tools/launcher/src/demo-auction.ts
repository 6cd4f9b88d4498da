import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface ApiReply<T> {
  readonly success: boolean;
  readonly data: T;
}

/**
 * An auction with viewer analytics on, for a newcomer to watch and chart: the one from the
 * previous run when the database still has it, else a new one (its id is kept in `idFile`).
 */
export async function demoAuction(backendUrl: string, token: string, idFile: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (existsSync(idFile)) {
    const id = readFileSync(idFile, 'utf8').trim();
    const known = await fetch(`${backendUrl}/api/v1/auctions/${id}`, { headers });
    await known.body?.cancel();
    if (known.ok) return id;
  }
  const created = await fetch(`${backendUrl}/api/v1/auctions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ title: 'Demo auction' }),
  });
  if (!created.ok) throw new Error(`creating the demo auction failed: ${String(created.status)} ${await created.text()}`);
  const { data } = (await created.json()) as ApiReply<{ id: string }>;
  const enabled = await fetch(`${backendUrl}/api/v1/auctions/${data.id}/settings`, {
    method: 'PATCH',
    headers,
    body: JSON.stringify({ enableViewerAnalytics: true }),
  });
  await enabled.body?.cancel();
  if (!enabled.ok) throw new Error(`enabling analytics on the demo auction failed: ${String(enabled.status)}`);
  mkdirSync(dirname(idFile), { recursive: true });
  writeFileSync(idFile, data.id);
  return data.id;
}
