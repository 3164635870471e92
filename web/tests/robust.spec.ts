// The failure cases of issue 14, each against the real server: a silent file, a job with null
// fields in the list, progress reported out of order, the API down at load, plain error texts,
// checks at pick time, going offline during the upload, and a download that cannot happen.
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';

const outDir = process.env.QUACK_TEST_OUTPUT ?? path.resolve(import.meta.dirname, '..', 'test-results');
const wavPath = process.env.QUACK_E2E_WAV ?? '';
const silentPath = process.env.QUACK_E2E_SILENT_WAV ?? '';
const password = 'correct horse battery staple';

// One viewport: these are behaviours, not layouts (pages.spec.ts covers both sizes).
test.beforeEach(({}, info) => test.skip(info.project.name !== 'desktop', 'behaviour, one viewport'));

function watchErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

async function signUp(page: Page, who: string): Promise<void> {
  await page.goto('/#/signup');
  await page.getByLabel('Your name').fill(who);
  await page.getByLabel('Email').fill(`e2e-${who.toLowerCase().replace(/\W+/g, '-')}-${Date.now()}@example.test`);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Master a track' })).toBeVisible();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(outDir, 'screenshots', 'desktop', `${name}.png`), fullPage: true });
}

test('a silent file gives a result page, and the list and the reload still work', async ({ page }) => {
  const problems = watchErrors(page);
  await signUp(page, 'Silent Sam');
  await page.getByLabel('Choose an audio file…').setInputFiles(silentPath);
  await page.getByRole('button', { name: 'Upload and master' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible({ timeout: 60_000 });
  // The page did not stop half-way: the parts after the loudness table are there.
  await expect(page.locator('[data-finding="silent"]')).toBeVisible();
  await expect(page.locator('[data-metric="after-lufs"]')).toHaveText('– LUFS');
  await expect(page.getByRole('heading', { name: 'Download' })).toBeVisible();
  await expect(page.locator('#job-progress')).toHaveCount(0);
  await shot(page, '20-silent-result');
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible();
  await expect(page.locator('[data-finding="silent"]')).toBeVisible();

  // A job with every optional field null must not hide the rest of the history.
  await page.route('**/api/v1/jobs', async (route) => {
    const res = await route.fetch();
    const body = (await res.json()) as { jobs: unknown[] };
    body.jobs.push({ id: 'job_nulls', status: 'done', progress: null, stage: null, original_filename: null, settings: null, created_at: null, download: null, report: { before: null, after: { integrated_lufs: null } }, error: null });
    await route.fulfill({ response: res, json: body });
  });
  await page.goto('/#/jobs');
  await expect(page.locator('.job-item')).toHaveCount(2);
  await expect(page.locator('.job-item').first()).toContainText('e2e-silent.wav');
  await expect(page.locator('[data-job-id="job_nulls"]')).toContainText('Untitled track');
  expect(problems).toEqual([]);
});

test('progress only moves forward and gives a time estimate', async ({ page }) => {
  await signUp(page, 'Steady Progress');
  // The stages arrive out of order (verify before render), as the issue saw them.
  const event = (progress: number, stage: string): string => `event: job\ndata: ${JSON.stringify({ id: 'x', status: 'processing', progress, stage, original_filename: 'e2e-mix.wav', settings: {} })}\n\n`;
  await page.route('**/api/v1/jobs/*/events', (route) =>
    route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body: `retry: 60000\n${event(0.3, 'process')}${event(0.99, 'verify')}${event(0.6, 'render')}` }),
  );
  await page.getByLabel('Choose an audio file…').setInputFiles(wavPath);
  await page.getByRole('button', { name: 'Upload and master' }).click();
  await expect(page.locator('.stage')).toHaveText('Writing the master – 99 %');
  await expect(page.locator('#job-progress')).toHaveJSProperty('value', 99);
  await expect(page.locator('.eta')).toHaveText(/left|Estimating/);
});

