//! The few browser facilities the components use (`sessionStorage`, the
//! address bar, the console, timers), as small functions that are no-ops
//! off the browser (SSR) and never panic.

/// Reads `sessionStorage[key]`.
pub fn session_get(key: &str) -> Option<String> {
    imp::storage().and_then(|s| s.get_item(key).ok().flatten())
}

/// Writes `sessionStorage[key]` (ignored if storage is unavailable or full).
pub fn session_set(key: &str, value: &str) {
    if let Some(s) = imp::storage() {
        let _ = s.set_item(key, value);
    }
}

/// Removes `sessionStorage[key]`.
pub fn session_remove(key: &str) {
    if let Some(s) = imp::storage() {
        let _ = s.remove_item(key);
    }
}

/// The page's query string (`?a=b`, or `""`).
pub fn location_search() -> String {
    imp::location().and_then(|l| l.search().ok()).unwrap_or_default()
}

/// The page's URL without query and fragment (`https://shop.example/cart`).
pub fn current_url_without_query() -> Option<String> {
    let l = imp::location()?;
    Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
}

/// Replaces the query in the address bar (no navigation, no history entry).
pub fn replace_query(query: &str) {
    let Some(l) = imp::location() else { return };
    let (Ok(path), Ok(hash)) = (l.pathname(), l.hash()) else {
        return;
    };
    if let Some(h) = imp::window().and_then(|w| w.history().ok()) {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("{path}{query}{hash}")));
    }
}

/// Logs developer detail with the raw value, if any.
pub fn console_error(message: &str, raw: Option<&wasm_bindgen::JsValue>) {
    imp::console_error(message, raw);
}

/// Waits `ms` milliseconds (a browser timer, cleared if the wait is
/// dropped; returns at once off the browser).
pub async fn sleep_ms(ms: u32) {
    imp::sleep_ms(ms).await
}

/// An HTTP answer: its status and its body as text.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub text: String,
}

/// `fetch(url, {method, headers, body})` and the answer's text. `Err`
/// describes why no answer came (network, CORS, no browser).
pub async fn fetch(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Result<Answer, String> {
    imp::fetch(method, url, headers, body).await
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use wasm_bindgen::JsValue;

    pub fn window() -> Option<web_sys::Window> {
        web_sys::window()
    }

    pub fn storage() -> Option<web_sys::Storage> {
        window()?.session_storage().ok().flatten()
    }

    pub fn location() -> Option<web_sys::Location> {
        Some(window()?.location())
    }

    pub fn console_error(message: &str, raw: Option<&JsValue>) {
        match raw {
            Some(raw) => web_sys::console::error_2(&JsValue::from_str(message), raw),
            None => web_sys::console::error_1(&JsValue::from_str(message)),
        }
    }

    /// A pending `setTimeout`, cleared when dropped (a wait that is
    /// aborted leaves no timer behind).
    struct Timer(Option<i32>);

    impl Drop for Timer {
        fn drop(&mut self) {
            if let (Some(id), Some(w)) = (self.0, window()) {
                w.clear_timeout_with_handle(id);
            }
        }
    }

    pub async fn sleep_ms(ms: u32) {
        let Some(w) = window() else { return };
        let mut id = None;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            id = w
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, i32::try_from(ms).unwrap_or(i32::MAX))
                .ok();
        });
        let _timer = Timer(id);
        if id.is_some() {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
    }

    fn describe(e: JsValue) -> String {
        crate::gateway::RawJs(e).describe()
    }

    pub async fn fetch(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<super::Answer, String> {
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        let w = window().ok_or("no browser window")?;
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        let h = js_sys::Object::new();
        for (k, v) in headers {
            js_sys::Reflect::set(&h, &JsValue::from_str(k), &JsValue::from_str(v)).map_err(describe)?;
        }
        init.set_headers(&h);
        if let Some(b) = body {
            init.set_body(&JsValue::from_str(b));
        }
        let resp: web_sys::Response = JsFuture::from(w.fetch_with_str_and_init(url, &init))
            .await
            .map_err(describe)?
            .dyn_into()
            .map_err(describe)?;
        let text = JsFuture::from(resp.text().map_err(describe)?).await.map_err(describe)?;
        Ok(super::Answer {
            status: resp.status(),
            text: text.as_string().unwrap_or_default(),
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use wasm_bindgen::JsValue;

    pub struct Unavailable;

    impl Unavailable {
        pub fn get_item(&self, _: &str) -> Result<Option<String>, ()> {
            Ok(None)
        }
        pub fn set_item(&self, _: &str, _: &str) -> Result<(), ()> {
            Ok(())
        }
        pub fn remove_item(&self, _: &str) -> Result<(), ()> {
            Ok(())
        }
        pub fn search(&self) -> Result<String, ()> {
            Err(())
        }
        pub fn origin(&self) -> Result<String, ()> {
            Err(())
        }
        pub fn pathname(&self) -> Result<String, ()> {
            Err(())
        }
        pub fn hash(&self) -> Result<String, ()> {
            Err(())
        }
        pub fn history(&self) -> Result<Unavailable, ()> {
            Err(())
        }
        pub fn replace_state_with_url(&self, _: &JsValue, _: &str, _: Option<&str>) -> Result<(), ()> {
            Err(())
        }
    }

    pub fn window() -> Option<Unavailable> {
        None
    }

    pub fn storage() -> Option<Unavailable> {
        None
    }

    pub fn location() -> Option<Unavailable> {
        None
    }

    pub fn console_error(_: &str, _: Option<&JsValue>) {}

    pub async fn sleep_ms(_: u32) {}

    pub async fn fetch(_: &str, _: &str, _: &[(&str, &str)], _: Option<&str>) -> Result<super::Answer, String> {
        Err("no browser here (server-side rendering)".into())
    }
}
