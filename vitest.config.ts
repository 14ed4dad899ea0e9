import { defineConfig } from 'vitest/config'

// Four projects (house-style §7): pure unit tests beside the code, integration tests on loopback sockets,
// interop tests with real third-party clients, and network-namespace tests (root; DHCP broadcast, port 123).
export default defineConfig({
  test: {
    // Most files wait on sockets, child processes and real clients rather than compute: on CI's 2 cores
    // vitest's default (cores − 1 = one file at a time) left a core idle and the suite took 11 minutes.
    maxWorkers: 3,
    // Off a terminal (CI, a log), a line per finished file with how many of how many and the time so far.
    reporters: ['default', './test/helpers/progress-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{core,lab,servers,certs,phone,cli,bench}/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/{architecture,integration,scenarios,e2e,regressions,reliability}/**/*.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'netns',
          include: ['test/netns/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Namespaces are global to the machine: run these files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
})
