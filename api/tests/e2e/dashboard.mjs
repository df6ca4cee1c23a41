// The dashboard in headless Chromium, against a running API that has a token:
//   1. the token is typed once into the page's form (kept in sessionStorage); every
//      action below is reached with Tab and pressed with Enter;
//   2. on /days/<LOAD_DAY>, the Load button is reached with the keyboard (Tab) and pressed
//      with Enter; the progress bar takes at least 3 distinct values and the panel ends
//      "Succeeded", with no page reload; meanwhile the day's cell on the month page, open
//      in another tab, turns to Loading and back to Loaded, with no reload either; then
//      the version that load replaced is rolled back to from the versions panel;
//   3. the month page shows a loaded, a failed, a running (a load of <RUNNING_DAY>, held at
//      its swap by the caller) and a missing day; screenshots at 1280 × 800 and 390 × 844,
//      no sideways scrolling at 390 and 1,440 px;
//   4. a backfill from the month's form answers on the page; the running load is cancelled
//      from its day's page and ends "Cancelled";
//   5. axe-core on every page: no serious or critical violation.
//
//   API_TOKEN=… node dashboard.mjs <base url> <load day> <running day> <failed day> <missing day>
import { axe as axeOf, check, launch, openPage, tabTo as tabToOn } from './browser.mjs';

const [base, loadDay, runningDay, failedDay, missingDay] = process.argv.slice(2);
const token = process.env.API_TOKEN;
if (!missingDay || !token) {
  console.error('usage: API_TOKEN=… node dashboard.mjs <base> <load day> <running day> <failed day> <missing day>');
  process.exit(2);
}
const shots = new URL('../../../target/', import.meta.url).pathname;

const browser = await launch();
const { context, page, problems } = await openPage(browser);

const tabTo = (locator, what) => tabToOn(page, locator, what);
const axe = (label) => axeOf(page, label);

