//! Reading V1 request fields (the SDK's `request_pay` params and REST bodies)
//! out of a JSON object, with messages naming the field. Callers wrap the
//! message in their own error shape (the SDK callback or the REST envelope).

use serde_json::Value;

use super::records::V1Buyer;
use crate::webhook::check_target;

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get(name).filter(|x| !x.is_null())
}

/// A string field, if given (`null` counts as absent).
pub(crate) fn opt_str(v: &Value, name: &str) -> Result<Option<String>, String> {
    match field(v, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// A required, non-blank string field.
pub(crate) fn req_str(v: &Value, name: &str) -> Result<String, String> {
    match opt_str(v, name)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(format!("{name} is required")),
    }
}

/// A string field of at most `max` characters.
pub(crate) fn max_chars(value: Option<String>, name: &str, max: usize) -> Result<Option<String>, String> {
    match value {
        Some(s) if s.chars().count() > max => Err(format!("{name} must be at most {max} characters")),
        other => Ok(other),
    }
}

/// An integer amount. A JSON number must be whole; with `lenient` (REST
/// bodies, which V1 also takes form-encoded) a decimal string is accepted too.
pub(crate) fn opt_amount(v: &Value, name: &str, lenient: bool) -> Result<Option<i64>, String> {
    let bad = || format!("{name} must be an integer number");
    match field(v, name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            _ => Err(bad()),
        },
        Some(Value::String(s)) if lenient => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// `notice_url`: a string or an array of strings, each an http(s) URL on
/// loopback unless `allow_external`.
pub(crate) fn notice_urls(v: &Value, allow_external: bool) -> Result<Vec<String>, String> {
    let urls: Vec<(String, String)> = match field(v, "notice_url") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![("notice_url".to_owned(), s.clone())],
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::String(s) => Ok((format!("notice_url[{i}]"), s.clone())),
                _ => Err("notice_url must be a string or an array of strings".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("notice_url must be a string or an array of strings".to_owned()),
    };
    for (name, url) in &urls {
        check_target(name, url, allow_external)?;
    }
    Ok(urls.into_iter().map(|(_, u)| u).collect())
}

/// `buyer_name`, `buyer_email`, `buyer_tel`, `buyer_addr`, `buyer_postcode`.
pub(crate) fn buyer(v: &Value) -> Result<V1Buyer, String> {
    Ok(V1Buyer {
        name: opt_str(v, "buyer_name")?,
        email: opt_str(v, "buyer_email")?,
        tel: opt_str(v, "buyer_tel")?,
        addr: opt_str(v, "buyer_addr")?,
        postcode: opt_str(v, "buyer_postcode")?,
    })
}

/// `custom_data` as V1 stores it: a string as given, anything else as its JSON text.
pub(crate) fn custom_data(v: &Value) -> Option<String> {
    match field(v, "custom_data")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// TossPay's cash-receipt option values.
pub(crate) const CASH_RECEIPT_OPTIONS: &[&str] = &["GENERAL", "CULTURE", "PUBLIC_TP"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_whole_numbers_and_strings_only_when_lenient() {
        let v = json!({"a": 1000, "b": 1000.0, "c": 10.5, "d": "1000", "e": true});
        assert_eq!(opt_amount(&v, "a", false), Ok(Some(1000)));
        assert_eq!(opt_amount(&v, "b", false), Ok(Some(1000)));
        assert!(opt_amount(&v, "c", true).is_err());
        assert!(opt_amount(&v, "d", false).is_err());
        assert_eq!(opt_amount(&v, "d", true), Ok(Some(1000)));
        assert!(opt_amount(&v, "e", true).is_err());
        assert_eq!(opt_amount(&v, "missing", false), Ok(None));
    }

    #[test]
    fn notice_url_is_a_string_or_an_array_of_loopback_urls() {
        let one = json!({"notice_url": "http://127.0.0.1:9/hook"});
        assert_eq!(notice_urls(&one, false).unwrap(), vec!["http://127.0.0.1:9/hook"]);
        let many = json!({"notice_url": ["http://127.0.0.1:9/a", "http://example.com/b"]});
        let e = notice_urls(&many, false).unwrap_err();
        assert!(e.starts_with("notice_url[1] must be a loopback URL"), "{e}");
        assert_eq!(notice_urls(&many, true).unwrap().len(), 2);
        assert!(notice_urls(&json!({"notice_url": 5}), true).is_err());
    }
}
