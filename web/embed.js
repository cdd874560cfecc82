/* hostlink embedded mode: opens the hosted Connect page over your app and
 * tells you what happens there.
 *
 *   <script src="https://hostlink.example.com/embed.js"></script>
 *   var flow = Hostlink.open(hostedUrl, {
 *     onEvent: function (e) { ... },   // {type, companyId, connection?}
 *     mode: 'iframe'                   // or 'popup'; default iframe
 *   });
 *   flow.close();
 *
 * Events (type): "ready" (the page is showing), "connected" and "failed"
 * (a connection's outcome, with connection {id, integrationKey, status}),
 * "finished" (the user is done: the modal closes), "closed" (the user
 * closed the modal or the popup before finishing).  The page sends events
 * only to an origin listed in the link settings' embed_origins; this
 * script accepts them only from the page's origin.
 *
 * iframe mode needs the front server to let your origin frame the page
 * (frame-ancestors, see README "Embedded mode"); when the page has not said
 * "ready" within timeoutMs (default 5000) the modal offers to open it in a
 * popup instead.  No HTML is parsed: DOM nodes only. */
(function () {
  'use strict';

  function el(tag, style, attrs) {
    var e = document.createElement(tag), k;
    for (k in style) if (Object.prototype.hasOwnProperty.call(style, k)) e.style[k] = style[k];
    for (k in attrs || {}) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    return e;
  }

  function withEmbed(url) {
    var u = new URL(url, location.href);
    u.searchParams.set('embed', location.origin);
    return u;
  }

  function open(url, opts) {
    var o = opts || {};
    var u = withEmbed(url);
    var origin = u.origin;
    var onEvent = typeof o.onEvent === 'function' ? o.onEvent : function () {};
    var state = { done: false, ready: false, overlay: null, popup: null, timer: null, poll: null };

    function deliver(e) { try { onEvent(e); } catch (x) { setTimeout(function () { throw x; }); } }

    function teardown() {
      window.removeEventListener('message', onMessage);
      clearTimeout(state.timer);
      clearInterval(state.poll);
      if (state.overlay && state.overlay.parentNode) state.overlay.parentNode.removeChild(state.overlay);
      if (state.popup && !state.popup.closed) state.popup.close();
      document.removeEventListener('keydown', onKey);
    }

    function close(byUser) {
      if (state.done) return;
      state.done = true;
      teardown();
      if (byUser) deliver({ type: 'closed' });
    }

    function onMessage(ev) {
      var d = ev.data;
      if (ev.origin !== origin || !d || d.source !== 'hostlink' || typeof d.type !== 'string') return;
      if (state.overlay && state.frame && ev.source !== state.frame.contentWindow) return;
      if (state.popup && ev.source !== state.popup) return;
      if (d.type === 'ready') { state.ready = true; clearTimeout(state.timer); }
      deliver(d);
      if (d.type === 'finished') close(false);
    }

    function onKey(ev) { if (ev.key === 'Escape') close(true); }

    function popup() {
      state.popup = window.open(u.href, 'hostlink', 'popup,width=480,height=760');
      if (!state.popup) return false;
      state.poll = setInterval(function () { if (state.popup.closed) close(true); }, 400);
      return true;
    }

    function modal() {
      var box, bar, btn, frame;
      state.overlay = el('div', { position: 'fixed', inset: '0', background: 'rgba(15,23,42,0.55)',
        zIndex: '2147483000', display: 'flex', alignItems: 'center', justifyContent: 'center' },
        { role: 'dialog', 'aria-modal': 'true', 'aria-label': o.title || 'Connect your accounts' });
      box = el('div', { position: 'relative', width: 'min(480px, 100vw)', height: 'min(760px, 100vh)',
        background: '#ffffff', borderRadius: '12px', overflow: 'hidden', display: 'flex',
        flexDirection: 'column' });
      bar = el('div', { display: 'flex', justifyContent: 'flex-end', padding: '4px' });
      btn = el('button', { font: 'inherit', fontSize: '20px', lineHeight: '1', padding: '6px 10px',
        border: '0', background: 'transparent', color: '#1b2230', cursor: 'pointer' },
        { type: 'button', 'aria-label': o.closeLabel || 'Close' });
      btn.textContent = '×';
      btn.addEventListener('click', function () { close(true); });
      frame = el('iframe', { flex: '1', width: '100%', border: '0' },
        { src: u.href, title: o.title || 'Connect your accounts' });
      state.frame = frame;
      bar.appendChild(btn);
      box.appendChild(bar);
      box.appendChild(frame);
      state.overlay.appendChild(box);
      document.body.appendChild(state.overlay);
      document.addEventListener('keydown', onKey);
      btn.focus();
      state.timer = setTimeout(function () {
        var alt;
        if (state.ready || state.done) return;
        /* framing refused (frame-ancestors) or the page is slow: offer a popup */
        alt = el('button', { margin: '12px', padding: '10px 14px', font: 'inherit',
          background: '#1b2230', color: '#ffffff', border: '0', borderRadius: '8px', cursor: 'pointer' },
          { type: 'button', id: 'hostlink-open-popup' });
        alt.textContent = o.popupLabel || 'Open in a new window';
        alt.addEventListener('click', function () {
          if (state.overlay.parentNode) state.overlay.parentNode.removeChild(state.overlay);
          state.overlay = null;
          state.frame = null;
          popup();
        });
        box.replaceChild(alt, frame);
      }, o.timeoutMs || 5000);
    }

    window.addEventListener('message', onMessage);
    if (o.mode === 'popup') {
      if (!popup()) { window.removeEventListener('message', onMessage); return null; }
    } else {
      modal();
    }
    return { close: function () { close(true); } };
  }

  window.Hostlink = { open: open };
})();
