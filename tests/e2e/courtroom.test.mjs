// The courtroom with media, run by tests/media/test-media inside its private network namespace:
// a judge, a party joining from a shared court with its operator, a party who is denied and
// an observer, each in headless Chromium with fake camera and microphone, beside C test clients
// (parties "Red", "Green", "Blue", named in HD_ADMIT). The judge admits from the lobby, denies Li
// Si with a reason, and at HD_MUTE_AT (ms since the epoch) mutes "Red" from the roster; the C
// clients, measuring before and after that instant, say whether Red's tone left the mix. Prints
// one JSON line: what each page saw and getStats figures; `problems` lists what went wrong.
// The fake cameras run at 15 fps: four pages, the daemon and three clients share two cores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = await import('playwright-core');
const { launch } = await import('./browser.mjs');
const urls = JSON.parse(process.env.HD_URLS); // judge, zhang, li, press
const muteAt = Number(process.env.HD_MUTE_AT);
const admitted = process.env.HD_ADMIT.split(',');
const until = (t) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
const tmp = mkdtempSync(join(tmpdir(), 'hd-e2e-courtroom-'));
const context = await launch(chromium, tmp, ['--disable-features=WebRtcHideLocalIpsWithMdns', '--use-fake-device-for-media-stream=fps=15']);
const out = { ok: false, problems: [] };
const problem = (what, e) => out.problems.push(`${what}: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
const T = { timeout: Number(process.env.HD_STEP_MS || 15000) };
// waits poll on a timer: a tab in the background paints no frames, so the default (animation
// frames) would never look again
const W = { ...T, polling: 100 };
let zhangLink = null; // the shared court's WebSocket, as routed through the test
const t0 = Date.now();
out.ms = {}; // when each milestone was reached, ms after the start
const mark = (what) => { out.ms[what] = Date.now() - t0; };

async function stats(page) {
  return page.evaluate(async () => {
    const pc = window.hearingd.peer();
    const s = { connection: pc ? pc.connectionState : 'none', framesDecoded: 0, audioSamples: 0, framesSent: 0, audioSent: 0 };
    if (!pc) return s;
    for (const r of (await pc.getStats()).values()) {
      if (r.type === 'inbound-rtp' && r.kind === 'video') s.framesDecoded += r.framesDecoded || 0;
      if (r.type === 'inbound-rtp' && r.kind === 'audio') s.audioSamples += r.totalSamplesReceived || 0;
      if (r.type === 'outbound-rtp' && r.kind === 'video') s.framesSent += r.framesSent || 0;
      if (r.type === 'outbound-rtp' && r.kind === 'audio') s.audioSent += r.packetsSent || 0;
    }
    return s;
  });
}

try {
  const judge = await context.newPage();
  const zhang = await context.newPage();
  const li = await context.newPage();
  const press = await context.newPage();
  try {
    await judge.goto(`${urls.judge}&check=0`);
    await judge.waitForFunction(() => document.querySelector('#status').textContent.includes('You have joined'), null, W);
    mark('judge joined');
  } catch (e) { problem('the judge joins', e); }
  const admit = async (name) => {
    try {
      await judge.waitForSelector(`button[aria-label="Admit ${name}"]`, T);
      mark(`${name} waits`);
      await judge.bringToFront(); // the judge's tab in front: a background tab paints no frames
      await judge.click(`button[aria-label="Admit ${name}"]`, T);
      mark(`${name} admitted`);
    } catch (e) { problem(`the judge admits ${name}`, e); }
  };
  await Promise.all([
    (async () => { // the C parties are waiting already
      for (const name of admitted) await admit(name);
    })(),
    (async () => {
      try {
        // the shared court: its operator runs the device check with Zhang San, then joins;
        // its WebSocket passes through the test, which cuts it later (the village link drops)
        await zhang.routeWebSocket(/\/ws$/, (ws) => {
          const server = ws.connectToServer();
          zhangLink = { ws, server };
        });
        await zhang.goto(urls.zhang);
        await zhang.waitForFunction(() => document.querySelector('#check-preview').videoWidth > 0, null, W);
        out.greeting = await zhang.locator('#assist').innerText();
        await zhang.click('#join-now');
        await li.goto(`${urls.li}&check=0`);
        await press.goto(`${urls.press}&check=0`);
        await zhang.waitForFunction(() => document.querySelector('#lobby-position').textContent !== '', null, W);
        mark('browsers in the lobby');
      } catch (e) { problem('the others reach the lobby', e); }
    })(),
  ]);
  await admit('Zhang San');
  await admit('Press');
  try {
    await judge.bringToFront();
    judge.once('dialog', (d) => d.accept('Not a party to this case'));
    await judge.click('button[aria-label="Deny Li Si"]', T);
    await li.waitForFunction(() => document.querySelector('#status').textContent.includes('Not a party to this case'), null, W);
    out.denied = true;
  } catch (e) { problem('the judge denies Li Si', e); }
  try {
    await zhang.waitForFunction(() => document.querySelector('#status').textContent.includes('You have joined'), null, W);
    await press.waitForFunction(() => document.querySelector('#status').textContent.includes('You have joined'), null, W);
    out.roster = await judge.locator('#roster').innerText();
    out.observerMuteButtons = await judge.locator('button[aria-label="Mute Press"]').count();
    out.pressControls = await press.locator('#mute').isVisible() || await press.locator('#camera').isVisible();
  } catch (e) { problem('everyone admitted is in the hearing', e); }
  out.lateForMute = Date.now() > muteAt;
  await until(muteAt);
  try {
    // the active speaker, marked in the judge's roster (everyone's tone sounds: one of them)
    out.speakingMarks = await judge.locator('#roster span[data-speaker]:not(:empty)').count();
  } catch (e) { problem('the speaker mark', e); }
  try {
    await judge.bringToFront();
    await judge.click(`button[aria-label="Mute ${admitted[0]}"]`, T);
    out.mutedAt = Date.now();
    await judge.waitForSelector(`button[aria-label="Unmute ${admitted[0]}"]`, T);
  } catch (e) { problem(`the judge mutes ${admitted[0]}`, e); }
  await until(muteAt + 6000); // the C clients measure meanwhile
  for (const [name, page] of [['judge', judge], ['zhang', zhang], ['press', press]]) {
    try {
      out[name] = await stats(page);
    } catch (e) { problem(`getStats of ${name}`, e); }
  }
  try {
    // the judge runs the record from the page: opens the session (recording starts), writes a
    // log note, goes off the record with a reason and back, calls a recess
    await judge.bringToFront();
    await judge.click('#state-controls button[data-state="in_session"]', T);
    await zhang.waitForFunction(() => document.querySelector('#state').textContent === 'In session', null, W);
    await judge.waitForTimeout(1500);
    await judge.fill('#note-text', 'Exhibit 3 shown');
    await judge.click('#note-add', T);
    await judge.waitForFunction(() => document.querySelector('#notes').textContent.includes('Exhibit 3 shown'), null, W);
    judge.once('dialog', (d) => d.accept('Sidebar with counsel'));
    await judge.click('#off-record', T);
    await zhang.waitForFunction(() => document.querySelector('#status').textContent.includes('Off the record: Sidebar with counsel'), null, W);
    await judge.waitForTimeout(2000);
    await judge.click('#on-record', T);
    await zhang.waitForFunction(() => document.querySelector('#status').textContent.includes('Back on the record'), null, W);
    await judge.click('#state-controls button[data-state="recess"]', T);
    await zhang.waitForFunction(() => document.querySelector('#state').textContent === 'In recess', null, W);
    mark('record run');
    out.record = true;
  } catch (e) { problem('the judge runs the record', e); }
  if (process.env.HD_SCREENSHOT) await judge.screenshot({ path: process.env.HD_SCREENSHOT, fullPage: true });
  try {
    // the village link drops: both ends of its WebSocket cut; the page reconnects by itself and,
    // within the grace period, is let back in without the lobby; the picture comes back
    await zhang.evaluate(() => { document.querySelector('#lobby-position').textContent = ''; });
    const link = zhangLink;
    await link.server.close();
    await link.ws.close({ code: 4000, reason: 'the village link dropped' });
    mark('link cut');
    await zhang.waitForFunction(() => document.querySelector('#status').textContent.includes('Reconnecting'), null, W);
    await zhang.waitForFunction(() => document.querySelector('#status').textContent.includes('You have joined'), null, W);
    mark('rejoined');
    await zhang.waitForFunction(async () => {
      const pc = window.hearingd.peer();
      if (!pc) return false;
      for (const r of (await pc.getStats()).values()) if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 10) return true;
      return false;
    }, null, W);
    mark('picture back');
    out.rejoin = { newSocket: zhangLink !== link, lobbyShown: await zhang.locator('#lobby-position').innerText() };
    await judge.waitForFunction(() => document.querySelector('#roster').textContent.includes('Zhang San (with Chen)'), null, W);
  } catch (e) { problem('the shared court reconnects', e); }
  out.ok = out.problems.length === 0;
} catch (e) {
  problem('the browser', e);
} finally {
  await context.close();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
