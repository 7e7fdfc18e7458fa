// End-to-end test of the web join page in headless Chromium (Debian chromium, playwright-core):
// a judge and two parties join through web/join.html from their join links; the parties wait in
// the lobby, the judge admits one (both then see each other in the roster) and denies the other
// with a reason; the hearing's state changes reach the page; the party leaves; a forged link gets
// a refusal in plain words.
// Loopback only (127.0.0.1 is a secure context for Chromium). Prints TAP.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';

const hearingd = process.env.HD_HEARINGD;
const hearingctl = process.env.HD_HEARINGCTL;
const root = process.env.HD_SOURCE_ROOT;
let playwright;
try {
  playwright = await import('playwright-core');
} catch {
  console.log('1..0 # SKIP playwright-core is not installed (npm install in tests/e2e)');
  process.exit(77);
}

const tmp = mkdtempSync(join(tmpdir(), 'hd-e2e-'));
const stateDir = join(tmp, 'state');
let daemon;
let context;
let n = 0;
let failed = 0;

async function step(name, fn) {
  n++;
  try {
    await fn();
    console.log(`ok ${n} ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${n} ${name}`);
    console.log(`# ${String(e.stack || e).split('\n').join('\n# ')}`);
  }
}

function startDaemon() {
  return new Promise((resolve, reject) => {
    daemon = spawn(hearingd, ['--state-dir', stateDir, '--listen', '127.0.0.1:0', '--plain-http',
      '--web-root', join(root, 'web'), '--log-level', 'warning'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // Signaling only: this page test runs on the host's loopback, not in a network namespace.
      env: { ...process.env, HEARINGD_MEDIA_ENABLED: 'false' },
    });
    const timer = setTimeout(() => reject(new Error('hearingd did not start in 10 s')), 10000);
    createInterface({ input: daemon.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const m = line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      m ? resolve(m[1]) : reject(new Error(`unexpected first line: ${line}`));
    });
    daemon.once('exit', (code) => reject(new Error(`hearingd exited with ${code}`)));
  });
}

