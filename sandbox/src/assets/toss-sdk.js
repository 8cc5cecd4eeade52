/* Toss Payments SDK v2 stand-in, served by portone-sandbox at /toss/v2/standard.
 * Not Toss Payments' code. Talks only to the sandbox origin this script was loaded from.
 * Defines window.TossPayments(clientKey) with .payment({customerKey}).requestPayment(..)
 * and .requestBillingAuth(..), like https://js.tosspayments.com/v2/standard. */
(function () {
  "use strict";
  var CLIENT_KEY = __SANDBOX_CLIENT_KEY__;
  var ANONYMOUS = "@@ANONYMOUS";
  var W = window.__portoneSandboxWindow; // sdk-window.js, served in front of this file
  var here = W.locate('script[src*="/toss/v2/standard"]');
  var BASE = here.base;
  var SCRIPT_OUTCOME = here.outcome;

  function tossError(code, message) {
    var err = new Error(message || "Toss Payments sandbox error");
    err.name = "TossPaymentsError";
    err.code = code || "UNKNOWN_ERROR";
    return err;
  }

  function isCustomerKey(k) {
    return typeof k === "string" && /^[A-Za-z0-9\-_=.@]{2,50}$/.test(k);
  }

  // One window at a time per payment() object, like the real SDK's
  // InvalidMethodTransactionError.
  function payment(clientKey, customerKey) {
    var busy = false;
    var current = null;

    // The window as an iframe overlay (PC) or the page itself ("self",
    // the default on phones: the page navigates to the window); Toss's
    // promise form has no popup.
    function openWindow(session, resolve, reject) {
      current = W.show({
        base: BASE,
        session: session,
        title: "Toss Payments sandbox payment window",
        done: function (result) {
          busy = false;
          current = null;
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
        },
      });
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
        W.post(BASE, path, body).then(function (x) {
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
