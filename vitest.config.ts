import { defineConfig } from 'vitest/config'

// Four projects (house-style §7): pure unit tests beside the code, integration tests on loopback sockets,
// interop tests with real third-party clients, and network-namespace tests (root; DHCP broadcast, port 123).
export default defineConfig({
  test: {
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
