//! How `@sap/xsenv` looks at values it reads: JavaScript truthiness, its test for JSON object
//! text, and (our addition) metadata compared without a trailing line break.

use serde_json::Value;

/// Whether text looks like a JSON object (xsenv's legacy test: first byte `{`, last non-space `}`).
pub(super) fn looks_like_json_object(text: &str) -> bool {
    text.starts_with('{') && text.trim_end().ends_with('}')
}

/// Removes one trailing line break (`\n` or `\r\n`), for metadata values read from files.
pub(super) fn trim_line_end(s: &str) -> &str {
    s.strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(s)
}

/// JavaScript truthiness of a JSON value.
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_one_line_end() {
        assert_eq!(trim_line_end("a\n"), "a");
        assert_eq!(trim_line_end("a\r\n"), "a");
        assert_eq!(trim_line_end("a\n\n"), "a\n");
        assert_eq!(trim_line_end("a"), "a");
    }
}
