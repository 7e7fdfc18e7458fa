// The archivist's portal in Chromium, run by tests/media/test-media inside its private network
// namespace: opens web/archive.html with the archivist link in HD_ARCHIVE_URL, searches by the
// case number in HD_CASE, opens recording HD_RECORDING, waits for the verification badge, plays
// the composite (its currentTime advances), seeks to 5 s, jumps to the clerk's note from the
// timeline; saves a screenshot to HD_SCREENSHOT; prints one JSON line of what it saw.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = await import('playwright-core');
const { launch } = await import('./browser.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'hd-e2e-archive-'));
const context = await launch(chromium, tmp);
const result = { ok: false };
try {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  result.logs = logs;
  globalThis.hdPage = page;
  await page.goto(process.env.HD_ARCHIVE_URL);
  await page.fill('#case', process.env.HD_CASE);
  await page.click('#search button[type=submit]');
  const pick = `button[data-id="${process.env.HD_RECORDING}"]`;
  await page.waitForSelector(pick, { timeout: 10000 });
  result.found = await page.locator('#results li').count();
  await page.click(pick);
  await page.waitForFunction(() => document.querySelector('#badge').dataset.ok !== undefined, null, { timeout: 15000 });
  result.badge = await page.locator('#badge').innerText();
  result.verified = (await page.locator('#badge').getAttribute('data-ok')) === 'true';
  result.timeline = await page.locator('#timeline').innerText();
  // play: the export is made on first request, then served with Range
  await page.waitForFunction(() => document.querySelector('#player').readyState >= 2, null, { timeout: 20000 });
  result.duration = await page.evaluate(() => document.querySelector('#player').duration);
  await page.evaluate(() => document.querySelector('#player').play());
  const t0 = await page.evaluate(() => document.querySelector('#player').currentTime);
  await page.waitForTimeout(2000);
  result.advanced = (await page.evaluate(() => document.querySelector('#player').currentTime)) - t0;
  // seek
  await page.evaluate(() => { document.querySelector('#player').currentTime = 5; });
  await page.waitForFunction(() => !document.querySelector('#player').seeking, null, { timeout: 10000 });
  result.seekedTo = await page.evaluate(() => document.querySelector('#player').currentTime);
  // the clerk's note, from the timeline
  const note = page.locator('#timeline button', { hasText: process.env.HD_NOTE });
  const offset = Number(await note.getAttribute('data-offset'));
  await note.click();
  await page.waitForFunction(() => !document.querySelector('#player').seeking, null, { timeout: 10000 });
  result.noteOffset = offset / 1000;
  result.afterNote = await page.evaluate(() => document.querySelector('#player').currentTime);
  // every control shown has a name (a label, its text or aria-label)
  result.unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, textarea, select, video, audio')]
    .filter((e) => e.offsetParent !== null)
    .filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || e.closest('label') || (e.id && document.querySelector(`label[for="${e.id}"]`))))
    .map((e) => e.outerHTML.slice(0, 80)));
  if (process.env.HD_SCREENSHOT) await page.screenshot({ path: process.env.HD_SCREENSHOT, fullPage: true });
  result.ok = true;
} catch (e) {
  result.error = String(e.stack || e);
  try {
    result.status = await globalThis.hdPage.locator('#status').innerText();
    result.badgeText = await globalThis.hdPage.locator('#badge').innerText();
  } catch { /* the page itself is gone */ }
} finally {
  await context.close();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
