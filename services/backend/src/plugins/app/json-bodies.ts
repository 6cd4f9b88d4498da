import fp from 'fastify-plugin';

/**
 * The API speaks JSON only. Fastify also parses text/plain by default, which would turn a wrong
 * Content-Type into a confusing validation error; without that parser it is a 415.
 */
export default fp(
  async (fastify) => {
    fastify.removeContentTypeParser('text/plain');
  },
  { name: 'json-bodies' },
);
