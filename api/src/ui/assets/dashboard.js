// The dashboard's script: live updates from GET /events, and the actions (load, cancel,
// backfill, rollback) through the JSON API. The pages are whole without it; it only adds.
//
// The bearer token is typed once per tab and kept in sessionStorage, never in a cookie:
// the API's cross-site rule then still holds, and the token leaves with the tab.
"use strict";

const TOKEN_KEY = "dwh-loader-token";
const tokenRequired = document.body.dataset.tokenRequired === "true";
const notice = document.getElementById("notice");
// The declared dataset the page is about (none: the sample's page). The list of datasets
// follows no events: its calendars are of several datasets.
const pageDataset = document.body.dataset.dataset || "sample";
const overview = Boolean(document.querySelector("[data-overview]"));

/** `path` with the page's dataset named, for a declared dataset's page. */
function withDataset(path) {
  if (pageDataset === "sample") return path;
  return `${path}${path.includes("?") ? "&" : "?"}dataset=${encodeURIComponent(pageDataset)}`;
}

/** Whether an event is about the page's dataset (older servers send none: the sample). */
function ofThisPage(data) {
  return (data.dataset || "sample") === pageDataset;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function canAct() {
  return !tokenRequired || Boolean(token());
}

/** Shows the actions when they can work, the token form when a token is needed. */
function showActions() {
  document.querySelectorAll("[data-action]").forEach((el) => { el.hidden = !canAct(); });
  document.querySelectorAll(".actions-off").forEach((el) => { el.hidden = canAct(); });
  document.getElementById("token-form").hidden = !tokenRequired || Boolean(token());
  document.getElementById("token-forget").hidden = !tokenRequired || !token();
}

function say(text) {
  notice.textContent = text;
}

/** Calls the JSON API; answers [status, body]. */
async function call(method, path) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, { method, headers });
  let body = {};
  try { body = await response.json(); } catch (_) { /* no body */ }
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showActions();
  }
  return [response.status, body];
}

function problemText(status, body) {
  return body.detail || body.title || `the server answered ${status}`;
}

/** The newest refresh asked for, per selector: an older answer arriving later is stale. */
const newestRefresh = new Map();

/**
 * Replaces what `selector` matches with the HTML fragment at `path` (a server-rendered
 * piece). The elements are looked up when the answer arrives, and only the newest refresh
 * of a selector is applied: answers of two refreshes can arrive in either order (one may
 * have waited for a swap's lock), and the older must not overwrite the newer.
 */
async function refresh(selector, path) {
  const ticket = (newestRefresh.get(selector) || 0) + 1;
  newestRefresh.set(selector, ticket);
  const response = await fetch(path, { headers: { Accept: "text/html" } });
  if (!response.ok || newestRefresh.get(selector) !== ticket) return;
  const html = await response.text();
  if (newestRefresh.get(selector) !== ticket) return;
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const fresh = template.content.firstElementChild;
  document.querySelectorAll(selector).forEach((element) => {
    if (fresh) element.replaceWith(fresh.cloneNode(true)); else element.innerHTML = "";
  });
  showActions();
}

function refreshDay(date) {
  const cell = `a.cell[data-date="${date}"]`;
  if (document.querySelector(cell)) refresh(cell, withDataset(`/ui/fragments/day-cell/${date}`));
  const panel = `#active-job[data-date="${date}"]`;
  if (document.querySelector(panel)) refresh(panel, withDataset(`/ui/fragments/active-job/${date}`));
  const versions = `#versions[data-date="${date}"]`;
  if (document.querySelector(versions)) refresh(versions, withDataset(`/ui/fragments/versions/${date}`));
}

