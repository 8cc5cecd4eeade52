//! JSON the SDK takes as is (`any`, `Record<string, any>` in its types):
//! kept as JSON text, so the request is written out without building a
//! JSON tree (and without linking one into the browser build).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Any JSON value, kept as text.
///
/// ```
/// use portone_checkout::model::Json;
/// let installment = Json::new(&[2, 3, 6]).expect("serializable");
/// assert_eq!(installment.as_str(), "[2,3,6]");
/// ```
#[derive(Clone)]
pub struct Json(Box<RawValue>);

impl Json {
    /// `value` as JSON.
    pub fn new(value: &(impl Serialize + ?Sized)) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// JSON text, checked to be one valid JSON value.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.trim().to_owned()).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a tree, so this also works where serde buffers the input
        // (flattened maps); requests are built far more often than read.
        let value = serde_json::Value::deserialize(d)?;
        Json::new(&value).map_err(serde::de::Error::custom)
    }
}

/// A JSON object, kept as text (`customData`).
///
/// ```
/// use portone_checkout::model::JsonObject;
/// #[derive(serde::Serialize)]
/// struct Cart { cart_id: &'static str }
/// let data = JsonObject::new(&Cart { cart_id: "cart-9" }).expect("an object");
/// assert_eq!(data.as_str(), r#"{"cart_id":"cart-9"}"#);
/// assert!(JsonObject::new(&42).is_err());
/// ```
#[derive(Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct JsonObject(Json);

impl JsonObject {
    /// `value` as a JSON object; an error if it serializes to anything else.
    pub fn new(value: &(impl Serialize + ?Sized)) -> Result<Self, serde_json::Error> {
        Self::check(Json::new(value)?)
    }

    /// JSON text, checked to be one JSON object.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        Self::check(Json::parse(text)?)
    }

    fn check(json: Json) -> Result<Self, serde_json::Error> {
        if json.as_str().starts_with('{') {
            Ok(Self(json))
        } else {
            Err(serde::ser::Error::custom("expected a JSON object"))
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::check(Json::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Other PGs' objects by key, written into the enclosing object
/// (`bypass.nice_v2`, `bypass.kcp_v2`, ...).
pub type ByKey = std::collections::BTreeMap<String, Json>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_written_verbatim_inside_a_request() {
        #[derive(Serialize)]
        struct Req {
            data: JsonObject,
            any: Json,
        }
        let req = Req {
            data: JsonObject::parse(r#"{"a": 1}"#).expect("object"),
            any: Json::parse(" [1, 2] ").expect("json"),
        };
        assert_eq!(
            serde_json::to_string(&req).expect("serializes"),
            r#"{"data":{"a": 1},"any":[1, 2]}"#
        );
    }

    #[test]
    fn invalid_json_and_non_objects_are_refused() {
        assert!(Json::parse("{").is_err());
        assert!(JsonObject::parse("[1]").is_err());
        assert!(JsonObject::new(&"text").is_err());
    }
}
