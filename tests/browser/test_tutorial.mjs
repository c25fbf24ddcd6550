// The upstream tutorial, end to end: the hub started with the tutorial's flags, a page opened
// from disk (Origin: null) subscribing with EventSource in headless Chromium, and Symfony's PHP
// publisher (Debian's php-symfony-mercure) posting "Hi from Linode!".
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  check, ensureSetup, freePort, launchChromium, log, main, run, sleep, startHub, tempDir, withTimeout,
} from './lib.mjs';

// The tutorial's publisher JWT: HS256 with key "!ChangeMe!", payload {"mercure":{"publish":["*"]}}.
const TUTORIAL_JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.' +
  'obDjwCgqtPuIvwBlTxUEmibbBf0zypKCNzNKP7Op2UM';
const TOPIC_TEMPLATE = 'https://example.com/linode/{id}';
const TOPIC = 'https://example.com/linode/1.jsonld';
const DATA = 'Hi from Linode!';

function subscriberPage(port) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Mercure tutorial subscriber</title></head>
<body>
<h1>Mercure tutorial subscriber</h1>
<ul id="messages"></ul>
<script>
window.received = [];
window.streamOpen = false;
window.streamErrors = 0;
const eventSource = new EventSource('http://localhost:${port}/.well-known/mercure?topic=' +
  encodeURIComponent('${TOPIC_TEMPLATE}'));
eventSource.onopen = () => { window.streamOpen = true; };
eventSource.onerror = () => { window.streamErrors += 1; };
eventSource.onmessage = (event) => {
  window.received.push({ data: event.data, id: event.lastEventId, origin: event.origin });
  const li = document.createElement('li');
  li.textContent = event.data;
  document.getElementById('messages').appendChild(li);
};
</script>
</body>
</html>
`;
}

// Symfony's Mercure component as Debian ships it (0.6: Hub + StaticTokenProvider).
const PUBLISHER_PHP = `<?php
require_once 'Symfony/Component/Mercure/autoload.php';

use Symfony\\Component\\Mercure\\Hub;
use Symfony\\Component\\Mercure\\Jwt\\StaticTokenProvider;
use Symfony\\Component\\Mercure\\Update;

[, $hubUrl, $jwt, $topic, $data] = $argv;
$hub = new Hub($hubUrl, new StaticTokenProvider($jwt));
echo $hub->publish(new Update($topic, $data)), "\\n";
`;

await main(async () => {
  const chromium = await ensureSetup({ php: true });
  const port = await freePort();
  await startHub(['--jwt-key=!ChangeMe!', `--addr=localhost:${port}`, '--allow-anonymous',
    '--cors-allowed-origins=*'], { port });

  const dir = tempDir('mercure-tutorial-');
  const pagePath = path.join(dir, 'subscriber.html');
  fs.writeFileSync(pagePath, subscriberPage(port));
  const publisherPath = path.join(dir, 'publisher.php');
  fs.writeFileSync(publisherPath, PUBLISHER_PHP);

  const browser = await launchChromium(chromium);
  const page = await browser.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  await withTimeout(page.goto(pathToFileURL(pagePath).href), 15000, 'the page to load');

  const opened = await page.waitForFunction(() => window.streamOpen, null, { timeout: 10000 })
    .then(() => true, () => false);
  check(opened, 'a page opened from disk (Origin: null) subscribes through CORS *',
    consoleLines.join('\n'));
  if (!opened)
    return;

  const hubUrl = `http://localhost:${port}/.well-known/mercure`;
  const php = await run('php', [publisherPath, hubUrl, TUTORIAL_JWT, TOPIC, DATA], { timeoutMs: 20000 });
  check(php.status === 0 && /^urn:uuid:[0-9a-f-]{36}$/.test(php.stdout.trim()),
    'the Symfony PHP publisher publishes and gets a urn:uuid id back',
    `status ${php.status}\nstdout: ${php.stdout}\nstderr: ${php.stderr}`);

  const arrived = await page.waitForFunction(() => window.received.length > 0, null, { timeout: 10000 })
    .then(() => true, () => false);
  await sleep(300); // a duplicate would arrive now
  const received = await page.evaluate(() => window.received);
  check(arrived && received.length === 1 && received[0].data === DATA,
    `the page receives exactly "${DATA}"`, JSON.stringify(received));
  check(arrived && received[0].id === php.stdout.trim(), 'the event id is the id the publisher got back',
    JSON.stringify(received));
  const shown = await page.locator('#messages li').allTextContents();
  check(shown.length === 1 && shown[0] === DATA, 'the page shows the message', JSON.stringify(shown));
  check(consoleLines.every((line) => !line.startsWith('pageerror')), 'no script error on the page',
    consoleLines.join('\n'));
});
