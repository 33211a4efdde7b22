// Headless Chromium opens the Incidents page, follows the busiest open incident's source to its
// source page (the server-rendered SVG timeline), then the incident page, and saves a
// screenshot of each.
//
//   node incidents.mjs BASE_URL OUT_DIR
//
// Checks: the Incidents link is in the navigation; open incidents are listed before closed
// ones; the source page's chart has marks, axis labels and shaded incidents; hostile names
// from the network are shown as text (no element injected); no page error and no
// Content-Security-Policy violation. Writes OUT_DIR/incidents.png, source.png (timeline.png: its chart), incident.png.
// Prints "OK" and exits 0, or prints the reason on stderr and exits 1.
// CHROMIUM overrides the browser (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error('usage: node incidents.mjs BASE_URL OUT_DIR');
  process.exit(2);
}
const origin = new URL(base).origin;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });
  const check = (cond, msg) => { if (!cond) throw new Error(msg); };

  // 1. The Incidents page, from the navigation.
  await page.goto(base + '/', { waitUntil: 'load', timeout: 10000 });
  await Promise.all([
    page.waitForURL(origin + '/incidents', { waitUntil: 'load', timeout: 10000 }),
    page.click('nav a[href="/incidents"]', { timeout: 10000 }),
  ]);
  const openRows = await page.locator('#incidents-open tr.open').count();
  const closedRows = await page.locator('#incidents-closed tr.closed').count();
  check(openRows > 0 && closedRows > 0, `open ${openRows}, closed ${closedRows} incident rows`);
  const order = await page.evaluate(() => {
    const o = document.getElementById('incidents-open');
    const c = document.getElementById('incidents-closed');
    return !!(o && c && (o.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING));
  });
  check(order, 'open incidents are not listed first');
  await page.screenshot({ path: `${out}/incidents.png`, fullPage: true });

  // 2. The source of the open incident with the most events: its timeline.
  const busiest = await page.evaluate(() => {
    const rows = [...document.querySelectorAll('#incidents-open tr.open')];
    let best = 0, most = -1;
    rows.forEach((r, i) => { const n = Number(r.children[5].textContent); if (n > most) { most = n; best = i; } });
    return best;
  });
  const src = page.locator('#incidents-open tr.open').nth(busiest).locator('td:nth-child(2) a');
  const srcText = await src.textContent();
  await Promise.all([
    page.waitForURL(/\/source\//, { waitUntil: 'load', timeout: 10000 }),
    src.click(),
  ]);
  check((await page.locator('h1').textContent()).includes(srcText), 'source page title');
  const chart = await page.evaluate(() => {
    const svg = document.querySelector('svg#timeline');
    if (!svg) return null;
    const box = svg.getBoundingClientRect();
    return {
      marks: svg.querySelectorAll('circle.mark').length,
      ticks: [...svg.querySelectorAll('text.tick')].map((t) => t.textContent),
      spans: svg.querySelectorAll('g.span').length,
      rows: svg.querySelectorAll('text.rowlabel').length,
      width: box.width,
      height: box.height,
      injected: document.querySelectorAll('main script, main img, svg script').length,
    };
  });
  check(chart, 'no timeline chart on the source page');
  check(chart.marks > 0, 'no marks drawn');
  check(chart.ticks.length >= 2 && chart.ticks.every((t) => /^\d\d:\d\d(:\d\d)?$/.test(t)), 'axis labels: ' + chart.ticks);
  check(chart.spans > 0, 'no incident shaded');
  check(chart.width > 600 && chart.height > 80, `chart size ${chart.width}x${chart.height}`);
  check(chart.injected === 0, 'an element was injected by a name from the network');
  await page.screenshot({ path: `${out}/source.png`, fullPage: true });
  await page.locator('figure.chart').screenshot({ path: `${out}/timeline.png` });

  // 3. An incident page, from the source page's incident list.
  const inc = page.locator('#source-incidents td:first-child a').first();
  await Promise.all([
    page.waitForURL(/\/incidents\/\d+$/, { waitUntil: 'load', timeout: 10000 }),
    inc.click(),
  ]);
  check(await page.locator('dl#incident').count() === 1, 'incident facts');
  check(await page.locator('svg#timeline circle.mark').count() > 0, 'incident timeline');
  await page.screenshot({ path: `${out}/incident.png`, fullPage: true });

  // 4. The Denied page links its sources to their pages.
  await page.goto(base + '/denied', { waitUntil: 'load', timeout: 10000 });
  check(await page.locator('#denied a[href^="/source/"]').count() > 0, 'Denied page does not link sources');

  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  console.log('OK');
} catch (e) {
  console.error(String(e));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
