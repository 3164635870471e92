import { defineConfig } from '@playwright/test';
import path from 'node:path';

// Driven by run-e2e.sh, which starts the real server and exports QUACK_E2E_BASE_URL.
const out = process.env.QUACK_TEST_OUTPUT ?? path.resolve(import.meta.dirname, '..', 'test-results');

export default defineConfig({
  testDir: '.',
  testMatch: ['e2e.spec.ts', 'robust.spec.ts', 'pages.spec.ts'],
  outputDir: path.join(out, 'playwright'),
  // One worker: the machine has 2 cores shared with the server and its mastering worker.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // The whole flow includes a real mastering job; 2 min leaves room on a loaded CI machine.
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.QUACK_E2E_BASE_URL,
    acceptDownloads: true,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium; Playwright's own browser downloads are disabled (no autoplay flag:
      // the A/B player must work from a real click).
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    },
  },
  projects: [
    { name: 'desktop', use: { viewport: { width: 1280, height: 800 } } },
    {
      name: 'phone',
      use: { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
    },
  ],
});
