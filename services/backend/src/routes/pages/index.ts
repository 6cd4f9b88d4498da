import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import staticAssets, { WEB_ROOT } from '../../plugins/external/static.js';

export interface PagesOptions {
  /**
   * Socket server URL the live view connects to and the overview asks for live counts (over HTTP
   * on the same host and port); empty lets the pages use their own host on :8081.
   */
  readonly socketUrl: string;
}

const escapeAttribute = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * What browsers load: the live view (`/live/<auctionId>`), the owner's overview (`/dashboard`), the
 * auction dashboard (`/dashboard/auctions/<auctionId>`) and their `/assets/*`. Public, with no
 * guard: one HTML page each, whatever the id; the scripts read it from the path and ask the APIs,
 * which check it (and the dashboard's token).
 */
const pages: FastifyPluginAsyncTypebox<PagesOptions> = async (fastify, { socketUrl }) => {
  await fastify.register(staticAssets);

  const render = (file: string): string =>
    readFileSync(join(WEB_ROOT, 'public', file), 'utf8').replace('{{SOCKET_URL}}', escapeAttribute(socketUrl));
  const live = render('live.html');
  const dashboard = render('dashboard.html');
  const overview = render('overview.html');
  const schema = { hide: true, params: Type.Object({ auctionId: Type.String({ maxLength: 64 }) }) };

  fastify.get('/live/:auctionId', { schema }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(live));
  fastify.get('/dashboard', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(overview));
  fastify.get('/dashboard/auctions/:auctionId', { schema }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(dashboard),
  );
};

export default pages;
