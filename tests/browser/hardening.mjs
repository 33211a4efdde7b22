// Headless Chromium clicks through Picket's UI and tries hostile `back=` links.
//
//   node hardening.mjs BASE_URL TOKEN SCREENSHOT.png
//
// 1. One tab clicks `/`, `/hosts`, `/denied`, `/log?kind=alerts`, `/`, `/hosts`, `/denied`,
//    `/log?kind=alerts`, `/`, then goes back: every page must load and its live stream
//    connect within 10 s (a page whose live-events connection outlives it eats one of the
//    browser's six connections per host; the seventh page then never loads).
// 2. After logging in, the command forms and the login form are posted with `back=` values
//    that a browser would resolve to another origin (`/<TAB>/host/`, `/\host/`, ...). Each
//    must end on Picket's own origin; a small HTTP server on another port stands in for the
//    other host and must never be asked for anything.
// Prints "OK" and exits 0, or prints the reason on stderr and exits 1.
// CHROMIUM overrides the browser (default /usr/bin/chromium).
import http from 'node:http';
import { chromium } from 'playwright-core';

const [base, token, shot] = process.argv.slice(2);
if (!base || !token || !shot) {
  console.error('usage: node hardening.mjs BASE_URL TOKEN SCREENSHOT.png');
  process.exit(2);
}
const origin = new URL(base).origin;

// The "other host": another origin on loopback that records every request.
const visits = [];
const evil = http.createServer((req, res) => {
  visits.push(req.url);
  res.end('<h1>evil</h1>');
});
await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
const evilHost = `127.0.0.1:${evil.address().port}`;

// Playwright turns the back/forward cache off by default; a user's Chromium has it on, and
// a page kept in it keeps its connections unless it closes them.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
  ignoreDefaultArgs: ['--disable-back-forward-cache'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Content-Security-Policy violations are reported on the console.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });

  // 1. Navigations by clicking the menu.
  const live = () => page.waitForFunction(
    () => document.getElementById('livestate')?.textContent === 'live',
    null, { timeout: 10000 });
  await page.goto(base + '/', { waitUntil: 'load', timeout: 10000 });
  await live();
  const clicks = ['/hosts', '/denied', '/log?kind=alerts', '/', '/hosts', '/denied',
    '/log?kind=alerts', '/'];
  for (const [i, href] of clicks.entries()) {
    const n = i + 2;
    try {
      await Promise.all([
        page.waitForURL(origin + href, { waitUntil: 'load', timeout: 10000 }),
        page.click(`nav a[href="${href}"]`, { noWaitAfter: true, timeout: 10000 }),
      ]);
      await live();
    } catch (e) {
      throw new Error(`navigation ${n} (${href}) did not complete within 10 s: ${e.message.split('\n')[0]}`);
    }
  }
  // Back to a page restored from the back/forward cache: its stream opens again.
  await page.goBack({ waitUntil: 'commit', timeout: 10000 });
  if (page.url() !== origin + '/log?kind=alerts') throw new Error('back went to ' + page.url());
  try { await live(); } catch (e) { throw new Error('no live stream after going back: ' + e.message.split('\n')[0]); }
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  console.log('NAVIGATED');

  // 2. Log in, then post forms with hostile `back=` values.
  await page.goto(base + '/login', { waitUntil: 'load', timeout: 10000 });
  await page.fill('input[name=token]', token);
  await Promise.all([
    page.waitForURL(origin + '/', { waitUntil: 'load', timeout: 10000 }),
    page.click('form[action="/login"] button[type=submit]'),
  ]);
  const hostile = [
    `/\t/${evilHost}/`,
    `/\n/${evilHost}/`,
    `/\r\n/${evilHost}/`,
    `/\\${evilHost}/`,
    `\\\\${evilHost}/`,
    `\t//${evilHost}/`,
    ` //${evilHost}/`,
    `//${evilHost}/`,
    `/%09/${evilHost}/`,
    `/%5C${evilHost}/`,
    `http://${evilHost}/`,
    `http:${evilHost}`,
  ];
  const svc = '/service?host=firestorm&service=TCP%20Wrappers';
  for (const back of hostile) {
    await page.goto(base + svc, { waitUntil: 'load', timeout: 10000 });
    await page.evaluate((b) => {
      const f = document.querySelector('form input[name=action][value=downtime]').form;
      f.querySelector('input[name=back]').value = b;
      f.querySelector('input[name=author]').value = 'browser';
      f.querySelector('input[name=comment]').value = 'hostile back';
    }, back);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load', timeout: 10000 }),
      page.click('form:has(input[name=action][value=downtime]) button[type=submit]'),
    ]);
    const at = new URL(page.url());
    if (at.origin !== origin || at.pathname !== '/') {
      throw new Error(`back=${JSON.stringify(back)} sent the browser to ${page.url()}`);
    }
  }
  // The login form takes `back=` too.
  for (const back of hostile.slice(0, 4)) {
    await page.goto(base + '/login?back=' + encodeURIComponent(back), { waitUntil: 'load', timeout: 10000 });
    await page.evaluate((b) => {
      const f = document.querySelector('form[action="/login"]');
      let i = f.querySelector('input[name=back]');
      if (!i) { i = document.createElement('input'); i.type = 'hidden'; i.name = 'back'; f.appendChild(i); }
      i.value = b;
    }, back);
    await page.fill('input[name=token]', token);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load', timeout: 10000 }),
      page.click('form[action="/login"] button[type=submit]'),
    ]);
    const at = new URL(page.url());
    if (at.origin !== origin || at.pathname !== '/') {
      throw new Error(`login back=${JSON.stringify(back)} sent the browser to ${page.url()}`);
    }
  }
  // A same-site back link is honoured.
  await page.goto(base + svc, { waitUntil: 'load', timeout: 10000 });
  await page.evaluate(() => {
    const f = document.querySelector('form input[name=action][value=downtime]').form;
    f.querySelector('input[name=author]').value = 'browser';
  });
  await Promise.all([
    page.waitForURL(origin + svc, { waitUntil: 'load', timeout: 10000 }),
    page.click('form:has(input[name=action][value=downtime]) button[type=submit]'),
  ]);
  if (visits.length) throw new Error('the other host was visited: ' + visits.join(', '));
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  await page.screenshot({ path: shot, fullPage: true });
  console.log('OK');
} catch (e) {
  console.error(String(e));
  failed = true;
} finally {
  await browser.close();
  evil.close();
}
process.exit(failed ? 1 : 0);
