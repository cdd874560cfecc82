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
    pageTitle: '',
    lang: 'en',
    rendered: false
  };

  var viewEl, mainEl, statusEl;

  /* ------------------------------------------------------------ messages */

  var MESSAGES = window.HOSTLINK_MESSAGES || {};

  /* The page's language: ?lang=, else the browser's first supported one, else en. */
  function pickLang() {
    var q = new URLSearchParams(location.search).get('lang');
    var prefs = [q].concat(navigator.languages || [navigator.language]);
    var i, base;
    for (i = 0; i < prefs.length; i++) {
      if (typeof prefs[i] !== 'string') continue;
      base = prefs[i].toLowerCase().split('-')[0];
      if (Object.prototype.hasOwnProperty.call(MESSAGES, base)) return base;
    }
    return 'en';
  }

  /* The message key of the page's language with {name}s replaced. */
  function t(key, vars) {
    var table = MESSAGES[app.lang] || {}, en = MESSAGES.en || {};
    var s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : en[key];
    if (typeof s !== 'string') s = key;
    return s.replace(/\{([a-zA-Z]+)\}/g, function (m, k) {
      return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m;
    });
  }

  /* The org's text field of the settings in the page's language when given. */
  function orgText(settings, field, max) {
    var tr = isObject(settings.translations) ? settings.translations[app.lang] : null;
    return (isObject(tr) && text(tr[field], max)) || text(settings[field], max);
  }

  /* The static text of index.html in the page's language. */
  function translateStatic() {
    document.documentElement.setAttribute('lang', app.lang);
    [['.skip-link', 'skip'], ['.footer p', 'footer'], ['#view p', 'loading']].forEach(function (x) {
      var el = document.querySelector(x[0]);
      if (el) el.textContent = t(x[1]);
    });
  }

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
      if (!err.handled && (err.status === 401 || gone(err))) {
        showExpired(err.code);
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
      return api('POST', '/link/' + encodeURIComponent(app.value) + '/session', sessionBody()).then(function (out) {
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

  function rgbOf(hex) {
    var s = hex.slice(1);
    if (s.length === 3) s = s.charAt(0) + s.charAt(0) + s.charAt(1) + s.charAt(1) + s.charAt(2) + s.charAt(2);
    return [parseInt(s.slice(0, 2), 16), parseInt(s.slice(2, 4), 16), parseInt(s.slice(4, 6), 16)];
  }

  /* a mixed with b: t of b (0..1), as #rrggbb. */
  function mix(a, b, t) {
    var x = rgbOf(a), y = rgbOf(b);
    return '#' + [0, 1, 2].map(function (k) {
      var v = Math.round(x[k] + (y[k] - x[k]) * t);
      return (v < 16 ? '0' : '') + v.toString(16);
    }).join('');
  }

  /* The shade of c nearest to it (mixed toward black, else white) for
   * which ok(shade) holds; ink when none does. */
  function adjust(c, ok) {
    var t, k, ends = ['#000000', '#ffffff'];
    for (t = 0; t <= 1.0001; t += 0.04) {
      for (k = 0; k < 2; k++) {
        if (ok(mix(c, ends[k], t))) return mix(c, ends[k], t);
      }
    }
    return INK;
  }

  function ratio(a, b) { return contrast(luminance(a), luminance(b)); }

  var INK = '#1b2230', WHITE = '#ffffff', AA = 4.5;

  /* The theme's colours, every text/background pair at 4.5:1 or more
   * (WCAG AA for normal text), shades adjusted where the org's colour
   * would not reach it. */
  function palette(brand, bg) {
    var p = {}, fill;
    fill = adjust(brand, function (b) { return Math.max(ratio(b, WHITE), ratio(b, INK)) >= AA; });
    p.brand = fill;
    p.onBrand = ratio(fill, WHITE) >= ratio(fill, INK) ? WHITE : INK;
    p.tint = mix(brand, WHITE, 0.89);
    /* brand-coloured text: on the white card and on the initials tile */
    p.ink = adjust(brand, function (c) { return ratio(c, WHITE) >= AA && ratio(c, p.tint) >= AA; });
    if (bg) {
      p.bg = adjust(bg, function (c) { return Math.max(ratio(c, WHITE), ratio(c, INK)) >= AA; });
      p.onBg = ratio(p.bg, WHITE) > ratio(p.bg, INK) ? WHITE : INK;
    }
    return p;
  }

  function applyTheme(brand, bg) {
    var root = document.documentElement.style;
    var p;
    p = palette(brand || '#2f5bea', bg);
    root.setProperty('--brand', p.brand);
    root.setProperty('--on-brand', p.onBrand);
    root.setProperty('--brand-ink', p.ink);
    root.setProperty('--brand-tint', p.tint);
    if (p.bg) {
      root.setProperty('--bg', p.bg);
      root.setProperty('--on-bg', p.onBg);
    }
  }

  /* The brand header: the logo, else the name's initials. */
  function applyMark(logo) {
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
  }

  /* Terms, privacy and support from the settings, in the footer (every mode). */
  function applyLegal(settings) {
    var foot = document.querySelector('.footer');
    var old = document.getElementById('legal');
    var terms = httpsUrl(settings.terms_url), privacy = httpsUrl(settings.privacy_url);
    var support = text(settings.support, 200);
    var supportUrl = /^[^\s@]+@[^\s@]+$/.test(support) ? 'mailto:' + support : httpsUrl(support);
    if (old) old.parentNode.removeChild(old);
    if (!terms && !privacy && !support) return;
    foot.appendChild(h('p', { id: 'legal', class: 'legal' },
      terms ? h('a', { href: terms, target: '_blank', rel: 'noopener noreferrer', id: 'terms-link',
        text: t('legal.terms') }) : null,
      privacy ? h('a', { href: privacy, target: '_blank', rel: 'noopener noreferrer', id: 'privacy-link',
        text: t('legal.privacy') }) : null,
      support ? h(supportUrl ? 'a' : 'span', { id: 'support', href: supportUrl || null,
        text: t('legal.support', { contact: support }) }) : null));
  }

  /* The settings and theme of a page: settings (link settings), props
   * (the stash: name, colours, logo), name (the company). */
  function brandWith(settings, props, name) {
    var theme = isObject(settings.theme) ? settings.theme : {};
    app.settings = settings;
    app.name = text(props.name, 120) || text(name, 120);
    app.pageTitle = orgText(settings, 'page_title', 200) || t('page.title');
    app.bodyText = orgText(settings, 'body_text', 2000);
    app.consent = orgText(settings, 'consent', 2000);
    applyTheme(color(props.color) || color(theme.color), color(props.bgColor) || color(theme.bgColor));
    applyMark(httpsUrl(props.logo) || httpsUrl(theme.logo));
    applyLegal(settings);
    embedCheck(settings);
    document.title = app.pageTitle + (app.name ? ' · ' + app.name : '');
  }

  function applyBranding() {
    var s = app.session;
    brandWith(isObject(s.settings) ? s.settings : {},
      isObject(s.hosted_properties) ? s.hosted_properties : {}, s.company.name);
  }

  /* ------------------------------------------------------------ embedding */

  /* Embedded by web/embed.js: ?embed=<the parent's origin>, kept for the
   * round trip through the provider.  Events go only to that origin, and
   * only when the org's embed_origins list it (postMessage's target origin
   * makes the browser drop them for any other parent). */
  function embedInit() {
    var q = new URLSearchParams(location.search).get('embed');
    if (q) store('hostlink.embed', q);
    app.embedWanted = typeof stored('hostlink.embed') === 'string' ? stored('hostlink.embed') : null;
  }

  function embedCheck(settings) {
    var list = Array.isArray(settings.embed_origins) ? settings.embed_origins : [];
    app.embedOrigin = app.embedWanted && list.indexOf(app.embedWanted) !== -1 ? app.embedWanted : null;
    if (app.embedOrigin && !app.embedReady) {
      app.embedReady = true;
      emit('ready', {});
    }
  }

  function emit(type, extra) {
    var target = window.parent !== window ? window.parent : window.opener;
    var msg = { source: 'hostlink', type: type,
      companyId: app.session && isObject(app.session.company) ? app.session.company.id : null };
    var k;
    if (!app.embedOrigin || !target) return;
    for (k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) msg[k] = extra[k];
    try { target.postMessage(msg, app.embedOrigin); } catch (e) { /* parent gone */ }
  }

  /* ------------------------------------------------------------- options */

  var RESERVED = ['lang', 'platforms', 'embed', 'done', 'companyId', 'connectionId', 'platform',
    'statusCode', 'errorMessage', 'exp', 'sig', 'config_id'];

  /* ?platforms=xero,quickbooks: the platform keys this page offers (null: all). */
  function requestedPlatforms() {
    var q = new URLSearchParams(location.search).get('platforms');
    var keys = q ? q.split(',').filter(function (k) { return /^[a-z0-9_-]{1,64}$/.test(k); }) : [];
    return keys.length ? keys.slice(0, 100) : null;
  }

  /* The link's other query parameters: passed through to the redirect's {name}s. */
  function passParams() {
    var out = {}, n = 0;
    new URLSearchParams(location.search).forEach(function (v, k) {
      if (RESERVED.indexOf(k) !== -1 || !/^[A-Za-z0-9_]{1,64}$/.test(k) || v.length > 256 || n >= 20) return;
      out[k] = v;
      n++;
    });
    return n ? out : null;
  }

  /* The options a link or invite session is opened with. */
  function sessionBody(extra) {
    var body = extra || {}, p = requestedPlatforms(), params = passParams();
    if (p) body.allowed_integrations = p;
    if (params) body.params = params;
    return body;
  }

  /* ------------------------------------------------------------- screens */

  /* Whether err says the link itself is unknown, used up or expired. */
  function gone(err) {
    return err && ((err.status === 404 && /^(LINK|INVITE)_NOT_FOUND$/.test(err.code)) ||
      (err.status === 410 && /^LINK_(USED|EXPIRED)$/.test(err.code)));
  }

  /* The link no longer opens: code LINK_USED ("already used"),
   * LINK_EXPIRED ("expired"), else unknown or replaced. */
  function showExpired(code) {
    var k = code === 'LINK_USED' ? 'used' : code === 'LINK_EXPIRED' ? 'lapsed' : 'expired';
    document.title = t(k + '.doc');
    show([
      h('div', { class: 'state-icon state-warn' }, icon('link')),
      h('h1', { id: 'gone-title', 'data-reason': k, text: t(k + '.title') }),
      h('p', { class: 'lead', text: t(k + '.body') })
    ], { className: 'view-state' });
    announce(t(k + '.title'));
  }

  function showError(err, retry) {
    var limited = err && err.status === 429;
    var wait = err && parseInt(err.retryAfter, 10);
    show([
      h('div', { class: 'state-icon state-error' }, icon('alert')),
      h('h1', { text: limited ? t('error.limited') : t('error.generic') }),
      h('p', { class: 'lead', text: limited ?
        (wait > 0 ? t('error.wait', { seconds: formatNumber(wait) }) : t('error.waitMinute')) :
        t('error.network') }),
      retry ? h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-primary', text: t('action.retry'), onclick: retry })) : null
    ], { className: 'view-state' });
  }

  function fail(retry) {
    return function (err) {
      if (err && err.handled) return;
      if (gone(err)) {
        showExpired(err.code);
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

  /* The invite's page settings and theme (a public read: nothing but them). */
  function loadInvite() {
    return api('GET', '/invite/' + encodeURIComponent(app.value)).then(function (out) {
      brandWith(isObject(out) && isObject(out.settings) ? out.settings : {}, {}, '');
      if (!document.querySelector('#brand-mark img')) document.getElementById('brand').classList.remove('ready');
    });
  }

  function showInvite() {
    var errId = 'company-name-error';
    var input = h('input', { id: 'company-name', name: 'company_name', type: 'text',
      autocomplete: 'organization', required: true, maxlength: 256,
      'aria-describedby': 'company-name-hint' });
    var err = h('p', { id: errId, class: 'field-error', hidden: true });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: t('invite.submit') });
    var formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
    var form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'invite-title' },
      h('div', { class: 'field' },
        h('label', { for: 'company-name', text: t('invite.label') }),
        h('p', { id: 'company-name-hint', class: 'hint', text: t('invite.hint') }),
        input, err),
      formError,
      h('div', { class: 'actions' }, submit));

    form.addEventListener('submit', function (ev) {
      var name = input.value.trim();
      ev.preventDefault();
      formError.hidden = true;
      if (!name || name.length > 256) {
        err.textContent = !name ? t('invite.required') : t('invite.tooLong');
        err.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', 'company-name-hint ' + errId);
        input.focus();
        return;
      }
      err.hidden = true;
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', 'company-name-hint');
      setBusy(submit, true, t('invite.busy'));
      api('POST', '/invite/' + encodeURIComponent(app.value) + '/session', sessionBody({ company_name: name }))
        .then(function (out) {
          remember(out);
          return loadSession();
        })
        .then(function () { showHome({ announce: t('invite.welcome', { name: app.name }) }); })
        .catch(function (e) {
          setBusy(submit, false);
          if (e && e.handled) return;
          if (gone(e) || (e && e.status === 404)) { showExpired(e.code); return; }
          formError.textContent = e && e.status === 429 ?
            t('invite.limited') :
            e && e.status === 400 && e.message ? e.message :
            t('error.generic');
          formError.hidden = false;
        });
    });

    var title = orgText(app.settings || {}, 'invite_title', 200) || t('invite.title');
    document.title = title + (app.name ? ' · ' + app.name : '');
    show([
      h('h1', { id: 'invite-title', text: title }),
      h('p', { class: 'lead', id: 'invite-body',
        text: orgText(app.settings || {}, 'invite_body', 2000) || t('invite.lead') }),
      form
    ]);
  }

  /* ---- home: connections and platforms */

  var STATUS = { Linked: 'ok', PendingAuth: 'warn', Unlinked: 'muted', Deauthorized: 'error' };

  /* The platforms the page offers (the API has applied the link's
   * allowed_integrations and show_sandbox; ?platforms= narrows further). */
  function integrations() {
    var list = app.session && Array.isArray(app.session.integrations) ? app.session.integrations : [];
    var only = requestedPlatforms();
    return list.filter(function (i) {
      return isObject(i) && typeof i.key === 'string' && (!only || only.indexOf(i.key) !== -1);
    });
  }

  /* With exactly one platform allowed (by the link or ?platforms=), the
   * page goes straight to it, once per page load. */
  function straightTo() {
    var props = app.session && isObject(app.session.hosted_properties) ? app.session.hosted_properties : {};
    var list = integrations();
    var limited = requestedPlatforms() || (Array.isArray(props.allowed_integrations) ? props.allowed_integrations : null);
    if (app.wentStraight || !limited || list.length !== 1) return null;
    app.wentStraight = true;
    return list[0].key;
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
    return i && typeof i.name === 'string' && i.name ? i.name : String(keyOrConn || t('platform.fallback'));
  }

  function formatDate(s) {
    var d = new Date(s);
    if (typeof s !== 'string' || isNaN(d.getTime())) return '';
    try {
      return new Intl.DateTimeFormat(app.lang, { year: 'numeric', month: 'short', day: 'numeric' }).format(d);
    } catch (e) { return d.toISOString().slice(0, 10); }
  }

  function formatNumber(n) {
    try { return new Intl.NumberFormat(app.lang).format(n); } catch (e) { return String(n); }
  }

  function authHint(i) {
    if (i.authType === 'api_key') return t('hint.apiKey');
    if (i.authType === 'sandbox') return t('hint.sandbox');
    return t('hint.oauth', { name: typeof i.name === 'string' ? i.name : t('platform.fallback') });
  }

  function connectionItem(c) {
    var st = STATUS[c.status] ? { label: t('status.' + c.status), tone: STATUS[c.status] } :
      { label: String(c.status || t('status.unknown')), tone: 'muted' };
    var name = platformName(c);
    var meta = '';
    var actions = h('div', { class: 'row-actions' });
    if (c.status === 'Linked' && c.linkedAt) meta = t('meta.connected', { date: formatDate(c.linkedAt) });
    else if (c.status === 'PendingAuth') meta = text(c.lastError, 300) || t('meta.pending');
    else if (c.status === 'Unlinked' && c.unlinkedAt) meta = t('meta.disconnected', { date: formatDate(c.unlinkedAt) });
    else if (c.created) meta = t('meta.added', { date: formatDate(c.created) });

    if (c.status === 'Linked') {
      actions.appendChild(h('button', { type: 'button', class: 'btn btn-quiet btn-small',
        'aria-label': t('action.disconnectName', { name: name }), text: t('action.disconnect'),
        onclick: function (ev) { confirmDisconnect(c, ev.currentTarget); } }));
    } else if (integrationByKey(c.integrationKey)) {
      actions.appendChild(h('button', { type: 'button', class: 'btn btn-secondary btn-small',
        'aria-label': t(c.status === 'PendingAuth' ? 'action.continueName' : 'action.reconnectName', { name: name }),
        text: t(c.status === 'PendingAuth' ? 'action.continue' : 'action.reconnect'),
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
      h('h2', { id: 'conn-title', tabindex: '-1', text: t('home.connections') }),
      conns.length ?
        h('ul', { class: 'rows', id: 'connections' }, conns.map(connectionItem)) :
        h('p', { class: 'empty', id: 'no-connections', text: t('home.none') }));

    var platforms = integrations();
    var search = h('input', { id: 'platform-search', type: 'search', autocomplete: 'off',
      spellcheck: 'false', placeholder: t('home.search'), 'aria-controls': 'platforms',
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
            h('span', { class: 'row-meta', text: linked[i.key] ? t('home.linkedMeta') : authHint(i) })),
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
      none.textContent = t('home.noMatch', { query: search.value.trim() });
      none.hidden = shown !== 0;
      count.textContent = t(shown === 1 ? 'home.count.one' : 'home.count.other', { count: formatNumber(shown) });
      clearTimeout(searchTimer);
      if (q) searchTimer = setTimeout(function () { announce(count.textContent); }, 500);
    }
    search.addEventListener('input', filter);
    filter();

    var platformSection = h('section', { class: 'section', 'aria-labelledby': 'platforms-title' },
      h('h2', { id: 'platforms-title', text: conns.length ? t('home.add') : t('home.choose') }),
      platforms.length > 0 ? [
        h('div', { class: 'search' },
          h('label', { for: 'platform-search', class: 'visually-hidden', text: t('home.search') }),
          icon('search'),
          search),
        count, list, none
      ] : h('p', { class: 'empty', text: t('home.empty') }));

    document.title = app.pageTitle + (app.name ? ' · ' + app.name : '');
    show([
      header(app.pageTitle, app.bodyText || t('home.lead', { name: app.name || t('home.yourCompany') })),
      connSection,
      platformSection
    ], { className: 'view-home', focus: opts.focus });
    if (opts.announce) announce(opts.announce);
    var only = straightTo();
    if (only) startConnection(only, document.querySelector('#platforms .platform'));
  }

  /* ---- starting a connection */

  /* The consent statement before the user leaves for the platform. */
  function showConsent(key, answers) {
    var name = platformName(key);
    show([
      h('button', { type: 'button', class: 'back', onclick: function () { showHome(); } },
        icon('back'), t('form.back')),
      h('h1', { text: t('consent.title') }),
      h('p', { class: 'lead consent', id: 'consent-text', text: app.consent }),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', text: t('consent.cancel'),
          onclick: function () { showHome(); } }),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'consent-continue',
          text: t('consent.continue', { name: name }),
          onclick: function (ev) { startConnection(key, ev.currentTarget, answers, true); } }))
    ], { className: 'view-consent' });
  }

  /* Starts a connection to key: first the platform's questions (when it
   * has config_fields and no answers yet), then the consent statement
   * (when the org has one), then the redirect or form. */
  function startConnection(key, button, answers, consented) {
    var name = platformName(key);
    var asks = integrationByKey(key);
    if (!answers && asks && Array.isArray(asks.configFields) && asks.configFields.length) {
      showConfigFields(asks, name);
      return;
    }
    if (app.consent && !consented) { showConsent(key, answers); return; }
    setBusy(button, true);
    announce(t('start.starting', { name: name }));
    call('POST', '/hosted/connections', answers ? { platformKey: key, config: answers } :
      { platformKey: key }).then(function (out) {
      var next = isObject(out) && isObject(out.next) ? out.next : {};
      var url;
      if (next.type === 'redirect') {
        url = navigableUrl(next.url);
        if (!url) throw new ApiError(500, 'BAD_REDIRECT');
        announce(t('start.opening', { name: name }));
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
      announce(t(err && err.status === 404 ? 'start.gone' : 'start.failed', { name: name }));
      if (err && err.status === 404) refresh();
    });
  }

  function showCredentialForm(conn, fields, name) {
    var inputs = [];
    var formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('form.connect') });
    var cancel = h('button', { type: 'button', class: 'btn btn-secondary', text: t('form.cancel'),
      onclick: function () { showHome(); } });

    var fieldNodes = fields.filter(isObject).map(function (f, idx) {
      var id = 'field-' + idx;
      var label = text(f.label, 200) || text(f.name, 200) || t('form.value');
      var input = h('input', { id: id, name: String(f.name), type: f.secret ? 'password' : 'text',
        required: true, maxlength: MAX_FIELD, autocomplete: f.secret ? 'new-password' : 'off',
        autocapitalize: 'off', spellcheck: 'false' });
      var err = h('p', { id: id + '-error', class: 'field-error', hidden: true });
      var control = input;
      if (f.secret) {
        var toggle = h('button', { type: 'button', class: 'btn btn-quiet btn-small reveal',
          'aria-controls': id, 'aria-pressed': 'false', 'aria-label': t('form.showName', { label: label }),
          text: t('form.show') });
        toggle.addEventListener('click', function () {
          var showing = input.type === 'text';
          input.type = showing ? 'password' : 'text';
          toggle.textContent = t(showing ? 'form.show' : 'form.hide');
          toggle.setAttribute('aria-pressed', showing ? 'false' : 'true');
          toggle.setAttribute('aria-label', t(showing ? 'form.showName' : 'form.hideName', { label: label }));
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
        var msg = !v ? t('form.required', { label: x.label }) :
          v.length > MAX_FIELD ? t('form.tooLong', { label: x.label, max: formatNumber(MAX_FIELD) }) : '';
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
        announce(t('form.fix'));
        return;
      }
      inputs.forEach(function (x) { body[String(x.field.name)] = x.input.value.trim(); });
      setBusy(submit, true, t('form.busy'));
      cancel.disabled = true;
      call('POST', '/hosted/connections/' + encodeURIComponent(conn.id) + '/credentials', body)
        .then(function (out) {
          var url = isObject(out) ? navigableUrl(out.redirect) : null;
          announce(t('form.connected', { name: name }));
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
            err && err.status === 409 ? t('form.conflict') : t('form.failed', { name: name });
          formError.hidden = false;
        });
    });

    show([
      h('button', { type: 'button', class: 'back', onclick: function () { showHome(); } },
        icon('back'), t('form.back')),
      h('div', { class: 'form-head' },
        avatar(name),
        h('h1', { id: 'form-title', text: t('form.title', { name: name }) })),
      h('p', { class: 'lead', text: t('form.lead', { name: name }) }),
      form
    ], { className: 'view-form' });
  }

  /* ---- a platform's questions before its sign-in (issue 13: config_fields) */

  /* What hostlink reports after a failed sign-in, in the platform's words:
   * the one place that maps the callback's fixed messages. */
  var FAILURES = {
    'User cancelled.': 'failure.cancelled',
    'User cancelled linking': 'failure.cancelled',
    'The platform refused the requested permissions.': 'failure.scope',
    'The platform had an error; please try again.': 'failure.error',
    'The platform is unavailable; please try again later.': 'failure.unavailable',
    'The provider reported an error.': 'failure.reported',
    'The provider refused the authorization code.': 'failure.code',
    'Could not reach the provider.': 'failure.unreachable',
    'The provider did not answer in time.': 'failure.timeout',
    "The provider's callback lacks a value the platform needs.": 'failure.callback',
    'The platform did not say which account was connected.': 'failure.identity'
  };

  function failureText(name, reason) {
    var base = String(reason || '').replace(/ \(provider error: [^)]*\)$/, '');
    var words = Object.prototype.hasOwnProperty.call(FAILURES, base) ? t(FAILURES[base]) :
      base || t('failure.notCompleted');
    return t('failure.line', { name: name, reason: words });
  }

  /* Asks integration i's config_fields (label, pattern, example) and starts
   * the connection with the answers; the server checks them again. */
  function showConfigFields(i, name) {
    var asked = i.configFields.filter(function (f) { return isObject(f) && typeof f.name === 'string'; });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('config.next') });
    var rows = asked.map(function (f, n) {
      var id = 'config-' + n, label = text(f.label, 200) || f.name;
      var input = h('input', { id: id, name: f.name, type: 'text', autocomplete: 'off',
        autocapitalize: 'off', spellcheck: 'false', maxlength: 256,
        placeholder: text(f.example, 200) || null, value: text(f['default'], 256) || null,
        'aria-describedby': id + '-hint' });
      var hint = h('p', { id: id + '-hint', class: 'field-hint',
        text: text(f.example, 200) ? t('config.example', { example: text(f.example, 200) }) : '' });
      return { f: f, label: label, input: input, hint: hint,
        node: h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hint) };
    });
    function problem(r) {
      var v = r.input.value.trim(), re = null;
      try { re = new RegExp(String(r.f.pattern || '^.+$')); } catch (e) { re = null; }
      if (!v) return r.f['default'] ? '' : t('config.required', { label: r.label });
      if (!re || re.test(v)) return '';
      return text(r.f.example, 200) ? t('config.invalidExample', { label: r.label,
        example: text(r.f.example, 200) }) : t('config.invalid', { label: r.label });
    }
    var form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'config-title' },
      rows.map(function (r) { return r.node; }), h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', function (ev) {
      var answers = {}, bad = null;
      ev.preventDefault();
      rows.forEach(function (r) {
        var msg = problem(r);
        r.hint.textContent = msg || (text(r.f.example, 200) ? t('config.example', { example: text(r.f.example, 200) }) : '');
        r.hint.className = msg ? 'field-error' : 'field-hint';
        if (msg) r.input.setAttribute('aria-invalid', 'true'); else r.input.removeAttribute('aria-invalid');
        if (msg && !bad) bad = r.input;
        if (r.input.value.trim()) answers[r.f.name] = r.input.value.trim();
      });
      if (bad) { bad.focus(); announce(t('config.missing')); return; }
      startConnection(i.key, submit, answers, false);
    });
    show([
      h('button', { type: 'button', class: 'back', onclick: function () { showHome(); } },
        icon('back'), t('form.back')),
      h('div', { class: 'form-head' }, avatar(name), h('h1', { id: 'config-title', text: name })),
      text(i.category, 40) ? h('p', { class: 'row-category', text: text(i.category, 40) }) : null,
      h('p', { class: 'lead', text: t('config.lead') }),
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
      id: 'back-to-list', text: t('done.back'), onclick: function () { showHome(); } });

    history.replaceState(null, '', location.pathname);
    show([
      h('div', { class: 'state-icon ' + (ok ? 'state-ok' : 'state-error') }, icon(ok ? 'check' : 'cross')),
      h('h1', { text: t(ok ? 'done.okTitle' : 'done.failTitle', { name: name }) }),
      h('p', { class: 'lead', id: 'done-message', text: ok ?
        t(app.name ? 'done.okBodyFor' : 'done.okBody', { name: name, company: app.name }) : reason }),
      ok ? null : h('p', { class: 'note', text: t(canRetry ? 'done.retryNote' : 'done.otherNote') }),
      h('div', { class: 'actions' },
        canRetry ? h('button', { type: 'button', class: 'btn btn-primary', text: t('action.retry'),
          onclick: function (ev) { startConnection(conn ? conn.integrationKey : p.platform, ev.currentTarget); } }) : null,
        back,
        app.embedOrigin ? h('button', { type: 'button', class: 'btn btn-primary', id: 'embed-finish',
          text: t('embed.finish'), onclick: finish }) : null)
    ], { className: 'view-state view-done' });
    announce(t(ok ? 'done.okAnnounce' : 'done.failAnnounce', { name: name, reason: reason }));
    emit(ok ? 'connected' : 'failed', { connection: conn ? { id: conn.id, integrationKey: conn.integrationKey,
      status: conn.status } : { id: p.connectionId, integrationKey: p.platform }, errorMessage: ok ? undefined : reason });
  }

  /* Embedded: the user is done; the parent closes the modal or popup. */
  function finish() {
    emit('finished', {});
    if (window.opener && window.parent === window) window.close();
  }

  /* ---- disconnect behind a confirmation dialog */

  function confirmDialog(title, body, confirmLabel) {
    return new Promise(function (resolve) {
      var opener = document.activeElement;
      var dialog, cancelBtn, okBtn;
      cancelBtn = h('button', { type: 'button', class: 'btn btn-secondary', text: t('form.cancel'),
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
    confirmDialog(t('disconnect.title', { name: name }),
      t('disconnect.body', { company: app.name || t('disconnect.theCompany'), name: name }),
      t('action.disconnect')).then(function (yes) {
      if (!yes) return;
      setBusy(button, true, t('disconnect.busy'));
      call('DELETE', '/hosted/connections/' + encodeURIComponent(conn.id)).then(function () {
        return refresh();
      }).then(function () {
        showHome({ announce: t('disconnect.done', { name: name }) });
        document.getElementById('conn-title').focus();
      }).catch(function (err) {
        setBusy(button, false);
        if (err && err.handled) return;
        announce(t('disconnect.failed', { name: name }));
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
      if (!ok) return loadInvite().then(showInvite);
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
    app.lang = pickLang();
    embedInit();
    app.pageTitle = t('page.title');
    translateStatic();
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
