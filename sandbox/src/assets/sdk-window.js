/* The payment-window machinery of portone-sandbox's browser-SDK stand-ins
 * (browser-sdk.js, iamport.js, toss-sdk.js): the sandbox serves this file in
 * front of each of them, as one script. Not PortOne's or Toss Payments' code.
 * It defines the sandbox-private, non-enumerable window.__portoneSandboxWindow
 * once per page (a second stand-in on the same page reuses it):
 *   locate(selector)      -> {base, outcome}: the sandbox origin and the
 *                            ?outcome= of the script being run now
 *   post(base, path, body) -> Promise<{ok, body}>
 *   openPopup(wanted)     -> a blank popup opened now, or null
 *   dropPopup(popup)      closes a popup openPopup gave that will not be used
 *   show(options)         -> {redirected, cancel()}: shows a session's window */
(function () {
  "use strict";
  if (window.__portoneSandboxWindow) return;
  var TAG = "portone-sandbox-result";
  var POPUP_FEATURES = "width=480,height=680,menubar=no,toolbar=no";

  // document.currentScript is set for classic scripts, including ones a loader
  // inserts; fall back to the first script tag that looks like the SDK.
  function locate(selector) {
    var script = document.currentScript || document.querySelector(selector);
    var src = script && script.src ? new URL(script.src, location.href) : null;
    return {
      base: src ? src.origin : location.origin,
      outcome: src ? src.searchParams.get("outcome") : null,
    };
  }

  function post(base, path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    });
  }

  // The sandbox's own rule (`window::is_mobile`): such user agents get no popup.
  function isMobile() {
    var ua = navigator.userAgent;
    return ["Mobi", "Android", "iPhone", "iPad"].some(function (m) { return ua.indexOf(m) >= 0; });
  }

  // A popup is opened at the call, in the caller's own task, and pointed at
  // the window once the sandbox has answered (`show`'s `popup`): WebKit
  // (Safari) lets a page open a window only while it handles the click, not
  // after a network round trip. If the browser still refuses, `show` uses
  // the overlay.
  function openPopup(wanted) {
    if (!wanted || isMobile()) return null;
    try { return window.open("about:blank", "", POPUP_FEATURES) || null; } catch (e) { return null; }
  }

  function dropPopup(popup) {
    if (popup && !popup.closed) popup.close();
  }

  // The iframe overlay (the PC default, and where a popup was refused); its
  // close button calls `onClose`. Returns a function removing it.
  function overlay(url, title, onClose) {
    var root = document.createElement("div");
    root.setAttribute("data-testid", "sandbox-overlay");
    root.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.45);" +
      "display:flex;align-items:center;justify-content:center";
    var frame = document.createElement("iframe");
    frame.src = url;
    frame.title = title;
    frame.setAttribute("data-testid", "sandbox-iframe");
    frame.style.cssText = "width:min(480px,100vw);height:min(680px,100vh);border:0;border-radius:12px;background:#fff";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "\u00d7";
    close.setAttribute("aria-label", "close");
    close.setAttribute("data-testid", "sandbox-overlay-close");
    close.style.cssText = "position:absolute;top:12px;right:12px;font-size:28px;background:#fff;border:0;" +
      "border-radius:50%;width:44px;height:44px;cursor:pointer";
    close.onclick = onClose;
    root.appendChild(frame);
    root.appendChild(close);
    document.body.appendChild(root);
    return function () { root.remove(); };
  }

  // Shows the window of a session the sandbox opened (`{sessionId, windowUrl,
  // mode}`) as it says: REDIRECTION navigates this page there (`done` is
  // never called), POPUP uses `o.popup` (from openPopup) or opens one, with
  // the overlay where it is refused, anything else the overlay.
  // o: {base, session, title (the iframe's), popup?, done(result),
  //     unreachable?(error) -> the result when the sandbox cannot be reached
  //     to complete the window (default undefined)}.
  // `done` runs once, after the window is gone, with the window page's result
  // or the sandbox's answer to a cancel (closing the overlay or the popup).
  function show(o) {
    var session = o.session;
    var url = o.base + session.windowUrl;
    var popup = o.popup || null;
    if (popup && (session.mode !== "POPUP" || popup.closed)) {
      dropPopup(popup);
      popup = null;
    }
    var settled = false;
    var cleanup = [];
    function settle(result) {
      if (settled) return;
      settled = true;
      cleanup.forEach(function (f) { try { f(); } catch (e) { /* ignore */ } });
      o.done(result);
    }
    function finishAs(outcome) {
      // Idempotent on the sandbox: returns the real result if one was already chosen.
      post(o.base, "/__sandbox/sdk/sessions/" + encodeURIComponent(session.sessionId) + "/complete",
        { outcome: outcome }).then(function (x) { settle(x.body.result); },
        function (e) { settle(o.unreachable ? o.unreachable(e) : undefined); });
    }
    var handle = { redirected: false, cancel: function () { finishAs("cancel"); } };
    if (session.mode === "REDIRECTION") {
      handle.redirected = true;
      window.location.href = url;
      return handle;
    }
    function onMessage(ev) {
      if (ev.origin !== o.base) return;
      var d = ev.data;
      if (!d || d.tag !== TAG || d.sessionId !== session.sessionId) return;
      settle(d.result);
    }
    window.addEventListener("message", onMessage);
    cleanup.push(function () { window.removeEventListener("message", onMessage); });
    if (session.mode === "POPUP") {
      if (popup) {
        popup.location.replace(url);
      } else {
        popup = window.open(url, "portone-sandbox-" + session.sessionId, POPUP_FEATURES);
      }
      if (popup) {
        var timer = setInterval(function () {
          if (popup.closed && !settled) finishAs("cancel");
        }, 250);
        cleanup.push(function () { clearInterval(timer); });
        cleanup.push(function () { dropPopup(popup); });
        return handle;
      }
      // Popup blocked: fall back to the overlay like the real SDKs' iframe default.
    }
    cleanup.push(overlay(url, o.title, function () { finishAs("cancel"); }));
    return handle;
  }

  Object.defineProperty(window, "__portoneSandboxWindow", {
    value: Object.freeze({
      locate: locate,
      post: post,
      openPopup: openPopup,
      dropPopup: dropPopup,
      show: show,
    }),
    enumerable: false,
  });
})();
