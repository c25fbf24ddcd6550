// The debug UI served by the hub (/.well-known/mercure/ui/, --demo or --debug), driven in
// headless Chromium: subscribe from the form, publish from the form, see the events, list the
// active subscriptions; screenshots go to $MERCURE_ARTEFACTS_DIR, and to docs/images/demo-ui.png
// when MERCURE_UPDATE_SCREENSHOT=1.
// MERCURE_UI_FROM_SOURCE=1 serves src/ui/ from a server of the test's own instead (another
// origin, the hub with --cors-allowed-origins='*'): to try the UI before the hub serves it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  artefactsDir, atExit, check, ensureSetup, fetchWithin, freePort, launchChromium, log, main, requireEnv, run,
  SOURCE_ROOT, startHub,
} from './lib.mjs';

const UI_PATH = '/.well-known/mercure/ui/';
const UI_SOURCE = path.join(SOURCE_ROOT, 'src', 'ui');
const UI_FILES = { 'index.html': 'text/html', 'style.css': 'text/css', 'app.js': 'text/javascript' };
const TITLE = 'Mercure hub — debug UI';
const FROM_SOURCE = process.env.MERCURE_UI_FROM_SOURCE === '1';
const WAIT = { timeout: 10000 };

// Serves src/ui/ at /.well-known/mercure/ui/ on a port of its own (MERCURE_UI_FROM_SOURCE=1).
async function serveSource() {
  const port = await freePort();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://localhost');
    const name = url.pathname === UI_PATH ? 'index.html' : url.pathname.slice(UI_PATH.length);
    if (!url.pathname.startsWith(UI_PATH) || !(name in UI_FILES)) {
      response.writeHead(404).end('Not Found.\n');
      return;
    }
    response.writeHead(200, { 'Content-Type': `${UI_FILES[name]}; charset=utf-8` });
    response.end(fs.readFileSync(path.join(UI_SOURCE, name)));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  atExit(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return `http://127.0.0.1:${port}${UI_PATH}`;
}

// Starts a hub with these flags and returns where its UI page is.
async function hubWithUi(key, flags) {
  const port = await freePort();
  const cors = FROM_SOURCE ? ['--cors-allowed-origins=*'] : [];
  const hub = await startHub([`--jwt-key=${key}`, `--addr=127.0.0.1:${port}`, ...flags, ...cors], { port });
  hub.base = `http://127.0.0.1:${port}`;
  hub.hubUrl = `${hub.base}/.well-known/mercure`;
  if (FROM_SOURCE)
    hub.page = `${await serveSource()}?hub=${encodeURIComponent(hub.hubUrl)}`;
  else
    hub.page = `${hub.base}${UI_PATH}`;
  return hub;
}

// The embedded files must be the files of src/ui/, byte for byte, with their content types.
async function checkServedAssets(hub) {
  const index = await fetchWithin(hub.page);
  if (index.status === 404)
    throw new Error(`the hub answers 404 for GET ${UI_PATH} with --demo: the debug UI route is not ` +
      'integrated yet (GET /.well-known/mercure/ui/<path> must serve find_ui_asset(<path>) from ' +
      'src/ui/ui_assets.hpp when demo or debug is on)');
  for (const [name, type] of Object.entries(UI_FILES)) {
    const response = await fetchWithin(`${hub.base}${UI_PATH}${name}`);
    const body = Buffer.from(await response.arrayBuffer());
    const source = fs.readFileSync(path.join(UI_SOURCE, name));
    check(response.status === 200 && (response.headers.get('content-type') || '').startsWith(type) &&
      body.equals(source), `GET ${UI_PATH}${name} serves src/ui/${name} as ${type}`,
      `status ${response.status}, content-type ${response.headers.get('content-type')}, ` +
      `${body.length} bytes served, ${source.length} in the source`);
  }
  const missing = await fetchWithin(`${hub.base}${UI_PATH}no-such-file.js`);
  check(missing.status === 404, `GET ${UI_PATH}no-such-file.js answers 404`, `status ${missing.status}`);
  const root = await fetchWithin(`${hub.base}/`);
  const rootBody = await root.text();
  check(root.status === 200 && rootBody.includes(TITLE), 'GET / serves the debug UI in demo mode',
    `status ${root.status}: ${rootBody.slice(0, 200)}`);
}

// Opens the UI in a new page and collects its script errors.
async function openUi(browser, hub) {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  page.on('console', (message) => {
    // The browser logs every 4xx the page asks for on purpose as "Failed to load resource".
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      page.errors.push(`console: ${message.text()}`);
  });
  const response = await page.goto(hub.page, WAIT);
  if (!response || response.status() !== 200)
    throw new Error(`GET ${hub.page} answered ${response ? response.status() : 'nothing'}`);
  await page.waitForSelector('#hub-url', WAIT);
  return page;
}

async function statusOf(page, selector) {
  return page.locator(selector).evaluate((e) => ({ state: e.dataset.state, text: e.textContent }));
}

// Waits for a status element to leave "busy"; returns its state and text.
async function settled(page, selector) {
  await page.waitForFunction((s) => {
    const e = document.querySelector(s);
    return e && e.dataset.state !== 'busy' && e.dataset.state !== 'idle';
  }, selector, WAIT).catch(() => {});
  return statusOf(page, selector);
}

async function publishFromForm(page, fields) {
  await page.fill('#pub-topics', fields.topics);
  await page.fill('#pub-data', fields.data);
  await page.fill('#pub-id', fields.id || '');
  await page.fill('#pub-type', fields.type || '');
  await page.setChecked('#pub-private', Boolean(fields.private));
  await page.fill('#pub-token', fields.token);
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  return settled(page, '#pub-result');
}

async function eventCount(page) {
  return Number(await page.locator('#events-count').textContent());
}

async function waitForEvents(page, count) {
  await page.waitForFunction((n) => Number(document.getElementById('events-count').textContent) >= n,
    count, WAIT).catch(() => {});
  return eventCount(page);
}

// The newest event shown: { id, type, data }.
async function newestEvent(page) {
  return page.locator('#events li').first().evaluate((li) => ({
    id: li.querySelector('.ev-id').textContent,
    type: li.querySelector('.ev-type').textContent,
    data: li.querySelector('.ev-data').textContent,
  }));
}

await main(async () => {
  const chromium = await ensureSetup();
  const tokenBin = requireEnv('MERCURE_TOKEN_BIN');
  const key = crypto.randomBytes(24).toString('hex');
  const minted = await run(tokenBin, ['--key', key, '--publish', '*', '--subscribe', '*']);
  if (minted.status !== 0)
    throw new Error(`mercure-token failed: ${minted.stderr}`);
  const token = minted.stdout.trim();
  const shots = artefactsDir();

  const hub = await hubWithUi(key, ['--demo', '--subscriptions']);
  if (!FROM_SOURCE)
    await checkServedAssets(hub);
  const browser = await launchChromium(chromium);
  const page = await openUi(browser, hub);

  check(await page.title() === TITLE, `the page title is "${TITLE}"`, await page.title());
  check(await page.locator('h1').textContent() === TITLE, 'the heading names the page');
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select')]
    .filter((e) => e.labels.length === 0).map((e) => e.id || e.name));
  check(unlabelled.length === 0, 'every form control has a label', unlabelled.join(', '));
  check(await page.inputValue('#hub-url') === hub.hubUrl, 'the hub URL defaults to the hub serving the page',
    await page.inputValue('#hub-url'));

  // Subscribe from the form, with the token in the authorization query parameter.
  const selector = 'https://example.com/demo/{id}';
  await page.fill('#sub-topics', selector);
  await page.fill('#sub-token', token);
  await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
  const subscribed = await settled(page, '#sub-status');
  check(subscribed.state === 'ok', 'subscribing from the form opens the stream', JSON.stringify(subscribed));

  // A typed, multi-line update with an id.
  const data = '{"title": "Démo"}\nsecond line';
  const published = await publishFromForm(page, { topics: 'https://example.com/demo/42', data, id: 'demo-1',
    type: 'greeting', token });
  check(published.state === 'ok' && published.text.includes('demo-1'), 'publishing from the form succeeds',
    JSON.stringify(published));
  const afterFirst = await waitForEvents(page, 1);
  const first = afterFirst >= 1 ? await newestEvent(page) : null;
  check(first && first.id === 'demo-1' && first.type === 'greeting' && first.data === data,
    'the typed update appears in the event list with its id, type and data', JSON.stringify(first));

  // A private update reaches this subscriber: its token's subscribe claim is "*".
  const secret = await publishFromForm(page, { topics: 'https://example.com/demo/43\nhttps://example.com/alt/43',
    data: '{"secret": true}', private: true, token });
  check(secret.state === 'ok' && /urn:uuid:/.test(secret.text), 'a private update gets a generated id',
    JSON.stringify(secret));
  const afterSecond = await waitForEvents(page, 2);
  const second = afterSecond >= 2 ? await newestEvent(page) : null;
  check(second && second.data === '{"secret": true}' && second.type === 'message' &&
    secret.text.endsWith(second.id), 'the private update appears too', JSON.stringify(second));

  // The active subscriptions API lists this page's subscription.
  await page.getByRole('button', { name: 'List subscriptions' }).click();
  const listed = await settled(page, '#subs-status');
  const rows = await page.locator('#subs-rows tr td:first-child').allTextContents();
  check(listed.state === 'ok' && rows.includes(selector), 'the active subscriptions list shows the page\'s selector',
    `${JSON.stringify(listed)} ${JSON.stringify(rows)}`);

  const shot = path.join(shots, 'demo-ui.png');
  await page.screenshot({ path: shot, fullPage: true, animations: 'disabled' });
  log(`screenshot: ${shot}`);
  if (process.env.MERCURE_UPDATE_SCREENSHOT === '1') {
    const target = path.join(SOURCE_ROOT, 'docs', 'images', 'demo-ui.png');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(shot, target);
    log(`copied to ${target}`);
  }

  // Refusals are explained.
  const refused = await publishFromForm(page, { topics: 'https://example.com/demo/44', data: 'x', token: 'not-a-jwt' });
  check(refused.state === 'error' && refused.text.includes('HTTP 401'), 'a bad publisher token shows the 401',
    JSON.stringify(refused));

  // Watching subscription events: another subscriber connecting shows up as a Subscription event.
  await page.getByRole('button', { name: 'Watch subscription events' }).click();
  const watching = await settled(page, '#sub-status');
  check(watching.state === 'ok', 'watching subscription events subscribes', JSON.stringify(watching));
  const before = await eventCount(page);
  const other = new AbortController();
  const otherTopic = 'https://example.com/other/1';
  const stream = await fetchWithin(`${hub.hubUrl}?topic=${encodeURIComponent(otherTopic)}` +
    `&authorization=${encodeURIComponent(token)}`, { signal: other.signal });
  atExit(() => other.abort());
  check(stream.status === 200, 'a second subscriber connects', `status ${stream.status}`);
  const afterOther = await waitForEvents(page, before + 1);
  const seen = afterOther > before ? await newestEvent(page) : null;
  let doc = null;
  try {
    doc = seen && JSON.parse(seen.data);
  } catch (error) {
    // reported below
  }
  check(doc && doc.type === 'Subscription' && doc.topic === otherTopic && doc.active === true,
    'the new subscription appears as a Subscription event', JSON.stringify(seen));
  other.abort();

  // Unsubscribing closes the stream: the subscriptions API no longer lists the page's selector.
  await page.getByRole('button', { name: 'Unsubscribe' }).click();
  check((await statusOf(page, '#sub-status')).text === 'Unsubscribed', 'unsubscribing is acknowledged');
  let remaining = [];
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await page.getByRole('button', { name: 'List subscriptions' }).click();
    await settled(page, '#subs-status');
    remaining = await page.locator('#subs-rows tr td:first-child').allTextContents();
    if (remaining.length === 0)
      break;
    await page.waitForTimeout(250);
  }
  check(remaining.length === 0, 'after unsubscribing, no subscription is listed', JSON.stringify(remaining));
  check(page.errors.length === 0, 'no script error on the page', page.errors.join('\n'));

  // Debug mode without the subscriptions API: the UI says the API is disabled.
  const debugHub = await hubWithUi(key, ['--debug']);
  if (!FROM_SOURCE) {
    const root = await fetchWithin(`${debugHub.base}/`);
    check((await root.text()).includes('Welcome to Mercure!'), 'GET / stays the welcome page in debug mode');
  }
  const debugPage = await openUi(browser, debugHub);
  await debugPage.fill('#subs-token', token);
  await debugPage.getByRole('button', { name: 'List subscriptions' }).click();
  const disabled = await settled(debugPage, '#subs-status');
  check(disabled.state === 'error' && /disabled/.test(disabled.text) && /--subscriptions/.test(disabled.text),
    'with the API disabled (404) the UI says so and how to enable it', JSON.stringify(disabled));
  await debugPage.screenshot({ path: path.join(shots, 'demo-ui-subscriptions-disabled.png'), animations: 'disabled' });
  check(debugPage.errors.length === 0, 'no script error on the debug page', debugPage.errors.join('\n'));
});
