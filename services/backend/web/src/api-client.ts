import type { ErrorResponse, TokenClaims } from '@viewer-analytics/shared';

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

/**
 * The token's claims, read without checking its signature: only to choose what the page offers
 * (an admin's owner filter). The API checks the token on every call.
 */
export function tokenClaims(token: string | undefined): TokenClaims | undefined {
  const payload = token?.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Partial<TokenClaims>;
    return typeof claims.sub === 'string' && typeof claims.role === 'string' ? { sub: claims.sub, role: claims.role } : undefined;
  } catch {
    return undefined;
  }
}

/** The response, or an ApiError when the backend cannot be reached or answers with an error. */
async function request(path: string, token: string | undefined, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, 'The backend cannot be reached right now. Try Refresh in a moment.');
  }
  if (response.ok) return response;
  // Not always ours: a proxy's error page may be JSON of another shape, or no JSON at all.
  const body = (await response.json().catch(() => undefined)) as Partial<ErrorResponse> | undefined;
  throw new ApiError(response.status, explain(response.status, body?.error?.message ?? ''));
}

/** What to tell people about a failed call: the API's explanation, or the error itself. */
export function errorText(error: unknown): string {
  return error instanceof ApiError ? error.message : String(error);
}

export async function api<T>(path: string, token: string | undefined, init: RequestInit = {}): Promise<T> {
  const response = await request(path, token, init);
  const body = (await response.json().catch(() => undefined)) as { data: T } | undefined;
  if (body !== undefined && 'data' in body) return body.data;
  throw new ApiError(response.status, explain(500, ''));
}

/**
 * Fetches a file with the token and hands it to the browser as a download: a plain link cannot
 * send the Authorization header, so the body goes through a Blob URL.
 */
export async function download(path: string, token: string | undefined, fallbackName: string): Promise<void> {
  const response = await request(path, token, {});
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  // The click starts the download synchronously; the URL is no longer needed after this task.
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 0);
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
