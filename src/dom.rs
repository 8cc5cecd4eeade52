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

/// Waits `ms` milliseconds (a browser timer; returns at once off the browser).
pub async fn sleep_ms(ms: u32) {
    imp::sleep_ms(ms).await
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

    pub async fn sleep_ms(ms: u32) {
        gloo_timers::future::TimeoutFuture::new(ms).await
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
}