function onJobEvent(event) {
  const job = JSON.parse(event.data);
  // Progress bars and job rows are found by the job's id, whatever its dataset (the job
  // list shows every dataset's); a day's cells only on its dataset's page.
  if (job.kind === "progress") {
    document.querySelectorAll(`progress[data-job="${job.job_id}"]`).forEach((bar) => {
      const total = Math.max(job.files_total || 0, job.files_done, 1);
      bar.max = total;
      bar.value = job.files_done;
      bar.setAttribute("aria-label", `Load of ${job.date}: ${job.files_done} of ${total} files`);
      bar.textContent = `${job.files_done} of ${total} files`;
    });
    return;
  }
  if (ofThisPage(job)) refreshDay(job.date);
  document.querySelectorAll(`tr[data-job="${job.job_id}"] .job-status`).forEach((cell) => {
    cell.textContent = job.status;
  });
}

function refreshAll() {
  const dates = new Set();
  document.querySelectorAll("[data-date]").forEach((el) => dates.add(el.dataset.date));
  dates.forEach(refreshDay);
}

// The browser reconnects by itself after a dropped stream, but not after a refusal (503:
// every stream the service serves is taken): then try again later, and refresh what is
// shown once back, since events were missed meanwhile.
function listen(reconnecting = false) {
  if (!("EventSource" in window) || overview) return;
  const source = new EventSource("/events");
  source.addEventListener("job", onJobEvent);
  source.addEventListener("day", (event) => {
    const day = JSON.parse(event.data);
    if (ofThisPage(day)) refreshDay(day.date);
  });
  source.addEventListener("resync", refreshAll);
  source.addEventListener("open", () => {
    if (reconnecting) refreshAll();
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) setTimeout(() => listen(true), 15000);
  });
}

async function load(form) {
  const date = form.dataset.date;
  const partial = form.querySelector("[name=allow_partial]");
  const query = partial && partial.checked ? "&allow_partial=true" : "";
  const [status, body] = await call("POST", withDataset(`/jobs?date=${date}${query}`));
  if (status === 202) {
    say(`Load of ${date} queued (job ${body.id}).`);
    refreshDay(date);
  } else {
    say(`Not queued: ${problemText(status, body)}`);
  }
}

async function cancel(button) {
  const [status, body] = await call("POST", `/jobs/${button.dataset.job}/cancel`);
  if (status === 200 || status === 202) {
    say(status === 200 ? "Job cancelled." : "The load was asked to stop; the day keeps its rows.");
    refreshDay(body.date);
  } else {
    say(`Not cancelled: ${problemText(status, body)}`);
  }
}

async function rollback(button) {
  const { date, version } = button.dataset;
  const [status, body] = await call("POST", withDataset(`/days/${date}/rollback?version=${version}`));
  if (status === 202) {
    say(`Rollback of ${date} to version ${version} queued (job ${body.id}).`);
    refreshDay(date);
  } else {
    say(`Not rolled back: ${problemText(status, body)}`);
  }
}

async function backfill(form) {
  const data = new FormData(form);
  const query = new URLSearchParams({
    from: data.get("from"), to: data.get("to"), reprocess: data.get("reprocess"),
  });
  const [status, body] = await call("POST", withDataset(`/jobs?${query}`));
  if (status === 202 || status === 200) {
    const created = (body.created || []).length;
    const skipped = (body.skipped || []).length + (body.busy || []).length
      + (body.missing || []).length + (body.incomplete || []).length + (body.ambiguous || []).length;
    say(`Backfill: ${created} days queued, ${skipped} left out.`);
  } else {
    say(`Backfill refused: ${problemText(status, body)}`);
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.id === "token-form") {
    event.preventDefault();
    const value = form.querySelector("input").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    form.reset();
    showActions();
    say(value ? "Token kept for this tab." : "");
    return;
  }
  const action = form.dataset.action;
  if (action === "load") { event.preventDefault(); load(form); }
  if (action === "backfill") { event.preventDefault(); backfill(form); }
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action=cancel]");
  if (button) cancel(button);
  const back = event.target.closest("button[data-action=rollback]");
  if (back) rollback(back);
  if (event.target.id === "token-forget") {
    sessionStorage.removeItem(TOKEN_KEY);
    showActions();
    say("Token forgotten.");
  }
});

showActions();
listen();
