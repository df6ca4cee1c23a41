// A second dataset on the dashboard, in headless Chromium, against a running API that
// serves a datasets file with an hourly dataset beside the sample:
//   1. `/` lists both datasets, each linking to its month page;
//   2. the dataset's day page draws its 24 hours and its table's columns; its Load button
//      (Tab, Enter) reloads the dataset's day, and the panel ends "Succeeded" without a
//      reload, while the sample's day of the same date is untouched;
//   3. the version that load replaced is rolled back to from the versions panel;
//   4. the dataset's month page shows the day loaded;
//   5. axe-core on every page: no serious or critical violation.
//
//   API_TOKEN=… node datasets.mjs <base url> <dataset> <day>
import { axe as axeOf, check, launch, openPage, tabTo as tabToOn } from './browser.mjs';

const [base, dataset, day] = process.argv.slice(2);
const token = process.env.API_TOKEN;
if (!day || !token) {
  console.error('usage: API_TOKEN=… node datasets.mjs <base> <dataset> <day>');
  process.exit(2);
}
const shots = new URL('../../../target/', import.meta.url).pathname;

const browser = await launch();
const { page, problems } = await openPage(browser);

const tabTo = (locator, what) => tabToOn(page, locator, what);
const axe = (label) => axeOf(page, label);

async function json(path) {
  const response = await fetch(`${base}${path}`);
  return response.json();
}

let failed = false;
try {
  // 1. The list of datasets.
  await page.goto(`${base}/`);
  check(await page.locator('a[href="/?dataset=sample"]').count() === 1
    && await page.locator(`a[href="/?dataset=${dataset}"]`).count() === 1,
    `/ lists the sample and ${dataset}, each linking to its month`);
  await page.screenshot({ path: `${shots}dashboard-datasets.png`, fullPage: true });
  await axe('/ (the datasets)');

  // 2. The dataset's day: its hours, its columns, and a reload from the keyboard.
  const dayPage = `/days/${day}?dataset=${dataset}`;
  await page.goto(`${base}${dayPage}`);
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
  await page.locator('#load').waitFor({ state: 'visible' });
  check(await page.locator('ul.slots li.slot').count() === 24, 'the day page draws 24 hours');
  check(await page.locator('ul.slots li.slot.loaded').count() === 24, 'every hour is loaded');
  check(await page.locator('section[aria-labelledby=columns-title] td code', { hasText: 'kwh' }).count() === 1,
    "the day page lists the dataset's columns");
  await axe(dayPage);
  const sampleBefore = await json(`/days/${day}/versions`);
  const versionsBefore = await json(`/days/${day}/versions?dataset=${dataset}`);
  await page.evaluate(() => { window.notReloaded = true; });
  // The panel shows the day's latest job already (the Swagger UI check's): wait for a new one.
  const before = await page.locator('#active-job .job-status').getAttribute('data-job').catch(() => null);
  await tabTo(page.locator('#load button[type=submit]'), 'the Load button');
  await page.keyboard.press('Enter');
  await page.waitForFunction((earlier) => {
    const shown = document.querySelector('#active-job .job-status');
    return shown && shown.dataset.job !== earlier && /Succeeded/.test(shown.textContent);
  }, before, { timeout: 60000 });
  check(await page.evaluate(() => window.notReloaded === true), 'the reload ends Succeeded on the page, without a reload');
  const versionsAfter = await json(`/days/${day}/versions?dataset=${dataset}`);
  check(versionsAfter.current_version === versionsBefore.current_version + 1,
    `the dataset's day is at version ${versionsAfter.current_version}`);
  const sampleAfter = await json(`/days/${day}/versions`);
  check(JSON.stringify(sampleAfter) === JSON.stringify(sampleBefore), "the sample's day of the same date is untouched");

  // 3. Roll back to the version the reload replaced.
  const back = page.locator('#versions button[data-action=rollback]').first();
  await back.waitFor({ state: 'visible', timeout: 15000 });
  const version = await back.getAttribute('data-version');
  await tabTo(back, `the "Roll back to version ${version}" button`);
  await page.keyboard.press('Enter');
  await page.locator(`#versions tr[data-version="${version}"] td:nth-child(2)`, { hasText: 'current' })
    .waitFor({ timeout: 30000 });
  const rolledBack = await json(`/days/${day}/versions?dataset=${dataset}`);
  check(String(rolledBack.current_version) === version, `version ${version} is the dataset's current one again`);
  await axe(`${dayPage} with its versions`);

  // 4. The dataset's month.
  await page.goto(`${base}/?dataset=${dataset}`);
  await page.locator(`a.cell[data-date="${day}"][data-state="loaded"]`).waitFor({ timeout: 15000 });
  check(true, `the month of ${dataset} shows ${day} loaded`);
  await page.screenshot({ path: `${shots}dashboard-dataset-month.png`, fullPage: true });
  await axe(`/?dataset=${dataset}`);
  check(problems.length === 0, `no page error or console error${problems.length ? `: ${problems.join('; ')}` : ''}`);
} catch (error) {
  failed = true;
  console.error(`the datasets' dashboard check failed: ${error.message}`);
  await page.screenshot({ path: `${shots}dashboard-datasets-failure.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
