/* hostlink hosted Connect page.
 *
 * Served for /connect/{session token}, /link/{link key} and /invite/{code};
 * talks only to /api/v2/public on the same origin.  Safe by construction:
 * every piece of API or stash data reaches the page through textContent or a
 * validated attribute (colours, https: logo URLs) - never through HTML
 * parsing (no innerHTML, outerHTML, insertAdjacentHTML or document.write). */
'use strict';

(function () {
  var API = '/api/v2/public';
  var COLOR_RE = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;
  var MAX_FIELD = 4096;
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var app = {
    mode: null,       /* "connect" | "link" | "invite" */
    value: null,      /* token, link key or invite code from the path */
    token: null,
    session: null,    /* GET /hosted/session */
    name: '',
    pageTitle: 'Connect your accounts',
    rendered: false
  };

  var viewEl, mainEl, statusEl;

  /* ---------------------------------------------------------------- DOM */

  /* h('tag', {attr: value, class, text, onclick}, child...) - children are
   * nodes or strings (text nodes).  Attribute names are always literals of
   * this file; values are set with setAttribute (never parsed as HTML). */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var k, v, i;
    if (attrs) {
      for (k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
        v = attrs[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }

  function icon(kind) {
    var paths = {
      check: 'M5 12.5l4.5 4.5L19 7.5',
      cross: 'M7 7l10 10M17 7L7 17',
      alert: 'M12 7.5v6M12 16.8v.2',
      chevron: 'M9.5 6l6 6-6 6',
      search: 'M10.5 17a6.5 6.5 0 1 1 0-13 6.5 6.5 0 0 1 0 13zM15.5 15.5L20 20',
      link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
      back: 'M14.5 6l-6 6 6 6'
    };
    var svg = document.createElementNS(SVG_NS, 'svg');
    var p = document.createElementNS(SVG_NS, 'path');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'icon icon-' + kind);
    p.setAttribute('d', paths[kind]);
    svg.appendChild(p);
    return svg;
  }

  function initials(name) {
    var words = String(name || '?').trim().split(/\s+/).filter(Boolean);
    var s = words.length > 1 ? words[0].charAt(0) + words[1].charAt(0) : (words[0] || '?').slice(0, 2);
    return s.toUpperCase();
  }

  function avatar(name) {
    return h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(name) });
  }

  /* Replaces the view; focuses its h1 unless this is the first render. */
  function show(nodes, opts) {
    var heading;
    opts = opts || {};
    mainEl.removeAttribute('aria-busy');
    while (viewEl.firstChild) viewEl.removeChild(viewEl.firstChild);
    viewEl.className = 'view' + (opts.className ? ' ' + opts.className : '');
    append(viewEl, nodes);
    heading = viewEl.querySelector('h1');
    if (heading) heading.setAttribute('tabindex', '-1');
    if (app.rendered && opts.focus !== false) {
      (opts.focus || heading || mainEl).focus();
    }
    app.rendered = true;
    window.scrollTo(0, 0);
  }

  var announceTimer = null;
  function announce(text) {
    statusEl.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () { statusEl.textContent = text; }, 60);
  }

  function setBusy(button, busy, busyText) {
    if (!button) return;
    if (busy) {
      button.dataset.label = button.textContent;
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
      if (busyText) button.textContent = busyText;
    } else {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      if (button.dataset.label !== undefined) button.textContent = button.dataset.label;
    }
  }

  /* ---------------------------------------------------------- validation */

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  function color(v) {
    return typeof v === 'string' && COLOR_RE.test(v) ? v : null;
  }

  /* An https: URL without credentials, or null. */
  function httpsUrl(v) {
    var u;
    if (typeof v !== 'string' || v.length === 0 || v.length > 2048) return null;
    try { u = new URL(v); } catch (e) { return null; }
    if (u.protocol !== 'https:' || u.username || u.password) return null;
    return u.href;
  }

  /* Where the API tells the browser to go next: http(s) only (the OAuth
   * provider, the sandbox consent page, the org's redirect_url). */
  function navigableUrl(v) {
    var u;
    if (typeof v !== 'string' || v.length === 0) return null;
    try { u = new URL(v, location.href); } catch (e) { return null; }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
    return u.href;
  }

  function text(v, max) {
    if (typeof v !== 'string') return '';
    v = v.trim();
    return v.length > max ? v.slice(0, max - 1) + '…' : v;
  }

  /* Relative luminance of #rgb / #rrggbb / #rrggbbaa (alpha ignored). */
  function luminance(hex) {
    var s = hex.slice(1), r, g, b;
    if (s.length === 3) s = s.charAt(0) + s.charAt(0) + s.charAt(1) + s.charAt(1) + s.charAt(2) + s.charAt(2);
    r = parseInt(s.slice(0, 2), 16) / 255;
    g = parseInt(s.slice(2, 4), 16) / 255;
    b = parseInt(s.slice(4, 6), 16) / 255;
    function lin(c) { return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  }

  function contrast(l1, l2) {
    return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  }

  /* ------------------------------------------------------------- storage */

  function stored(key) {
    try { return JSON.parse(window.sessionStorage.getItem(key) || 'null'); } catch (e) { return null; }
  }

  function store(key, value) {
    try {
      if (value === null) window.sessionStorage.removeItem(key);
      else window.sessionStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* storage disabled: the token lives for this page only */ }
  }

  function storageKey() {
    return 'hostlink.' + app.mode + '.' + app.value;
  }

  function fresh(entry) {
    return isObject(entry) && typeof entry.token === 'string' &&
      typeof entry.exp === 'number' && entry.exp - 60000 > Date.now();
  }

  /* ----------------------------------------------------------------- API */

  function ApiError(status, code, message, retryAfter) {
    this.status = status;
    this.code = code || '';
    this.message = message || '';
    this.retryAfter = retryAfter;
  }

  function api(method, path, body, token) {
    var headers = { Accept: 'application/json' };
    var init = { method: method, headers: headers, credentials: 'omit', cache: 'no-store' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(API + path, init).then(function (resp) {
      return resp.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
        if (!resp.ok) {
          throw new ApiError(resp.status, data && data.error, data && data.message,
            resp.headers.get('Retry-After'));
        }
        return data;
      });
    }, function () {
      throw new ApiError(0, 'NETWORK', 'The network request failed');
    });
  }

  /* A request with the page's token; a link token that has gone stale is
   * replaced once.  401, and 404 for the link itself, show the expired
   * screen and reject with a handled error. */
  function call(method, path, body, retried) {
    return api(method, path, body, app.token).catch(function (err) {
      if (err.status === 401 && app.mode !== 'connect' && !retried) {
        return acquireToken(true).then(function (ok) {
          if (!ok) throw new ApiError(401, 'INVALID_TOKEN');
          return call(method, path, body, true);
        });
      }
      throw err;
    }).catch(function (err) {
      if (!err.handled && (err.status === 401 ||
          (err.status === 404 && /^(LINK|INVITE)_NOT_FOUND$/.test(err.code)))) {
        showExpired();
        err.handled = true;
      }
      throw err;
    });
  }

  /* Sets app.token: true, or false when the invite form must be shown.
   * forceNew: the stored token was refused, mint another. */
  function acquireToken(forceNew) {
    var entry = stored(storageKey());
    if (app.mode === 'connect') {
      app.token = app.value;
      return Promise.resolve(true);
    }
    if (!forceNew && fresh(entry)) {
      app.token = entry.token;
      return Promise.resolve(true);
    }
    if (app.mode === 'link') {
      return api('POST', '/link/' + encodeURIComponent(app.value) + '/session').then(function (out) {
        remember(out);
        return true;
      });
    }
    /* invite: the hosted session carries no link key (a capability the
     * end user's token must not reveal), so an expired invite token
     * starts over at the form */
    return Promise.resolve(false);
  }

  function remember(out) {
    var exp = Date.parse(out && out.expires_at);
    app.token = out.token;
    store(storageKey(), { token: out.token, exp: isNaN(exp) ? Date.now() + 600000 : exp });
  }

  function loadSession() {
    return call('GET', '/hosted/session').then(function (s) {
      if (!isObject(s) || !isObject(s.company)) throw new ApiError(500, 'BAD_RESPONSE');
      app.session = s;
      applyBranding();
      return s;
    });
  }

  /* ------------------------------------------------------------ branding */

  function applyBranding() {
    var s = app.session;
    var settings = isObject(s.settings) ? s.settings : {};
    var theme = isObject(settings.theme) ? settings.theme : {};
    var props = isObject(s.hosted_properties) ? s.hosted_properties : {};
    var brand = color(props.color) || color(theme.color);
    var bg = color(props.bgColor) || color(theme.bgColor);
    var logo = httpsUrl(props.logo) || httpsUrl(theme.logo);
    var root = document.documentElement.style;
    var white = 1, ink = luminance('#1b2230');

    app.name = text(props.name, 120) || text(s.company.name, 120);
    app.pageTitle = text(settings.page_title, 200) || 'Connect your accounts';
    app.bodyText = text(settings.body_text, 2000);

    if (brand) {
      var lb = luminance(brand);
      root.setProperty('--brand', brand);
      root.setProperty('--on-brand', contrast(lb, white) >= contrast(lb, ink) ? '#ffffff' : '#1b2230');
      /* brand-coloured text and outlines need contrast on the white card */
      root.setProperty('--brand-ink', contrast(lb, white) >= 3 ? brand : '#1b2230');
    }
    if (bg) {
      var lg = luminance(bg);
      root.setProperty('--bg', bg);
      root.setProperty('--on-bg', contrast(lg, white) > contrast(lg, ink) ? '#ffffff' : '#1b2230');
    }

    var mark = document.getElementById('brand-mark');
    var nameEl = document.getElementById('brand-name');
    while (mark.firstChild) mark.removeChild(mark.firstChild);
    mark.className = 'brand-mark';
    if (logo) {
      var img = h('img', { src: logo, alt: '', referrerpolicy: 'no-referrer',
        decoding: 'async' });
      img.addEventListener('error', function () {
        if (img.parentNode) img.parentNode.removeChild(img);
        mark.textContent = initials(app.name);
      });
      mark.classList.add('has-logo');
      mark.appendChild(img);
    } else {
      mark.textContent = initials(app.name);
    }
    nameEl.textContent = app.name;
    document.getElementById('brand').classList.add('ready');
    document.title = app.pageTitle + (app.name ? ' · ' + app.name : '');
  }

  /* ------------------------------------------------------------- screens */

  function showExpired() {
    document.title = 'Link no longer valid';
    show([
      h('div', { class: 'state-icon state-warn' }, icon('link')),
      h('h1', { text: 'This link has expired or is no longer valid' }),
      h('p', { class: 'lead', text: 'Links to this page work for a limited time and stop working when they are replaced. ' +
        'Ask whoever sent it to you for a new link.' })
    ], { className: 'view-state' });
    announce('This link has expired or is no longer valid');
  }

  function showError(err, retry) {
    var limited = err && err.status === 429;
    var wait = err && parseInt(err.retryAfter, 10);
    show([
      h('div', { class: 'state-icon state-error' }, icon('alert')),
      h('h1', { text: limited ? 'Too many attempts' : 'Something went wrong' }),
      h('p', { class: 'lead', text: limited ?
        'Please wait ' + (wait > 0 ? wait + ' seconds' : 'a minute') + ' and try again.' :
        'We could not reach the service. Check your connection and try again.' }),
      retry ? h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-primary', text: 'Try again', onclick: retry })) : null
    ], { className: 'view-state' });
  }

  function fail(retry) {
    return function (err) {
      if (err && err.handled) return;
      if (err && err.status === 404 && /^(LINK|INVITE)_NOT_FOUND$/.test(err.code)) {
        showExpired();
        return;
      }
      if (window.console) console.error('hostlink:', err);
      showError(err, retry);
    };
  }

  function header(title, lead) {
    return [h('h1', { text: title }), lead ? h('p', { class: 'lead', text: lead }) : null];
  }

  /* ---- invite: ask the company name */

  function showInvite() {
    var errId = 'company-name-error';
    var input = h('input', { id: 'company-name', name: 'company_name', type: 'text',
      autocomplete: 'organization', required: true, maxlength: 256,
      'aria-describedby': 'company-name-hint' });
    var err = h('p', { id: errId, class: 'field-error', hidden: true });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Continue' });
    var formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
    var form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'invite-title' },
      h('div', { class: 'field' },
        h('label', { for: 'company-name', text: 'Company name' }),
        h('p', { id: 'company-name-hint', class: 'hint', text: 'The legal or trading name of your business.' }),
        input, err),
      formError,
      h('div', { class: 'actions' }, submit));

    form.addEventListener('submit', function (ev) {
      var name = input.value.trim();
      ev.preventDefault();
      formError.hidden = true;
      if (!name || name.length > 256) {
        err.textContent = !name ? 'Enter your company name.' : 'Use at most 256 characters.';
        err.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', 'company-name-hint ' + errId);
        input.focus();
        return;
      }
      err.hidden = true;
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', 'company-name-hint');
      setBusy(submit, true, 'Setting up…');
      api('POST', '/invite/' + encodeURIComponent(app.value) + '/session', { company_name: name })
        .then(function (out) {
          remember(out);
          return loadSession();
        })
        .then(function () { showHome({ announce: 'Welcome, ' + app.name + '.' }); })
        .catch(function (e) {
          setBusy(submit, false);
          if (e && e.handled) return;
          if (e && e.status === 404) { showExpired(); return; }
          formError.textContent = e && e.status === 429 ?
            'Too many attempts from this network. Please wait a minute and try again.' :
            e && e.status === 400 && e.message ? e.message :
            'Something went wrong. Please try again.';
          formError.hidden = false;
        });
    });

    document.title = 'Get started';
    show([
      h('h1', { id: 'invite-title', text: 'Get started' }),
      h('p', { class: 'lead', text: 'Tell us which company you are connecting accounts for.' }),
      form
    ]);
  }

  /* ---- home: connections and platforms */

  var STATUS = {
    Linked: { label: 'Connected', tone: 'ok' },
    PendingAuth: { label: 'Not finished', tone: 'warn' },
    Unlinked: { label: 'Disconnected', tone: 'muted' },
    Deauthorized: { label: 'Access revoked', tone: 'error' }
  };

  function integrations() {
    var list = app.session && Array.isArray(app.session.integrations) ? app.session.integrations : [];
    return list.filter(function (i) { return isObject(i) && typeof i.key === 'string'; });
  }

  function integrationByKey(key) {
    return integrations().filter(function (i) { return i.key === key; })[0] || null;
  }

  function connections() {
    var list = app.session && Array.isArray(app.session.company.dataConnections) ?
      app.session.company.dataConnections : [];
    return list.filter(function (c) { return isObject(c) && typeof c.id === 'string'; });
  }

  function platformName(keyOrConn) {
    var i;
    if (isObject(keyOrConn)) {
      if (typeof keyOrConn.platformName === 'string' && keyOrConn.platformName) return keyOrConn.platformName;
      keyOrConn = keyOrConn.integrationKey;
    }
    i = integrationByKey(keyOrConn);
    return i && typeof i.name === 'string' && i.name ? i.name : String(keyOrConn || 'the platform');
  }

  function formatDate(s) {
    var d = new Date(s);
    if (typeof s !== 'string' || isNaN(d.getTime())) return '';
    try {
      return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
    } catch (e) { return d.toISOString().slice(0, 10); }
  }

  function authHint(i) {
    if (i.authType === 'api_key') return 'Enter an API key';
    if (i.authType === 'sandbox') return 'Test platform';
    return 'Sign in with ' + (typeof i.name === 'string' ? i.name : 'the platform');
  }

  function connectionItem(c) {
    var st = STATUS[c.status] || { label: String(c.status || 'Unknown'), tone: 'muted' };
    var name = platformName(c);
    var meta = '';
    var actions = h('div', { class: 'row-actions' });
    if (c.status === 'Linked' && c.linkedAt) meta = 'Connected ' + formatDate(c.linkedAt);
    else if (c.status === 'PendingAuth') meta = text(c.lastError, 300) || 'Authorization was not completed.';
    else if (c.status === 'Unlinked' && c.unlinkedAt) meta = 'Disconnected ' + formatDate(c.unlinkedAt);
    else if (c.created) meta = 'Added ' + formatDate(c.created);

    if (c.status === 'Linked') {
      actions.appendChild(h('button', { type: 'button', class: 'btn btn-quiet btn-small',
        'aria-label': 'Disconnect ' + name, text: 'Disconnect',
        onclick: function (ev) { confirmDisconnect(c, ev.currentTarget); } }));
    } else if (integrationByKey(c.integrationKey)) {
      actions.appendChild(h('button', { type: 'button', class: 'btn btn-secondary btn-small',
        'aria-label': (c.status === 'PendingAuth' ? 'Continue connecting ' : 'Reconnect ') + name,
        text: c.status === 'PendingAuth' ? 'Continue' : 'Reconnect',
        onclick: function (ev) { startConnection(c.integrationKey, ev.currentTarget); } }));
    }
    return h('li', { class: 'row conn', 'data-status': String(c.status || ''), 'data-connection-id': c.id },
      avatar(name),
      h('div', { class: 'row-main' },
        h('span', { class: 'row-title-line' },
          h('span', { class: 'row-title', text: name }),
          h('span', { class: 'badge badge-' + st.tone, text: st.label })),
        meta ? h('span', { class: 'row-meta', text: meta }) : null),
      actions);
  }

  function showHome(opts) {
    opts = opts || {};
    var conns = connections();
    var linked = {};
    conns.forEach(function (c) { if (c.status === 'Linked') linked[c.integrationKey] = true; });
    /* newest first, connected ones on top */
    conns.sort(function (a, b) {
      var la = a.status === 'Linked' ? 0 : 1, lb = b.status === 'Linked' ? 0 : 1;
      if (la !== lb) return la - lb;
      return String(b.created || '').localeCompare(String(a.created || ''));
    });

    var connSection = h('section', { class: 'section', 'aria-labelledby': 'conn-title' },
      h('h2', { id: 'conn-title', tabindex: '-1', text: 'Your connections' }),
      conns.length ?
        h('ul', { class: 'rows', id: 'connections' }, conns.map(connectionItem)) :
        h('p', { class: 'empty', id: 'no-connections', text: 'Nothing connected yet. Choose a platform below to get started.' }));

    var platforms = integrations();
    var search = h('input', { id: 'platform-search', type: 'search', autocomplete: 'off',
      spellcheck: 'false', placeholder: 'Search platforms', 'aria-controls': 'platforms',
      'aria-describedby': 'platform-count' });
    var count = h('p', { id: 'platform-count', class: 'visually-hidden' });
    var none = h('p', { class: 'empty', id: 'no-platforms', hidden: true });
    var items = platforms.map(function (i) {
      var name = typeof i.name === 'string' && i.name ? i.name : i.key;
      var li = h('li', { class: 'platform-item', 'data-key': i.key },
        h('button', { type: 'button', class: 'platform',
          onclick: function (ev) { startConnection(i.key, ev.currentTarget); } },
          avatar(name),
          h('span', { class: 'row-main' },
            h('span', { class: 'row-title', text: name }),
            text(i.category, 40) ? h('span', { class: 'row-category', text: text(i.category, 40) }) : null,
            h('span', { class: 'row-meta', text: linked[i.key] ? 'Connected · add another account' : authHint(i) })),
          icon('chevron')));
      li.dataset.search = (name + ' ' + i.key).toLowerCase();
      return li;
    });
    var list = h('ul', { class: 'platforms', id: 'platforms' }, items);
    var searchTimer = null;

    function filter() {
      var q = search.value.trim().toLowerCase();
      var shown = 0;
      items.forEach(function (li) {
        var hit = !q || li.dataset.search.indexOf(q) !== -1;
        li.hidden = !hit;
        if (hit) shown++;
      });
      none.textContent = 'No platforms match “' + search.value.trim() + '”.';
      none.hidden = shown !== 0;
      count.textContent = shown + (shown === 1 ? ' platform' : ' platforms') + ' available';
      clearTimeout(searchTimer);
      if (q) searchTimer = setTimeout(function () { announce(count.textContent); }, 500);
    }
    search.addEventListener('input', filter);
    filter();

    var platformSection = h('section', { class: 'section', 'aria-labelledby': 'platforms-title' },
      h('h2', { id: 'platforms-title', text: conns.length ? 'Add a connection' : 'Choose a platform' }),
      platforms.length > 0 ? [
        h('div', { class: 'search' },
          h('label', { for: 'platform-search', class: 'visually-hidden', text: 'Search platforms' }),
          icon('search'),
          search),
        count, list, none
      ] : h('p', { class: 'empty', text: 'No platforms are available right now.' }));

    document.title = app.pageTitle + (app.name ? ' · ' + app.name : '');
    show([
      header(app.pageTitle, app.bodyText ||
        'Connect the software ' + (app.name || 'your company') + ' uses. You can disconnect at any time.'),
      connSection,
      platformSection
    ], { className: 'view-home', focus: opts.focus });
    if (opts.announce) announce(opts.announce);
  }

  /* ---- starting a connection */

  function startConnection(key, button, answers) {
    var name = platformName(key);
    var asks = integrationByKey(key);
    if (!answers && asks && Array.isArray(asks.configFields) && asks.configFields.length) {
      showConfigFields(asks, name);
      return;
    }
    setBusy(button, true);
    announce('Starting ' + name + '…');
    call('POST', '/hosted/connections', answers ? { platformKey: key, config: answers } :
      { platformKey: key }).then(function (out) {
      var next = isObject(out) && isObject(out.next) ? out.next : {};
      var url;
      if (next.type === 'redirect') {
        url = navigableUrl(next.url);
        if (!url) throw new ApiError(500, 'BAD_REDIRECT');
        announce('Opening ' + name + '…');
        window.location.assign(url);
        return;
      }
      if (next.type === 'form') {
        showCredentialForm(out.connection, Array.isArray(next.fields) ? next.fields : [], name);
        return;
      }
      throw new ApiError(500, 'BAD_RESPONSE');
    }).catch(function (err) {
      setBusy(button, false);
      if (err && err.handled) return;
      announce(err && err.status === 404 ? name + ' is not available any more.' :
        'Could not start ' + name + '. Please try again.');
      if (err && err.status === 404) refresh();
    });
  }

  function showCredentialForm(conn, fields, name) {
    var inputs = [];
    var formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Connect' });
    var cancel = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancel',
      onclick: function () { showHome(); } });

    var fieldNodes = fields.filter(isObject).map(function (f, idx) {
      var id = 'field-' + idx;
      var label = text(f.label, 200) || text(f.name, 200) || 'Value';
      var input = h('input', { id: id, name: String(f.name), type: f.secret ? 'password' : 'text',
        required: true, maxlength: MAX_FIELD, autocomplete: f.secret ? 'new-password' : 'off',
        autocapitalize: 'off', spellcheck: 'false' });
      var err = h('p', { id: id + '-error', class: 'field-error', hidden: true });
      var control = input;
      if (f.secret) {
        var toggle = h('button', { type: 'button', class: 'btn btn-quiet btn-small reveal',
          'aria-controls': id, 'aria-pressed': 'false', 'aria-label': 'Show ' + label, text: 'Show' });
        toggle.addEventListener('click', function () {
          var showing = input.type === 'text';
          input.type = showing ? 'password' : 'text';
          toggle.textContent = showing ? 'Show' : 'Hide';
          toggle.setAttribute('aria-pressed', showing ? 'false' : 'true');
          toggle.setAttribute('aria-label', (showing ? 'Show ' : 'Hide ') + label);
        });
        control = h('div', { class: 'input-group' }, input, toggle);
      }
      inputs.push({ field: f, input: input, err: err, label: label });
      return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, err);
    });

    var form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'form-title' },
      fieldNodes, formError,
      h('div', { class: 'actions' }, cancel, submit));

    function validate() {
      var firstBad = null;
      inputs.forEach(function (x) {
        var v = x.input.value.trim();
        var msg = !v ? 'Enter your ' + x.label + '.' :
          v.length > MAX_FIELD ? x.label + ' must be at most ' + MAX_FIELD + ' characters.' : '';
        x.err.textContent = msg;
        x.err.hidden = !msg;
        if (msg) {
          x.input.setAttribute('aria-invalid', 'true');
          x.input.setAttribute('aria-describedby', x.err.id);
          if (!firstBad) firstBad = x.input;
        } else {
          x.input.removeAttribute('aria-invalid');
          x.input.removeAttribute('aria-describedby');
        }
      });
      return firstBad;
    }

    form.addEventListener('submit', function (ev) {
      var bad, body = {};
      ev.preventDefault();
      formError.hidden = true;
      bad = validate();
      if (bad) {
        bad.focus();
        announce('Please fill in the highlighted fields.');
        return;
      }
      inputs.forEach(function (x) { body[String(x.field.name)] = x.input.value.trim(); });
      setBusy(submit, true, 'Connecting…');
      cancel.disabled = true;
      call('POST', '/hosted/connections/' + encodeURIComponent(conn.id) + '/credentials', body)
        .then(function (out) {
          var url = isObject(out) ? navigableUrl(out.redirect) : null;
          announce(name + ' connected.');
          if (url) {
            window.location.assign(url);
          } else {
            return refresh().then(function () {
              showDone({ connectionId: conn.id, platform: conn.integrationKey, statusCode: '200' });
            });
          }
        })
        .catch(function (err) {
          setBusy(submit, false);
          cancel.disabled = false;
          if (err && err.handled) return;
          formError.textContent = err && err.status === 400 && err.message ? err.message :
            err && err.status === 409 ? 'This connection is already set up. Go back to see it.' :
            'Could not connect ' + name + '. Please try again.';
          formError.hidden = false;
        });
    });

    show([
      h('button', { type: 'button', class: 'back', onclick: function () { showHome(); } },
        icon('back'), 'All platforms'),
      h('div', { class: 'form-head' },
        avatar(name),
        h('h1', { id: 'form-title', text: 'Connect ' + name })),
      h('p', { class: 'lead', text: 'Enter the details from your ' + name + ' account. ' +
        'They are encrypted before they are stored.' }),
      form
    ], { className: 'view-form' });
  }

  /* ---- a platform's questions before its sign-in (issue 13: config_fields) */

  /* What hostlink reports after a failed sign-in, in the platform's words:
   * the one place that maps the callback's fixed messages. */
  var FAILURES = {
    'User cancelled.': 'you cancelled.',
    'User cancelled linking': 'you cancelled.',
    'The platform refused the requested permissions.': 'it refused the requested permissions.',
    'The platform had an error; please try again.': 'it had an error. Please try again.',
    'The platform is unavailable; please try again later.': 'it is unavailable. Please try again later.',
    'The provider reported an error.': 'it reported an error.',
    'The provider refused the authorization code.': 'it refused the sign-in. Please try again.',
    'Could not reach the provider.': 'it could not be reached. Please try again later.',
    'The provider did not answer in time.': 'it did not answer in time. Please try again.',
    "The provider's callback lacks a value the platform needs.": 'it did not say which company you chose.',
    'The platform did not say which account was connected.': 'it did not say which account you connected.'
  };
  var CONFIG_TEXT = {
    lead: 'Before you sign in, tell us where your account is.',
    required: 'Enter your ',
    invalid: ' is not in the expected form',
    example: ', for example ',
    next: 'Continue',
    back: 'All platforms',
    notCompleted: 'the connection was not completed.'
  };

  function failureText(name, reason) {
    var base = String(reason || '').replace(/ \(provider error: [^)]*\)$/, '');
    var words = Object.prototype.hasOwnProperty.call(FAILURES, base) ? FAILURES[base] :
      base || CONFIG_TEXT.notCompleted;
    return name + ': ' + words;
  }

  /* Asks integration i's config_fields (label, pattern, example) and starts
   * the connection with the answers; the server checks them again. */
  function showConfigFields(i, name) {
    var asked = i.configFields.filter(function (f) { return isObject(f) && typeof f.name === 'string'; });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', text: CONFIG_TEXT.next });
    var rows = asked.map(function (f, n) {
      var id = 'config-' + n, label = text(f.label, 200) || f.name;
      var input = h('input', { id: id, name: f.name, type: 'text', autocomplete: 'off',
        autocapitalize: 'off', spellcheck: 'false', maxlength: 256,
        placeholder: text(f.example, 200) || null, value: text(f['default'], 256) || null,
        'aria-describedby': id + '-hint' });
      var hint = h('p', { id: id + '-hint', class: 'field-hint',
        text: text(f.example, 200) ? CONFIG_TEXT.example.slice(2) + text(f.example, 200) : '' });
      return { f: f, label: label, input: input, hint: hint,
        node: h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hint) };
    });
    function problem(r) {
      var v = r.input.value.trim(), re = null;
      try { re = new RegExp(String(r.f.pattern || '^.+$')); } catch (e) { re = null; }
      if (!v) return r.f['default'] ? '' : CONFIG_TEXT.required + r.label + '.';
      return re && !re.test(v) ? r.label + CONFIG_TEXT.invalid +
        (text(r.f.example, 200) ? CONFIG_TEXT.example + text(r.f.example, 200) : '') + '.' : '';
    }
    var form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'config-title' },
      rows.map(function (r) { return r.node; }), h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', function (ev) {
      var answers = {}, bad = null;
      ev.preventDefault();
      rows.forEach(function (r) {
        var msg = problem(r);
        r.hint.textContent = msg || (text(r.f.example, 200) ? CONFIG_TEXT.example.slice(2) + text(r.f.example, 200) : '');
        r.hint.className = msg ? 'field-error' : 'field-hint';
        if (msg) r.input.setAttribute('aria-invalid', 'true'); else r.input.removeAttribute('aria-invalid');
        if (msg && !bad) bad = r.input;
        if (r.input.value.trim()) answers[r.f.name] = r.input.value.trim();
      });
      if (bad) { bad.focus(); announce(CONFIG_TEXT.required + asked.length + ' field(s).'); return; }
      startConnection(i.key, submit, answers);
    });
    show([
      h('button', { type: 'button', class: 'back', onclick: function () { showHome(); } },
        icon('back'), CONFIG_TEXT.back),
      h('div', { class: 'form-head' }, avatar(name), h('h1', { id: 'config-title', text: name })),
      text(i.category, 40) ? h('p', { class: 'row-category', text: text(i.category, 40) }) : null,
      h('p', { class: 'lead', text: CONFIG_TEXT.lead }),
      form
    ], { className: 'view-form view-config' });
  }

  /* ---- after the provider: ?done=1&connectionId=…&statusCode=… */

  function showDone(p) {
    var conn = connections().filter(function (c) { return c.id === p.connectionId; })[0] || null;
    var name = conn ? platformName(conn) : platformName(p.platform);
    var ok = p.statusCode === '200' && (!conn || conn.status === 'Linked');
    var reason = failureText(name, (conn && text(conn.lastError, 300)) ||
      text(p.errorMessage, 300));
    var canRetry = !ok && integrationByKey(conn ? conn.integrationKey : p.platform);
    var back = h('button', { type: 'button', class: 'btn ' + (ok ? 'btn-primary' : 'btn-secondary'),
      id: 'back-to-list', text: 'Back to connections', onclick: function () { showHome(); } });

    history.replaceState(null, '', location.pathname);
    show([
      h('div', { class: 'state-icon ' + (ok ? 'state-ok' : 'state-error') }, icon(ok ? 'check' : 'cross')),
      h('h1', { text: ok ? name + ' is connected' : name + ' was not connected' }),
      h('p', { class: 'lead', id: 'done-message', text: ok ?
        'Your ' + name + ' account is now connected' + (app.name ? ' for ' + app.name : '') + '. You can close this page.' :
        reason }),
      ok ? null : h('p', { class: 'note', text: canRetry ? 'You can try again, or go back to your connections.' :
        'Go back to your connections to choose another platform.' }),
      h('div', { class: 'actions' },
        canRetry ? h('button', { type: 'button', class: 'btn btn-primary', text: 'Try again',
          onclick: function (ev) { startConnection(conn ? conn.integrationKey : p.platform, ev.currentTarget); } }) : null,
        back)
    ], { className: 'view-state view-done' });
    announce(ok ? name + ' is connected.' : name + ' was not connected: ' + reason);
  }

  /* ---- disconnect behind a confirmation dialog */

  function confirmDialog(title, body, confirmLabel) {
    return new Promise(function (resolve) {
      var opener = document.activeElement;
      var dialog, cancelBtn, okBtn;
      cancelBtn = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancel',
        onclick: function () { dialog.close('cancel'); } });
      okBtn = h('button', { type: 'button', class: 'btn btn-danger', text: confirmLabel,
        onclick: function () { dialog.close('confirm'); } });
      dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title',
        'aria-describedby': 'dialog-body' },
        h('h2', { id: 'dialog-title', text: title }),
        h('p', { id: 'dialog-body', text: body }),
        h('div', { class: 'actions' }, cancelBtn, okBtn));
      dialog.addEventListener('close', function () {
        var v = dialog.returnValue === 'confirm';
        dialog.parentNode.removeChild(dialog);
        if (opener && document.contains(opener) && opener.focus) opener.focus();
        resolve(v);
      });
      document.body.appendChild(dialog);
      dialog.showModal();
      cancelBtn.focus();
    });
  }

  function confirmDisconnect(conn, button) {
    var name = platformName(conn);
    confirmDialog('Disconnect ' + name + '?',
      (app.name || 'The company') + ' will lose access to this ' + name +
      ' account. You can connect it again at any time.', 'Disconnect').then(function (yes) {
      if (!yes) return;
      setBusy(button, true, 'Disconnecting…');
      call('DELETE', '/hosted/connections/' + encodeURIComponent(conn.id)).then(function () {
        return refresh();
      }).then(function () {
        showHome({ announce: name + ' disconnected.' });
        document.getElementById('conn-title').focus();
      }).catch(function (err) {
        setBusy(button, false);
        if (err && err.handled) return;
        announce('Could not disconnect ' + name + '. Please try again.');
      });
    });
  }

  function refresh() {
    return loadSession();
  }

  /* ---------------------------------------------------------------- boot */

  function parseRoute() {
    var m = /^\/(connect|link|invite)\/([^/]+)\/?$/.exec(location.pathname);
    if (!m) return false;
    try { app.value = decodeURIComponent(m[2]); } catch (e) { return false; }
    app.mode = m[1];
    return app.value.length > 0 && app.value.length <= 4096;
  }

  function doneParams() {
    var q = new URLSearchParams(location.search);
    if (q.get('done') !== '1') return null;
    return {
      connectionId: q.get('connectionId') || '',
      platform: q.get('platform') || '',
      statusCode: q.get('statusCode') || '',
      errorMessage: q.get('errorMessage') || ''
    };
  }

  function start() {
    var done = doneParams();
    mainEl.setAttribute('aria-busy', 'true');
    acquireToken(false).then(function (ok) {
      if (!ok) { showInvite(); return null; }
      return loadSession().then(function () {
        if (done) showDone(done);
        else showHome();
      });
    }).catch(fail(start));
  }

  function init() {
    viewEl = document.getElementById('view');
    mainEl = document.getElementById('main');
    statusEl = document.getElementById('status');
    if (!parseRoute()) {
      showExpired();
      return;
    }
    /* back from the provider through the history: fresh data, live buttons */
    window.addEventListener('pageshow', function (ev) { if (ev.persisted) start(); });
    start();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
