// Drives Swagger UI of a running API in headless Chromium the way a user does: open
// /docs, expand POST /jobs, "Try it out" with 2023-01-01, Execute, see 202; then follow
// the job with GET /jobs/{id} until it has succeeded. With DATASET set, the same again for
// that dataset's 2023-01-01 (the `dataset` field filled in). When API_TOKEN is set it is
// entered through the Authorize button first. Saves a screenshot under target/.
//
//   [API_TOKEN=…] [DATASET=…] node swagger.mjs http://127.0.0.1:8080 [screenshot.png]
import { launch } from './browser.mjs';

const base = process.argv[2];
const screenshot = process.argv[3] ?? '../../../target/swagger-e2e.png';
if (!base) {
  console.error('usage: node swagger.mjs <base url> [screenshot.png]');
  process.exit(2);
}

const browser = await launch();

/** Expands an operation, turns on "Try it out", fills parameters and executes it. */
async function execute(page, operationId, params) {
  const op = page.locator(`#operations-${operationId}`);
  if (!(await op.locator('.try-out__btn').isVisible())) {
    await op.locator('.opblock-summary').first().click();
  }
  const tryOut = op.locator('button.try-out__btn');
  if ((await tryOut.textContent()).includes('Try it out')) await tryOut.click();
  for (const [name, value] of Object.entries(params)) {
    await op.locator(`tr[data-param-name="${name}"] input`).fill(value);
  }
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 15000 });
  const body = await op.locator('.live-responses-table .response-col_description pre').first().textContent();
  return { op, status: (await status.textContent()).trim(), body };
}

/** POST /jobs with `params` → 202 (of the right dataset), then GET /jobs/{id} until it
 *  has succeeded; returns the last GET's result. */
async function loadThrough(page, params) {
  const created = await execute(page, 'jobs-create_jobs', params);
  const query = new URLSearchParams(params).toString();
  if (created.status !== '202') throw new Error(`POST /jobs?${query} answered ${created.status}: ${created.body}`);
  const job = JSON.parse(created.body);
  const dataset = params.dataset ?? 'sample';
  if (job.dataset !== dataset) throw new Error(`the job is of dataset ${job.dataset}, not ${dataset}`);
  console.log(`POST /jobs?${query} -> 202, job ${job.id} of ${job.dataset} (${job.status})`);
  let status = job.status;
  const deadline = Date.now() + 120000;
  let last;
  while (status !== 'succeeded') {
    if (['failed', 'cancelled'].includes(status)) throw new Error(`job ended ${status}: ${last?.body}`);
    if (Date.now() > deadline) throw new Error(`job still ${status} after 120 s`);
    await page.waitForTimeout(500);
    last = await execute(page, 'jobs-get_job', { id: job.id });
    if (last.status !== '200') throw new Error(`GET /jobs/{id} answered ${last.status}`);
    status = JSON.parse(last.body).status;
  }
  console.log(`GET /jobs/${job.id} -> succeeded, ${JSON.parse(last.body).rows_loaded} rows`);
  return last;
}

let failed = false;
const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
// The service's Content-Security-Policy must not refuse anything Swagger UI needs.
const refusals = [];
page.on('console', (message) => {
  if (message.type() === 'error' && message.text().includes('Content Security Policy')) refusals.push(message.text());
});
try {
  await page.goto(`${base}/docs/`);
  await page.locator('.swagger-ui .information-container .title').waitFor({ timeout: 15000 });

  if (process.env.API_TOKEN) {
    await page.locator('.auth-wrapper button.authorize').click();
    const modal = page.locator('.modal-ux');
    await modal.locator('input').first().fill(process.env.API_TOKEN);
    await modal.locator('.auth-btn-wrapper button.authorize').click();
    await modal.locator('button.btn-done').click();
    console.log('authorized with the bearer token');
    const kept = await page.evaluate((token) => Object.keys(localStorage)
      .filter((key) => localStorage.getItem(key)?.includes(token)), process.env.API_TOKEN);
    if (kept.length > 0) throw new Error(`the token was kept in localStorage (${kept.join(', ')})`);
    console.log('the token is not kept in localStorage');
  }

  const last = await loadThrough(page, { date: '2023-01-01' });
  if (process.env.DATASET) await loadThrough(page, { date: '2023-01-01', dataset: process.env.DATASET });
  await last.op.scrollIntoViewIfNeeded();
  if (refusals.length > 0) throw new Error(`the content security policy refused: ${refusals.join('; ')}`);
  console.log('nothing refused by the content security policy');
} catch (error) {
  failed = true;
  console.error(`swagger UI check failed: ${error.message}`);
} finally {
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
  await browser.close();
}
process.exit(failed ? 1 : 0);
