// browser.mjs — headless Debian Chromium for the browser tests: a fresh profile in `tmp`, fake
// camera and microphone, no background traffic of its own (nothing leaves the test's network).
export async function launch(chromium, tmp, extraArgs = []) {
  return chromium.launchPersistentContext(`${tmp}/profile`, {
    executablePath: process.env.HD_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, HOME: tmp, XDG_RUNTIME_DIR: tmp },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required', ...extraArgs],
  });
}