test('the API down at load says so, and no sign-in form paints over it', async ({ page }) => {
  await page.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
  await page.goto('/#/signin');
  await expect(page.getByRole('heading', { level: 1, name: 'QuackTracks is not reachable right now' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('could not reach QuackTracks');
  await page.waitForTimeout(500);
  await expect(page.getByLabel('Password')).toHaveCount(0);
  await shot(page, '21-api-down');
  // Back up: "Try again" leads on to the sign-in page.
  await page.unroute('**/api/v1/**');
  await page.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
});

test('files are checked when picked; limits are stated; error texts are plain', async ({ page }) => {
  await signUp(page, 'Picky Pat');
  await expect(page.locator('#limits')).toContainText('up to 2.0 GB');
  // M4A (AAC or ALAC) is accepted at pick time.
  await page.getByLabel('Choose an audio file…').setInputFiles({ name: 'song.m4a', mimeType: 'audio/mp4', buffer: Buffer.from('not really aac') });
  await expect(page.locator('#chosen')).toContainText('song.m4a');
  await expect(page.locator('form.upload [role="alert"]')).toBeEmpty();
  // Not audio: refused at once, before any request.
  let uploads = 0;
  page.on('request', (r) => r.url().includes('/api/v1/uploads') && uploads++);
  await page.getByLabel('Choose an audio file…').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await expect(page.locator('form.upload [role="alert"]')).toContainText('is not an audio file we can master');
  await expect(page.locator('#chosen')).toHaveText('No file chosen yet.');
  expect(uploads).toBe(0);
  // The server refusing the size: one plain sentence, no byte counts, nothing said twice.
  await page.route('**/api/v1/uploads', (route) =>
    route.fulfill({ status: 413, json: { error: { code: 'payload_too_large', message: 'the file is larger than the upload limit of 2147483648 bytes' } } }),
  );
  await page.getByLabel('Choose an audio file…').setInputFiles(wavPath);
  await page.getByRole('button', { name: 'Upload and master' }).click();
  const alert = page.locator('form.upload [role="alert"]');
  await expect(alert).toHaveText('This file is larger than the upload limit. The limit is 2.0 GB.');
  await shot(page, '22-upload-too-large');
});

test('the size limit is checked at pick time', async ({ page }) => {
  // A server that announces a 1 KB limit (catalog.limits, see the report): a 6 s WAV is over.
  await page.route('**/api/v1/presets', async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, json: { ...(await res.json()), limits: { max_upload_bytes: 1024 } } });
  });
  await signUp(page, 'Size Sue');
  await expect(page.locator('#limits')).toContainText('up to 1.0 KB');
  await page.getByLabel('Choose an audio file…').setInputFiles(wavPath);
  await expect(page.locator('form.upload [role="alert"]')).toContainText('more than the 1.0 KB limit');
});

test('going offline during the upload resumes by itself when back online', async ({ page, context }) => {
  await signUp(page, 'Offline Olga');
  let puts = 0;
  // The first PUT dies with the connection; the retry goes to the real server.
  await page.route('**/blob/**', async (route) => {
    if (route.request().method() !== 'PUT') return route.continue();
    puts += 1;
    if (puts === 1) {
      await context.setOffline(true);
      return route.abort('internetdisconnected');
    }
    return route.continue();
  });
  await page.getByLabel('Choose an audio file…').setInputFiles(wavPath);
  await page.getByRole('button', { name: 'Upload and master' }).click();
  await expect(page.locator('form.upload .status')).toContainText('You are offline');
  await expect(page.locator('form.upload .status')).toContainText('starts again by itself');
  await shot(page, '23-offline-upload');
  await context.setOffline(false);
  await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible({ timeout: 60_000 });
  expect(puts).toBe(2);
});

test('a download that cannot happen says why', async ({ page, context }) => {
  await signUp(page, 'Download Dora');
  await page.getByLabel('Choose an audio file…').setInputFiles(wavPath);
  await page.getByRole('button', { name: 'Upload and master' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible({ timeout: 60_000 });
  // Offline: a message on the page, not a silently failed browser download.
  await context.setOffline(true);
  await page.getByRole('link', { name: /Download master/ }).click();
  await expect(page.locator('.download-panel [role="alert"]')).toHaveText(/You are offline/);
  await context.setOffline(false);
  // Deleted meanwhile (another tab): the page turns to the deleted state instead.
  const id = decodeURIComponent(page.url().split('/').pop() ?? '');
  await page.evaluate(async (jobId) => {
    await fetch(`/api/v1/jobs/${encodeURIComponent(jobId)}`, { method: 'DELETE', headers: { Accept: 'application/json' } });
  }, id);
  await page.getByRole('link', { name: /Download master/ }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'This master was deleted' })).toBeVisible();
  await shot(page, '24-download-gone');
  expect(fs.existsSync(outDir)).toBe(true);
});