async function api(base, token, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// waits poll on a timer (polling: 100): a tab in the background paints no frames, so the
// default (animation frames) might never look again
const rosterText = (page) => page.locator('#roster').innerText();

try {
  const base = await startDaemon();
  const op = execFileSync(hearingctl, ['--state-dir', stateDir, 'operator-token']).toString().trim();
  const h = await api(base, op, 'POST', '/api/v1/hearings', {
    case_number: '(2026)浙0109民初1234号', title: 'Loan dispute', court: 'Xiaoshan People\'s Court',
    scheduled_start: '2026-12-01T09:30:00+08:00',
  });
  await api(base, op, 'PATCH', `/api/v1/hearings/${h.id}`, { state: 'open' });
  const judge = await api(base, op, 'POST', `/api/v1/hearings/${h.id}/tokens`, { role: 'judge', name: 'Judge Wang' });
  // the shared court's link: its operator, Chen, joins on Zhang San's behalf
  const party = await api(base, op, 'POST', `/api/v1/hearings/${h.id}/tokens`, { role: 'party', name: 'Zhang San', assisted_by: 'Chen' });
  assert.equal(party.assisted_by, 'Chen');
  const other = await api(base, op, 'POST', `/api/v1/hearings/${h.id}/tokens`, { role: 'party', name: 'Li Si' });
  const observer = await api(base, op, 'POST', `/api/v1/hearings/${h.id}/tokens`, { role: 'observer', name: 'Press' });

  const { launch } = await import('./browser.mjs');
  context = await launch(playwright.chromium, tmp);

  const judgePage = await context.newPage();
  const partyPage = await context.newPage();

  await step('judge joins from the join link and sees the hearing', async () => {
    await judgePage.goto(`${judge.join_url}&check=0`);
    await judgePage.waitForFunction(() => document.querySelector('#status').textContent.includes('You have joined'), null, { timeout: 10000, polling: 100 });
    assert.match(await judgePage.locator('#case').innerText(), /\(2026\)浙0109民初1234号/);
    assert.equal(await judgePage.locator('#title').innerText(), 'Loan dispute');
    assert.match(await judgePage.locator('#role').innerText(), /^Judge$/); // the browser speaks English
    assert.match(await rosterText(judgePage), /Judge Wang/);
  });

  const otherPage = await context.newPage();
  await step('the parties wait in the lobby, told their place; the judge sees them waiting', async () => {
    await partyPage.goto(party.join_url);
    // the village join page: the device check first (fake camera and microphone)
    await partyPage.waitForFunction(() => document.querySelector('#check-preview').videoWidth > 0, null, { timeout: 10000, polling: 100 });
    await partyPage.waitForFunction(() => document.querySelector('#mic-level').value > 0.01, null, { timeout: 10000, polling: 100 });
    await partyPage.waitForFunction(() => /^\d+$/.test(document.querySelector('#network').dataset.ms || ''), null, { timeout: 10000, polling: 100 });
    assert.equal(await partyPage.locator('#lobby').isVisible(), false); // not joined before the check
    // the operator is told whom they help, and that the party speaks for themself
    assert.match(await partyPage.locator('#assist').innerText(), /^Chen: you are helping Zhang San join the hearing\./);
    if (process.env.HD_ARTEFACTS) {
      mkdirSync(process.env.HD_ARTEFACTS, { recursive: true });
      await partyPage.screenshot({ path: join(process.env.HD_ARTEFACTS, 'village-device-check.png'), fullPage: true });
    }
    await partyPage.click('#join-now');
    await partyPage.waitForFunction(() => document.querySelector('#lobby-position').textContent === '1', null, { timeout: 10000, polling: 100 });
    await otherPage.goto(`${other.join_url}&check=0`);
    await otherPage.waitForFunction(() => document.querySelector('#lobby-position').textContent === '2', null, { timeout: 10000, polling: 100 });
    assert.equal(await partyPage.locator('#hearing').isVisible(), false);
    await judgePage.waitForFunction(() => document.querySelector('#waiting-list').textContent.includes('Li Si'), null, { timeout: 10000, polling: 100 });
    assert.match(await judgePage.locator('#waiting-list').innerText(), /Zhang San \(with Chen\) — Party/);
    assert.doesNotMatch(await rosterText(judgePage), /Zhang San/);
    if (process.env.HD_ARTEFACTS) { // kept for the README
      mkdirSync(process.env.HD_ARTEFACTS, { recursive: true });
      await partyPage.screenshot({ path: join(process.env.HD_ARTEFACTS, 'village-lobby.png'), fullPage: true });
      await judgePage.screenshot({ path: join(process.env.HD_ARTEFACTS, 'judge-lobby.png'), fullPage: true });
    }
  });

  await step('the judge admits one: both rosters show both', async () => {
    await judgePage.click('button[aria-label="Admit Zhang San"]');
    await partyPage.waitForFunction(() => document.querySelector('#roster').textContent.includes('Judge Wang'), null, { timeout: 10000, polling: 100 });
    await judgePage.waitForFunction(() => document.querySelector('#roster').textContent.includes('Zhang San'), null, { timeout: 10000, polling: 100 });
    assert.match(await rosterText(partyPage), /Zhang San \(with Chen\) — Party/);
    assert.match(await rosterText(judgePage), /Zhang San \(with Chen\) — Party/);
    await otherPage.waitForFunction(() => document.querySelector('#lobby-position').textContent === '1', null, { timeout: 10000, polling: 100 });
  });

  await step('the judge denies the other, with a reason they are shown', async () => {
    judgePage.once('dialog', (d) => d.accept('Not a party to this case'));
    await judgePage.click('button[aria-label="Deny Li Si"]');
    await otherPage.waitForFunction(() => document.querySelector('#status').textContent.includes('Not a party to this case'), null, { timeout: 10000, polling: 100 });
    assert.equal(await otherPage.locator('#hearing').isVisible(), false);
    await judgePage.waitForFunction(() => !document.querySelector('#waiting-list').textContent.includes('Li Si'), null, { timeout: 10000, polling: 100 });
  });

  await step('an observer waits too, is admitted, watches: no microphone or camera of theirs', async () => {
    const page = await context.newPage();
    await page.goto(`${observer.join_url}&check=0`);
    await page.waitForFunction(() => document.querySelector('#lobby-position').textContent === '1', null, { timeout: 10000, polling: 100 });
    await judgePage.click('button[aria-label="Admit Press"]');
    await page.waitForFunction(() => document.querySelector('#roster').textContent.includes('Judge Wang'), null, { timeout: 10000, polling: 100 });
    assert.equal(await page.locator('#mute').isVisible(), false);
    assert.equal(await page.locator('#camera').isVisible(), false);
    assert.equal(await page.locator('#hand').isVisible(), false);
    await judgePage.waitForFunction(() => document.querySelector('#roster').textContent.includes('Press — Observer'), null, { timeout: 10000, polling: 100 });
    await page.close();
  });

  await step('the judge mutes the party from the roster: the party cannot unmute; the judge can', async () => {
    await judgePage.click('button[aria-label="Mute Zhang San"]');
    await partyPage.waitForFunction(() => document.querySelector('#mute').disabled, null, { timeout: 10000, polling: 100 });
    assert.match(await partyPage.locator('#mute').innerText(), /The judge muted you/);
    await judgePage.waitForSelector('button[aria-label="Unmute Zhang San"]', { timeout: 10000 });
    await judgePage.click('button[aria-label="Unmute Zhang San"]');
    await partyPage.waitForFunction(() => !document.querySelector('#mute').disabled, null, { timeout: 10000, polling: 100 });
  });

  await step('the party raises a hand; the judge sees it', async () => {
    assert.equal(await judgePage.locator('#hand').isVisible(), false); // judges do not raise hands
    await partyPage.click('#hand');
    await judgePage.waitForFunction(() => document.querySelector('#roster').textContent.includes('hand raised'), null, { timeout: 10000, polling: 100 });
  });

  await step('the judge opens the session from the page; the party sees it', async () => {
    assert.equal(await partyPage.locator('#state-controls').isVisible(), false); // not the party's
    await judgePage.click('button[data-state="in_session"]');
    await partyPage.waitForFunction(() => document.querySelector('#state').textContent.includes('In session'), null, { timeout: 10000, polling: 100 });
    if (process.env.HD_ARTEFACTS) await judgePage.screenshot({ path: join(process.env.HD_ARTEFACTS, 'courtroom-judge.png'), fullPage: true });
  });

  await step('the judge lays out the picture: the speaker large, then Zhang San large; all see it', async () => {
    assert.equal(await partyPage.locator('#layout').innerText(), 'everyone alike');
    assert.equal(await partyPage.locator('#layout-controls').isVisible(), false); // the judge's only
    assert.equal(await partyPage.locator('button[aria-label^="Show large"]').count(), 0);
    await judgePage.click('#layout-controls button[data-layout="speaker"]');
    await partyPage.waitForFunction(() => document.querySelector('#layout').textContent === 'the speaker large', null, { timeout: 10000, polling: 100 });
    await judgePage.waitForFunction(() => document.querySelector('#layout-controls button[data-layout="speaker"]').getAttribute('aria-pressed') === 'true', null, { timeout: 10000, polling: 100 });
    await judgePage.click('button[aria-label="Show large Zhang San"]');
    await partyPage.waitForFunction(() => document.querySelector('#layout').textContent === 'Zhang San large', null, { timeout: 10000, polling: 100 });
    await judgePage.click('button[aria-label="Unpin Zhang San"]');
    await judgePage.waitForFunction(() => document.querySelector('#layout').textContent === 'everyone alike', null, { timeout: 10000, polling: 100 });
  });

  await step('English or Chinese: the browser\'s language first, then the switch', async () => {
    assert.equal(await judgePage.locator('#leave .zh').isVisible(), false);
    await partyPage.click('#lang');
    await partyPage.waitForFunction(() => document.documentElement.lang === 'zh-CN', null, { timeout: 5000, polling: 100 });
    assert.equal(await partyPage.locator('#state').innerText(), '庭审中');
    assert.match(await rosterText(partyPage), /Zhang San \(共享法庭工作人员：Chen\) — 当事人/);
    assert.equal(await partyPage.locator('#leave').innerText(), '退出');
    await partyPage.click('#lang');
    assert.equal(await partyPage.locator('#state').innerText(), 'In session');
    assert.equal(await partyPage.locator('#leave').innerText(), 'Leave the hearing');
  });

  await step('every control is labelled, and the keyboard alone works them', async () => {
    for (const page of [judgePage, partyPage]) {
      const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, textarea, select, meter, video')]
        .filter((e) => e.offsetParent !== null) // shown
        .filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || (e.id && document.querySelector(`label[for="${e.id}"]`))))
        .map((e) => e.outerHTML.slice(0, 80)));
      assert.deepEqual(unnamed, []);
    }
    // from the top of the page: Tab reaches the language switch first; Enter works it
    await judgePage.bringToFront();
    await judgePage.evaluate(() => { document.body.tabIndex = -1; document.body.focus(); });
    await judgePage.keyboard.press('Tab');
    assert.equal(await judgePage.evaluate(() => document.activeElement.id), 'lang');
    await judgePage.keyboard.press('Enter');
    await judgePage.waitForFunction(() => document.documentElement.lang === 'zh-CN', null, { timeout: 5000, polling: 100 });
    await judgePage.keyboard.press('Enter');
    await judgePage.waitForFunction(() => document.documentElement.lang === 'en', null, { timeout: 5000, polling: 100 });
    // and on to the court's controls, each reachable with Tab
    const reached = new Set();
    for (let i = 0; i < 60; i++) {
      await judgePage.keyboard.press('Tab');
      reached.add(await judgePage.evaluate(() => document.activeElement.id || document.activeElement.getAttribute('aria-label') || document.activeElement.dataset.state || document.activeElement.dataset.layout || ''));
    }
    for (const id of ['mute', 'in_session', 'recess', 'speaker', 'off-record', 'note-text', 'note-add', 'leave', 'Mute Zhang San']) {
      assert.ok(reached.has(id), `Tab never reaches ${id}: ${[...reached].join(', ')}`);
    }
  });

  await step('party leaves; the judge sees it', async () => {
    await partyPage.click('#leave');
    await partyPage.waitForFunction(() => document.querySelector('#status').textContent.includes('you left'), null, { timeout: 10000, polling: 100 });
    await judgePage.waitForFunction(() => !document.querySelector('#roster').textContent.includes('Zhang San'), null, { timeout: 10000, polling: 100 });
  });

  await step('a forged link gets a refusal, not a hang', async () => {
    const page = await context.newPage();
    const forged = `${party.join_url.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}&check=0`;
    await page.goto(forged);
    await page.waitForFunction(() => document.querySelector('#status').classList.contains('error'), null, { timeout: 10000, polling: 100 });
    assert.match(await page.locator('#status').innerText(), /Could not join|link/);
    assert.equal(await page.locator('#hearing').isVisible(), false);
  });

  await step('a revoked link is explained in plain words', async () => {
    const t = await api(base, op, 'POST', `/api/v1/hearings/${h.id}/tokens`, { role: 'witness', name: 'Witness' });
    await api(base, op, 'DELETE', `/api/v1/tokens/${t.jti}`);
    const page = await context.newPage();
    await page.goto(`${t.join_url}&check=0`);
    await page.waitForFunction(() => document.querySelector('#status').textContent.includes('withdrawn'), null, { timeout: 10000, polling: 100 });
  });
} catch (e) {
  failed++;
  n++;
  console.log(`not ok ${n} setup`);
  console.log(`# ${String(e.stack || e).split('\n').join('\n# ')}`);
} finally {
  if (context) await context.close().catch(() => {});
  if (daemon) daemon.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
