//! PortOne V1's webhook (`notice_url`): an unsigned JSON POST
//! `{imp_uid, merchant_uid, status}`. Delivery, retries, webhook faults and the
//! delivery log are the shared `webhook.rs` (`signer: None`); in that log the
//! event `type` reads `iamport.<status>` (`iamport.paid`, ...).

use serde_json::json;

use crate::store::AppState;
use crate::webhook;

/// Sends `{imp_uid, merchant_uid, status}` to the request's `notice_url`s,
/// or, when it gave none, to the configured webhook URLs (V1's `notice_url`
/// overrides the console's webhook URL).
pub(crate) fn notify(st: &AppState, imp_uid: &str, merchant_uid: &str, status: &str, notice_urls: &[String]) {
    let body = json!({ "imp_uid": imp_uid, "merchant_uid": merchant_uid, "status": status }).to_string();
    webhook::emit_to(
        st,
        &format!("iamport.{status}"),
        body,
        webhook::Notice::Instead(notice_urls),
        None,
    );
}
