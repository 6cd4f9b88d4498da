import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';

/** The browser code, compiled by `tsc -b` into web/dist, and the pages' stylesheet in web/public. */
export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../web');

/** `/assets/*`: the pages' scripts and styles, and the embeddable live-count client. */
export default fp(
  async (fastify) => {
    await fastify.register(fastifyStatic, {
      root: [join(WEB_ROOT, 'dist'), join(WEB_ROOT, 'public')],
      prefix: '/assets/',
      index: false,
      // Only what a page loads: no HTML templates, no type declarations.
      allowedPath: (path) => /\.(js|js\.map|css)$/.test(path),
      cacheControl: true,
      maxAge: '5m',
    });
  },
  { name: 'static' },
);
