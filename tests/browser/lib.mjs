// lib.mjs - what the browser suites share: playwright-core and axe-core from
// node_modules (npm ci when missing; never a browser download), the stack
// (tests/stack.py --demo), a tiny test framework, screenshots at desktop and
// phone width, an axe-core check, and the runner that prints TAP-like lines.
//
// Environment: CHROMIUM (default /usr/bin/chromium), HOSTLINK_BUILDDIR,
// BROWSER_TIMEOUT_MS.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(dirname(HERE));
export const OUT = join(HERE, 'out');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const STEP_MS = Number(process.env.BROWSER_TIMEOUT_MS || 15000);
export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 375, height: 740 };

function npmCi() {
  console.log('# node_modules incomplete: npm ci --no-audit --no-fund in ' + HERE);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE, encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' } });
  if (r.status !== 0) throw new Error('npm ci failed (' + r.status + '):\n' + (r.stdout || '') + (r.stderr || r.error || ''));
}

export async function loadPlaywright() {
  if (!existsSync(join(HERE, 'node_modules', 'playwright-core')) ||
      !existsSync(join(HERE, 'node_modules', 'axe-core'))) npmCi();
  return import('playwright-core');
}

// The source of axe.min.js, injected into pages by axe().
export function axeSource() {
  return readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
}

// tests/stack.py --demo --json: resolves to its HL_* environment (+ child, log).
export function startStack(extraArgs = []) {
  return new Promise((resolve, reject) => {
    const log = [];
    const state = join(tmpdir(), `hostlink-browser-${process.pid}-${Date.now()}`);
    const child = spawn('python3', [join(ROOT, 'tests', 'stack.py'), '--state', state,
      '--port', '0', '--demo', '--json', '--stdin', '--set', 'workers=2', ...extraArgs], {
      cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: process.env,
    });
    let buf = '';
    const timer = setTimeout(() => {
      reject(new Error('stack.py did not start within 90 s:\n' + log.join('')));
      child.kill('SIGTERM');
    }, 90000);
    child.stderr.on('data', (d) => log.push(d.toString()));
    child.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) {
          clearTimeout(timer);
          resolve({ env: JSON.parse(line), child, log });
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error('stack.py exited with ' + code + ':\n' + log.join('')));
    });
  });
}

export function stopStack(stack) {
  return new Promise((resolve) => {
    if (!stack || stack.child.exitCode !== null) { resolve(); return; }
    const t = setTimeout(() => { stack.child.kill('SIGKILL'); resolve(); }, 20000);
    stack.child.removeAllListeners('exit');
    stack.child.on('exit', () => { clearTimeout(t); resolve(); });
    stack.child.stdin.end(); // tests/stack.py stops everything when stdin closes
  });
}

// ---------------------------------------------------------------------------
// Tiny test framework

export class Failure extends Error {}

export function assert(cond, msg) {
  if (!cond) throw new Failure(msg);
}

export function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new Failure(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export async function poll(fn, what, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Failure(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

// Screenshot at desktop and phone width; fails when the page scrolls sideways at 375 px.
export async function shots(page, name) {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(OUT, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(MOBILE);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: join(OUT, `${name}-mobile.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  assert(overflow <= MOBILE.width, `${name}: page is ${overflow}px wide at 375px (horizontal scrolling)`);
}

// axe-core on the page as it is: fails on any serious or critical finding.
export async function axe(page, what) {
  // Evaluated through the DevTools protocol: the page's strict CSP (no
  // inline script) stays in force for the page itself.
  if (!await page.evaluate(() => typeof window.axe === 'object')) await page.evaluate(axeSource());
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert(bad.length === 0, `${what}: axe-core found ${bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`).join('; ')}`);
  return results;
}

// Runs tests [{name, fn}] (filtered by argv) against one stack and one
// chromium (stackArgs: more tests/stack.py arguments; onStack(env) runs once
// the stack is up).  CSP violations on pages
// whose path matches cspPaths fail the test that saw them.
export async function run(tests, { title, cspPaths, testMs = 60000, contextOptions = {}, stackArgs = [],
  onStack = () => {} } = {}) {
  const filters = process.argv.slice(2);
  const selected = tests.filter((t) => !filters.length || filters.some((f) => t.name.includes(f)));
  mkdirSync(OUT, { recursive: true });
  const started = Date.now();
  let stack;
  let browser;
  let passed = 0;
  let failed = 0;
  const profile = mkdtempSync(join(tmpdir(), 'hostlink-chromium-'));
  const cleanup = async () => {
    if (browser) await browser.close().catch(() => {});
    await stopStack(stack);
    rmSync(profile, { recursive: true, force: true });
  };
  process.on('SIGINT', () => { cleanup().then(() => process.exit(130)); });
  process.on('SIGTERM', () => { cleanup().then(() => process.exit(143)); });
  try {
    const { chromium } = await loadPlaywright();
    stack = await startStack(stackArgs);
    onStack(stack.env);
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: DESKTOP,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic'],
      ...contextOptions,
    });
    for (const p of browser.pages()) await p.close();
  } catch (e) {
    console.log('not ok - start the stack and chromium (' + CHROMIUM + ')');
    for (const l of String(e && e.stack || e).split('\n')) console.log('# ' + l);
    await cleanup();
    process.exit(1);
  }
  console.log(`# ${title}: stack at ${stack.env.HL_URL}`);
  for (const t of selected) {
    const page = await browser.newPage();
    await page.setViewportSize(DESKTOP);
    const problems = [];
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      const path = (() => { try { return new URL(page.url()).pathname; } catch { return ''; } })();
      if (/Content Security Policy|Refused to/.test(m.text()) && cspPaths.test(path)) {
        problems.push('CSP violation on ' + path + ': ' + m.text());
      }
    });
    page.setDefaultTimeout(STEP_MS);
    const t0 = Date.now();
    try {
      await Promise.race([
        t.fn({ page, browser, env: stack.env }),
        new Promise((_, rej) => setTimeout(() => rej(new Failure(`test took longer than ${testMs} ms`)), testMs)),
      ]);
      assert(problems.length === 0, problems.join('\n'));
      passed++;
      console.log(`ok - ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${t.name}`);
      const lines = e instanceof Failure ? [e.message] : String(e && e.stack || e).split('\n');
      for (const l of lines) console.log('# ' + l);
      for (const p of problems) console.log('# ' + p);
      console.log('# at ' + page.url());
      const shot = join(OUT, 'FAILED-' + slug(t.name) + '.png');
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.log('# screenshot ' + shot);
    }
    await page.close().catch(() => {});
  }
  writeFileSync(join(OUT, slug(title) + '-stack.log'), stack.log.join(''));
  await cleanup();
  console.log(`# ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(failed ? 1 : 0);
}
