// The whole user flow in Debian's Chromium against the real `quacktracks serve` (started by
// run-e2e.sh): sign up, upload, master with the real engine, read the result, A/B, download,
// list, delete (phone), sign out and back in. Screenshots go to $QUACK_TEST_OUTPUT/screenshots.
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';

const outDir = process.env.QUACK_TEST_OUTPUT ?? path.resolve(import.meta.dirname, '..', 'test-results');
const wavPath = process.env.QUACK_E2E_WAV ?? '';
const badPath = process.env.QUACK_E2E_BAD_WAV ?? '';
const password = 'correct horse battery staple';

/** "−14.0 LUFS" -> -14.0 (the UI uses U+2212 MINUS SIGN). */
function parseShown(text: string): number {
  const m = /([+\u2212-]?\d+(?:\.\d+)?)/.exec(text.replace(/\u2212/g, '-'));
  if (!m?.[1]) throw new Error(`no number in "${text}"`);
  return Number(m[1]);
}

/** Opens the phone menu first when the navigation is folded. */
export async function navLink(page: Page, name: string): Promise<void> {
  const menu = page.locator('#menu-button');
  if (await menu.isVisible()) {
    if ((await menu.getAttribute('aria-expanded')) !== 'true') await menu.click();
  }
  await page.getByRole('navigation', { name: 'Main' }).getByRole(name === 'Sign out' ? 'button' : 'link', { name, exact: true }).click();
}

async function shot(page: Page, project: string, name: string): Promise<void> {
  const file = path.join(outDir, 'screenshots', project, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

/** Every visible form control must have an accessible name (label, aria-label or text). */
async function expectLabelledControls(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() => {
    const bad: string[] = [];
    for (const el of Array.from(document.querySelectorAll('input, select, textarea, button'))) {
      const c = el as HTMLInputElement;
      if (c.type === 'hidden') continue;
      const named =
        (c.labels && c.labels.length > 0) ||
        c.getAttribute('aria-label') ||
        c.getAttribute('aria-labelledby') ||
        (c.tagName === 'BUTTON' && (c.textContent ?? '').trim() !== '');
      if (!named) bad.push(c.outerHTML.slice(0, 120));
    }
    return bad;
  });
  expect(unlabelled).toEqual([]);
}

/** Nothing may force sideways scrolling, down to a 375 px phone. */
async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
}

