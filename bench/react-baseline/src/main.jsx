// The React baseline: what a merchant writes by hand with PortOne's SDK.
// Same behaviour as bench/minimal's <Checkout>: the SDK script is injected
// at mount from the same sandbox URL, the button is enabled once it has
// loaded, and a click asks the backend to prepare the order (the server owns
// the amount: POST /api/payments), calls PortOne.requestPayment with an
// equivalent request, then reports the result (POST .../complete).
// With `?warm` in the URL the order is prepared at mount instead, as
// portone-checkout does once the cart settles, so a click goes straight to
// requestPayment (used to compare click-to-SDK like for like).
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

const ORDER = { items: [{ productId: "americano", quantity: 1 }] };
const WARM = new URLSearchParams(location.search).has("warm");

function loadSdk() {
  return new Promise((resolve, reject) => {
    if (window.PortOne) return resolve();
    const s = document.createElement("script");
    s.src = __SDK_URL__;
    s.async = true;
    s.onload = () => (window.PortOne ? resolve() : reject(new Error("no window.PortOne")));
    s.onerror = () => reject(new Error("SDK failed to load"));
    document.head.appendChild(s);
  });
}

async function postJson(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(json.message || `HTTP ${r.status}`);
  return json;
}

function Checkout() {
  const [sdk, setSdk] = useState("loading");
  const [state, setState] = useState("idle");
  const [error, setError] = useState(null);
  const [warm, setWarm] = useState(null);

  useEffect(() => {
    loadSdk().then(
      () => setSdk("ready"),
      () => setSdk("failed"),
    );
    if (WARM) postJson("/api/payments", ORDER).then(setWarm, () => {});
  }, []);

  async function pay() {
    setState("preparing");
    setError(null);
    try {
      const p = warm || (await postJson("/api/payments", ORDER));
      setWarm(null);
      setState("paying");
      const res = await window.PortOne.requestPayment({
        storeId: "store-sandbox",
        channelKey: "channel-key-sandbox-tosspay",
        paymentId: p.paymentId,
        orderName: p.orderName,
        totalAmount: p.totalAmount,
        currency: p.currency,
        payMethod: "EASY_PAY",
        customer: p.customer,
        redirectUrl: location.origin + location.pathname,
        locale: "KO_KR",
      });
      if (res && res.code !== undefined) {
        setState("failed");
        setError(res.pgMessage || res.message);
        return;
      }
      setState("confirming");
      const s = await postJson(`/api/payments/${encodeURIComponent(p.paymentId)}/complete`, { txId: res?.txId });
      setState(s.status === "PAID" ? "paid" : "failed");
    } catch (e) {
      setState("failed");
      setError(String(e.message || e));
    }
  }

  const busy = state === "preparing" || state === "paying" || state === "confirming";
  return (
    <div className={`pc-checkout pc-checkout--${state}`}>
      <button type="button" data-testid="checkout-pay" disabled={sdk === "loading" || busy} aria-busy={busy} onClick={pay}>
        결제하기
      </button>
      <div role="status" aria-live="polite" data-testid="checkout-status" data-state={state}>
        {error && <p data-testid="checkout-error">{error}</p>}
      </div>
    </div>
  );
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <Checkout />
  </StrictMode>,
);
