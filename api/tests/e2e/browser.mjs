// What the dashboard's browser checks share: Debian's Chromium, headless (never a
// downloaded browser), and the checks they make of a page: a step that must hold, a
// control reached with Tab as a keyboard user does, and axe-core's verdict.
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

/** Debian's Chromium (or `CHROMIUM`), headless. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Throws `what` unless `ok`; says it when it holds. */
export function check(ok, what) {
  if (!ok) throw new Error(what);
  console.log(`    ok: ${what}`);
}

/** Moves the focus of `page` with Tab until `locator` has it. */
export async function tabTo(page, locator, what) {
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    if (await locator.evaluate((el) => el === document.activeElement)) {
      check(true, `${what} is reached with Tab`);
      return;
    }
  }
  check(false, `${what} is reached with Tab`);
}

/** axe-core on `page`: no serious or critical violation. */
export async function axe(page, label) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  for (const v of bad) console.error(`    axe ${label}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target).join(', ')}`);
  check(bad.length === 0, `axe: no serious or critical violation on ${label} (${results.violations.length} minor)`);
}

/** A 1280 × 800 page in a context of its own, with the script and console errors it
 *  meets collected in `problems`. */
export async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  return { context, page, problems };
}
