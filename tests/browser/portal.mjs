#!/usr/bin/env node
// Browser tests of the Portal (web/portal/) against the real stack, walking
// the Hosted Link guide's journeys as an operator would: sign in, New
// company, Request data and copy the link, connect the sandbox in a second
// page, watch the pill turn linked; copy a pending connection's link; rotate
// a link; webhooks (add, test, delivery, replay); API keys (create, revoke);
// roles (an onboarding user is refused integrations, settings and keys in
// the UI and by the API); sign-out.  axe-core on every page, and every page
// at 375 px without sideways scrolling.
//
//   cd tests/browser && node portal.mjs [filter...]

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { DESKTOP, STEP_MS, assert, axe, eq, poll, run, shots } from './lib.mjs';

const PASSWORD = 'portal tests passphrase';
const uid = () => randomBytes(4).toString('hex');
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
let demo = null;   // { email, password } of the demo admin once it has one

// ---------------------------------------------------------------------------
// helpers

async function api(env, method, path, body) {
  const r = await fetch(env.HL_URL + '/api/v2/public' + path, {
    method, redirect: 'manual',
    headers: { 'x-api-key': env.HL_API_KEY, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function h1(page) {
  return poll(async () => (await page.locator('main h1').first().textContent({ timeout: 500 }).catch(() => '')) || false,
    'a heading');
}

async function waitH1(page, pattern) {
  return poll(async () => {
    const t = await page.locator('main h1').first().textContent({ timeout: 500 }).catch(() => '');
    return pattern.test(t || '') ? t.trim() : false;
  }, 'a heading matching ' + pattern);
}

async function statusText(page, pattern) {
  return poll(async () => {
    const t = await page.locator('#status').textContent();
    return pattern.test(t || '') ? t : false;
  }, 'status ' + pattern);
}

async function clipboard(page) {
  return page.evaluate(() => navigator.clipboard.readText());
}

// The demo admin: its first visit sets the password from the one-time link.
async function signInAdmin(page, env) {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.HL_URL });
  if (!demo) {
    await page.goto(env.HL_PORTAL_LINK);
    eq(await h1(page), 'Choose your password', 'set-password page');
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Save and sign in' }).click();
    await waitH1(page, /^Companies$/);
    assert(!page.url().includes('set-password'), 'the link leaves the address bar: ' + page.url());
    demo = { email: env.HL_PORTAL_EMAIL, password: PASSWORD };
    return;
  }
  await signIn(page, env, demo.email, demo.password);
}

async function signIn(page, env, email, password) {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.HL_URL });
  await page.goto(env.HL_PORTAL_URL + '#/signin');
  if (/Sign in/.test(await h1(page))) {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await waitH1(page, /^Companies$/);
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await waitH1(page, /Sign in/);
}

async function nav(page, name, heading) {
  await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name }).click();
  await waitH1(page, heading || new RegExp('^' + name + '$'));
}

async function check(page, name) {
  await axe(page, name);
  await shots(page, 'portal-' + name);
}

async function approveSandbox(page) {
  await page.waitForURL(/\/api\/v2\/public\/sandbox\/authorize\?state=/, { timeout: STEP_MS });
  await page.getByRole('button', { name: 'Approve' }).click();
}

function rowOf(page, name) {
  return page.locator('tr', { has: page.getByRole('link', { name }) });
}

// ---------------------------------------------------------------------------
// the guide's journeys

test('sign in -> New company -> Request data -> copy link -> connect sandbox -> pill turns linked', async ({ page, browser, env }) => {
  await signInAdmin(page, env);
  await check(page, 'companies');
  const name = 'Globex ' + uid();
  await page.getByText('New company', { exact: true }).first().click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill('Onboarded from the Portal');
  await page.getByLabel(/^Tags/).fill('region=eu');
  await page.getByRole('button', { name: 'New company' }).click();
  await statusText(page, new RegExp('Company ' + name + ' created'));
  const row = rowOf(page, name);
  await row.waitFor();
  await row.getByRole('button', { name: 'Request data' }).click();
  await row.getByRole('button', { name: 'Copy link' }).click();
  await statusText(page, /Copied/);
  const link = await clipboard(page);
  assert(/\/link\/[A-Za-z0-9_-]{48}$/.test(link), 'copied a company link: ' + link);
  const co = (await api(env, 'GET', '/companies?pageSize=5000')).json.results.find((c) => c.name === name);
  eq(co.redirect, link, 'the copied link is the company redirect');
  eq(co.description, 'Onboarded from the Portal', 'description saved');
  eq(co.tags.region, 'eu', 'tags saved');
  // the end user, in a second page
  const user = await browser.newPage();
  await user.goto(link);
  await user.getByRole('button', { name: /Sandbox/ }).click();
  await approveSandbox(user);
  await poll(async () => /connected/.test(await user.locator('main h1').first().textContent()), 'connected');
  await user.close();
  await page.reload();
  await waitH1(page, /^Companies$/);
  const pill = rowOf(page, name).locator('.pill');
  eq(await pill.first().textContent(), 'linked', 'status pill');
  // search finds it by company and by platform name
  await page.getByLabel('Search companies or platforms').fill(name.slice(0, 10));
  await rowOf(page, name).waitFor();
});

