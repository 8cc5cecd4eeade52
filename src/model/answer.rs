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
    /// Another type, rendered short for the error message.
    Other(String),
}

/// An answer object's fields, read by name.
pub(crate) trait Fields {
    /// The field `name`.
    fn field(&self, name: &'static str) -> Field;
}

impl<F: Fields + ?Sized> Fields for &F {
    fn field(&self, name: &'static str) -> Field {
        (**self).field(name)
    }
}

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
    use super::{short, Answer, Field, Fields};
    use serde_json::{Map, Value};

    impl Fields for Map<String, Value> {
        fn field(&self, name: &'static str) -> Field {
            match self.get(name) {
                None | Some(Value::Null) => Field::Absent,
                Some(Value::String(s)) => Field::Str(s.clone()),
                Some(other) => Field::Other(short(other.to_string())),
            }
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
