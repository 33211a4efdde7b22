// Headless Chromium loads Picket's UI and waits for a denial to appear live.
//
//   node live_alert.mjs BASE_URL EXPECTED_TEXT SCREENSHOT.png
//
// Prints "READY" once the page's live stream is connected (the caller then
// triggers the denial), "SEEN" when an alert with EXPECTED_TEXT has appeared
// on the page without a reload. Exits non-zero on timeout or any page error.
// CHROMIUM overrides the browser (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

const [base, expected, shot] = process.argv.slice(2);
if (!base || !expected || !shot) {
  console.error('usage: node live_alert.mjs BASE_URL EXPECTED_TEXT SCREENSHOT.png');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });

  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForFunction(
    () => document.getElementById('livestate')?.textContent === 'live',
    null, { timeout: 20000 });
  console.log('READY');

  // The alert must arrive on the live list, pushed by the server.
  const alert = page.locator('#live li.ev-state_change', { hasText: expected });
  await alert.first().waitFor({ timeout: 30000 });
  const notification = page.locator('#live li.ev-notification', { hasText: expected });
  await notification.first().waitFor({ timeout: 30000 });
  // The problems table re-renders itself with the new state.
  await page.locator('#status table', { hasText: expected }).first().waitFor({ timeout: 30000 });
  if (navigations !== 1) throw new Error(`the page reloaded (${navigations} navigations)`);
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  await page.screenshot({ path: shot, fullPage: true });

  // The Denied-connections page lists the source after a navigation.
  await page.goto(base + '/denied', { waitUntil: 'load' });
  const addr = expected.replace(/^.*-/, '');
  await page.getByText(addr).first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot.replace(/\.png$/, '-denied.png'), fullPage: true });
  console.log('SEEN');
} catch (e) {
  console.error(String(e));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
