/* hostlink Portal: the operator console.  One page, routed by the URL
 * fragment (#/companies, #/company/{id}, ...), talking only to
 * /api/v2/public on the same origin with the HttpOnly session cookie and the
 * X-Hostlink-Portal header every state change needs.  It calls the same API
 * routes as API keys do; the server checks the operator's role on each.
 * Safe by construction: data reaches the page through textContent or
 * setAttribute, never through HTML parsing. */
'use strict';

(function () {
  var API = '/api/v2/public';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var MSG = window.PORTAL_MESSAGES || { en: {} };
  var lang = MSG[(navigator.language || 'en').slice(0, 2)] ? (navigator.language || 'en').slice(0, 2) : 'en';
  var ROLE_RANK = { admin: 0, developer: 1, onboarding: 2 };
  var NAV = [
    ['companies', 'onboarding'], ['invite', 'onboarding'], ['dashboard', 'onboarding'],
    ['settings', 'developer'], ['integrations', 'developer'], ['webhooks', 'developer'],
    ['keys', 'developer'], ['users', 'admin'], ['audit', 'admin']
  ];

  var me = null;          /* GET /portal/session */
  var env = sessionStorage.getItem('hostlink.env') || 'test';
  var mainEl, statusEl;

  /* ------------------------------------------------------------ helpers */

  function t(key) {
    var s = (MSG[lang] && MSG[lang][key]) || MSG.en[key] || key;
    for (var i = 1; i < arguments.length; i++) s = s.split('{' + (i - 1) + '}').join(String(arguments[i]));
    return s;
  }

  /* h('tag', {attr: value, class, text, onclick}, child...) */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var k, v, i;
    for (k in attrs || {}) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
      v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }

  function svg(tag, attrs) {
    var el = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) el.setAttribute(k, String(attrs[k]));
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) el.appendChild(arguments[i]);
    return el;
  }

  function announce(text) {
    statusEl.textContent = '';
    setTimeout(function () { statusEl.textContent = text; }, 30);
  }

  function when(s) {
    if (!s) return '';
    var d = new Date(s);
    return isNaN(d) ? s : d.toLocaleString(lang);
  }

  function uid(prefix) { return prefix + '-' + Math.random().toString(36).slice(2, 9); }

  function ApiError(status, code, message) {
    this.status = status; this.code = code; this.message = message;
  }

  /* fetch JSON from the API; rejects with ApiError. */
  function api(method, path, body) {
    var headers = { 'X-Hostlink-Environment': env, 'Accept': 'application/json' };
    var opts = { method: method, headers: headers, credentials: 'same-origin' };
    if (method !== 'GET') headers['X-Hostlink-Portal'] = '1';
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch(API + path, opts).then(function (resp) {
      return resp.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
        if (resp.ok) return data;
        if (resp.status === 401 && path !== '/portal/session') { me = null; go('#/signin'); }
        throw new ApiError(resp.status, data && data.error, (data && data.message) || resp.statusText);
      });
    }, function () { throw new ApiError(0, 'NETWORK', t('error.network')); });
  }

  /* Shows text (or what err says) in the page's alert box. */
  function showError(text, err) {
    if (!text) {
      text = err && err.status === 403 ? t('error.forbidden') :
        err && err.status === 0 ? t('error.network') : t('error.generic', (err && err.message) || '');
    }
    var box = document.getElementById('page-error');
    if (box) { box.textContent = text; box.hidden = false; } else announce(text);
  }

  function failed(err) { showError(null, err); }

  function busy(btn, on) {
    btn.disabled = on;
    btn.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  /* A read-only field with a Copy button beside it. */
  /* label: the button's text (null: "Copy"); name: what the value is. */
  function copyField(label, value, id, name) {
    id = id || uid('copy');
    var input = h('input', { id: id, type: 'text', readonly: true, value: value, class: 'mono',
      'aria-label': name || t('copy.value') });
    var btn = h('button', { type: 'button', class: 'btn', text: label === null ? t('copy.value') : t('copy'),
      'data-copy': id, onclick: function () { copy(input); } });
    return h('div', { class: 'copy-row' }, input, btn);
  }

  /* A secret hidden until Show is pressed, with Copy. */
  function secretField(value) {
    var row = copyField(null, value, 'signing-secret', t('settings.secret'));
    var input = row.querySelector('input');
    input.type = 'password';
    row.append(h('button', { type: 'button', class: 'btn', text: t('show'), 'aria-controls': 'signing-secret',
      onclick: function (ev) {
        var shown = input.type === 'text';
        input.type = shown ? 'password' : 'text';
        ev.currentTarget.textContent = shown ? t('show') : t('hide');
      } }));
    return row;
  }

  /* The Clipboard API where the page may use it; else the selection. */
  function copy(input) {
    var done = function () { announce(t('copied')); };
    var fallback = function () { fallbackCopy(input, done); };
    if (!navigator.clipboard || !navigator.clipboard.writeText) return fallback();
    var settled = false;
    var timer = setTimeout(function () { if (!settled) { settled = true; fallback(); } }, 1500);
    navigator.clipboard.writeText(input.value).then(function () {
      if (!settled) { settled = true; clearTimeout(timer); done(); }
    }, function () {
      if (!settled) { settled = true; clearTimeout(timer); fallback(); }
    });
  }

  function fallbackCopy(input, done) {
    input.select();
    try { if (document.execCommand('copy')) { done(); return; } } catch (e) { /* below */ }
    announce(t('copy.failed'));
  }

  function field(label, input, hint) {
    var id = input.id || uid('f');
    input.id = id;
    return h('div', { class: 'field' }, h('label', { for: id, text: label }),
      hint ? h('p', { class: 'hint', id: id + '-hint', text: hint }) : null, input);
  }

  function table(caption, heads, rows) {
    return h('div', { class: 'table-wrap' }, h('table', null,
      h('caption', { class: 'sr-only', text: caption }),
      h('thead', null, h('tr', null, heads.map(function (x) { return h('th', { scope: 'col', text: x }); }))),
      h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: heads.length, text: t('none') })))));
  }

  function pill(status) {
    return h('span', { class: 'pill pill-' + status, text: t('status.' + status) });
  }

  function page(title) {
    document.title = title + ' · ' + t('app.title');
    var err = h('p', { id: 'page-error', class: 'error', role: 'alert', hidden: true });
    mainEl.replaceChildren(h('h1', { text: title }), err);
    mainEl.focus();
    return mainEl;
  }

  function form(onsubmit) {
    var f = h('form', { novalidate: true });
    f.addEventListener('submit', function (ev) { ev.preventDefault(); onsubmit(f); });
    return f;
  }

  function button(text, onclick, cls) {
    return h('button', { type: 'button', class: 'btn ' + (cls || ''), text: text, onclick: onclick });
  }

  /* ------------------------------------------------------------ routing */

  function go(hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  }

  function allowed(need) { return me && ROLE_RANK[me.role] <= ROLE_RANK[need]; }

  function route() {
    var hash = location.hash || '';
    var m;
    if ((m = /^#set-password=([A-Za-z0-9_-]{43})$/.exec(hash))) return setPasswordPage(m[1]);
    if (!me) return signinPage();
    renderBar();
    if ((m = /^#\/company\/([0-9a-f-]{36})$/.exec(hash))) return companyPage(m[1]);
    var name = hash.replace(/^#\//, '') || 'companies';
    var item = NAV.filter(function (n) { return n[0] === name; })[0];
    if (!item) return go('#/companies');
    if (!allowed(item[1])) { page(t('nav.' + name)); return failed(new ApiError(403)); }
    PAGES[name]();
  }

  function renderBar() {
    var bar = document.getElementById('bar');
    var nav = document.getElementById('nav');
    var current = (location.hash.replace(/^#\//, '').split('/')[0]) || 'companies';
    bar.hidden = false;
    nav.replaceChildren(h('ul', null, NAV.filter(function (n) { return allowed(n[1]); }).map(function (n) {
      return h('li', null, h('a', { href: '#/' + n[0], text: t('nav.' + n[0]),
        'aria-current': current === n[0] || (current === 'company' && n[0] === 'companies') ? 'page' : null }));
    })));
    document.getElementById('me').textContent = me.email + ' (' + t('role.' + me.role) + ')';
  }

  /* ------------------------------------------------------------ sign-in */

  function signinPage() {
    document.getElementById('bar').hidden = true;
    var p = page(t('signin.title'));
    var email = h('input', { type: 'email', autocomplete: 'username', required: true });
    var pw = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('signin.submit') });
    p.appendChild(form(function () {
      busy(submit, true);
      api('POST', '/portal/session', { email: email.value.trim(), password: pw.value }).then(function (out) {
        me = out;
        pw.value = '';
        go(location.hash && location.hash.indexOf('#/') === 0 && location.hash !== '#/signin' ? location.hash : '#/companies');
      }, function (err) {
        busy(submit, false);
        showError(err.status === 401 ? t('signin.failed') : err.status === 429 ? t('signin.limited', 60) : null, err);
      });
    })).append(field(t('signin.email'), email), field(t('signin.password'), pw), submit);
    email.focus();
  }

  function setPasswordPage(token) {
    document.getElementById('bar').hidden = true;
    var p = page(t('setpw.title'));
    var pw = h('input', { type: 'password', autocomplete: 'new-password', minlength: 12, required: true });
    var again = h('input', { type: 'password', autocomplete: 'new-password', required: true });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('setpw.submit') });
    p.append(h('p', { class: 'lead', text: t('setpw.lead') }));
    p.appendChild(form(function () {
      if (pw.value.length < 12) return showError(t('setpw.short'));
      if (pw.value !== again.value) return showError(t('setpw.mismatch'));
      busy(submit, true);
      api('POST', '/portal/password', { token: token, password: pw.value }).then(function (out) {
        me = out;
        history.replaceState(null, '', location.pathname + '#/companies');
        route();
      }, function (err) {
        busy(submit, false);
        showError(err.status === 404 ? t('setpw.invalid') : null, err);
      });
    })).append(field(t('setpw.password'), pw, t('setpw.lead')), field(t('setpw.confirm'), again), submit);
    pw.focus();
  }

  /* ------------------------------------------------------------ companies */

  function parseTags(text) {
    var tags = {};
    text.split('\n').forEach(function (line) {
      var i = line.indexOf('=');
      if (i > 0) tags[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    });
    return tags;
  }

  function companiesPage(pageNo) {
    pageNo = pageNo || 1;
    var p = page(t('companies.title'));
    var search = h('input', { type: 'search', id: 'company-search' });
    var list = h('div', { id: 'company-list' });
    var timer = null;
    search.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { loadCompanies(list, search.value.trim(), 1); }, 250);
    });
    p.append(newCompanyForm(function () { loadCompanies(list, search.value.trim(), 1); }),
      field(t('companies.search'), search), list);
    loadCompanies(list, '', pageNo);
  }

  function newCompanyForm(after) {
    var name = h('input', { type: 'text', maxlength: 256, required: true });
    var desc = h('input', { type: 'text', maxlength: 2000 });
    var tags = h('textarea', { rows: 2 });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('companies.new') });
    var f = form(function () {
      var body = { name: name.value.trim() };
      if (desc.value.trim()) body.description = desc.value.trim();
      if (tags.value.trim()) body.tags = parseTags(tags.value);
      busy(submit, true);
      api('POST', '/companies', body).then(function (co) {
        busy(submit, false);
        name.value = desc.value = tags.value = '';
        announce(t('companies.created.ok', co.name));
        after(co);
      }, function (e) { busy(submit, false); failed(e); });
    });
    f.append(field(t('companies.name'), name), field(t('companies.description'), desc),
      field(t('companies.tags'), tags), submit);
    return h('details', { class: 'card' }, h('summary', { text: t('companies.new') }), f);
  }

  /* Codat's query language: the company's name or a platform it connects. */
  function searchQuery(q) {
    var v = q.replace(/["\\]/g, '');
    return v ? '&query=' + encodeURIComponent('name~"' + v + '"||platform~"' + v + '"') : '';
  }

  function loadCompanies(list, q, pageNo) {
    api('GET', '/companies?pageSize=50&page=' + pageNo + searchQuery(q)).then(function (out) {
      var rows = (out.results || []).map(companyRow);
      var pages = Math.max(1, Math.ceil((out.totalResults || 0) / (out.pageSize || 50)));
      list.replaceChildren(table(t('companies.title'), [t('companies.name'), t('companies.created'),
        t('companies.platforms'), t('companies.actions')], rows),
      h('nav', { class: 'pager', 'aria-label': t('page', pageNo) },
        pageNo > 1 ? button(t('prev'), function () { loadCompanies(list, q, pageNo - 1); }) : null,
        h('span', { text: t('page', pageNo) + ' / ' + pages }),
        pageNo < pages ? button(t('next'), function () { loadCompanies(list, q, pageNo + 1); }) : null));
    }, failed);
  }

  function companyRow(co) {
    var actions = h('td', { class: 'actions' });
    var slot = h('div', { class: 'reveal' });
    actions.append(
      button(t('companies.request'), function () {
        slot.replaceChildren(h('p', { text: t('companies.link', co.name) }), copyField(t('copy'), co.redirect, null, t('companies.link', co.name)));
        slot.querySelector('input').focus();
      }, 'btn-primary'),
      button(t('rename'), function () { renameForm(co, slot); }),
      button(t('rotate'), function () {
        if (!confirm(t('confirm.rotate'))) return;
        api('POST', '/companies/' + co.id + '/link/rotate').then(function (out) {
          co.redirect = out.redirect || co.redirect;
          announce(t('rotated'));
          slot.replaceChildren(h('p', { text: t('rotated') }), copyField(t('copy'), co.redirect, null,
            t('companies.link', co.name)));
        }, failed);
      }),
      button(t('delete'), function () {
        if (!confirm(t('confirm.delete', co.name))) return;
        api('DELETE', '/companies/' + co.id).then(function () { announce(t('companies.deleted')); route(); }, failed);
      }, 'btn-danger'),
      slot);
    return h('tr', { 'data-company': co.id },
      h('th', { scope: 'row' }, h('a', { href: '#/company/' + co.id, text: co.name })),
      h('td', { text: when(co.created) }),
      h('td', null, (co.dataConnections || []).map(function (c) {
        return h('span', { class: 'platform' }, c.platformName + ' ', pill(c.status));
      })),
      actions);
  }

  function renameForm(co, slot) {
    var name = h('input', { type: 'text', value: co.name, maxlength: 256 });
    var f = form(function () {
      api('PATCH', '/companies/' + co.id, { name: name.value.trim() }).then(function () {
        announce(t('companies.renamed')); route();
      }, failed);
    });
    f.append(field(t('companies.name'), name), h('button', { type: 'submit', class: 'btn btn-primary', text: t('save') }));
    slot.replaceChildren(f);
    name.focus();
  }

  function companyPage(id) {
    api('GET', '/companies/' + id).then(function (co) {
      var p = page(t('company.title', co.name));
      p.append(h('p', null, h('a', { href: '#/companies', text: t('company.back') })),
        h('h2', { text: t('companies.request') }), copyField(t('copy'), co.redirect, 'company-link', t('companies.link', co.name)),
        h('h2', { text: t('company.connections') }));
      p.append(table(t('company.connections'), [t('company.platform'), t('company.status'),
        t('company.errors'), t('company.updated'), t('companies.actions')],
      (co.dataConnections || []).map(function (c) { return connectionRow(co, c); })));
      companyEvents(p, co);
    }, function (e) { page(t('company.title', '')); failed(e); });
  }

  function connectionRow(co, c) {
    var base = '/companies/' + co.id + '/connections/' + c.id;
    var errors = (c.dataConnectionErrors || []).filter(function (e) { return e.status === 'Active'; });
    var actions = h('td', { class: 'actions' });
    if (c.status === 'PendingAuth' || c.status === 'Deauthorized' || c.status === 'Unlinked')
      actions.append(copyField(t('copy'), c.linkUrl, null, t('company.linkurl', c.platformName)));
    if (c.status === 'Linked')
      actions.append(button(t('company.unlink'), function () {
        api('PATCH', base, { status: 'Unlinked' }).then(function () { announce(t('company.unlinked')); route(); }, failed);
      }));
    actions.append(button(t('delete'), function () {
      if (!confirm(t('confirm.delete', c.platformName))) return;
      api('DELETE', base).then(function () { route(); }, failed);
    }, 'btn-danger'));
    return h('tr', { 'data-connection': c.id },
      h('th', { scope: 'row', text: c.platformName }), h('td', null, pill(c.status)),
      h('td', { text: errors.map(function (e) { return e.statusText + ': ' + e.errorMessage; }).join('; ') || c.lastError || '' }),
      h('td', { text: when(c.updatedAt || c.created) }), actions);
  }

  /* The company's events, newest first, each with its webhook deliveries. */
  function companyEvents(p, co) {
    var wrap = h('div', { id: 'company-events' });
    p.append(h('h2', { text: t('company.events') }), wrap);
    api('GET', '/portal/companies/' + co.id + '/events').then(function (events) {
      wrap.replaceChildren(table(t('company.events'), [t('webhooks.event'), t('company.updated'),
        t('company.deliveries')], events.map(function (e) {
        return h('tr', { 'data-event': e.id }, h('th', { scope: 'row', text: e.eventType }),
          h('td', { text: when(e.created) }),
          h('td', { text: e.deliveries.map(function (d) {
            return d.url + ': ' + d.status + ' (' + d.attempts + ')';
          }).join('; ') || '—' }));
      })));
    }, failed);
  }

  /* ------------------------------------------------------------ invite */

  function invitePage() {
    var p = page(t('invite.title'));
    p.append(h('p', { class: 'lead', text: t('invite.lead') }));
    var slot = h('div');
    p.append(slot);
    api('GET', '/settings/invite').then(function (out) {
      slot.replaceChildren(h('h2', { text: t('invite.url') }),
        copyField(t('copy'), out.invite_url, 'invite-url', t('invite.url')),
        button(t('rotate'), function () {
          if (!confirm(t('confirm.rotate'))) return;
          api('POST', '/settings/invite/rotate').then(function () { announce(t('rotated')); invitePage(); }, failed);
        }));
    }, failed);
    if (!allowed('developer')) return;
    api('GET', '/settings/link').then(function (s) {
      var title = h('input', { type: 'text', id: 'invite-title', value: s.invite_title || '', maxlength: 200 });
      var body = h('textarea', { id: 'invite-body', rows: 3, maxlength: 2000 });
      body.value = s.invite_body || '';
      var f = form(function () {
        api('PUT', '/settings/link', Object.assign(s, { invite_title: title.value, invite_body: body.value }))
          .then(function () { announce(t('saved')); }, failed);
      });
      f.append(field(t('invite.header'), title), field(t('invite.body'), body),
        h('button', { type: 'submit', class: 'btn btn-primary', text: t('save') }));
      p.append(f);
    }, failed);
  }

  /* ------------------------------------------------------------ link settings */

  function settingsPage() {
    var p = page(t('settings.title'));
    api('GET', '/settings/link').then(function (s) {
      var theme = s.theme || {};
      var secret = s.signing_secret || '';
      var inputs = {
        page_title: h('input', { type: 'text', value: s.page_title || '', maxlength: 200 }),
        body_text: h('textarea', { rows: 3, maxlength: 2000 }),
        logo: h('input', { type: 'url', value: theme.logo || '' }),
        color: h('input', { type: 'color', value: theme.color || '#0b5fff' }),
        bgColor: h('input', { type: 'color', value: theme.bgColor || '#f5f7fb' }),
        redirect_url: h('input', { type: 'url', value: s.redirect_url || '', class: 'mono' })
      };
      inputs.body_text.value = s.body_text || '';
      var sandbox = h('input', { type: 'checkbox', id: 'show-sandbox', checked: s.show_sandbox !== false });
      var preview = h('div', { class: 'preview', 'aria-label': t('settings.preview'), role: 'img' });
      function draw() {
        preview.style.background = inputs.bgColor.value;
        preview.replaceChildren(h('div', { class: 'preview-card' },
          h('strong', { text: inputs.page_title.value || 'Connect your accounts' }),
          h('p', { text: inputs.body_text.value }),
          h('span', { class: 'preview-btn', text: t('settings.preview.button') })));
        preview.querySelector('.preview-btn').style.background = inputs.color.value;
        preview.setAttribute('aria-label', t('settings.preview') + ': ' + (inputs.page_title.value || ''));
      }
      Object.keys(inputs).forEach(function (k) { inputs[k].addEventListener('input', draw); });
      var f = form(function () {
        var out = Object.assign({}, s, {
          page_title: inputs.page_title.value, body_text: inputs.body_text.value,
          show_sandbox: sandbox.checked,
          theme: Object.assign({}, theme, { color: inputs.color.value, bgColor: inputs.bgColor.value })
        });
        if (inputs.logo.value) out.theme.logo = inputs.logo.value; else delete out.theme.logo;
        if (inputs.redirect_url.value) out.redirect_url = inputs.redirect_url.value; else delete out.redirect_url;
        api('PUT', '/settings/link', out).then(function () { announce(t('saved')); }, failed);
      });
      f.append(field(t('settings.page_title'), inputs.page_title), field(t('settings.body_text'), inputs.body_text),
        field(t('settings.logo'), inputs.logo), field(t('settings.color'), inputs.color),
        field(t('settings.bgColor'), inputs.bgColor),
        field(t('settings.redirect'), inputs.redirect_url, t('settings.placeholders')),
        h('div', { class: 'field check' }, sandbox, h('label', { for: 'show-sandbox',
          text: t('settings.show_sandbox', t('env.' + env)) })),
        h('button', { type: 'submit', class: 'btn btn-primary', text: t('save') }));
      delete s.signing_secret;
      p.append(h('div', { class: 'split' }, f, h('section', null, h('h2', { text: t('settings.preview') }), preview)));
      p.append(h('h2', { text: t('settings.secret') }), h('p', { class: 'hint', text: t('settings.secret.hint') }),
        secretField(secret), button(t('settings.secret.rotate'), function () {
          if (!confirm(t('settings.secret.confirm'))) return;
          api('POST', '/settings/link/rotate-secret').then(function () {
            announce(t('settings.secret.rotated'));
            settingsPage();
          }, failed);
        }));
      draw();
    }, failed);
  }

  /* ------------------------------------------------------------ integrations */

  function integrationsPage() {
    var p = page(t('integrations.title'));
    var redirectUri = location.origin + API + '/oauth/callback';
    p.append(h('h2', { text: t('integrations.redirect_uri') }),
      copyField(t('copy.value'), redirectUri, 'redirect-uri', t('integrations.redirect_uri')));
    api('GET', '/integrations').then(function (list) {
      list = Array.isArray(list) ? list : list.results || [];
      p.append(table(t('integrations.title'), [t('integrations.key'), t('integrations.name'),
        t('integrations.type'), t('integrations.enabled')], list.map(function (i) {
        return h('tr', null, h('th', { scope: 'row', text: i.key }), h('td', { text: i.name }),
          h('td', { text: i.authType }), h('td', { text: i.enabled ? '✓' : '—' }));
      })), catalogForm(), integrationForm());
    }, failed);
  }

  /* Enable a platform of the built-in catalog with just its client id and secret. */
  function catalogForm() {
    var sel = h('select', { id: 'catalog-entry' });
    var id = h('input', { type: 'text', autocomplete: 'off', class: 'mono' });
    var secret = h('input', { type: 'password', autocomplete: 'off' });
    var guide = h('p', { class: 'hint', id: 'catalog-guide' });
    var entries = {};
    api('GET', '/catalog').then(function (c) {
      (c.results || []).forEach(function (e) {
        entries[e.key] = e;
        sel.append(h('option', { value: e.key, text: e.name + ' · ' + (e.category || '') }));
      });
      sel.dispatchEvent(new Event('change'));
    }, failed);
    sel.addEventListener('change', function () {
      var e = entries[sel.value];
      guide.textContent = e && e.guide && e.guide.register_url ? t('integrations.register', e.guide.register_url) : '';
    });
    var f = form(function () {
      api('PUT', '/integrations/' + encodeURIComponent(sel.value), { catalog: sel.value,
        client_id: id.value.trim(), client_secret: secret.value }).then(function () {
        secret.value = '';
        announce(t('saved'));
        integrationsPage();
      }, failed);
    });
    f.append(h('h2', { text: t('integrations.catalog') }), field(t('integrations.entry'), sel), guide,
      field(t('integrations.client_id'), id), field(t('integrations.client_secret'), secret),
      h('button', { type: 'submit', class: 'btn btn-primary', text: t('integrations.enable') }));
    return f;
  }

  function integrationForm() {
    var v = {};
    ['key', 'name', 'authorize_url', 'token_url', 'client_id', 'client_secret', 'scopes'].forEach(function (k) {
      v[k] = h('input', { type: k === 'client_secret' ? 'password' : 'text', autocomplete: 'off',
        class: /url|client/.test(k) ? 'mono' : null });
    });
    var enabled = h('input', { type: 'checkbox', checked: true });
    var f = form(function () {
      var body = { name: v.name.value.trim(), authType: 'oauth2', enabled: enabled.checked,
        oauth2: { authorize_url: v.authorize_url.value.trim(), token_url: v.token_url.value.trim(),
          client_id: v.client_id.value.trim(), client_secret: v.client_secret.value,
          scopes: v.scopes.value.split(/\s+/).filter(Boolean) } };
      api('PUT', '/integrations/' + encodeURIComponent(v.key.value.trim()), body).then(function () {
        v.client_secret.value = '';
        announce(t('saved'));
        integrationsPage();
      }, failed);
    });
    f.append(h('h2', { text: t('integrations.add') }));
    Object.keys(v).forEach(function (k) { f.append(field(t('integrations.' + k), v[k])); });
    f.append(h('div', { class: 'field check' }, enabled, h('label', { for: enabled.id = uid('en'), text: t('integrations.enabled') })),
      h('button', { type: 'submit', class: 'btn btn-primary', text: t('save') }));
    return f;
  }

  /* ------------------------------------------------------------ webhooks */

  function webhooksPage() {
    var p = page(t('webhooks.title'));
    var url = h('input', { type: 'url', class: 'mono', required: true });
    var events = h('input', { type: 'text' });
    var out = h('div', { id: 'webhook-secret' });
    var f = form(function () {
      var body = { url: url.value.trim() };
      var ev = events.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
      if (ev.length) body.events = ev;
      api('POST', '/webhooks', body).then(function (w) {
        url.value = events.value = '';
        webhooksPage();
        setTimeout(function () {
          var slot = document.getElementById('webhook-secret');
          if (slot) slot.replaceChildren(h('p', { text: t('webhooks.secret', '') }), copyField(t('copy.value'), w.secret, null, t('webhooks.secret.name')));
        }, 0);
      }, failed);
    });
    f.append(field(t('webhooks.url'), url), field(t('webhooks.events'), events),
      h('button', { type: 'submit', class: 'btn btn-primary', text: t('webhooks.add') }));
    p.append(f, out);
    api('GET', '/webhooks').then(function (list) {
      (Array.isArray(list) ? list : list.results || []).forEach(function (w) { p.append(webhookCard(w)); });
    }, failed);
  }

  function webhookCard(w) {
    var log = h('div');
    var card = h('section', { class: 'card', 'data-webhook': w.id }, h('h2', { text: w.url }),
      h('p', { text: (w.events && w.events.length ? w.events.join(', ') : '*') + (w.enabled ? '' : ' — ' + t('webhooks.disable')) }),
      h('div', { class: 'actions' },
        button(t('webhooks.test'), function () {
          api('POST', '/webhooks/' + w.id + '/test').then(function () { announce(t('webhooks.tested')); loadDeliveries(w, log); }, failed);
        }),
        button(t('webhooks.rotate'), function () {
          api('POST', '/webhooks/' + w.id + '/rotate-secret').then(function (o) {
            log.replaceChildren(h('p', { text: t('webhooks.secret', '') }), copyField(t('copy.value'), o.secret, null, t('webhooks.secret.name')));
          }, failed);
        }),
        button(w.enabled ? t('webhooks.disable') : t('webhooks.enable'), function () {
          api('PATCH', '/webhooks/' + w.id, { enabled: !w.enabled }).then(webhooksPage, failed);
        }),
        button(t('delete'), function () {
          if (!confirm(t('confirm.delete', w.url))) return;
          api('DELETE', '/webhooks/' + w.id).then(webhooksPage, failed);
        }, 'btn-danger'),
        button(t('webhooks.deliveries'), function () { loadDeliveries(w, log); })),
      log);
    return card;
  }

  function loadDeliveries(w, log) {
    api('GET', '/webhooks/' + w.id + '/deliveries').then(function (ds) {
      log.replaceChildren(deliveriesTable(w, Array.isArray(ds) ? ds : ds.results || []));
    }, failed);
  }

  function deliveriesTable(w, ds) {
    return table(t('webhooks.deliveries'), [t('webhooks.event'), t('company.status'), t('webhooks.attempts'),
      t('webhooks.response'), t('companies.actions')], ds.map(function (d) {
      return h('tr', { 'data-delivery': d.id }, h('th', { scope: 'row', text: d.event_type }),
        h('td', { text: d.status }), h('td', { text: String(d.attempts) }),
        h('td', { text: d.last_status_code ? String(d.last_status_code) : (d.last_error || '') }),
        h('td', null, button(t('webhooks.retry'), function () {
          api('POST', '/webhooks/' + w.id + '/deliveries/' + d.id + '/retry').then(function () {
            announce(t('webhooks.retried'));
          }, failed);
        })));
    }));
  }

  /* ------------------------------------------------------------ API keys */

  function keysPage() {
    var p = page(t('keys.title'));
    var shown = h('div', { id: 'new-key' });
    p.append(button(t('keys.create'), function () {
      api('POST', '/portal/api-keys').then(function (k) {
        keysPage();
        setTimeout(function () {
          var slot = document.getElementById('new-key');
          if (slot) slot.replaceChildren(h('p', { text: t('keys.shown_once') }), copyField(t('copy.value'), k.key, 'new-key-value', t('keys.new')));
        }, 0);
      }, failed);
    }, 'btn-primary'), shown);
    api('GET', '/portal/api-keys').then(function (keys) {
      p.append(table(t('keys.title'), [t('keys.prefix'), t('companies.created'), t('company.status'),
        t('companies.actions')], keys.map(function (k) {
        return h('tr', { 'data-key': k.id }, h('th', { scope: 'row', class: 'mono', text: k.prefix + '…' }),
          h('td', { text: when(k.created_at) }), h('td', { text: k.revoked_at ? t('keys.revoked') : t('keys.active') }),
          h('td', null, k.revoked_at ? null : button(t('keys.revoke'), function () {
            if (!confirm(t('confirm.delete', k.prefix))) return;
            api('DELETE', '/portal/api-keys/' + k.id).then(keysPage, failed);
          }, 'btn-danger')));
      })));
    }, failed);
  }

  /* ------------------------------------------------------------ dashboard */

  var SERIES = ['sessionsIssued', 'connectUrlsCreated', 'hostedPagesOpened', 'connectionsCreated',
    'connectionsLinked', 'connectionsFailed'];

  function barChart(title, labels, values) {
    var max = Math.max.apply(null, values.concat([1]));
    var W = 640, H = 40 + labels.length * 28;
    var chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', class: 'chart' },
      svg('title', {}));
    chart.firstChild.textContent = title + ': ' + labels.map(function (l, i) { return l + ' ' + values[i]; }).join(', ');
    labels.forEach(function (l, i) {
      var y = 20 + i * 28, w = Math.round((W - 260) * values[i] / max);
      var label = svg('text', { x: 0, y: y + 15, class: 'chart-label' });
      label.textContent = l;
      var num = svg('text', { x: 214 + w, y: y + 15, class: 'chart-num' });
      num.textContent = String(values[i]);
      chart.append(label, svg('rect', { x: 200, y: y, width: Math.max(w, 1), height: 20, class: 'chart-bar' }), num);
    });
    return h('figure', null, h('figcaption', { text: title }), chart);
  }

  function dashboardPage() {
    var p = page(t('dashboard.title'));
    api('GET', '/portal/dashboard?days=30').then(function (d) {
      var totals = SERIES.map(function (k) {
        return d.funnel.reduce(function (n, row) { return n + Number(row[k] || 0); }, 0);
      });
      p.append(barChart(t('dashboard.funnel'), SERIES.map(function (k) { return t('dashboard.' + k); }), totals));
      p.append(barChart(t('dashboard.connections'), d.connections.map(function (c) {
        return c.platform + ' · ' + t('status.' + c.status);
      }), d.connections.map(function (c) { return Number(c.connections); })));
      p.append(h('h2', { text: t('dashboard.webhooks') }), table(t('dashboard.webhooks'),
        [t('webhooks.url'), t('webhooks.deliveries'), t('dashboard.rate')], d.webhooks.map(function (w) {
          return h('tr', null, h('th', { scope: 'row', class: 'mono', text: w.url }),
            h('td', { text: String(w.deliveries) }),
            h('td', { text: w.successRatePct === null ? '—' : w.successRatePct + ' %' }));
        })));
    }, failed);
  }

  /* ------------------------------------------------------------ users, audit */

  function usersPage() {
    var p = page(t('users.title'));
    var email = h('input', { type: 'email', required: true });
    var role = h('select', null, ['onboarding', 'developer', 'admin'].map(function (r) {
      return h('option', { value: r, text: t('role.' + r) });
    }));
    var out = h('div', { id: 'user-link' });
    var f = form(function () {
      api('POST', '/portal/users', { email: email.value.trim(), role: role.value }).then(function (u) {
        usersPage();
        setTimeout(function () {
          var slot = document.getElementById('user-link');
          if (slot) slot.replaceChildren(h('p', { text: t('users.link', u.email) }), copyField(t('copy'), u.setPasswordUrl, null, t('users.linkname', u.email)));
        }, 0);
      }, failed);
    });
    f.append(field(t('users.email'), email), field(t('users.role'), role),
      h('button', { type: 'submit', class: 'btn btn-primary', text: t('users.add') }));
    p.append(f, out);
    api('GET', '/portal/users').then(function (users) {
      p.append(table(t('users.title'), [t('users.email'), t('users.role'), t('company.status'), t('companies.actions')],
        users.map(function (u) {
          return h('tr', null, h('th', { scope: 'row', text: u.email }), h('td', { text: t('role.' + u.role) }),
            h('td', { text: u.disabled_at ? t('users.disabled') : t('keys.active') }),
            h('td', null, u.disabled_at || u.id === me.id ? null : button(t('users.disable'), function () {
              api('DELETE', '/portal/users/' + u.id).then(usersPage, failed);
            }, 'btn-danger')));
        })));
    }, failed);
  }

  function auditPage() {
    var p = page(t('audit.title'));
    var body = h('div');
    p.append(body);
    function load(before) {
      api('GET', '/portal/audit?limit=50' + (before ? '&before=' + before : '')).then(function (rows) {
        body.replaceChildren(table(t('audit.title'), [t('audit.when'), t('audit.who'), t('audit.action'), t('audit.from')],
          rows.map(function (r) {
            return h('tr', null, h('td', { text: when(r.at) }),
              h('td', { text: r.actorEmail ? r.actorEmail + ' (' + r.role + ')' : 'API key ' + r.actorId }),
              h('td', { class: 'mono', text: r.action + ' ' + r.object + ' → ' + r.status }),
              h('td', { text: r.client || '' }));
          })), rows.length === 50 ? button(t('audit.more'), function () { load(rows[rows.length - 1].id); }) : null);
      }, failed);
    }
    load(0);
  }

  var PAGES = { companies: companiesPage, invite: invitePage, settings: settingsPage,
    integrations: integrationsPage, webhooks: webhooksPage, keys: keysPage, dashboard: dashboardPage,
    users: usersPage, audit: auditPage };

  /* ------------------------------------------------------------ start */

  function start() {
    mainEl = document.getElementById('main');
    statusEl = document.getElementById('status');
    document.documentElement.lang = lang;
    document.getElementById('brand').textContent = t('app.title');
    document.getElementById('env-label').textContent = t('env.label');
    var sel = document.getElementById('env');
    ['test', 'live'].forEach(function (e) {
      sel.append(h('option', { value: e, text: t('env.' + e), selected: e === env }));
    });
    sel.addEventListener('change', function () {
      env = sel.value;
      sessionStorage.setItem('hostlink.env', env);
      route();
    });
    var out = document.getElementById('signout');
    out.textContent = t('signout');
    out.addEventListener('click', function () {
      api('DELETE', '/portal/session').then(function () { me = null; go('#/signin'); }, failed);
    });
    window.addEventListener('hashchange', route);
    if (/^#set-password=/.test(location.hash)) return route();
    api('GET', '/portal/session').then(function (m) { me = m; route(); }, function () { me = null; route(); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
