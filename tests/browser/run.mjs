#!/usr/bin/env node
// Browser tests of the hosted Connect page (web/) against the real stack:
// PostgreSQL + hostlinkd + nginx with the shipped nginx/hostlink.conf, started
// by tests/stack.py, driven in headless Debian chromium through playwright-core.
//
//   cd tests/browser && npm install --no-audit --no-fund && node run.mjs [filter...]
//
// Prints "ok - name" / "not ok - name" (+ "# detail" lines) per test and exits
// non-zero when one fails.  Screenshots (1280x800 and 375x740) go to out/.
// Environment: CHROMIUM (default /usr/bin/chromium), HOSTLINK_BUILDDIR (where
// hostlinkd/hostlinkctl are, default build/ or the repository root), BROWSER_TIMEOUT_MS.

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { HERE, OUT, ROOT, STEP_MS, assert, eq, poll, run, shots }
  from './lib.mjs';

const EXPIRED = 'This link has expired or is no longer valid';
const XSS = '<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>';

// ---------------------------------------------------------------------------
// API helpers (the org's side, with the API key)

let S; // the stack info: base_url, api_key, jwt_secret_file, ...

async function req(method, path, { key, token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (key) h['x-api-key'] = key;
  if (token) h.Authorization = 'Bearer ' + token;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(S.base_url + '/api/v2/public' + path, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual',
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

async function ok(method, path, opts = {}) {
  const r = await req(method, path, { key: S.api_key, ...opts });
  if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${r.text}`);
  return r.json;
}

const uid = () => randomBytes(5).toString('hex');

async function sessionToken(name) {
  const la = 'la-' + uid();
  const out = await ok('POST', '/session-token', { body: { linked_account_id: la, name: name || 'Company ' + la } });
  const acct = await ok('GET', '/linked-account/' + la);
  return { token: out.token, linkedAccountId: la, companyId: acct.company_id };
}

async function connectUrl(stash) {
  const s = await sessionToken();
  const r = await req('POST', '/connect-url', { token: s.token, body: stash });
  if (r.status !== 200) throw new Error('connect-url -> ' + r.status + ' ' + r.text);
  return { ...s, url: r.json.hosted_url };
}

async function connections(companyId) {
  return (await ok('GET', `/companies/${companyId}/connections`)).results;
}

// A Linked sandbox connection made without the browser (for the disconnect test).
async function linkSandbox(token) {
  const out = await ok('POST', '/hosted/connections', { key: null, token, body: { platformKey: 'sandbox' } });
  const state = new URL(out.next.url).searchParams.get('state');
  const r = await fetch(S.base_url + '/api/v2/public/sandbox/authorize', {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state, decision: 'approve' }).toString(),
  });
  const cb = await fetch(r.headers.get('location'), { redirect: 'manual' });
  if (cb.status !== 302) throw new Error('callback -> ' + cb.status);
  return out.connection.id;
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString());
}

// A token signed with the server's key whose exp has passed.
function expiredCopy(token) {
  const [hdr, payload] = token.split('.');
  const claims = b64urlJson(payload);
  const now = Math.floor(Date.now() / 1000);
  claims.iat = now - 7200;
  claims.exp = now - 3600;
  let key = readFileSync(S.jwt_secret_file);
  if (key[key.length - 1] === 0x0a) key = key.subarray(0, key.length - 1);
  const signing = hdr + '.' + Buffer.from(JSON.stringify(claims)).toString('base64url');
  return signing + '.' + createHmac('sha256', key).update(signing).digest('base64url');
}

// ---------------------------------------------------------------------------
// Tests (the framework is lib.mjs)

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function h1(page) {
  const l = page.locator('main h1');
  await l.first().waitFor({ timeout: STEP_MS });
  return (await l.first().textContent()).trim();
}

async function waitH1(page, pattern) {
  return poll(async () => {
    const t = await page.locator('main h1').first().textContent({ timeout: 500 }).catch(() => '');
    return pattern.test(t || '') ? t.trim() : false;
  }, 'a heading matching ' + pattern);
}

const rgb = (hex) => {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
};

async function computed(page, selector, prop) {
  return page.locator(selector).first().evaluate((el, p) => getComputedStyle(el)[p], prop);
}

async function statusText(page) {
  return poll(async () => (await page.locator('#status').textContent()) || false, 'a status message');
}

async function approveSandbox(page, decision = 'Approve') {
  await page.waitForURL(/\/api\/v2\/public\/sandbox\/authorize\?state=/, { timeout: STEP_MS });
  await page.getByRole('button', { name: decision }).click();
}

async function linkedCount(companyId, platform = 'sandbox') {
  return (await connections(companyId)).filter((c) => c.integrationKey === platform && c.status === 'Linked').length;
}

// ---------------------------------------------------------------------------
// Tests

test('connect URL: the page shows the stashed name and applies the colours and logo', async ({ page }) => {
  const c = await connectUrl({ name: 'Acme Test', color: '#aa2200', bgColor: '#fff8f0',
    logo: 'https://logo.example.test/acme.svg' });
  await page.route('https://logo.example.test/**', (route) => route.fulfill({
    status: 200, contentType: 'image/svg+xml',
    body: '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32"><rect width="96" height="32" rx="6" fill="#aa2200"/></svg>',
  }));
  const resp = await page.goto(c.url);
  const csp = resp.headers()['content-security-policy'] || '';
  for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' https: data:",
    "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    assert(csp.includes(d), `CSP lacks ${d}: ${csp}`);
  }
  await page.locator('#brand.ready').waitFor({ timeout: STEP_MS });
  eq((await page.locator('#brand-name').textContent()).trim(), 'Acme Test', 'brand name');
  eq(await h1(page), 'Connect your accounts', 'h1');
  assert((await page.title()).includes('Acme Test'), 'title mentions the name: ' + await page.title());
  eq(await computed(page, 'body', 'backgroundColor'), rgb('#fff8f0'), 'page background');
  eq(await computed(page, '#main', 'borderTopColor'), rgb('#aa2200'), 'card accent colour');
  const img = page.locator('#brand-mark img');
  await poll(() => img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the logo to load');
  eq(await img.getAttribute('src'), 'https://logo.example.test/acme.svg', 'logo src');
  // the platform list: sandbox first, and searchable
  await page.locator('#platforms .platform').first().waitFor();
  eq((await page.locator('#platforms li:not([hidden]) .row-title').first().textContent()), 'Sandbox', 'first platform');
  eq(await page.locator('#no-connections').isVisible(), true, 'empty connections message');
  eq(await page.getByLabel('Search platforms').count(), 1, 'labelled search box');
  await shots(page, 'connect-home');
});

test('connect URL: sandbox consent, Approve, done screen, connection Linked', async ({ page }) => {
  const c = await connectUrl({ name: 'Acme Test', color: '#aa2200', bgColor: '#fff8f0' });
  await page.goto(c.url);
  await page.getByRole('button', { name: /Sandbox/ }).click();
  await approveSandbox(page);
  eq(await waitH1(page, /connected/), 'Sandbox is connected', 'done heading');
  assert(page.url() === c.url, 'done parameters are removed from the address: ' + page.url());
  eq((await page.locator('#brand-name').textContent()).trim(), 'Acme Test', 'brand name on the done screen');
  eq(await computed(page, '#back-to-list', 'backgroundColor'), rgb('#aa2200'), 'primary button colour');
  assert((await statusText(page)).includes('Sandbox is connected'), 'announced in the live region');
  await shots(page, 'connect-done');
  eq(await linkedCount(c.companyId), 1, 'Linked sandbox connections (API)');
  await page.getByRole('button', { name: 'Back to connections' }).click();
  const row = page.locator('#connections li[data-status="Linked"]');
  await row.waitFor({ timeout: STEP_MS });
  eq((await row.locator('.badge').textContent()), 'Connected', 'status badge');
  await shots(page, 'connect-linked');
});

test('connect URL: Deny shows "Sandbox: you cancelled." and Try again works', async ({ page }) => {
  const c = await connectUrl({ name: 'Deny Co' });
  await page.goto(c.url);
  await page.getByRole('button', { name: /Sandbox/ }).click();
  await approveSandbox(page, 'Deny');
  eq(await waitH1(page, /not connected/), 'Sandbox was not connected', 'done heading');
  eq((await page.locator('#done-message').textContent()), 'Sandbox: you cancelled.', 'error message');
  await shots(page, 'connect-denied');
  eq(await linkedCount(c.companyId), 0, 'no Linked connection');
  await page.getByRole('button', { name: 'Try again' }).click();
  await approveSandbox(page);
  eq(await waitH1(page, /connected/), 'Sandbox is connected', 'second attempt');
  eq(await linkedCount(c.companyId), 1, 'Linked after the retry');
});

test('stable link: company redirect URL, sandbox round trip back to the link page', async ({ page }) => {
  await ok('PUT', '/settings/link', { body: { page_title: 'Connect your books',
    body_text: 'Acme Lending needs read-only access to your accounting data.',
    theme: { color: '#0f766e', bgColor: '#eef6f5' } } });
  try {
    await linkJourney(page);
  } finally {
    await ok('PUT', '/settings/link', { body: {} }); // the other tests expect the defaults
  }
});

async function linkJourney(page) {
  const name = 'Link Co ' + uid();
  const co = await ok('POST', '/companies', { body: { name } });
  await page.goto(co.redirect);
  eq(await h1(page), 'Connect your books', 'page_title from link settings');
  assert((await page.locator('main .lead').first().textContent()).includes('read-only access'), 'body_text shown');
  eq((await page.locator('#brand-name').textContent()).trim(), name, 'company name');
  eq(await computed(page, 'body', 'backgroundColor'), rgb('#eef6f5'), 'settings theme background');
  const stored = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('hostlink.link.')).length);
  eq(stored, 1, 'link token kept in sessionStorage');
  await shots(page, 'link-home');
  await page.getByRole('button', { name: /Sandbox/ }).click();
  await approveSandbox(page);
  eq(await waitH1(page, /connected/), 'Sandbox is connected', 'done heading');
  assert(page.url() === co.redirect, 'back on the link page: ' + page.url());
  eq(await linkedCount(co.id), 1, 'Linked (API)');
  // reload: the list, from the same tab's token
  await page.reload();
  await page.locator('#connections li[data-status="Linked"]').waitFor({ timeout: STEP_MS });
}

test('invite: company name form (label, validation), then the sandbox flow', async ({ page }) => {
  const { invite_url: inviteUrl } = await ok('GET', '/settings/invite');
  await page.goto(inviteUrl);
  eq(await h1(page), 'Get started', 'invite heading');
  const input = page.getByLabel('Company name');
  eq(await input.count(), 1, 'labelled company name input');
  eq(await input.getAttribute('required'), '', 'required');
  await shots(page, 'invite-form');
  await page.getByRole('button', { name: 'Continue' }).click();
  eq(await input.getAttribute('aria-invalid'), 'true', 'aria-invalid on empty submit');
  eq(await page.locator('#company-name-error').textContent(), 'Enter your company name.', 'validation message');
  assert(await input.evaluate((el) => el === document.activeElement), 'focus moves to the invalid input');
  const name = 'Invite Co ' + uid();
  await input.fill(name);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#platforms').waitFor({ timeout: STEP_MS });
  eq((await page.locator('#brand-name').textContent()).trim(), name, 'the new company');
  const found = await ok('GET', '/companies?query=' + encodeURIComponent(name));
  eq(found.totalResults, 1, 'company created');
  await page.getByRole('button', { name: /Sandbox/ }).click();
  await approveSandbox(page);
  eq(await waitH1(page, /connected/), 'Sandbox is connected', 'done heading');
  assert(page.url().startsWith(S.base_url + '/link/'), 'back on the company link page: ' + page.url());
  eq(await linkedCount(found.results[0].id), 1, 'Linked (API)');
});

test('API-key platform: search, labelled form, validation, credentials stored', async ({ page }) => {
  await ok('PUT', '/integrations/acmebooks', { body: { name: 'Acme Books', authType: 'api_key', enabled: true,
    fields: [{ name: 'api_key', label: 'API key', secret: true }, { name: 'account_id', label: 'Account ID', secret: false }] } });
  const c = await connectUrl({ name: 'Keys Co', color: '#4338ca' });
  await page.goto(c.url);
  const search = page.getByLabel('Search platforms');
  await search.fill('acme');
  await poll(async () => (await page.locator('#platforms li:not([hidden])').count()) === 1, 'the filter');
  eq(await page.locator('#platforms li:not([hidden]) .row-title').textContent(), 'Acme Books', 'filtered platform');
  await search.fill('zzz-nothing');
  await page.locator('#no-platforms').waitFor({ timeout: STEP_MS });
  eq(await page.locator('#platforms li:not([hidden])').count(), 0, 'nothing matches');
  await search.fill('');
  await page.getByRole('button', { name: /Acme Books/ }).click();
  eq(await waitH1(page, /Acme Books/), 'Connect Acme Books', 'form heading');
  const key = page.getByLabel('API key', { exact: true });
  const acct = page.getByLabel('Account ID');
  eq(await key.getAttribute('type'), 'password', 'secret field type');
  eq(await acct.getAttribute('type'), 'text', 'plain field type');
  eq(await key.getAttribute('required'), '', 'required');
  await shots(page, 'apikey-form');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  eq(await key.getAttribute('aria-invalid'), 'true', 'API key invalid');
  eq(await acct.getAttribute('aria-invalid'), 'true', 'Account ID invalid');
  eq(await page.locator('#field-0-error').textContent(), 'Enter your API key.', 'message');
  assert(await key.evaluate((el) => el === document.activeElement), 'focus on the first invalid field');
  await shots(page, 'apikey-invalid');
  await key.fill('sk_live_0123456789');
  await page.getByRole('button', { name: 'Show API key' }).click();
  eq(await key.getAttribute('type'), 'text', 'revealed');
  await acct.fill('ACC-42');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  eq(await waitH1(page, /connected/), 'Acme Books is connected', 'done heading');
  const conn = (await connections(c.companyId)).find((x) => x.integrationKey === 'acmebooks');
  eq(conn.status, 'Linked', 'status (API)');
  const creds = await ok('GET', `/companies/${c.companyId}/connections/${conn.id}/credentials`);
  eq(JSON.stringify(creds.credentials), JSON.stringify({ api_key: 'sk_live_0123456789', account_id: 'ACC-42' }), 'credentials');
});

// Issue 13: a platform's config_fields are asked (labelled, pattern-checked,
// keyboard only) before the redirect, which goes to the customer's own host.
test('config fields: category shown, answers checked, then the customer\'s sign-in host', async ({ page }) => {
  await ok('PUT', '/integrations/acme-suite', { body: { name: 'Acme Suite', authType: 'oauth2',
    category: 'Accounting', oauth2: {
      authorize_url: 'https://{config.accountId}.login.example.test/authorize',
      token_url: 'https://{config.accountId}.login.example.test/token', client_id: 'suite-client',
      client_secret: 'suite-secret', config_fields: [{ name: 'accountId', label: 'Account ID',
        pattern: '^[a-z0-9-]{1,30}$', example: 'acme-123' }] } } });
  let provider = null;
  await page.route('https://*.login.example.test/**', (route) => {
    provider = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<title>Provider</title>' });
  });
  const c = await connectUrl({ name: 'Suite Co' });
  await page.goto(c.url);
  const btn = page.getByRole('button', { name: /Acme Suite/ });
  eq(await btn.locator('.row-category').textContent(), 'Accounting', 'category on the list');
  await btn.focus();
  await page.keyboard.press('Enter');
  eq(await waitH1(page, /Acme Suite/), 'Acme Suite', 'questions heading');
  const input = page.getByLabel('Account ID');
  await input.focus();
  await page.keyboard.type('Not valid!');
  await page.keyboard.press('Enter');
  eq(await input.getAttribute('aria-invalid'), 'true', 'refused answer');
  eq(await page.locator('#config-0-hint').textContent(),
    'Account ID is not in the expected form, for example acme-123.', 'why');
  assert(provider === null, 'no redirect with a refused answer');
  await shots(page, 'config-fields-invalid');
  await input.fill('acme-123');
  await page.keyboard.press('Enter');
  await poll(async () => provider !== null, 'the redirect to the provider');
  const u = new URL(provider);
  eq(u.host, 'acme-123.login.example.test', 'the customer\'s host');
  eq(u.searchParams.get('client_id'), 'suite-client', 'client_id');
  const conn = (await connections(c.companyId)).find((x) => x.integrationKey === 'acme-suite');
  eq(JSON.stringify(conn.connectionInfo), JSON.stringify({ accountId: 'acme-123' }), 'connectionInfo');
});

test('expired, revoked, forged and unknown tokens and links show a clear screen', async ({ page }) => {
  const check = async (url, what) => {
    await page.goto(url);
    eq(await waitH1(page, /expired|valid/), EXPIRED, what);
  };
  const s = await sessionToken();
  await check(S.base_url + '/connect/not-a-token', 'garbage token');
  await check(S.base_url + '/connect/' + expiredCopy(s.token), 'expired token');
  await shots(page, 'expired');
  const revoked = await sessionToken();
  eq((await req('DELETE', '/session-token', { token: revoked.token })).status, 200, 'revoke');
  await check(S.base_url + '/connect/' + revoked.token, 'revoked token');
  await check(S.base_url + '/link/' + 'A'.repeat(48), 'unknown link');
  const co = await ok('POST', '/companies', { body: { name: 'Rotated ' + uid() } });
  await ok('POST', `/companies/${co.id}/link/rotate`);
  await check(co.redirect, 'rotated link');
  // an unknown invite: the page's public read of it says so before any form
  await page.goto(S.base_url + '/invite/' + 'B'.repeat(40));
  eq(await waitH1(page, /expired|valid/), EXPIRED, 'unknown invite');
  eq(await page.getByLabel('Company name').count(), 0, 'no company form for an unknown invite');
  // a link whose company was deleted while the page was open
  const gone = await ok('POST', '/companies', { body: { name: 'Gone ' + uid() } });
  await page.goto(gone.redirect);
  await page.locator('#platforms').waitFor({ timeout: STEP_MS });
  eq((await req('DELETE', '/companies/' + gone.id, { key: S.api_key })).status, 204, 'delete company');
  await page.getByRole('button', { name: /Sandbox/ }).click();
  eq(await waitH1(page, /expired|valid/), EXPIRED, 'deleted company');
});

test('stash with markup renders as text; bad colours and logo are ignored', async ({ page }) => {
  const c = await connectUrl({ name: XSS, color: 'red;background:url(https://x.test/)', bgColor: '#12345',
    logo: 'javascript:window.__pwned=3' });
  await page.goto(c.url);
  await page.locator('#brand.ready').waitFor({ timeout: STEP_MS });
  eq(await page.locator('#brand-name').textContent(), XSS, 'name shown as text');
  assert((await page.locator('main').textContent()).includes(XSS), 'body text contains the markup as text');
  eq(await page.evaluate(() => typeof window.__pwned), 'undefined', 'window.__pwned');
  eq(await page.locator('script:not([src])').count(), 0, 'no inline script element');
  eq(await page.locator('img[src="x"]').count(), 0, 'no injected image');
  eq(await page.locator('#brand-mark img').count(), 0, 'javascript: logo not used');
  eq(await computed(page, 'body', 'backgroundColor'), rgb('#f3f5f9'), 'default background kept');
  eq(await computed(page, '#main', 'borderTopColor'), rgb('#2f5bea'), 'default brand kept');
  await page.waitForTimeout(200);
  eq(await page.evaluate(() => typeof window.__pwned), 'undefined', 'window.__pwned later');
  await shots(page, 'stash-markup');
});

test('disconnect asks for confirmation (Cancel keeps it, Disconnect unlinks)', async ({ page }) => {
  const c = await connectUrl({ name: 'Disconnect Co', color: '#aa2200' });
  await linkSandbox(c.token);
  await page.goto(c.url);
  const row = page.locator('#connections li[data-status="Linked"]');
  await row.waitFor({ timeout: STEP_MS });
  await page.getByRole('button', { name: 'Disconnect Sandbox' }).click();
  const dialog = page.getByRole('dialog', { name: 'Disconnect Sandbox?' });
  await dialog.waitFor({ timeout: STEP_MS });
  await shots(page, 'disconnect-dialog');
  assert(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement),
    'focus starts on Cancel');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached', timeout: STEP_MS });
  eq(await linkedCount(c.companyId), 1, 'still Linked after Escape');
  await page.getByRole('button', { name: 'Disconnect Sandbox' }).click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached', timeout: STEP_MS });
  eq(await linkedCount(c.companyId), 1, 'still Linked after Cancel');
  await page.getByRole('button', { name: 'Disconnect Sandbox' }).click();
  await dialog.getByRole('button', { name: 'Disconnect', exact: true }).click();
  await page.locator('#connections li[data-status="Unlinked"]').waitFor({ timeout: STEP_MS });
  eq(await page.locator('#connections li[data-status="Unlinked"] .badge').textContent(), 'Disconnected', 'badge');
  assert((await statusText(page)).includes('Sandbox disconnected'), 'announced');
  const conn = (await connections(c.companyId)).find((x) => x.integrationKey === 'sandbox');
  eq(conn.status, 'Unlinked', 'status (API)');
});

test('keyboard: skip link, search and start a connection without a mouse; focus is visible', async ({ page }) => {
  const c = await connectUrl({ name: 'Keyboard Co', color: '#aa2200' });
  await page.goto(c.url);
  await page.locator('#platforms').waitFor({ timeout: STEP_MS });
  await page.keyboard.press('Tab');
  eq(await page.evaluate(() => document.activeElement.className), 'skip-link', 'first stop');
  await page.keyboard.press('Tab');
  eq(await page.evaluate(() => document.activeElement.id), 'platform-search', 'search box reached');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).boxShadow);
  assert(outline && outline !== 'none', 'focused input shows a focus ring');
  await page.keyboard.type('sand');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({
    text: document.activeElement.textContent, outline: getComputedStyle(document.activeElement).outlineStyle,
  }));
  assert(focused.text.includes('Sandbox'), 'Sandbox button focused: ' + focused.text);
  assert(focused.outline !== 'none', 'focus outline visible on the platform button');
  await page.keyboard.press('Enter');
  await page.waitForURL(/sandbox\/authorize/, { timeout: STEP_MS });
});

// Last: it adds platforms the other tests do not expect.  Its desktop shot is
// the README's (out/readme.png, copied to web/screenshot.png).
test('overview: several platforms, a linked one, a pending one (README screenshot)', async ({ page }) => {
  for (const [key, name, url] of [['quickbooks', 'QuickBooks Online', 'https://appcenter.intuit.com/connect/oauth2'],
    ['xero', 'Xero', 'https://login.xero.com/identity/connect/authorize']]) {
    await ok('PUT', '/integrations/' + key, { body: { name, authType: 'oauth2', enabled: true,
      oauth2: { authorize_url: url, token_url: 'https://example.com/token', client_id: 'demo',
        client_secret: 'demo-secret', scopes: ['accounting'] } } });
  }
  await ok('PUT', '/integrations/acmebooks', { body: { name: 'FreshBooks', authType: 'api_key', enabled: true,
    fields: [{ name: 'api_key', label: 'API key', secret: true }, { name: 'account_id', label: 'Account ID', secret: false }] } });
  const c = await connectUrl({ name: 'Northwind Traders', color: '#4f46e5', bgColor: '#f5f5fb' });
  await linkSandbox(c.token);
  await ok('POST', '/hosted/connections', { key: null, token: c.token, body: { platformKey: 'xero' } });
  await page.goto(c.url);
  await page.locator('#connections li[data-status="PendingAuth"]').waitFor({ timeout: STEP_MS });
  // every enabled platform of the org (the sandbox, these three, and any an
  // earlier test left enabled)
  const enabled = (await ok('GET', '/integrations')).results.filter((i) => i.enabled).length;
  assert(enabled >= 4, 'at least the sandbox and these three: ' + enabled);
  eq(await page.locator('#platforms li').count(), enabled, 'platforms listed');
  eq(await page.locator('#connections li').count(), 2, 'connections listed');
  const box = await page.locator('.shell').boundingBox();
  await page.screenshot({ path: join(OUT, 'readme.png'), fullPage: true,
    clip: { x: box.x - 112, y: 0, width: box.width + 224, height: box.y + box.height + 8 } });
  await shots(page, 'overview');
});

// ---------------------------------------------------------------------------
// Languages

// web/messages.js evaluated outside the browser: every key of en in fr, de and es.
function messageTables() {
  const src = readFileSync(join(ROOT, 'web', 'messages.js'), 'utf8');
  const window = {};
  new Function('window', src)(window);
  return window.HOSTLINK_MESSAGES;
}

test('messages: every key of en exists (non-empty) in fr, de and es, and no other key', async () => {
  const m = messageTables();
  const en = Object.keys(m.en);
  assert(en.length > 50, 'en has ' + en.length + ' keys');
  for (const lang of ['fr', 'de', 'es']) {
    assert(m[lang], lang + ' table missing');
    const missing = en.filter((k) => typeof m[lang][k] !== 'string' || !m[lang][k]);
    eq(missing.join(','), '', lang + ': missing keys');
    const extra = Object.keys(m[lang]).filter((k) => !(k in m.en));
    eq(extra.join(','), '', lang + ': keys not in en');
    for (const k of en) {
      const vars = (s) => (s.match(/\{[a-zA-Z]+\}/g) || []).sort().join();
      eq(vars(m[lang][k]), vars(m.en[k]), `${lang}.${k} placeholders`);
    }
  }
});

test('languages: ?lang=fr shows French, a French browser shows French, ?lang= wins', async ({ page }) => {
  const fr = messageTables().fr;
  const c = await connectUrl({ name: 'Langue SA' });
  await page.goto(c.url + '?lang=fr');
  eq(await h1(page), fr['page.title'], 'h1 with ?lang=fr');
  eq(await page.locator('html').getAttribute('lang'), 'fr', 'html lang');
  eq((await page.locator('#conn-title').textContent()), fr['home.connections'], 'section heading');
  eq((await page.locator('.footer p').textContent()), fr.footer, 'footer');
  // a browser whose languages are French (navigator.languages and Accept-Language)
  const other = await page.context().newPage();
  try {
    await other.setExtraHTTPHeaders({ 'Accept-Language': 'fr-FR,fr;q=0.9' });
    await other.addInitScript(() => {
      Object.defineProperty(navigator, 'languages', { get: () => ['fr-FR', 'fr'] });
      Object.defineProperty(navigator, 'language', { get: () => 'fr-FR' });
    });
    await other.goto(c.url);
    eq(await h1(other), fr['page.title'], 'h1 in a French browser');
    await other.goto(c.url + '?lang=de');
    eq(await h1(other), messageTables().de['page.title'], '?lang=de beats the browser');
  } finally {
    await other.close();
  }
});

test('languages: org text per language from link settings translations, else the default', async ({ page }) => {
  await ok('PUT', '/settings/link', { body: { page_title: 'Connect your books', body_text: 'English body.',
    translations: { fr: { page_title: 'Connectez votre comptabilité', body_text: 'Texte français.' } } } });
  try {
    const c = await connectUrl({ name: 'Traduit SA' });
    await page.goto(c.url + '?lang=fr');
    eq(await h1(page), 'Connectez votre comptabilité', 'French org title');
    eq((await page.locator('main .lead').first().textContent()), 'Texte français.', 'French org body');
    await page.goto(c.url + '?lang=es');
    eq(await h1(page), 'Connect your books', 'Spanish falls back to the default org title');
  } finally {
    await ok('PUT', '/settings/link', { body: {} });
  }
});

// ---------------------------------------------------------------------------
// The hosted page's options (issue 16)

function sql(query) {
  const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', S.database, '-c', query],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('psql: ' + r.stderr);
  return r.stdout.trim();
}

let liveKey = null;
function liveApiKey() {
  if (!liveKey) {
    const ctl = join(S.builddir || join(ROOT, 'build'), 'hostlinkctl');
    const r = spawnSync(ctl, ['-c', S.conf, 'apikey', 'create', '--org', S.org_id, '--env', 'live'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error('hostlinkctl apikey create: ' + r.stderr);
    liveKey = JSON.parse(r.stdout).key;
  }
  return liveKey;
}

// Runs fn with the link settings body, then puts the defaults back.
async function withSettings(body, fn, key) {
  await ok('PUT', '/settings/link', { key: key || S.api_key, body });
  try {
    return await fn();
  } finally {
    await ok('PUT', '/settings/link', { key: key || S.api_key, body: {} });
  }
}

async function issue(path, body) {
  const r = await req('POST', path, { key: S.api_key, body });
  if (r.status !== 201) throw new Error(`POST ${path} -> ${r.status} ${r.text}`);
  return r.json;
}

async function inviteUrl() {
  return (await ok('GET', '/settings/invite')).invite_url;
}

test('invite page: the org invite title, body and theme before the company form', async ({ page }) => {
  await withSettings({ invite_title: 'Join Acme Lending', invite_body: 'Acme needs read-only access to your books.',
    theme: { color: '#aa2200', bgColor: '#fff8f0' } }, async () => {
    await page.goto(await inviteUrl());
    eq(await waitH1(page, /Join/), 'Join Acme Lending', 'invite title');
    eq((await page.locator('#invite-body').textContent()), 'Acme needs read-only access to your books.', 'invite body');
    eq(await computed(page, 'body', 'backgroundColor'), rgb('#fff8f0'), 'page background');
    eq(await computed(page, '#main', 'borderTopColor'), rgb('#aa2200'), 'card accent colour');
    await page.getByLabel('Company name').waitFor();
    await shots(page, 'invite-branded');
  });
});

test('live link hides the sandbox; a test link shows it', async ({ page }) => {
  const live = liveApiKey();
  const co = await ok('POST', '/companies', { key: live, body: { name: 'Live Co ' + uid() } });
  await page.goto(co.redirect);
  await page.locator('#platforms, .empty').first().waitFor();
  eq(await page.locator('#platforms [data-key="sandbox"]').count(), 0, 'sandbox on a live link');
  const r = await req('POST', `/companies/${co.id}/connections`, { key: live, body: { platformKey: 'sandbox' } });
  eq(r.status, 404, 'API start of the hidden sandbox');
  const testCo = await ok('POST', '/companies', { body: { name: 'Test Co ' + uid() } });
  await page.goto(testCo.redirect);
  await page.locator('#platforms [data-key="sandbox"]').waitFor();
});

async function withXero(fn) {
  await ok('PUT', '/integrations/xero', { body: { name: 'Xero', authType: 'api_key', enabled: true,
    fields: [{ name: 'api_key', label: 'API key', secret: true }] } });
  try { return await fn(); } finally {
    await ok('PUT', '/integrations/xero', { body: { name: 'Xero', authType: 'api_key', enabled: false,
      fields: [{ name: 'api_key', label: 'API key', secret: true }] } });
  }
}

test('?platforms=xero offers only Xero (and goes straight to it); two keep the list', async ({ page }) => {
  await withXero(async () => {
    const co = await ok('POST', '/companies', { body: { name: 'Only Xero ' + uid() } });
    await page.goto(co.redirect + '?platforms=xero');
    eq(await waitH1(page, /Xero/), 'Connect Xero', 'straight to the only platform');
    await page.getByRole('button', { name: 'All platforms' }).click();
    await page.locator('#platforms').waitFor();
    const shown = await page.locator('#platforms .platform-item').evaluateAll((els) => els.map((e) => e.dataset.key));
    eq(shown.join(','), 'xero', 'platforms listed');
    // the API applies it too: this token cannot start the sandbox
    const tok = await page.evaluate(() => JSON.parse(Object.values(sessionStorage).find((v) => v.includes('token'))).token);
    eq((await req('POST', '/hosted/connections', { token: tok, body: { platformKey: 'sandbox' } })).status, 404,
      'sandbox start with the xero-only token');
    const both = await browserPage(page);
    await both.goto(co.redirect + '?platforms=xero,sandbox');
    await both.locator('#platforms').waitFor();
    const two = await both.locator('#platforms .platform-item').evaluateAll((els) => els.map((e) => e.dataset.key).sort());
    eq(two.join(','), 'sandbox,xero', 'two platforms listed');
    await both.close();
  });
});

// Another tab of the same browser (its own sessionStorage).
async function browserPage(page) {
  return page.context().newPage();
}

test('single-use link: works once, then "already used"; the stable link stays', async ({ page }) => {
  const co = await ok('POST', '/companies', { body: { name: 'Once ' + uid() } });
  const link = await issue(`/companies/${co.id}/links`, { max_uses: 1 });
  await page.goto(link.url);
  await page.locator('#platforms').waitFor();
  await page.reload(); // the same tab keeps its session
  await page.locator('#platforms').waitFor();
  const second = await browserPage(page);
  try {
    await second.goto(link.url);
    eq(await waitH1(second, /used/), 'This link has already been used', 'second use');
    eq(await second.locator('#gone-title').getAttribute('data-reason'), 'used', 'reason');
    await shots(second, 'link-used');
    await second.goto(co.redirect);
    await second.locator('#platforms').waitFor();
  } finally { await second.close(); }
});

test('expired link and expired invite show "expired"', async ({ page }) => {
  const co = await ok('POST', '/companies', { body: { name: 'Late ' + uid() } });
  const link = await issue(`/companies/${co.id}/links`, { expires_in: 600 });
  const inv = await issue('/settings/invite/links', { expires_in: 600, max_uses: 3 });
  sql(`UPDATE issued_links SET expires_at = now() - interval '1 minute' WHERE company_id = '${co.id}' ` +
    `OR (company_id IS NULL AND org_id = '${S.org_id}')`);
  await page.goto(link.url);
  eq(await waitH1(page, /expired/), 'This link has expired', 'expired link');
  eq(await page.locator('#gone-title').getAttribute('data-reason'), 'lapsed', 'reason');
  await page.goto(inv.url);
  eq(await waitH1(page, /expired/), 'This link has expired', 'expired invite');
  eq(await page.getByLabel('Company name').count(), 0, 'no form for an expired invite');
});

test('a redirect to a host not in the allowed list is refused at settings time', async () => {
  const r = await req('PUT', '/settings/link', { key: S.api_key, body: {
    allowed_redirect_hosts: ['app.acme.example'], redirect_url: 'https://evil.example/done' } });
  eq(r.status, 400, 'status');
  eq(r.json.error, 'REDIRECT_HOST_NOT_ALLOWED', 'error');
  assert(!(await ok('GET', '/settings/link')).redirect_url, 'nothing stored');
});

test('consent, terms, privacy and support shown before the user leaves for the platform', async ({ page }) => {
  await withSettings({ consent: 'By continuing you let Acme read your accounting data.',
    terms_url: 'https://acme.example/terms', privacy_url: 'https://acme.example/privacy',
    support: 'help@acme.example' }, async () => {
    const c = await connectUrl({ name: 'Consent Co' });
    await page.goto(c.url);
    eq(await page.locator('#terms-link').getAttribute('href'), 'https://acme.example/terms', 'terms link');
    eq(await page.locator('#privacy-link').getAttribute('href'), 'https://acme.example/privacy', 'privacy link');
    eq(await page.locator('#support').getAttribute('href'), 'mailto:help@acme.example', 'support contact');
    await page.getByRole('button', { name: /Sandbox/ }).click();
    eq(await waitH1(page, /Before/), 'Before you continue', 'consent screen');
    eq((await page.locator('#consent-text').textContent()), 'By continuing you let Acme read your accounting data.', 'consent text');
    assert(new URL(page.url()).pathname.startsWith('/connect/'), 'still on the page: ' + page.url());
    await shots(page, 'consent');
    await page.getByRole('button', { name: 'Continue to Sandbox' }).click();
    await approveSandbox(page);
    eq(await waitH1(page, /connected/), 'Sandbox is connected', 'done');
    // every mode: the invite page has them too
    await page.goto(await inviteUrl());
    await page.getByLabel('Company name').waitFor();
    eq(await page.locator('#terms-link').count(), 1, 'terms on the invite page');
  });
});

// A parent page on another origin (127.0.0.1, its own port) that opens the
// hosted page with web/embed.js and records what it receives.
function parentServer(options = "{ mode: 'popup' }") {
  return new Promise((resolve) => {
    const server = createServer((rq, rs) => {
      rs.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      rs.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parent</title>' +
        `<script src="${S.base_url}/embed.js"></script></head><body><button id="open">Connect</button>` +
        '<script>window.__events = []; window.__raw = [];' +
        `window.addEventListener('message', function (e) { if (e.origin === ${JSON.stringify(S.base_url)}) window.__raw.push(e.data); });` +
        "document.getElementById('open').onclick = function () { var o = " + options + '; ' +
        'o.onEvent = function (e) { window.__events.push(e); }; Hostlink.open(window.__url, o); };</script></body></html>');
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: 'http://127.0.0.1:' + server.address().port }));
  });
}

async function embeddedFlow(page, parent, url) {
  await page.goto(parent.origin + '/');
  await page.evaluate((u) => { window.__url = u; }, url);
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#open')]);
  await popup.getByRole('button', { name: /Sandbox/ }).click();
  await approveSandbox(popup);
  eq(await waitH1(popup, /connected/), 'Sandbox is connected', 'done in the popup');
  return popup;
}

// Clicks a button whose action closes its own page (embed.js closes the
// popup on "finished"): the page may be gone before Playwright's click
// returns. The caller checks the click's effect.
async function clickThatCloses(page, locator) {
  try {
    await locator.click();
  } catch (e) {
    if (!page.isClosed()) throw e;
  }
}

test('embed.js: an allowed parent receives connected and finished; another origin receives nothing', async ({ page }) => {
  const allowed = await parentServer();
  const other = await parentServer();
  try {
    await withSettings({ embed_origins: [allowed.origin] }, async () => {
      const c = await connectUrl({ name: 'Embedded Co' });
      const popup = await embeddedFlow(page, allowed, c.url);
      await poll(() => page.evaluate(() => window.__events.some((e) => e.type === 'connected')), 'the connected event');
      const closed = popup.waitForEvent('close');
      await clickThatCloses(popup, popup.getByRole('button', { name: 'Finish' }));
      await closed;
      const events = await poll(async () => {
        const ev = await page.evaluate(() => window.__events);
        return ev.some((e) => e.type === 'finished') ? ev : false;
      }, 'the finished event');
      const connected = events.find((e) => e.type === 'connected');
      eq(connected.companyId, c.companyId, 'companyId');
      eq(connected.connection.integrationKey, 'sandbox', 'connection platform');
      eq(connected.connection.status, 'Linked', 'connection status');
      eq(events.filter((e) => e.type === 'closed').length, 0, 'no closed event after finishing');

      const c2 = await connectUrl({ name: 'Not Allowed Co' });
      const popup2 = await embeddedFlow(page, other, c2.url);
      eq(await popup2.locator('#embed-finish').count(), 0, 'no Finish button for a non-allowed parent');
      await new Promise((r) => setTimeout(r, 1000));
      eq(JSON.stringify(await page.evaluate(() => window.__raw)), '[]', 'messages received by the other origin');
      await popup2.close();
    });
  } finally {
    allowed.server.close();
    other.server.close();
  }
});

test('embed.js iframe mode: framing refused by frame-ancestors, the modal offers the popup', async ({ page }) => {
  const parent = await parentServer("{ mode: 'iframe', timeoutMs: 4000 }");
  try {
    await withSettings({ embed_origins: [parent.origin] }, async () => {
      const c = await connectUrl({ name: 'Framed Co' });
      await page.goto(parent.origin + '/');
      await page.evaluate((u) => { window.__url = u; }, c.url);
      await page.click('#open');
      eq(await page.locator('iframe[src*="/connect/"]').count(), 1, 'the modal frames the page');
      const alt = page.locator('#hostlink-open-popup');
      await alt.waitFor({ timeout: STEP_MS });
      const [popup] = await Promise.all([page.waitForEvent('popup'), alt.click()]);
      await popup.getByRole('button', { name: /Sandbox/ }).click();
      await approveSandbox(popup);
      await poll(() => page.evaluate(() => window.__events.some((e) => e.type === 'connected')), 'connected via the popup');
      await clickThatCloses(popup, popup.getByRole('button', { name: 'Finish' }));
      await poll(() => page.evaluate(() => window.__events.some((e) => e.type === 'finished')), 'finished');
    });
  } finally {
    parent.server.close();
  }
});

test('contrast: five theme colours, no axe colour-contrast violation on the connect, link and invite pages', async ({ page }) => {
  const axe = readFileSync(join(HERE, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  const themes = [{ color: '#0b5fff' }, { color: '#ffcc00', bgColor: '#fffbe6' },
    { color: '#777777', bgColor: '#777777' }, { color: '#0f766e', bgColor: '#0b1f1e' },
    { color: '#e11d48', bgColor: '#ffe4e6' }];
  const problems = [];
  for (const theme of themes) {
    await withSettings({ theme }, async () => {
      const c = await connectUrl({ name: 'Contrast Co' });
      const co = await ok('POST', '/companies', { body: { name: 'Contrast Link ' + uid() } });
      for (const [mode, url, ready] of [['connect', c.url, '#platforms'], ['link', co.redirect, '#platforms'],
        ['invite', await inviteUrl(), '#company-name']]) {
        await page.goto(url);
        await page.locator(ready).waitFor();
        await page.evaluate(axe);
        const out = await page.evaluate(() => window.axe.run(document, { runOnly: ['color-contrast'] }));
        for (const v of out.violations) {
          for (const n of v.nodes) problems.push(`${theme.color}/${theme.bgColor || '-'} ${mode}: ${n.target.join(' ')} ${n.any.map((a) => a.message).join('; ')}`);
        }
        eq(out.passes.length > 0 || out.incomplete.length > 0, true, 'axe checked something');
      }
    });
  }
  eq(problems.join('\n'), '', 'colour-contrast violations');
});

// ---------------------------------------------------------------------------
// Runner

run(tests, {
  title: 'hosted page', cspPaths: /^\/(connect|link|invite)\//, testMs: 45000,
  onStack: (env) => {
    S = {
      base_url: env.HL_URL, api_key: env.HL_API_KEY, org_id: env.HL_ORG_ID,
      jwt_secret_file: env.HL_JWT_SECRET_FILE, dir: env.HL_STATE,
      hostlinkd_log: env.HL_HOSTLINKD_LOG, nginx_dir: env.HL_NGINX_DIR,
      conf: env.HL_CONF, builddir: env.HL_BUILDDIR, database: env.HL_DATABASE,
    };
  },
});