try {
  // 1. The token, through the page's own form.
  await page.goto(`${base}/days/${loadDay}`);
  check(await page.locator('#load').isHidden(), 'without a token the page is read-only');
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
  await page.locator('#load').waitFor({ state: 'visible' });
  check(await page.evaluate(() => sessionStorage.getItem('dwh-loader-token') !== null)
    && (await context.cookies()).length === 0, 'the token is kept in sessionStorage, no cookie');
  await axe(`/days/${loadDay}`);

  // 2. Load with the keyboard; watch the new job's bar move without a reload, and the
  //    day's cell on the month page (another tab) turn to Loading and back to Loaded.
  const month = await context.newPage();
  await month.goto(`${base}/?dataset=sample`);
  await month.evaluate(() => { window.notReloaded = true; });
  const cellStates = [];
  await page.bringToFront();
  await page.evaluate(() => { window.notReloaded = true; });
  const before = await page.locator('#active-job .job-status').getAttribute('data-job').catch(() => null);
  await tabTo(page.locator('#load button[type=submit]'), 'the Load button');
  await page.keyboard.press('Enter');
  const values = new Set();
  const deadline = Date.now() + 120000;
  let status = '';
  while (Date.now() < deadline) {
    const shown = page.locator('#active-job .job-status');
    const job = (await shown.count()) ? await shown.getAttribute('data-job') : null;
    if (job && job !== before) {
      const bar = page.locator(`#active-job progress[data-job="${job}"]`);
      // The bar goes when the job ends, maybe between count() and getAttribute(): read it
      // without waiting for one that is gone.
      const value = (await bar.count())
        ? await bar.getAttribute('value', { timeout: 200 }).catch(() => null)
        : null;
      if (value !== null) values.add(value);
      status = (await shown.textContent()) ?? '';
      const cell = await month.locator(`a.cell[data-date="${loadDay}"]`).getAttribute('data-state');
      if (cellStates.at(-1) !== cell) cellStates.push(cell);
      if (/Succeeded|Failed|Cancelled/.test(status)) break;
    }
    await page.waitForTimeout(50);
  }
  check(/Succeeded/.test(status), `the load ends Succeeded on the page (${status.trim()})`);
  check(values.size >= 3, `the progress bar took ${values.size} distinct values: ${[...values].join(', ')}`);
  check(await page.evaluate(() => window.notReloaded === true), 'without a page reload');
  await month.locator(`a.cell[data-date="${loadDay}"][data-state="loaded"]`).waitFor({ timeout: 15000 });
  check(cellStates.includes('running') && await month.evaluate(() => window.notReloaded === true),
    `the month's cell changed colour as the load ran and ended, without a reload (${cellStates.join(' → ')})`);
  await month.close();

  // 2b. The day's versions: that load replaced an earlier one, which is kept. Roll back to
  //     it with the keyboard; the panel shows it current again, without a reload.
  const back = page.locator('#versions button[data-action=rollback]').first();
  await back.waitFor({ state: 'visible', timeout: 15000 });
  const version = await back.getAttribute('data-version');
  check(await page.locator('#versions tr[data-version] td:nth-child(2)', { hasText: 'current' }).count() === 1,
    `the versions panel shows one current version and offers version ${version} back`);
  await tabTo(back, `the "Roll back to version ${version}" button`);
  await page.keyboard.press('Enter');
  await page.locator('#notice', { hasText: `Rollback of ${loadDay} to version ${version} queued` }).waitFor({ timeout: 10000 });
  await page.locator(`#versions tr[data-version="${version}"] td:nth-child(2)`, { hasText: 'current' })
    .waitFor({ timeout: 30000 });
  check(await page.evaluate(() => window.notReloaded === true),
    `version ${version} is current again on the page, without a reload`);
  await axe(`/days/${loadDay} with its versions`);

  // 3. The month: loaded, failed, running, missing.
  await page.goto(`${base}/?dataset=sample`);
  const label = async (day) => {
    const cell = page.locator(`a.cell[data-date="${day}"]`);
    return `${await cell.getAttribute('data-state')}: ${(await cell.locator('.state-word').textContent()).trim()}`;
  };
  check(await label(loadDay) === 'loaded: Loaded', `${loadDay} is Loaded`);
  check(await label(failedDay) === 'failed: Failed', `${failedDay} is Failed`);
  check(await label(missingDay) === 'empty: No files', `${missingDay} has no files`);
  check(/^running: (Loading|Load queued)$/.test(await label(runningDay)), `${runningDay} is loading`);
  check(await page.locator(`a.cell[data-date="${runningDay}"] progress`).count() === 1, 'with its progress bar');
  check((await page.locator(`a.cell[data-date="${failedDay}"]`).getAttribute('href')) === `/days/${failedDay}#jobs-title`,
    'the failed day links to its error');
  check((await page.title()).includes('The warehouse by day'), 'the page title says what it is');
  await page.screenshot({ path: `${shots}dashboard-month-1280.png`, fullPage: true });
  await axe('/?dataset=sample');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${shots}dashboard-month-390.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `readable at 390 px: no sideways scrolling (${overflow} px)`);
  await page.setViewportSize({ width: 1440, height: 900 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `readable at 1,440 px: no sideways scrolling (${wide} px)`);
  await page.setViewportSize({ width: 1280, height: 800 });

  // Backfill from the form, with the keyboard: of the failed day (incomplete) and the
  // missing one (no files), nothing is queued, and the page says so.
  await page.fill('#backfill [name=from]', failedDay);
  await page.fill('#backfill [name=to]', missingDay);
  await page.locator('#backfill [name=from]').focus();
  await tabTo(page.locator('#backfill button[type=submit]'), 'the Backfill button');
  await page.keyboard.press('Enter');
  await page.locator('#notice', { hasText: 'Backfill: 0 days queued, 2 left out.' }).waitFor({ timeout: 10000 });
  check(true, 'the backfill answer is shown');

  // 4. Cancel the running load from its page, with the keyboard.
  await page.goto(`${base}/days/${runningDay}`);
  await page.locator('#active-job button[data-action=cancel]').waitFor({ state: 'visible' });
  await tabTo(page.locator('#active-job button[data-action=cancel]'), 'the Cancel button');
  await page.keyboard.press('Enter');
  await page.locator('#active-job .job-status', { hasText: 'Cancelled' }).waitFor({ timeout: 60000 });
  check(true, 'the running load is cancelled from the page and ends Cancelled');

  // 5. The other pages.
  await page.goto(`${base}/days/${failedDay}`);
  check((await page.locator('#jobs-title + div table').textContent()).includes('file'),
    'the failed day shows its error with the file');
  await axe(`/days/${failedDay}`);
  await page.goto(`${base}/ui/jobs`);
  await axe('/ui/jobs');
  // The filter form, as a person uses it: one status, then "any" with no dates.
  await page.selectOption('form[aria-label="Filter jobs"] select[name=status]', 'failed');
  await page.click('form[aria-label="Filter jobs"] button[type=submit]');
  await page.waitForURL(/status=failed/);
  const failedRows = await page.locator('table.list tbody tr').count();
  const failedOnly = await page.locator('table.list tbody tr .job-status').allTextContents();
  check(failedRows > 0 && failedOnly.every((text) => text.includes('Failed')),
    `the filter form shows the failed jobs only (${failedOnly.join(', ')})`);
  await page.selectOption('form[aria-label="Filter jobs"] select[name=status]', '');
  await page.click('form[aria-label="Filter jobs"] button[type=submit]');
  await page.waitForURL(/status=&/);
  check((await page.title()).startsWith('Jobs')
      && (await page.locator('table.list tbody tr').count()) > failedRows,
    'the filter form with "any" status and empty dates shows every job');
  check(problems.length === 0, `no script errors, no content-security refusals (${problems.join('; ')})`);

  // Another site's page cannot frame the dashboard (and click its buttons).
  const framer = await browser.newPage();
  await framer.setContent(`<iframe src="${base}/" width="800" height="600"></iframe>`);
  await framer.waitForTimeout(1000);
  const framed = framer.frames().find((frame) => frame !== framer.mainFrame());
  const framedTitle = framed ? await framed.title().catch(() => '') : '';
  check(!framedTitle.includes('dwh-loader'), `a framed dashboard stays empty (${framed?.url()})`);
  await framer.close();
  // (The browser logs the 400 of this page itself as a console error.)
  await page.goto(`${base}/days/2023-02-30`);
  check((await page.title()).startsWith('Bad Request'), 'an impossible date is a 400 page');
} catch (error) {
  console.error(`dashboard e2e failed: ${error.message}`);
  await page.screenshot({ path: `${shots}dashboard-failure.png`, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