test('whole flow: sign up, master, compare, download, list, sign out and in', async ({ page }, info) => {
  expect(wavPath, 'QUACK_E2E_WAV must name the input WAV').not.toBe('');
  const project = info.project.name;
  const phone = project === 'phone';
  const email = `e2e-${project}-${Date.now()}@example.test`;
  // The phone run uses another preset and format so both code paths meet the real engine.
  const preset = phone ? { id: 'podcast', label: /^Podcast/, targetLufs: -16 } : { id: 'streaming', label: /^Streaming/, targetLufs: -14 };
  const format = phone ? { id: 'flac24', magic: 'fLaC' } : { id: 'wav24', magic: 'RIFF' };

  // CSP violations and script errors fail the test: the server's policy is default-src 'self'.
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });

  await test.step('sign up', async () => {
    await page.goto('/#/signin');
    await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
    await shot(page, project, '01-sign-in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Create your account' })).toBeVisible();
    // Focus moves to the new view's heading.
    await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
    await page.getByLabel('Your name').fill('Dana Duck');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await shot(page, project, '02-sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Master a track' })).toBeVisible();
    // On a phone the navigation is folded behind the menu button.
    await expect(page.locator('#site-nav')).toContainText('Dana Duck');
  });

  await test.step('choose a file (drop and file input) and settings', async () => {
    await expect(page.getByText('your original is deleted as soon as mastering finishes')).toBeVisible();
    // Keyboard: focus is on the heading after the view change; the next Tab reaches the file
    // picker of the drop zone.
    await expect(page.getByRole('heading', { level: 1, name: 'Master a track' })).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Choose an audio file…')).toBeFocused();
    // A synthetic drop carries a File the same way a real drag from the desktop does.
    const bytes = fs.readFileSync(wavPath).toString('base64');
    const dataTransfer = await page.evaluateHandle((b64) => {
      const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([raw], 'dropped-mix.wav', { type: 'audio/wav' }));
      return dt;
    }, bytes);
    await page.dispatchEvent('#dropzone', 'dragover', { dataTransfer });
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
    await expect(page.locator('#chosen')).toContainText('dropped-mix.wav');
    // The file input (keyboard path) replaces the choice.
    await page.getByLabel('Choose an audio file…').setInputFiles(wavPath);
    await expect(page.locator('#chosen')).toContainText(path.basename(wavPath));

    await page.getByRole('radio', { name: preset.label }).check();
    await expect(page.getByRole('radio', { name: preset.label })).toBeChecked();
    await page.getByLabel('File format of the master').selectOption(format.id);
    await expect(page.locator('#format-help')).not.toBeEmpty();
    await expectLabelledControls(page);
    await expectNoHorizontalScroll(page);
    await shot(page, project, '03-upload-form');
  });

  let jobUrl = '';
  await test.step('upload and watch progress', async () => {
    // Record what the progress bars show; a job on a short file can finish within a second,
    // so the page is watched from inside rather than by polling from the test.
    await page.evaluate(() => {
      const w = window as unknown as { progressLog: string[] };
      w.progressLog = [];
      new MutationObserver(() => {
        for (const id of ['upload-progress', 'job-progress']) {
          const bar = document.getElementById(id) as HTMLProgressElement | null;
          if (bar && bar.isConnected && !bar.closest('[hidden]')) {
            const entry = `${id}=${bar.value}`;
            if (w.progressLog.at(-1) !== entry) w.progressLog.push(entry);
          }
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    // A short file masters within a second; holding the event stream back a moment (it then
    // goes to the real server untouched) lets the screenshot catch the progress view.
    let releaseEvents = (): void => undefined;
    const eventsHeld = new Promise<void>((resolve) => (releaseEvents = resolve));
    await page.route('**/api/v1/jobs/*/events', async (route) => {
      await eventsHeld;
      await route.continue();
    });
    // Keyboard: Enter on the submit button.
    await page.getByRole('button', { name: 'Upload and master' }).press('Enter');
    await expect(page).toHaveURL(/#\/jobs\/[^/]+$/, { timeout: 30_000 });
    jobUrl = page.url();
    await expect(page.locator('#job-progress')).toBeVisible();
    await expect(page.locator('.progress-panel [role="status"]')).toHaveText(/Waiting in line|Mastering now|%/);
    await shot(page, project, '04-progress');
    releaseEvents();
    await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible({ timeout: 90_000 });
    await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
    const log = await page.evaluate(() => (window as unknown as { progressLog: string[] }).progressLog);
    console.log(`[${project}] progress seen: ${log.join(' ')}`);
    // The upload bar reached 100 % and the job's progress view was shown before the result.
    expect(log).toContain('upload-progress=100');
    expect(log.some((e) => e.startsWith('job-progress='))).toBe(true);
  });

  await test.step('result numbers', async () => {
    const after = parseShown(await page.locator('[data-metric="after-lufs"]').innerText());
    const before = parseShown(await page.locator('[data-metric="before-lufs"]').innerText());
    // 0.2 LU: the engine verifies its render to within 0.1 LU of the target; the page rounds to
    // 0.1 (another 0.05) — a wrong number or a wrong preset is off by far more.
    expect(Math.abs(after - preset.targetLufs)).toBeLessThanOrEqual(0.2);
    expect(Number.isFinite(before)).toBe(true);
    const truePeak = parseShown(await page.locator('[data-metric="after-tp"]').innerText());
    // Ceiling -1 dBTP; +0.05 for the page's rounding to 0.1.
    expect(truePeak).toBeLessThanOrEqual(-1 + 0.05);
    await expect(page.locator('[data-metric="after-lra"]')).toContainText('LU');
    await expect(page.getByText(/Loudness target .* met/)).toBeVisible();
    await expect(page.getByRole('heading', { name: 'What we did and why' })).toBeVisible();
    // The expiry is the master's 7-day retention, give or take the test's own duration.
    const expiry = await page.locator('.expiry time').getAttribute('datetime');
    const days = (Date.parse(expiry ?? '') - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
  });

  await test.step('waveforms, spectrum and loudness-matched A/B', async () => {
    const player = page.locator('.player');
    await expect(player).toHaveAttribute('data-state', 'paused', { timeout: 30_000 });
    // The waveforms are position sliders (click to seek, arrows to move).
    await expect(page.getByRole('slider', { name: /^Waveform of the original/ })).toBeVisible();
    await expect(page.getByRole('slider', { name: /^Waveform of the master/ })).toBeVisible();
    await expect(page.getByRole('img', { name: /Third-octave spectrum/ })).toBeVisible();
    await expect(page.getByText('Loudness-matched: the original is played')).toBeVisible();
    // The canvases were drawn: not one uniform colour.
    const distinctColours = await page.locator('canvas.wave').last().evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; d && i < d.length; i += 400) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return seen.size;
    });
    expect(distinctColours).toBeGreaterThan(1);

    // Keyboard: Space on the play button (a user gesture, so the AudioContext may start).
    await page.getByRole('button', { name: 'Play' }).press('Space');
    await expect(player).toHaveAttribute('data-state', 'playing');
    await expect(page.locator('.position')).not.toHaveText(/^0:00 \//, { timeout: 5_000 });
    await page.getByLabel('Original, loudness-matched (A)').check();
    await expect(player).toHaveAttribute('data-side', 'original');
    // Seek by clicking the waveform, paused so the position read back is exact: halfway into
    // the 6 s file is 3 s (+-0.1 s: the click lands on a whole pixel, ~5 ms here, and the
    // waveform's edges are rounded to pixels too).
    const surface = page.locator('.wave-master .wave-surface');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect(player).toHaveAttribute('data-state', 'paused');
    await surface.scrollIntoViewIfNeeded();
    const box = (await surface.boundingBox())!;
    await surface.click({ position: { x: box.width / 2, y: box.height / 2 } });
    await expect.poll(async () => Number(await player.getAttribute('data-position'))).toBeGreaterThan(2.9);
    expect(Number(await player.getAttribute('data-position'))).toBeLessThan(3.1);
    await page.getByRole('button', { name: 'Play' }).click();
    await expect(player).toHaveAttribute('data-state', 'playing');
    // Instant A/B by keyboard, at the same position.
    await page.keyboard.press('b');
    await expect(player).toHaveAttribute('data-side', 'master');
    await page.keyboard.press('a');
    await expect(player).toHaveAttribute('data-side', 'original');
    // Switching never restarts or re-seeks playback. Read inside the page, in one task, so the
    // test's own round trips do not count: the position after the switch is the one shown
    // before plus at most one refresh interval (100 ms) and a frame, < 0.3 s even on a loaded
    // machine; a restart would show about 0 (the track start), not ~3 s.
    const [p0, p1, side] = await page.evaluate(() => {
      const el = document.querySelector<HTMLElement>('.player')!;
      const before = Number(el.dataset.position);
      document.dispatchEvent(new KeyboardEvent('keydown', { key: 'b' }));
      return [before, Number(el.dataset.position), el.dataset.side];
    });
    expect(side).toBe('master');
    expect(p0).toBeGreaterThan(2.9);
    expect(p1 - p0).toBeGreaterThanOrEqual(0);
    expect(p1 - p0).toBeLessThan(0.3);
    // Drag from 20 % to 60 %: a loop of 1.2..3.6 s, and the playhead stays inside it.
    // Measured again: the clicks above may have scrolled the page (phone).
    await surface.scrollIntoViewIfNeeded();
    const box2 = (await surface.boundingBox())!;
    const y = box2.y + box2.height / 2;
    await page.mouse.move(box2.x + box2.width * 0.2, y);
    await page.mouse.down();
    await page.mouse.move(box2.x + box2.width * 0.6, y, { steps: 4 });
    await page.mouse.up();
    await expect(player).toHaveAttribute('data-loop', /^1\.\d+-3\.\d+$/);
    await page.waitForTimeout(2600); // longer than the loop: it must have wrapped
    const pos = Number(await player.getAttribute('data-position'));
    expect(pos).toBeGreaterThanOrEqual(1.1);
    expect(pos).toBeLessThanOrEqual(3.7);
    // The keyboard way to a loop, on the focused waveform: [ marks the start, ] the end.
    await page.keyboard.press('l');
    await expect(player).toHaveAttribute('data-loop', '');
    await page.getByRole('button', { name: 'Pause' }).click();
    await surface.focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('[');
    await page.keyboard.press('ArrowRight'); // 5 s on
    await page.keyboard.press(']');
    await expect(player).toHaveAttribute('data-loop', '0.00-5.00');
    await shot(page, project, '05-result');
    await page.keyboard.press('l');
    await expect(player).toHaveAttribute('data-loop', '');
    await expect(player).toHaveAttribute('data-state', 'paused');
    await expectLabelledControls(page);
    await expectNoHorizontalScroll(page);
  });

  await test.step('download', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /Download master/ }).click(),
    ]);
    const file = path.join(outDir, 'downloads', project, download.suggestedFilename() || `master-${project}`);
    await download.saveAs(file);
    const data = fs.readFileSync(file);
    expect(data.length).toBeGreaterThan(0);
    expect(data.subarray(0, 4).toString('latin1')).toBe(format.magic);
  });

  if (!phone) {
    await test.step('master again with other settings, without a second upload', async () => {
      const firstUrl = page.url();
      await page.getByLabel('Preset').selectOption('loud');
      await page.getByRole('button', { name: 'Master again' }).click();
      await expect(page).not.toHaveURL(firstUrl, { timeout: 30_000 });
      await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible({ timeout: 90_000 });
      // -9 LUFS is the loud preset; +-0.2 as in "result numbers".
      const after = parseShown(await page.locator('[data-metric="after-lufs"]').innerText());
      expect(Math.abs(after - -9)).toBeLessThanOrEqual(0.2);
      const versions = page.locator('ol.versions > li');
      await expect(versions).toHaveCount(2);
      await expect(versions.nth(1)).toContainText('Changed: preset Streaming → Loud');
      await expect(versions.nth(0).locator('audio')).toHaveCount(1);
      await shot(page, project, '05b-versions');
      await page.goto(firstUrl);
      await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible();
    });
  }

  await test.step('the job in the list, and reopened without the local file', async () => {
    await navLink(page, 'My jobs');
    await expect(page.getByRole('heading', { level: 1, name: 'My jobs' })).toBeVisible();
    const item = page.locator('.job-item').first();
    await expect(item).toContainText(path.basename(wavPath));
    await expect(item.locator('[data-status]')).toHaveAttribute('data-status', 'done');
    await expectNoHorizontalScroll(page);
    await page.getByLabel('Search').fill('no-such-track');
    await expect(page.locator('.job-item')).toHaveCount(0);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Show').selectOption('done');
    await expect(page.locator('.job-item').first()).toContainText(path.basename(wavPath));
    await expect(item.getByRole('button', { name: /^Play the master/ })).toBeVisible();
    await expect(item.getByRole('link', { name: /^Download the master/ })).toBeVisible();
    await shot(page, project, '06-jobs');
    // After a reload the tab no longer holds the original: the master alone, with the reason.
    await page.goto(jobUrl);
    await page.reload();
    await expect(page.getByRole('heading', { level: 1, name: 'Your master is ready' })).toBeVisible();
    await expect(page.getByText('Only the master can be shown here')).toBeVisible();
    await expect(page.locator('.player')).toHaveAttribute('data-state', 'paused', { timeout: 30_000 });
    await shot(page, project, '07-result-master-only');
  });

  if (phone) {
    await test.step('delete now', async () => {
      page.once('dialog', (d) => void d.accept());
      await page.getByRole('button', { name: 'Delete now' }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'This master was deleted' })).toBeVisible();
      await navLink(page, 'My jobs');
      await expect(page.locator('.job-item').first().locator('[data-status]')).toHaveAttribute('data-status', 'deleted');
      await shot(page, project, '08-deleted');
    });
  }

  await test.step('sign out and sign in again', async () => {
    await navLink(page, 'Sign out');
    await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Master a track' })).toBeVisible();
    await navLink(page, 'My jobs');
    await expect(page.locator('.job-item').first()).toContainText(path.basename(wavPath));
    await shot(page, project, '09-signed-in-again');
  });

  expect(problems).toEqual([]);
});

