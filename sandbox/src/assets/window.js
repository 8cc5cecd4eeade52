(function () {
  "use strict";
  var body = document.body;
  var sid = body.getAttribute("data-session");
  var preset = body.getAttribute("data-preset");
  var expiresIn = body.getAttribute("data-expires-in");
  var status = document.getElementById("status");
  var sent = false;
  var buttons = document.querySelectorAll("button[data-outcome]");
  function finish(outcome) {
    if (sent) return;
    sent = true;
    buttons.forEach(function (b) { b.disabled = true; });
    status.textContent = "처리 중...";
    fetch("/__sandbox/sdk/sessions/" + encodeURIComponent(sid) + "/complete", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ outcome: outcome }),
    }).then(function (r) { return r.json(); }).then(function (res) {
      if (res.redirectTo) { window.location.replace(res.redirectTo); return; }
      var msg = { tag: "portone-sandbox-result", sessionId: sid, result: res.result };
      var target = window.opener || (window.parent !== window ? window.parent : null);
      status.textContent = res.result && res.result.code ? res.result.message : "완료";
      if (target) target.postMessage(msg, "*");
      if (window.opener) window.close();
    }, function (e) { status.textContent = "오류: " + e; sent = false; });
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { finish(b.getAttribute("data-outcome")); });
  });
  if (preset) finish(preset);
  if (expiresIn !== "") {
    setTimeout(function () { finish("expire"); }, Number(expiresIn));
  }
})();
