/* PortOne V2 browser SDK stand-in, served by portone-sandbox. Not PortOne's code.
 * Talks only to the sandbox origin this script was loaded from. */
(function () {
  "use strict";
  var W = window.__portoneSandboxWindow; // sdk-window.js, served in front of this file
  var here = W.locate('script[src*="/v2/browser-sdk.js"]');
  var BASE = here.base;
  var SCRIPT_OUTCOME = here.outcome;

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

  // The same rule as the sandbox's own choice of window (`window_mode`):
  // a PC user agent (W.openPopup checks that) asking for `windowType.pc: "POPUP"`.
  function wantsPopup(req) {
    return !!(req && typeof req === "object" && !req.forceRedirect &&
      req.windowType && typeof req.windowType === "object" && req.windowType.pc === "POPUP");
  }

  function start(path, kind, transactionType, req) {
    // The popup is opened now, in the caller's own task (see W.openPopup).
    var popup = W.openPopup(wantsPopup(req));
    return new Promise(function (resolve, reject) {
      var body = {
        request: req === undefined ? null : req,
        userAgent: navigator.userAgent,
        outcome: SCRIPT_OUTCOME,
      };
      W.post(BASE, path, body).then(function (x) {
        if (!x.ok) { W.dropPopup(popup); reject(sdkError(kind, transactionType, x.body, req)); return; }
        var shown = W.show({
          base: BASE,
          session: x.body,
          title: "PortOne sandbox payment window",
          popup: popup,
          done: resolve,
        });
        if (shown.redirected) resolve(undefined);
      }, function (e) {
        W.dropPopup(popup);
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