test('a damaged file ends in a plain-language error, not a broken page', async ({ page }, info) => {
  test.skip(info.project.name !== 'desktop', 'the error path needs one viewport only');
  expect(badPath, 'QUACK_E2E_BAD_WAV must name a damaged WAV').not.toBe('');
  await page.goto('/#/signup');
  await page.getByLabel('Your name').fill('Bad File');
  await page.getByLabel('Email').fill(`e2e-bad-${Date.now()}@example.test`);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Master a track' })).toBeVisible();
  await page.getByLabel('Choose an audio file…').setInputFiles(badPath);
  await page.getByRole('button', { name: 'Upload and master' }).click();
  // The server may refuse it at upload (content sniffing) or the engine when decoding; either
  // way the user reads why, in an alert.
  const refusedAtUpload = page.locator('form.upload [role="alert"]').filter({ hasText: /\S/ });
  const failedJob = page.getByRole('heading', { level: 1, name: 'Mastering failed' });
  await expect(refusedAtUpload.or(failedJob)).toBeVisible({ timeout: 60_000 });
  if (await failedJob.isVisible()) await expect(page.getByRole('alert')).toContainText('code:');
  await shot(page, info.project.name, '10-damaged-file');
});

test('account: correct the name, export the data, delete the account', async ({ page }, info) => {
  const project = info.project.name;
  const email = `e2e-account-${project}-${Date.now()}@example.test`;
  await page.goto('/#/signup');
  await page.getByLabel('Your name').fill('Erin Eider');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Master a track' })).toBeVisible();

  await navLink(page, 'Account');
  await expect(page.getByRole('heading', { level: 1, name: 'Your account and data' })).toBeVisible();
  await expectLabelledControls(page);
  await expectNoHorizontalScroll(page);

  // Correction right.
  await page.getByLabel('Name', { exact: true }).fill('Erin E.');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByRole('status')).toContainText('saved');
  await expect(page.locator('#site-nav')).toContainText('Erin E.');

  // Access and portability: a JSON file with the profile, and nothing secret.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data (JSON)' }).click(),
  ]);
  const file = await download.path();
  const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(exported.schema).toBe('quacktracks.export.v1');
  expect(exported.user.email).toBe(email);
  expect(exported.user.name).toBe('Erin E.');
  expect(JSON.stringify(exported)).not.toContain('argon2');
  await shot(page, project, '11-account');

  // Deletion right: a wrong password deletes nothing; the right one deletes the account.
  await page.getByLabel('Your password, to confirm').fill('not the password');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page.getByRole('status')).toContainText('nothing was deleted');
  await page.getByLabel('Your password, to confirm').fill(password);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
});
