/* PortOne V1 (I'mport) browser SDK stand-in, served by portone-sandbox at
 * /v1/iamport.js. Not PortOne's code. Talks only to the sandbox origin this
 * script was loaded from. Defines window.IMP: init(userCode),
 * agency(userCode, tierCode), request_pay(params, callback). */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector('script[src*="/v1/iamport.js"]');
  var src = script && script.src ? new URL(script.src, location.href) : null;
  var BASE = src ? src.origin : location.origin;
  var SCRIPT_OUTCOME = src ? src.searchParams.get("outcome") : null;
  var TAG = "portone-sandbox-result";
  var userCode = null;

  function post(path, body) {
    return fetch(BASE + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    });
  }

  function refused(params, code, msg) {
    return {
      success: false, imp_success: false, imp_uid: null,
      merchant_uid: params && typeof params.merchant_uid === "string" ? params.merchant_uid : null,
      error_code: code, error_msg: msg,
    };
  }

  // Shows the window like the V2 stand-in: an iframe overlay (PC default), a
  // popup (`popup: true`) or a full-page redirect (mobile). `done` gets the
  // callback object; in redirect mode it is never called.
  function openWindow(session, done) {
    var url = BASE + session.windowUrl;
    var settled = false;
    var cleanup = [];
    function settle(result) {
      if (settled) return;
      settled = true;
      cleanup.forEach(function (f) { try { f(); } catch (e) { /* ignore */ } });
      done(result);
    }
    function finishAs(outcome) {
      post("/__sandbox/sdk/sessions/" + encodeURIComponent(session.sessionId) + "/complete",
        { outcome: outcome }).then(function (x) { settle(x.body.result); },
        function (e) { settle(refused(null, "NETWORK_ERROR", "sandbox unreachable: " + e)); });
    }
    function onMessage(ev) {
      if (ev.origin !== BASE) return;
      var d = ev.data;
      if (!d || d.tag !== TAG || d.sessionId !== session.sessionId) return;
      settle(d.result);
    }
    if (session.mode === "REDIRECTION") {
      window.location.href = url;
      return;
    }
    window.addEventListener("message", onMessage);
    cleanup.push(function () { window.removeEventListener("message", onMessage); });
    if (session.mode === "POPUP") {
      var popup = window.open(url, "portone-sandbox-" + session.sessionId,
        "width=480,height=680,menubar=no,toolbar=no");
      if (popup) {
        var timer = setInterval(function () {
          if (popup.closed && !settled) finishAs("cancel");
        }, 250);
        cleanup.push(function () { clearInterval(timer); });
        cleanup.push(function () { if (!popup.closed) popup.close(); });
        return;
      }
    }
    var overlay = document.createElement("div");
    overlay.setAttribute("data-testid", "sandbox-overlay");
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.45);" +
      "display:flex;align-items:center;justify-content:center";
    var frame = document.createElement("iframe");
    frame.src = url;
    frame.title = "PortOne V1 sandbox payment window";
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

  function call(callback, rsp) {
    if (typeof callback === "function") {
      try { callback(rsp); } catch (e) { setTimeout(function () { throw e; }); }
    }
  }

  window.IMP = {
    __sandbox: true,
    init: function (code) { userCode = code; },
    agency: function (code) { userCode = code; },
    request_pay: function (params, callback) {
      post("/__sandbox/v1/sdk/request-pay", {
        userCode: userCode,
        params: params === undefined ? null : params,
        userAgent: navigator.userAgent,
        outcome: SCRIPT_OUTCOME,
      }).then(function (x) {
        if (!x.ok) { call(callback, x.body); return; }
        openWindow(x.body, function (rsp) { call(callback, rsp); });
      }, function (e) {
        call(callback, refused(params, "NETWORK_ERROR", "sandbox unreachable: " + e));
      });
    },
  };
})();
