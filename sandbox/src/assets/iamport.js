/* PortOne V1 (I'mport) browser SDK stand-in, served by portone-sandbox at
 * /v1/iamport.js. Not PortOne's code. Talks only to the sandbox origin this
 * script was loaded from. Defines window.IMP: init(userCode),
 * agency(userCode, tierCode), request_pay(params, callback). */
(function () {
  "use strict";
  var W = window.__portoneSandboxWindow; // sdk-window.js, served in front of this file
  var here = W.locate('script[src*="/v1/iamport.js"]');
  var BASE = here.base;
  var SCRIPT_OUTCOME = here.outcome;
  var userCode = null;

  function refused(params, code, msg) {
    return {
      success: false, imp_success: false, imp_uid: null,
      merchant_uid: params && typeof params.merchant_uid === "string" ? params.merchant_uid : null,
      error_code: code, error_msg: msg,
    };
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
      // `popup: true` on a PC: the popup is opened now, in the caller's own
      // task (see W.openPopup), and shows the window once V1 has answered.
      var popup = W.openPopup(!!(params && typeof params === "object" && params.popup === true));
      W.post(BASE, "/__sandbox/v1/sdk/request-pay", {
        userCode: userCode,
        params: params === undefined ? null : params,
        userAgent: navigator.userAgent,
        outcome: SCRIPT_OUTCOME,
      }).then(function (x) {
        if (!x.ok) { W.dropPopup(popup); call(callback, x.body); return; }
        // An iframe overlay (PC default), the popup (`popup: true`) or a
        // full-page redirect (mobile), where the callback never runs.
        W.show({
          base: BASE,
          session: x.body,
          title: "PortOne V1 sandbox payment window",
          popup: popup,
          done: function (rsp) { call(callback, rsp); },
          unreachable: function (e) { return refused(null, "NETWORK_ERROR", "sandbox unreachable: " + e); },
        });
      }, function (e) {
        W.dropPopup(popup);
        call(callback, refused(params, "NETWORK_ERROR", "sandbox unreachable: " + e));
      });
    },
  };
})();
