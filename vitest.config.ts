import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['authz/**/*.test.ts', 'operator/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts', 'cli.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
