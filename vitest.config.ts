// Root test configuration: one run over every workspace's tests.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Machine-wide disruptions (dockerd restart) run alone afterwards: vitest.disruptive.config.ts.
    exclude: ['**/node_modules/**', 'test/disruptive/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
