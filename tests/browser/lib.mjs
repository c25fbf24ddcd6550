// Harness shared by the browser tests: setup check, the real hub on a free port, headless
// Debian Chromium through playwright-core, bounded waits, and cleanup of every child.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_ROOT = path.resolve(HERE, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
export const SKIP = 77;

// The flags known to work on these machines: the closed network refuses Chromium's background
// connections, so they are all turned off.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Settings the hub reads from the environment: scrubbed so the outer environment cannot leak in.
const HUB_ENV_VARS = ['ADDR', 'JWT_KEY', 'JWT_ALGORITHM', 'PUBLISHER_JWT_KEY', 'PUBLISHER_JWT_ALGORITHM',
  'SUBSCRIBER_JWT_KEY', 'SUBSCRIBER_JWT_ALGORITHM', 'ALLOW_ANONYMOUS', 'CORS_ALLOWED_ORIGINS',
  'PUBLISH_ALLOWED_ORIGINS', 'USE_FORWARDED_HEADERS', 'DEBUG', 'DEMO', 'HEARTBEAT_INTERVAL',
  'DISPATCH_TIMEOUT', 'WRITE_TIMEOUT', 'READ_TIMEOUT', 'MAX_BODY_SIZE', 'MAX_TOPICS', 'COOKIE_NAME',
  'LOG_LEVEL', 'TRANSPORT_URL', 'SUBSCRIPTIONS', 'METRICS', 'LOG_FORMAT', 'CERT_FILE', 'KEY_FILE',
  'MAX_HEADER_SIZE', 'MAX_QUEUED_BYTES', 'MAX_CONNECTIONS', 'NOTIFY_SOCKET', 'LISTEN_FDS', 'LISTEN_PID',
  'LISTEN_FDNAMES', 'JOURNAL_STREAM', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'MERCURE_CONFIG'];

const cleanups = [];
let failures = 0;
let passes = 0;

export function log(message) {
  process.stderr.write(`# ${message}\n`);
}

// Registers a cleanup run at the end, in reverse order, whatever happens.
export function atExit(fn) {
  cleanups.push(fn);
}

async function runCleanups() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await withTimeout(Promise.resolve().then(fn), 10000, 'cleanup');
    } catch (error) {
      log(`cleanup failed: ${error.message}`);
    }
  }
}

// Resolves like promise, or rejects after ms saying what was awaited.
export function withTimeout(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Records one check; a failed check does not stop the test, a thrown error does.
export function check(condition, description, detail = '') {
  if (condition) {
    passes += 1;
    process.stdout.write(`ok - ${description}\n`);
  } else {
    failures += 1;
    process.stdout.write(`not ok - ${description}${detail ? `\n#   ${detail.replace(/\n/g, '\n#   ')}` : ''}\n`);
  }
  return condition;
}

// Runs the test body with a hard deadline, cleans up, prints the tally and exits.
export async function main(body, { deadlineMs = 100000 } = {}) {
  const hard = setTimeout(async () => {
    log(`test exceeded its ${deadlineMs} ms deadline`);
    await runCleanups();
    process.exit(1);
  }, deadlineMs);
  let status = 0;
  try {
    await body();
  } catch (error) {
    if (error instanceof Skip) {
      log(`SKIP: ${error.message}`);
      status = SKIP;
    } else {
      failures += 1;
      process.stdout.write(`not ok - ${String(error.message).split('\n')[0]}\n`);
      if (error.stack)
        log(error.stack);
    }
  }
  await runCleanups();
  clearTimeout(hard);
  if (status !== SKIP) {
    process.stdout.write(`${passes} passed, ${failures} failed\n`);
    status = failures ? 1 : 0;
  }
  process.exit(status);
}

export class Skip extends Error {}

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

// Makes sure Chromium, PHP (when needed) and playwright-core are there, running setup.sh if
// not; throws Skip when they cannot be installed on this machine.
export async function ensureSetup({ php = false } = {}) {
  const ready = () => fs.existsSync(CHROMIUM) &&
    fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core', 'package.json')) &&
    (!php || (fs.existsSync('/usr/bin/php') && installed('php-symfony-mercure') && installed('php-symfony-http-client')));
  if (!ready()) {
    log('running tests/browser/setup.sh');
    const r = spawnSync(path.join(HERE, 'setup.sh'), { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600000 });
    if (r.status === SKIP)
      throw new Skip('setup.sh could not install what the browser tests need (see above)');
    if (r.status !== 0 || !ready())
      throw new Error(`tests/browser/setup.sh failed (status ${r.status ?? r.signal})`);
  }
  return (await import('playwright-core')).chromium;
}

export function requireEnv(name) {
  const value = process.env[name];
  if (!value || !fs.existsSync(value))
    throw new Error(`${name} is not set or does not exist: ${JSON.stringify(value)} (run through meson test)`);
  return value;
}

// A port that was free on 127.0.0.1 a moment ago.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  atExit(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// fetch with a bounded wait for the response headers (and for the body, when read in time).
export async function fetchWithin(url, options = {}, ms = 5000) {
  const timeout = AbortSignal.timeout(ms);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  return fetch(url, { ...options, signal });
}

// Starts the real hub with these arguments, waits for /healthz, and stops it at exit.
export async function startHub(args, { port, readyMs = 10000 } = {}) {
  const bin = requireEnv('MERCURE_BIN');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !HUB_ENV_VARS.includes(k)));
  const cwd = tempDir('mercure-browser-hub-');
  const child = spawn(bin, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = code ?? signal;
    resolve();
  }));
  const hub = {
    port,
    output: () => output,
    async stop() {
      if (exited !== null)
        return;
      child.kill('SIGTERM');
      try {
        await withTimeout(exit, 5000, 'the hub to stop');
      } catch (error) {
        child.kill('SIGKILL');
        await withTimeout(exit, 5000, 'the hub to die');
      }
    },
  };
  atExit(() => hub.stop());
  atExit(() => {
    if (failures)
      log(`output of the hub on port ${port}:\n# ${output.trimEnd().replace(/\n/g, '\n# ')}`);
  });
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (exited !== null)
      throw new Error(`the hub exited (${exited}) before answering /healthz\ncommand: ${bin} ${args.join(' ')}\n${output}`);
    try {
      const response = await fetchWithin(`http://127.0.0.1:${port}/healthz`, {}, 1000);
      if (response.ok)
        return hub;
    } catch (error) {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`the hub did not answer /healthz within ${readyMs} ms\n${output}`);
    await sleep(100);
  }
}

// Launches headless Debian Chromium with a fresh profile; closed at exit.
export async function launchChromium(chromium) {
  const browser = await withTimeout(chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30000,
  }), 35000, 'Chromium to start');
  atExit(() => browser.close());
  return browser;
}

// Runs a command with a bounded wait; resolves to { status, stdout, stderr }.
export function run(command, args, { timeoutMs = 20000, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? signal, stdout, stderr });
    });
  });
}

// Where screenshots go: $MERCURE_ARTEFACTS_DIR (set by meson to the build dir), else a temp dir.
export function artefactsDir() {
  const dir = process.env.MERCURE_ARTEFACTS_DIR || path.join(os.tmpdir(), 'mercure-browser-artefacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
