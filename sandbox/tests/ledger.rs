//! `GET /__sandbox/ledger`: every provider's payments, cancellations and
//! schedules in one read-out (what the chaos soak checks a shop against).

mod common;

use common::*;
use serde_json::{json, Value};

fn find<'a>(list: &'a Value, key: &str, id: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|p| p[key] == id))
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

#[tokio::test]
async fn the_ledger_lists_every_providers_payments_with_their_cancellations() {
    let sb = start().await;
    let (empty_status, empty) = admin(&sb, "GET", "/__sandbox/ledger", None).await;
    assert_eq!(empty_status, 200);
    assert_eq!(empty["portoneV2"]["payments"], json!([]));

    // PortOne V2: one paid, then cancelled with a reason; one declined.
    pay(&sb, card_request("l-paid", 10000), "approve").await;
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/l-paid/cancel",
        Some(json!({"reason": "net cancel: out of stock"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    pay(&sb, tosspay_request("l-declined", 5000), "decline").await;
    // PortOne V1: one paid.
    let (s, r) = v1_pay(&sb, v1_params("l-v1", 3000), "approve").await;
    assert_eq!(s, 200, "{r}");
    // Toss: one authenticated, not confirmed.
    let key = toss_authenticated(&sb, "l-toss", "CARD", 4000).await;

    let (s, l) = admin(&sb, "GET", "/__sandbox/ledger", None).await;
    assert_eq!(s, 200, "{l}");
    let paid = find(&l["portoneV2"]["payments"], "paymentId", "l-paid");
    assert_eq!(paid["status"], "CANCELLED");
    assert_eq!(paid["totalAmount"], 10000);
    assert_eq!(
        paid["cancellations"],
        json!([{"amount": 10000, "reason": "net cancel: out of stock"}])
    );
    let declined = find(&l["portoneV2"]["payments"], "paymentId", "l-declined");
    assert_eq!(declined["status"], "FAILED");
    let v1 = find(&l["portoneV1"]["payments"], "merchantUid", "l-v1");
    assert_eq!(
        (v1["status"].as_str(), v1["amount"].as_i64()),
        (Some("paid"), Some(3000))
    );
    assert_eq!(v1["impUid"], r["imp_uid"]);
    let toss = find(&l["toss"]["payments"], "orderId", "l-toss");
    assert_eq!(
        (toss["status"].as_str(), toss["paymentKey"].as_str()),
        (Some("IN_PROGRESS"), Some(key.as_str()))
    );
    assert_eq!(l["portoneV2"]["schedules"], json!([]));
    assert_eq!(l["portoneV1"]["schedules"], json!([]));
    sb.shutdown().await;
}
