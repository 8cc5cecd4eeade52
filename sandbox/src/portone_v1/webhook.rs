//! PortOne V1's webhook (`notice_url`): an unsigned JSON POST
//! `{imp_uid, merchant_uid, status}`. Delivery, retries, webhook faults and the
//! delivery log are the shared `webhook.rs` (`signer: None`); in that log the
//! event `type` reads `iamport.<status>` (`iamport.paid`, ...).

use serde_json::json;

use crate::store::AppState;
use crate::webhook;

/// Sends `{imp_uid, merchant_uid, status}` to the configured webhook URLs and `notice_urls`.
pub(crate) fn notify(st: &AppState, imp_uid: &str, merchant_uid: &str, status: &str, notice_urls: &[String]) {
    let body = json!({ "imp_uid": imp_uid, "merchant_uid": merchant_uid, "status": status }).to_string();
    webhook::emit(st, &format!("iamport.{status}"), body, notice_urls, None);
}
