//! Reading what a provider's SDK answered, field by field, without a JSON
//! tree: the browser hands over its own object and only the named fields
//! are read (tests read a `serde_json` object the same way).

// Read by the browser gateways (feature `browser`) and the tests.
#![cfg_attr(not(feature = "browser"), allow(dead_code))]

/// What an SDK promise resolved to, as a gateway reads it.
pub(crate) enum Answer<F> {
    /// `undefined` or `null` (a redirect flow leaves the page).
    Nothing,
    /// An object whose fields are read by name.
    Object(F),
    /// Anything else, rendered short for the error message.
    Other(String),
}

/// One field of an answer object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    /// Missing, `undefined` or `null`.
    Absent,
    /// A string.
    Str(String),
    /// A number that is an integer (within JavaScript's safe range).
    Int(i64),
    /// Another type, rendered short for the error message.
    Other(String),
}

impl Field {
    /// How the value reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Field::Absent => "nothing".into(),
            Field::Str(s) => short(format!("\"{s}\"")),
            Field::Int(n) => n.to_string(),
            Field::Other(s) => s.clone(),
        }
    }
}

/// An answer object's fields, read by name.
pub(crate) trait Fields: Sized {
    /// The field `name`.
    fn field(&self, name: &'static str) -> Field;
    /// The field `name` when it is an object.
    fn object(&self, name: &'static str) -> Option<Self>;
}

/// `Number.MAX_SAFE_INTEGER`: larger integers are not exact in a JS number.
pub(crate) const MAX_SAFE: u64 = (1 << 53) - 1;

/// `s` cut to 80 characters (with `…`) for an error message.
pub(crate) fn short(s: String) -> String {
    if s.chars().count() > 80 {
        let mut t: String = s.chars().take(80).collect();
        t.push('…');
        t
    } else {
        s
    }
}

#[cfg(test)]
pub(crate) mod json {
    //! The same reading over a `serde_json` value, for native tests.
    use super::{short, Answer, Field, Fields, MAX_SAFE};
    use serde_json::{Map, Value};

    impl Fields for &Map<String, Value> {
        fn field(&self, name: &'static str) -> Field {
            match self.get(name) {
                None | Some(Value::Null) => Field::Absent,
                Some(Value::String(s)) => Field::Str(s.clone()),
                Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i.unsigned_abs() <= MAX_SAFE) => {
                    Field::Int(n.as_i64().unwrap_or_default())
                }
                Some(other) => Field::Other(short(other.to_string())),
            }
        }

        fn object(&self, name: &'static str) -> Option<Self> {
            self.get(name).and_then(Value::as_object)
        }
    }

    /// `value` as a browser answer (`None`: `undefined`).
    pub(crate) fn answer(value: Option<&Value>) -> Answer<&Map<String, Value>> {
        match value {
            None | Some(Value::Null) => Answer::Nothing,
            Some(Value::Object(o)) => Answer::Object(o),
            Some(other) => Answer::Other(short(other.to_string())),
        }
    }
}
