//! The window page (`GET /__sandbox/window/{id}`): store, order name and
//! amount, the `sandbox-approve` / `sandbox-decline` / `sandbox-cancel`
//! buttons and `assets/window.js`, which posts the chosen outcome to the
//! completion route, completes a pre-selected outcome by itself and expires
//! the window on time. Provider-neutral: what it shows comes from the
//! session's [`View`](super::View).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;

use super::Outcome;
use crate::store::{lock, AppState};

const WINDOW_JS: &str = include_str!("../assets/window.js");

/// Escapes text for HTML element content and attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `12345, KRW` -> `12,345원`; other currencies in major units.
fn format_amount(amount: i64, currency: &str) -> String {
    let group = |n: i64| {
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        if n < 0 {
            format!("-{out}")
        } else {
            out
        }
    };
    match currency {
        "KRW" => format!("{}원", group(amount)),
        "JPY" => format!("{} JPY", group(amount)),
        other => format!("{}.{:02} {other}", group(amount / 100), (amount % 100).abs()),
    }
}

/// `GET /__sandbox/window/{id}`: the PG window.
pub(super) async fn window_page(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(session) = lock(&st.store).sessions.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><meta charset=utf-8><title>PortOne sandbox</title><p>결제창 세션을 찾을 수 없습니다.</p>".to_owned()),
        )
            .into_response();
    };
    let amount = session
        .view
        .amount
        .as_ref()
        .map(|(a, c)| format_amount(*a, c))
        .unwrap_or_default();
    let expires_in = session
        .expires_at
        .map(|at| (at - Utc::now()).num_milliseconds().max(0).to_string())
        .unwrap_or_default();
    let view = &session.view;
    let html = format!(
        r#"<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{brand} {kind}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#191f28}}
main{{max-width:420px;margin:24px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 2px 12px #0002}}
.badge{{display:inline-block;background:#ffe08a;border-radius:6px;padding:2px 8px;font-size:12px}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:6px 12px}} dt{{color:#6b7684}} dd{{margin:0;font-weight:600;word-break:break-all}}
button{{display:block;width:100%;margin-top:10px;padding:12px;font-size:16px;border-radius:8px;border:1px solid #d1d6db;background:#fff;cursor:pointer}}
button.primary{{background:#3182f6;color:#fff;border-color:#3182f6}}
#status{{margin-top:12px;color:#6b7684;min-height:1.2em}}
</style></head>
<body data-session="{sid}" data-mode="{mode}" data-preset="{preset}" data-expires-in="{expires_in}">
<main>
<p class="badge">{brand} · TEST · {channel}</p>
<h1 style="font-size:20px">{kind}</h1>
<dl>
<dt>상점</dt><dd data-testid="sandbox-store">{store}</dd>
<dt>주문명</dt><dd data-testid="sandbox-order-name">{title}</dd>
<dt>금액</dt><dd data-testid="sandbox-amount">{amount}</dd>
</dl>
<button class="primary" data-testid="sandbox-approve" data-outcome="approve">승인 (approve)</button>
<button data-testid="sandbox-decline" data-outcome="decline">거절 (decline: 잔액 부족)</button>
<button data-testid="sandbox-cancel" data-outcome="cancel">취소 (cancel)</button>
<p id="status" data-testid="sandbox-status"></p>
</main>
<script>{script}</script>
</body></html>"#,
        brand = escape_html(view.brand),
        kind = escape_html(view.kind),
        sid = escape_html(&session.id),
        mode = session.mode.as_str(),
        preset = session.preset.map_or("", Outcome::as_str),
        expires_in = expires_in,
        channel = escape_html(&view.channel_name),
        store = escape_html(&st.config.store_id),
        title = escape_html(&view.title),
        amount = escape_html(&amount),
        script = WINDOW_JS,
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::{escape_html, format_amount};

    #[test]
    fn the_window_page_escapes_html_and_formats_krw() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(format_amount(1234567, "KRW"), "1,234,567원");
        assert_eq!(format_amount(100, "KRW"), "100원");
        assert_eq!(format_amount(1999, "USD"), "19.99 USD");
    }
}
