//! The one way every gateway talks to an SDK: a request goes over as JSON
//! text handed to `JSON.parse` (one serde back-end for the whole crate), a
//! method of the SDK's global is called, and its answer is read field by
//! field off the JS object (no JSON tree in wasm).

use super::{load_script, LoaderOptions, RawJs, SdkError};
use crate::model::answer::{short, Answer, Field, Fields, MAX_SAFE};
use futures::future::LocalBoxFuture;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// `value` as a plain JS object (`JSON.parse` of its JSON).
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, SdkError> {
    let json = serde_json::to_string(value).map_err(|e| SdkError::Serialize(e.to_string()))?;
    parse(&json)
}

#[cfg(target_arch = "wasm32")]
fn parse(json: &str) -> Result<JsValue, SdkError> {
    js_sys::JSON::parse(json).map_err(|e| SdkError::Serialize(RawJs(e).describe()))
}

#[cfg(not(target_arch = "wasm32"))]
fn parse(_json: &str) -> Result<JsValue, SdkError> {
    Err(SdkError::NotAvailable)
}

/// A JS object whose fields are read by name.
pub(crate) struct JsObject(pub JsValue);

impl JsObject {
    fn get(&self, name: &str) -> JsValue {
        js_sys::Reflect::get(&self.0, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    }
}

impl Fields for JsObject {
    fn field(&self, name: &'static str) -> Field {
        let value = self.get(name);
        if value.is_undefined() || value.is_null() {
            Field::Absent
        } else if let Some(s) = value.as_string() {
            Field::Str(s)
        } else if let Some(n) = value
            .as_f64()
            .filter(|n| n.fract() == 0.0 && n.abs() <= MAX_SAFE as f64)
        {
            Field::Int(n as i64)
        } else {
            Field::Other(short(RawJs(value).describe()))
        }
    }

    fn object(&self, name: &'static str) -> Option<Self> {
        let value = self.get(name);
        (value.is_object() && !js_sys::Array::is_array(&value)).then_some(JsObject(value))
    }
}

/// What the SDK resolved to, ready to be read.
pub(crate) fn answer(raw: &JsValue) -> Answer<JsObject> {
    if raw.is_undefined() || raw.is_null() {
        Answer::Nothing
    } else if raw.is_object() && !js_sys::Array::is_array(raw) {
        Answer::Object(JsObject(raw.clone()))
    } else {
        Answer::Other(short(RawJs(raw.clone()).describe()))
    }
}

/// A string property of a thrown value or an error object.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn string_field(raw: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(raw, &JsValue::from_str(key)).ok()?.as_string()
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
/// What the SDK threw or rejected with, typed; `already_paid` says whether
/// a code means "this order is already paid" for this provider.
pub(crate) fn rejected(raw: JsValue, already_paid: fn(Option<&str>) -> bool) -> SdkError {
    let (code, message) = match raw.as_string() {
        Some(s) => (None, s),
        // `message` of an Error is not enumerable: read it by name.
        None => (
            string_field(&raw, "code"),
            string_field(&raw, "message").unwrap_or_else(|| RawJs(raw.clone()).describe()),
        ),
    };
    SdkError::Rejected {
        already_paid: already_paid(code.as_deref()),
        code,
        message,
        raw: RawJs(raw),
    }
}

/// Calls `window[global][method](arg)` and awaits what it returns (a
/// promise or a value), loading the SDK first if needed. When the script is
/// already loaded the SDK is called right away, before the first await:
/// inside the click that started it (popup blockers and the click-to-window
/// time depend on that).
pub(crate) fn call(
    loader: &LoaderOptions,
    method: &'static str,
    arg: &JsValue,
    already_paid: fn(Option<&str>) -> bool,
) -> LocalBoxFuture<'static, Result<JsValue, SdkError>> {
    match call_loaded(loader, method, arg, already_paid) {
        Ok(answer) => Box::pin(answer),
        Err(SdkError::NotDefined { .. }) => {
            let (loader, arg) = (loader.clone(), arg.clone());
            Box::pin(async move {
                load_script(&loader).await?;
                call_loaded(&loader, method, &arg, already_paid)?.await
            })
        }
        Err(e) => Box::pin(std::future::ready(Err(e))),
    }
}

#[cfg(target_arch = "wasm32")]
fn call_loaded(
    loader: &LoaderOptions,
    method: &'static str,
    arg: &JsValue,
    already_paid: fn(Option<&str>) -> bool,
) -> Result<impl std::future::Future<Output = Result<JsValue, SdkError>>, SdkError> {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::JsCast;

    let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
    let not_defined = || SdkError::NotDefined {
        url: loader.url.clone(),
        global: loader.global,
        method,
    };
    let global = super::script::global(&window, loader.global).ok_or_else(not_defined)?;
    let function = Reflect::get(&global, &JsValue::from_str(method))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(not_defined)?;
    let returned = function
        .call1(&global, arg)
        .map_err(|raw| rejected(raw, already_paid))?;
    let settled = wasm_bindgen_futures::JsFuture::from(Promise::resolve(&returned));
    Ok(async move { settled.await.map_err(|raw| rejected(raw, already_paid)) })
}

/// Off the browser there is nothing to call; loading reports why.
#[cfg(not(target_arch = "wasm32"))]
fn call_loaded(
    loader: &LoaderOptions,
    method: &'static str,
    _arg: &JsValue,
    _already_paid: fn(Option<&str>) -> bool,
) -> Result<std::future::Ready<Result<JsValue, SdkError>>, SdkError> {
    Err(SdkError::NotDefined {
        url: loader.url.clone(),
        global: loader.global,
        method,
    })
}
