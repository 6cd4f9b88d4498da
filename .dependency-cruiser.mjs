// The layering `pnpm run lint` checks (scripts/test.sh runs it): no import cycles, tests that
// reach other packages only by their package name, and imports that go with the flow.
const PACKAGE = '(shared|bench|services/[^/]+|tools/[^/]+)';
const SOCKET = '^services/socket/src/';
const BACKEND = '^services/backend/src/';

/** A socket-server folder that must not import the folders upstream of it in the flow. */
function socketLayer(name, from, upstream) {
  return {
    name: `socket-flow-${name}`,
    comment:
      'The socket server flows viewers → auctions → broadcast/sampling → delivery → backend client; ' +
      'auctions and encoding are the ground the others stand on. A folder never imports one upstream of it.',
    severity: 'error',
    from: { path: `${SOCKET}(${from})/` },
    to: { path: `${SOCKET}(${upstream})/` },
  };
}

export default {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle, type-only ones included: split the shared part into a module of its own.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'tests-use-other-packages-by-name',
      comment: "A test imports its own package's sources, and other packages only by their package name (what they export).",
      severity: 'error',
      from: { path: `^${PACKAGE}/test/` },
      to: { path: `^${PACKAGE}/`, pathNot: '^$1/' },
    },
    {
      name: 'sources-use-other-packages-by-name',
      comment: "A package's sources reach other packages only by their package name (what they export).",
      severity: 'error',
      from: { path: `^${PACKAGE}/src/` },
      to: { path: `^${PACKAGE}/`, pathNot: '^$1/' },
    },
    socketLayer('ground', 'auctions|encoding', 'viewers|broadcast|sampling|delivery|backend|http'),
    socketLayer('backend-client', 'backend', 'viewers|auctions|broadcast|sampling|delivery|http'),
    socketLayer('delivery', 'delivery', 'viewers|broadcast|sampling|http'),
    socketLayer('broadcast-sampling', 'broadcast|sampling', 'viewers|http'),
    {
      name: 'socket-composition-root',
      comment: 'socket-server.ts and main.ts put the parts together; no part imports them.',
      severity: 'error',
      from: { path: SOCKET, pathNot: '/main\\.ts$' },
      to: { path: `${SOCKET}(socket-server|main)\\.ts$` },
    },
    {
      name: 'backend-route-imports-route',
      comment: "A route file never imports another route file; a group's index registers its own routes.",
      severity: 'error',
      from: { path: `${BACKEND}routes/`, pathNot: '/index\\.ts$' },
      to: { path: `${BACKEND}routes/` },
    },
    {
      name: 'backend-plugin-imports-route',
      comment: 'Plugins decorate the app for the routes; they never import a route.',
      severity: 'error',
      from: { path: `${BACKEND}plugins/` },
      to: { path: `${BACKEND}routes/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Built output is not source; what a package imports by name still shows, unfollowed.
    exclude: { path: `^${PACKAGE}/dist/` },
    // Workspace packages stay under node_modules by name (not their real folder), so that an
    // import by package name is told apart from a relative path into another package.
    preserveSymlinks: true,
    // Type-only imports count: a cycle of types is a cycle all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.d.ts'],
    },
  },
};
