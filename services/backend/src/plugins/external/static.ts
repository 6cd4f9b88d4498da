import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';

/** The browser code, compiled by `tsc -b` into web/dist, and the pages' stylesheet in web/public. */
export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../web');

/** Where the pages load uPlot from: its ESM build and stylesheet, as installed, with no bundler. */
const UPLOT_PREFIX = '/assets/vendor/uplot/';
const UPLOT_FILES = new Set(['/uPlot.esm.js', '/uPlot.min.css']);
// The package has no `exports`, so this is its `main` (dist/uPlot.cjs.js): the files sit beside it.
const UPLOT_ROOT = dirname(fileURLToPath(import.meta.resolve('uplot')));

/** `/assets/*`: the pages' scripts and styles, the embeddable live-count client, and uPlot. */
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
    await fastify.register(fastifyStatic, {
      root: UPLOT_ROOT,
      prefix: UPLOT_PREFIX,
      index: false,
      // The second registration: the first one already gave replies sendFile().
      decorateReply: false,
      allowedPath: (path) => UPLOT_FILES.has(path),
      cacheControl: true,
      maxAge: '5m',
    });
  },
  { name: 'static' },
);
