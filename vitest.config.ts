import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One config for the whole workspace: every package keeps its tests in test/.
    include: ['{shared,services/*,tools/*,bench}/test/**/*.test.ts'],
    globalSetup: ['./vitest.global-setup.ts'],
    // Tests run real servers and a real database: no fake timers of the network kind here.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
