/** Where the socket server is: the backend names it in a meta tag, else the page's host on :8081. */
export function socketUrl(): string {
  const configured = document.querySelector<HTMLMetaElement>('meta[name="socket-url"]')?.content ?? '';
  if (configured !== '') return configured;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:8081`;
}

/** The socket server's HTTP origin (its `GET /counts`): the socket URL's host, ws → http, wss → https. */
export function socketHttpOrigin(): string {
  const url = new URL(socketUrl());
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}

/** The auction id: the last path segment of /live/<id> and /dashboard/auctions/<id>. */
export function auctionIdFromPath(): string {
  return decodeURIComponent(location.pathname.split('/').filter(Boolean).at(-1) ?? '');
}
