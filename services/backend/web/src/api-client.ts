import type { ErrorResponse } from '@viewer-analytics/shared';

const TOKEN_KEY = 'viewer-analytics:token';

/** A failed API call, with what to tell the person looking at the page. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The bearer token: handed over in the URL fragment (`#token=…`, never sent to a server),
 * kept for the tab's session, and removed from the address bar so it is not shared by accident.
 */
export function takeToken(): string | undefined {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromFragment !== null) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export async function api<T>(path: string, token: string | undefined, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, 'The backend cannot be reached right now. Try Refresh in a moment.');
  }
  const body = (await response.json().catch(() => undefined)) as { data: T } | ErrorResponse | undefined;
  if (response.ok && body !== undefined && 'data' in body) return body.data;
  throw new ApiError(response.status, explain(response.status, body !== undefined && 'error' in body ? body.error.message : ''));
}

function explain(status: number, serverMessage: string): string {
  switch (status) {
    case 401:
      return 'You are not signed in, or your token expired: open the dashboard link printed by the start command again.';
    case 403:
      return 'You are not allowed to see this auction: only its owner and admins are.';
    case 404:
      return 'This auction does not exist.';
    default:
      return status >= 500 || status === 0
        ? 'The backend is not answering properly right now. Try Refresh in a moment.'
        : `The request failed (${String(status)}): ${serverMessage}`;
  }
}
