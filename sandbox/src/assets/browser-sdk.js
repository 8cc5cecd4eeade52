/* PortOne V2 browser SDK stand-in, served by portone-sandbox. Not PortOne's code.
 * Talks only to the sandbox origin this script was loaded from. */
(function () {
  "use strict";
  // document.currentScript is set for classic scripts, including ones a loader
  // inserts; fall back to the first script tag that looks like this SDK.
  var script = document.currentScript ||
    document.querySelector('script[src*="/v2/browser-sdk.js"]');
  var src = script && script.src ? new URL(script.src, location.href) : null;
  var BASE = src ? src.origin : location.origin;
  var SCRIPT_OUTCOME = src ? src.searchParams.get("outcome") : null;
  var TAG = "portone-sandbox-result";

  function sdkError(kind, transactionType, body, req) {
    var err = new Error(body && body.message ? body.message : "PortOne sandbox error");
    err.name = kind;
    err.__portOneErrorType = kind;
    err.transactionType = transactionType;
    err.code = body && body.code ? body.code : "PORTONE_ERROR";
    if (req && typeof req === "object" && typeof req.paymentId === "string") {
      err.paymentId = req.paymentId;
    }
    return err;
  }

  function post(path, body) {
    return fetch(BASE + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    });
  }

  var POPUP_FEATURES = "width=480,height=680,menubar=no,toolbar=no";

  // The same rule as the sandbox's own choice of window (`window_mode`):
  // a PC user agent asking for `windowType.pc: "POPUP"`.
  function wantsPopup(req) {
    var ua = navigator.userAgent;
    var mobile = ["Mobi", "Android", "iPhone", "iPad"].some(function (m) { return ua.indexOf(m) >= 0; });
    return !!(req && typeof req === "object" && !req.forceRedirect && !mobile &&
      req.windowType && typeof req.windowType === "object" && req.windowType.pc === "POPUP");
  }

  function openWindow(session, resolve, pending) {
    var url = BASE + session.windowUrl;
    if (pending && (session.mode !== "POPUP" || pending.closed)) {
      if (!pending.closed) pending.close();
      pending = null;
    }
    var settled = false;
    var cleanup = [];
    function settle(result) {
      if (settled) return;
      settled = true;
      cleanup.forEach(function (f) { try { f(); } catch (e) { /* ignore */ } });
      resolve(result);
    }
    function finishAs(outcome) {
      // Idempotent on the sandbox: returns the real result if one was already chosen.
      post("/__sandbox/sdk/sessions/" + encodeURIComponent(session.sessionId) + "/complete",
        { outcome: outcome }).then(function (x) { settle(x.body.result); },
        function () { settle(undefined); });
    }
    function onMessage(ev) {
      if (ev.origin !== BASE) return;
      var d = ev.data;
      if (!d || d.tag !== TAG || d.sessionId !== session.sessionId) return;
      settle(d.result);
    }
    window.addEventListener("message", onMessage);
    cleanup.push(function () { window.removeEventListener("message", onMessage); });

    if (session.mode === "REDIRECTION") {
      window.location.href = url;
      resolve(undefined);
      return;
    }
    if (session.mode === "POPUP") {
      var popup = pending;
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
        cleanup.push(function () { if (!popup.closed) popup.close(); });
        return;
      }
      // Popup blocked: fall back to the overlay like the real SDK's iframe default.
    }
    var overlay = document.createElement("div");
    overlay.setAttribute("data-testid", "sandbox-overlay");
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.45);" +
      "display:flex;align-items:center;justify-content:center";
    var frame = document.createElement("iframe");
    frame.src = url;
    frame.title = "PortOne sandbox payment window";
    frame.setAttribute("data-testid", "sandbox-iframe");
    frame.style.cssText = "width:min(480px,100vw);height:min(680px,100vh);border:0;border-radius:12px;background:#fff";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "\u00d7";
    close.setAttribute("aria-label", "close");
    close.setAttribute("data-testid", "sandbox-overlay-close");
    close.style.cssText = "position:absolute;top:12px;right:12px;font-size:28px;background:#fff;border:0;" +
      "border-radius:50%;width:44px;height:44px;cursor:pointer";
    close.onclick = function () { finishAs("cancel"); };
    overlay.appendChild(frame);
    overlay.appendChild(close);
    document.body.appendChild(overlay);
    cleanup.push(function () { overlay.remove(); });
  }

  function start(path, kind, transactionType, req) {
    // A popup is opened now, in the caller's own task, and pointed at the
    // window once the sandbox has answered: WebKit (Safari) lets a page
    // open a window only while it handles the click, not after a network
    // round trip. If the browser still refuses, the overlay is used.
    var pending = null;
    if (wantsPopup(req)) {
      try { pending = window.open("about:blank", "", POPUP_FEATURES); } catch (e) { pending = null; }
    }
    function dropPending() {
      if (pending && !pending.closed) pending.close();
    }
    return new Promise(function (resolve, reject) {
      var body = {
        request: req === undefined ? null : req,
        userAgent: navigator.userAgent,
        outcome: SCRIPT_OUTCOME,
      };
      post(path, body).then(function (x) {
        if (!x.ok) { dropPending(); reject(sdkError(kind, transactionType, x.body, req)); return; }
        openWindow(x.body, resolve, pending);
      }, function (e) {
        dropPending();
        reject(sdkError(kind, transactionType,
          { code: "PORTONE_ERROR", message: "sandbox unreachable: " + e }, req));
      });
    });
  }

  window.PortOne = {
    __sandbox: true,
    requestPayment: function (req) {
      return start("/__sandbox/sdk/payment", "PaymentError", "PAYMENT", req);
    },
    requestIssueBillingKey: function (req) {
      return start("/__sandbox/sdk/issue-billing-key", "IssueBillingKeyError", "ISSUE_BILLING_KEY", req);
    },
  };
})();
