// The visitor's pages at desktop and phone size: landing (with the engine's real example),
// help, privacy, 404 (hash and path), and the phone menu.
import { expect, test, type Page } from '@playwright/test';
import path from 'node:path';

const outDir = process.env.QUACK_TEST_OUTPUT ?? path.resolve(import.meta.dirname, '..', 'test-results');
async function shot(page: Page, project: string, name: string): Promise<void> {
  await page.screenshot({ path: path.join(outDir, 'screenshots', project, `${name}.png`), fullPage: true });
}
async function noSideScroll(page: Page): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
}

test('landing, help, privacy and 404 pages', async ({ page }, info) => {
  const project = info.project.name;
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text()) && problems.push(m.text()));
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: /mastered to the exact loudness/ })).toBeVisible();
  // The example's numbers come from the engine's committed report: -14 LUFS after.
  await expect(page.locator('.example-numbers')).toContainText('→ −14.0 LUFS');
  await expect(page.locator('.example .finding').first()).toBeVisible();
  await page.getByRole('button', { name: 'Play the example' }).click();
  await expect(page.locator('.example .player')).toHaveAttribute('data-state', 'playing', { timeout: 15_000 });
  await page.getByLabel('Before (A)').check();
  await expect(page.locator('.example .player')).toHaveAttribute('data-side', 'original');
  await page.getByRole('button', { name: 'Pause' }).click();
  await noSideScroll(page);
  await shot(page, project, '00-landing');

  if (project === 'phone') {
    const menu = page.getByRole('button', { name: 'Menu' });
    await expect(menu).toHaveAttribute('aria-expanded', 'false');
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Help' })).toBeHidden();
    await menu.click();
    await expect(menu).toHaveAttribute('aria-expanded', 'true');
    await shot(page, project, '00b-menu');
    await page.keyboard.press('Escape');
    await expect(menu).toHaveAttribute('aria-expanded', 'false');
    await menu.click();
  }
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Help' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Help' })).toBeVisible();
  await page.getByRole('link', { name: 'Loudness, LUFS and true peak' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Loudness, LUFS and true peak' })).toBeVisible();
  await shot(page, project, '12-help-loudness');
  await page.goto('/#/help/report');
  await expect(page.getByRole('heading', { level: 1, name: 'What the result page means' })).toBeVisible();

  await page.getByRole('link', { name: 'Privacy policy' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Privacy policy' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2, name: /Our Commitment to Privacy/ })).toBeVisible();
  await noSideScroll(page);
  await shot(page, project, '13-privacy');

  await page.goto('/#/no-such-page');
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await page.goto('/no/such/path');
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await shot(page, project, '14-not-found');
  expect(problems).toEqual([]);
});
