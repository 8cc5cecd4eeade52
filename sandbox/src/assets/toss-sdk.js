/* Toss Payments SDK v2 stand-in, served by portone-sandbox at /toss/v2/standard.
 * Not Toss Payments' code. Talks only to the sandbox origin this script was loaded from.
 * Defines window.TossPayments(clientKey) with .payment({customerKey}).requestPayment(..)
 * and .requestBillingAuth(..), like https://js.tosspayments.com/v2/standard. */
(function () {
  "use strict";
  var CLIENT_KEY = __SANDBOX_CLIENT_KEY__;
  var ANONYMOUS = "@@ANONYMOUS";
  // document.currentScript is set for classic scripts, including ones a loader
  // (loadTossPayments) inserts; fall back to the first script tag that looks like this SDK.
  var script = document.currentScript ||
    document.querySelector('script[src*="/toss/v2/standard"]');
  var src = script && script.src ? new URL(script.src, location.href) : null;
  var BASE = src ? src.origin : location.origin;
  var SCRIPT_OUTCOME = src ? src.searchParams.get("outcome") : null;
  var TAG = "portone-sandbox-result";

  function tossError(code, message) {
    var err = new Error(message || "Toss Payments sandbox error");
    err.name = "TossPaymentsError";
    err.code = code || "UNKNOWN_ERROR";
    return err;
  }

  function isCustomerKey(k) {
    return typeof k === "string" && /^[A-Za-z0-9\-_=.@]{2,50}$/.test(k);
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

  // One window at a time per payment() object, like the real SDK's
  // InvalidMethodTransactionError.
  function payment(clientKey, customerKey) {
    var busy = false;
    var current = null;

    function openWindow(session, resolve, reject) {
      var url = BASE + session.windowUrl;
      var settled = false;
      var cleanup = [];
      function done() {
        busy = false;
        current = null;
        cleanup.forEach(function (f) { try { f(); } catch (e) { /* ignore */ } });
      }
      function settle(result) {
        if (settled) return;
        settled = true;
        done();
        if (!result) {
          reject(tossError("UNKNOWN_ERROR", "the sandbox window ended without a result"));
        } else if (result.redirectTo) {
          // Redirect form: the merchant's page (this top window) goes to successUrl/failUrl.
          window.location.href = result.redirectTo;
        } else if (result.code) {
          reject(tossError(result.code, result.message));
        } else {
          resolve({
            paymentKey: result.paymentKey,
            orderId: result.orderId,
            amount: result.amount,
            paymentType: result.paymentType,
          });
        }
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
      current = { cancel: function () { finishAs("cancel"); } };
      if (session.mode === "REDIRECTION") {
        // windowTarget "self" (the default on phones): this page becomes the window.
        window.location.href = url;
        return;
      }
      window.addEventListener("message", onMessage);
      cleanup.push(function () { window.removeEventListener("message", onMessage); });
      var overlay = document.createElement("div");
      overlay.setAttribute("data-testid", "sandbox-overlay");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.45);" +
        "display:flex;align-items:center;justify-content:center";
      var frame = document.createElement("iframe");
      frame.src = url;
      frame.title = "Toss Payments sandbox payment window";
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

    function start(path, req) {
      return new Promise(function (resolve, reject) {
        if (busy) {
          reject(tossError("INVALID_METHOD_TRANSACTION", "이미 다른 명령을 수행 중입니다."));
          return;
        }
        busy = true;
        var body = {
          clientKey: clientKey,
          customerKey: customerKey,
          request: req === undefined ? null : req,
          userAgent: navigator.userAgent,
          outcome: SCRIPT_OUTCOME,
        };
        post(path, body).then(function (x) {
          if (!x.ok) {
            busy = false;
            reject(tossError(x.body && x.body.code, x.body && x.body.message));
            return;
          }
          openWindow(x.body, resolve, reject);
        }, function (e) {
          busy = false;
          reject(tossError("UNKNOWN_ERROR", "sandbox unreachable: " + e));
        });
      });
    }

    return {
      requestPayment: function (req) { return start("/__sandbox/sdk/toss/payment", req); },
      requestBillingAuth: function (req) { return start("/__sandbox/sdk/toss/billing-auth", req); },
      destroy: function () { if (current) current.cancel(); },
    };
  }

  function TossPayments(clientKey) {
    if (typeof clientKey !== "string" || clientKey === "") {
      throw tossError("INVALID_CLIENT_KEY", "클라이언트 키가 올바르지 않습니다.");
    }
    if (/^(test|live)_sk_/.test(clientKey)) {
      throw tossError("INVALID_CLIENT_KEY",
        "시크릿 키는 클라이언트 키로 사용할 수 없습니다. (a secret key is not a client key)");
    }
    if (clientKey !== CLIENT_KEY) {
      throw tossError("INVALID_CLIENT_KEY", "클라이언트 키가 올바르지 않습니다. (" + clientKey + ")");
    }
    function notModelled(name) {
      return function () {
        throw tossError("NOT_SUPPORTED_IN_SANDBOX",
          "the Toss Payments sandbox stands in for payment() only, not " + name + "()");
      };
    }
    return {
      payment: function (params) {
        var customerKey = params && params.customerKey;
        if (typeof customerKey === "string" && /^(test|live)_sk_/.test(customerKey)) {
          throw tossError("INSECURE_KEY_USAGE", "customerKey 에 시크릿 키를 사용할 수 없습니다.");
        }
        if (customerKey !== ANONYMOUS && !isCustomerKey(customerKey)) {
          throw tossError("INVALID_CUSTOMER_KEY",
            "customerKey 는 영문 대소문자, 숫자, 특수문자 -, _, =, ., @ 로 이루어진 2자 이상 50자 이하의 문자열이어야 합니다.");
        }
        return payment(clientKey, customerKey);
      },
      widgets: notModelled("widgets"),
      brandpay: notModelled("brandpay"),
    };
  }
  TossPayments.ANONYMOUS = ANONYMOUS;
  TossPayments.__sandbox = true;
  window.TossPayments = TossPayments;
})();
