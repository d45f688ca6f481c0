import { defineConfig } from 'vitest/config';

// SLIM_SKIP_INTEGRATION=1 is the one explicit way to run without an engine; otherwise
// integration tests fail with instructions when none answers.
const skipIntegration = process.env.SLIM_SKIP_INTEGRATION === '1';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000, sequence: { groupOrder: 0 } } },
      ...(skipIntegration
        ? []
        : [
            {
              test: {
                name: 'integration',
                include: ['test/integration/**/*.test.ts'],
                globalSetup: ['test/helpers/global-setup.ts'],
                testTimeout: 600_000,
                hookTimeout: 900_000,
                // One engine on two cores: more parallel containers only slow each other down.
                maxWorkers: 2,
                sequence: { groupOrder: 1 },
              },
            },
          ]),
    ],
  },
});
