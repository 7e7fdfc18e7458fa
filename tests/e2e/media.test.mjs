// Browser media check, run by tests/media/test-media inside its private network namespace:
// Chromium (fake camera and microphone) joins through web/join.html from the join link in
// HD_JOIN_URL, answers the server's offer, and after HD_SECONDS prints one JSON line with what
// getStats says it decoded and received.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = await import('playwright-core');
const { launch } = await import('./browser.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'hd-e2e-media-'));
const context = await launch(chromium, tmp, ['--disable-features=WebRtcHideLocalIpsWithMdns']);
let result = { ok: false };
try {
  const page = await context.newPage();
  await page.goto(`${process.env.HD_JOIN_URL}&check=0`);
  await page.waitForTimeout(Number(process.env.HD_SECONDS || 8) * 1000);
  result = await page.evaluate(async () => {
    const pc = window.hearingd.peer();
    const out = { ok: true, connection: pc ? pc.connectionState : 'none', framesDecoded: 0,
      audioSamples: 0, framesSent: 0, status: document.querySelector('#status').textContent };
    if (!pc) return out;
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded += s.framesDecoded || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioSamples += s.totalSamplesReceived || 0;
      if (s.type === 'outbound-rtp' && s.kind === 'video') out.framesSent += s.framesSent || 0;
    }
    return out;
  });
} catch (e) {
  result = { ok: false, error: String(e) };
} finally {
  await context.close().catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