test('company page: copy a pending connection link, and it starts the flow', async ({ page, env }) => {
  await signInAdmin(page, env);
  const co = (await api(env, 'POST', '/companies', { name: 'Pending ' + uid() })).json;
  const conn = (await api(env, 'POST', `/companies/${co.id}/connections`, { platformKey: 'sandbox' })).json;
  await page.goto(env.HL_PORTAL_URL + '#/company/' + co.id);
  await waitH1(page, new RegExp('Company ' + co.name));
  await check(page, 'company');
  const row = page.locator(`tr[data-connection="${conn.id}"]`);
  eq(await row.locator('.pill').textContent(), 'pending', 'pending pill');
  await row.getByRole('button', { name: 'Copy link' }).click();
  await statusText(page, /Copied/);
  const copied = await clipboard(page);
  eq(copied, conn.linkUrl, 'the connection linkUrl');
  const r = await fetch(copied, { redirect: 'manual' });
  eq(r.status, 302, 'the copied start link works');
  // the company's events, with their deliveries
  const events = page.locator('#company-events tr[data-event] th');
  await events.first().waitFor();
  const types = await events.allTextContents();
  assert(types.includes('company.created') && types.includes('connection.created'), types.join(', '));
});

test('rotate a link: the old one stops working', async ({ page, env }) => {
  await signInAdmin(page, env);
  const co = (await api(env, 'POST', '/companies', { name: 'Rotate ' + uid() })).json;
  await page.reload();
  await waitH1(page, /^Companies$/);
  const row = rowOf(page, co.name);
  page.once('dialog', (d) => d.accept());
  await row.getByRole('button', { name: 'Rotate link' }).click();
  await statusText(page, /Rotated/);
  const fresh = await row.locator('input').inputValue();
  assert(fresh !== co.redirect && /\/link\//.test(fresh), 'a new link is shown');
  const key = (u) => u.split('/link/')[1];
  const old = await fetch(env.HL_URL + '/api/v2/public/link/' + key(co.redirect) + '/session', { method: 'POST' });
  eq(old.status, 404, 'the old link is refused');
  const now = await fetch(env.HL_URL + '/api/v2/public/link/' + key(fresh) + '/session', { method: 'POST' });
  eq(now.status, 200, 'the new link opens a session');
});

test('invite company: copy the invite URL, set its title and text', async ({ page, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'Invite company');
  await check(page, 'invite');
  await page.getByRole('button', { name: 'Copy link' }).click();
  await statusText(page, /Copied/);
  const url = await clipboard(page);
  eq(url, (await api(env, 'GET', '/settings/invite')).json.invite_url, 'the invite URL');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Rotate link' }).click();
  await statusText(page, /Rotated/);
  const fresh = (await api(env, 'GET', '/settings/invite')).json.invite_url;
  assert(fresh !== url, 'rotated');
  await poll(async () => (await page.locator('#invite-url').inputValue()) === fresh, 'the new URL shown');
});

test('invite company: set the invite page title and text; the invite page shows them; a company is made through it', async ({ page, browser, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'Invite company');
  const title = 'Connect Acme Lending ' + uid();
  await page.getByLabel('Invite page title').fill(title);
  await page.getByLabel('Invite page text').fill('We need read-only access to your books.');
  await page.getByRole('button', { name: 'Save' }).click();
  await statusText(page, /Saved/);
  const url = await page.locator('#invite-url').inputValue();
  const user = await browser.newPage();
  try {
    await user.goto(url);
    await poll(async () => (await user.locator('main h1').first().textContent()) === title, 'the invite title');
    assert((await user.locator('main').textContent()).includes('We need read-only access to your books.'),
      'the invite text');
    const name = 'Invited Co ' + uid();
    await user.getByLabel('Company name').fill(name);
    await user.getByRole('button', { name: 'Continue' }).click();
    await user.getByRole('button', { name: /Sandbox/ }).waitFor();
    await page.goto(env.HL_PORTAL_URL + '#/companies');
    await waitH1(page, /^Companies$/);
    await rowOf(page, name).waitFor();
  } finally {
    await user.close();
    await api(env, 'PUT', '/settings/link', {});
  }
});

test('link settings: the signing secret is hidden until shown; the sandbox can be turned off', async ({ page, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'Link settings');
  const secret = page.locator('#signing-secret');
  eq(await secret.getAttribute('type'), 'password', 'hidden at first');
  await page.getByRole('button', { name: 'Show' }).click();
  eq(await secret.getAttribute('type'), 'text', 'shown');
  const before = await secret.inputValue();
  eq(before, (await api(env, 'GET', '/settings/link')).json.signing_secret, 'the signing secret');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await statusText(page, /Rotated: redirects/);
  const after = (await api(env, 'GET', '/settings/link')).json.signing_secret;
  assert(after !== before, 'rotated');
  await poll(async () => (await page.locator('#signing-secret').inputValue()) === after, 'the new secret shown');
  try {
    await page.getByLabel(/Offer the sandbox platform/).uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await statusText(page, /Saved/);
    eq((await api(env, 'GET', '/settings/link')).json.show_sandbox, false, 'show_sandbox saved');
  } finally {
    await api(env, 'PUT', '/settings/link', {});
  }
});

test('integrations: enable Xero from the catalog with its client id and secret', async ({ page, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'Integrations');
  await page.getByLabel('Platform', { exact: true }).selectOption('xero');
  assert(/developer\.xero\.com/.test(await page.locator('#catalog-guide').textContent()), 'the setup guide');
  await page.locator('form', { has: page.getByRole('heading', { name: 'Enable from the catalog' }) })
    .getByLabel('Client ID').fill('xero-client-' + uid());
  await page.locator('form', { has: page.getByRole('heading', { name: 'Enable from the catalog' }) })
    .getByLabel(/Client secret/).fill('xero-secret');
  await page.getByRole('button', { name: 'Enable' }).click();
  await statusText(page, /Saved/);
  const x = (await api(env, 'GET', '/integrations/xero')).json;
  eq(x.catalog, 'xero', 'enabled from the catalog');
  assert(!JSON.stringify(x).includes('xero-secret'), 'the secret is write-only');
  await page.locator('tbody th', { hasText: 'xero' }).first().waitFor();
});

test('link settings: live preview follows the form; saved through the API', async ({ page, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'Link settings');
  await page.getByLabel('Page title').fill('Connect your books');
  const preview = page.locator('.preview strong');
  eq(await preview.textContent(), 'Connect your books', 'preview title follows the input');
  await page.getByLabel('Redirect URL template').fill('https://app.example.com/done?c={companyId}');
  await page.getByRole('button', { name: 'Save' }).click();
  await statusText(page, /Saved/);
  const s = (await api(env, 'GET', '/settings/link')).json;
  eq(s.page_title, 'Connect your books', 'page_title saved');
  eq(s.redirect_url, 'https://app.example.com/done?c={companyId}', 'redirect_url saved');
  await check(page, 'settings');
  await api(env, 'PUT', '/settings/link', {});
});

// A webhook receiver on loopback: every request's headers and body.
function receiver() {
  const got = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { got.push({ headers: req.headers, body }); res.writeHead(204); res.end(); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/hooks/${uid()}`, got,
    close: () => new Promise((r) => server.close(r)),
  })));
}

test('webhooks: add, send a test, see the delivery, replay it', async ({ page, env }) => {
  const rx = await receiver();
  try {
    await signInAdmin(page, env);
    await nav(page, 'Webhooks');
    await page.getByLabel('Endpoint URL').fill(rx.url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const card = page.locator('section.card', { has: page.getByRole('heading', { name: rx.url }) });
    await card.waitFor();
    assert(/^whsec_/.test(await page.locator('#webhook-secret input').inputValue()), 'secret shown once');
    await card.getByRole('button', { name: 'Send test' }).click();
    await statusText(page, /Test event queued/);
    await poll(() => rx.got.length >= 1, 'the test event at the receiver');
    const first = JSON.parse(rx.got[0].body);
    eq(first.eventType, 'ping', 'the test event');
    await card.getByRole('button', { name: 'Deliveries' }).click();
    const delivery = card.locator('tr[data-delivery]').first();
    await poll(async () => {
      await card.getByRole('button', { name: 'Deliveries' }).click();
      return /succeeded/.test(await delivery.textContent({ timeout: 500 }).catch(() => ''));
    }, 'the delivery shown as succeeded');
    await check(page, 'webhooks');
    await delivery.getByRole('button', { name: 'Retry' }).click();
    await statusText(page, /Queued again/);
    await poll(() => rx.got.length >= 2, 'the replay at the receiver');
    eq(rx.got[1].headers['webhook-id'], rx.got[0].headers['webhook-id'], 'a replay keeps its webhook-id');
    page.once('dialog', (d) => d.accept());
    await card.getByRole('button', { name: 'Delete' }).click();
    await poll(async () => (await card.count()) === 0, 'the card goes');
    const hooks = (await api(env, 'GET', '/webhooks')).json;
    assert(!(Array.isArray(hooks) ? hooks : hooks.results).some((x) => x.url === rx.url), 'deleted (API)');
  } finally {
    await rx.close();
  }
});

test('API keys: create (shown once, copy), it works, revoke, it stops', async ({ page, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'API keys');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const input = page.locator('#new-key-value');
  await input.waitFor();
  const key = await input.inputValue();
  assert(/^hl_test_[A-Za-z0-9_-]{43}$/.test(key), 'a test key: ' + key);
  await page.locator('#new-key').getByRole('button', { name: 'Copy' }).click();
  eq(await clipboard(page), key, 'copied');
  const works = await fetch(env.HL_URL + '/api/v2/public/companies', { headers: { 'x-api-key': key } });
  eq(works.status, 200, 'the new key works');
  await check(page, 'keys');
  const row = page.locator('tr', { has: page.getByText(key.slice(0, 12) + '…') });
  page.once('dialog', (d) => d.accept());
  await row.getByRole('button', { name: 'Revoke' }).click();
  await poll(async () => /Revoked/.test(await page.locator('tr', { has: page.getByText(key.slice(0, 12) + '…') }).textContent()), 'revoked');
  const refused = await fetch(env.HL_URL + '/api/v2/public/companies', { headers: { 'x-api-key': key } });
  eq(refused.status, 401, 'the revoked key is refused');
  await page.reload();
  await waitH1(page, /API keys/);
  assert(!(await page.content()).includes(key), 'the key is never shown again');
});

test('dashboard, users and audit log render (admin)', async ({ page, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'Dashboard');
  await page.locator('figure svg').first().waitFor();
  await check(page, 'dashboard');
  await nav(page, 'Audit log');
  await page.locator('tbody tr').first().waitFor();
  assert(/POST \/api\/v2\/public\/companies/.test(await page.locator('tbody').textContent()), 'company creations audited');
  await check(page, 'audit');
});

test('roles: an onboarding user cannot open integrations, settings or keys (UI and API)', async ({ page, env }) => {
  await signInAdmin(page, env);
  await nav(page, 'Users');
  const email = 'onboarding-' + uid() + '@example.com';
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Role').selectOption('onboarding');
  await page.getByRole('button', { name: 'Add user' }).click();
  const linkInput = page.locator('#user-link input');
  await linkInput.waitFor();
  const link = await linkInput.inputValue();
  await check(page, 'users');
  await signOut(page);
  await page.goto(link);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Save and sign in' }).click();
  await waitH1(page, /^Companies$/);
  const links = await page.getByRole('navigation', { name: 'Portal' }).getByRole('link').allTextContents();
  for (const hidden of ['Integrations', 'Link settings', 'API keys', 'Webhooks', 'Users', 'Audit log']) {
    assert(!links.includes(hidden), hidden + ' is not in the onboarding nav: ' + links.join(', '));
  }
  for (const [hash, heading] of [['integrations', 'Integrations'], ['settings', 'Link settings'], ['keys', 'API keys']]) {
    await page.goto(env.HL_PORTAL_URL + '#/' + hash);
    await waitH1(page, new RegExp(heading));
    await poll(async () => /Your role does not allow this/.test(await page.locator('#page-error').textContent()), 'refusal shown');
  }
  for (const path of ['/integrations', '/settings/link', '/portal/api-keys', '/webhooks']) {
    const status = await page.evaluate(async (p) => (await fetch('/api/v2/public' + p,
      { credentials: 'same-origin' })).status, path);
    eq(status, 403, 'the API refuses ' + path);
  }
  await page.setViewportSize(DESKTOP);
  await signOut(page);
});

test('sign-out ends the session; keyboard-only sign-in works', async ({ page, env }) => {
  await signInAdmin(page, env);
  await signOut(page);
  const status = await page.evaluate(async () => (await fetch('/api/v2/public/companies',
    { credentials: 'same-origin' })).status);
  eq(status, 401, 'the old cookie is refused after sign-out');
  await check(page, 'signin');
  // keyboard only: Tab to the fields, type, Enter
  await page.keyboard.press('Tab');
  await page.locator('input[type=email]').focus();
  await page.keyboard.type(demo.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(demo.password);
  await page.keyboard.press('Enter');
  await waitH1(page, /^Companies$/);
  const focusable = await page.evaluate(() => {
    const a = document.querySelector('.skip');
    a.focus();
    return document.activeElement === a && getComputedStyle(a).top !== '-48px';
  });
  assert(focusable, 'the skip link shows when focused');
});

run(tests, { title: 'portal', cspPaths: /^\/portal\//,
  stackArgs: ['--set', 'webhook_allow_private=true', '--set', 'webhook_retry_schedule=0,1s'] });
