import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // Integration tests share one engine with two cores; more parallel containers only slow each other down.
    maxWorkers: 2,
  },
});
