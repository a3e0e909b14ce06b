//! Filtering and paging of Service Manager lists (service-manager-api.md §3, §4).
//!
//! The paging token is opaque to clients; here it encodes the sequence number of the last item
//! served, so pages never repeat or skip an item even when the list changes in between. As
//! upstream (`base_controller.go`), it is standard base64 with `=` padding, so it holds `+`, `/`
//! and `=` and must be percent-encoded in the query (a raw `+` reads as a space).

use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::query::Query;
use super::{Params, error};
use crate::simulator::faults::json_response;

/// Upstream's maximum page size.
const MAX_ITEMS: usize = 200;
/// Bytes before the text of every token: their base64 starts `+/`, so every token has a `+` and a
/// `/` (and `=` padding for most sequence numbers).
const TOKEN_MAGIC: [u8; 2] = [0xfb, 0xff];
const TOKEN_PREFIX: &str = "calm-sim-page:";

/// Keeps the items matching `fieldQuery` and `labelQuery`.
fn filter(items: Vec<(u64, Value)>, params: &Params) -> Result<Vec<(u64, Value)>, Response> {
    let fields = match params.get("fieldQuery").filter(|q| !q.trim().is_empty()) {
        Some(q) => Some(Query::parse(q, false).map_err(|e| {
            error(
                400,
                "InvalidFieldQuery",
                format!("invalid field query '{q}': {e}"),
            )
        })?),
        None => None,
    };
    let labels = match params.get("labelQuery").filter(|q| !q.trim().is_empty()) {
        Some(q) => Some(Query::parse(q, true).map_err(|e| {
            error(
                400,
                "InvalidLabelQuery",
                format!("invalid label query '{q}': {e}"),
            )
        })?),
        None => None,
    };
    Ok(items
        .into_iter()
        .filter(|(_, v)| fields.as_ref().is_none_or(|q| q.matches_fields(v)))
        .filter(|(_, v)| {
            labels
                .as_ref()
                .is_none_or(|q| q.matches_labels(&v["labels"]))
        })
        .collect())
}

/// The page of `items` a list request asks for: filtered, then paged.
pub(crate) fn answer(
    items: Vec<(u64, Value)>,
    params: &Params,
    path: &str,
    default_size: usize,
) -> Result<Response, Response> {
    Ok(page(filter(items, params)?, params, path, default_size))
}

/// One page of `items` (already filtered) as `{"token"?, "num_items", "items"}`.
fn page(
    mut items: Vec<(u64, Value)>,
    params: &Params,
    path: &str,
    default_size: usize,
) -> Response {
    let size = match params.get("max_items") {
        None => default_size,
        Some(text) => match text.parse::<usize>() {
            Ok(n) => n.min(MAX_ITEMS),
            Err(_) => {
                return error(
                    400,
                    "InvalidMaxItems",
                    format!("max_items should be a non-negative integer, got '{text}'"),
                );
            }
        },
    };
    let after = match params.get("token").map(decode_token) {
        None => 0,
        Some(Some(seq)) => seq,
        Some(None) => return error(400, "TokenInvalid", "Invalid token provided"),
    };
    items.sort_by_key(|(seq, _)| *seq);
    let total = items.len();
    let rest: Vec<(u64, Value)> = items.into_iter().filter(|(seq, _)| *seq > after).collect();
    let more = rest.len() > size && size > 0;
    let served: Vec<(u64, Value)> = rest.into_iter().take(size).collect();
    let next = served
        .last()
        .filter(|_| more)
        .map(|(seq, _)| encode_token(*seq));
    let mut body = serde_json::Map::new();
    if let Some(token) = &next {
        body.insert("token".to_owned(), json!(token));
    }
    body.insert("num_items".to_owned(), json!(total));
    let items: Vec<Value> = served.into_iter().map(|(_, v)| v).collect();
    body.insert("items".to_owned(), Value::Array(items));
    let mut response = json_response(200, Value::Object(body));
    if let Some(token) = next {
        let link = format!("<{path}?{}>; rel=\"next\"", params.with_token(&token));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

fn encode_token(seq: u64) -> String {
    let mut bytes = TOKEN_MAGIC.to_vec();
    bytes.extend_from_slice(format!("{TOKEN_PREFIX}{seq}").as_bytes());
    STANDARD.encode(bytes)
}

fn decode_token(token: &str) -> Option<u64> {
    let bytes = STANDARD.decode(token).ok()?;
    String::from_utf8(bytes.strip_prefix(&TOKEN_MAGIC)?.to_vec())
        .ok()?
        .strip_prefix(TOKEN_PREFIX)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_padded_standard_base64_with_plus_and_slash() {
        for seq in [1, 12, 123, 1234] {
            let token = encode_token(seq);
            assert!(token.starts_with("+/"), "{token}");
            assert_eq!(token.len() % 4, 0, "{token}");
            assert_eq!(decode_token(&token), Some(seq));
            // What a server reads when a client sends the `+` unencoded.
            assert_eq!(decode_token(&token.replace('+', " ")), None);
        }
        assert!(encode_token(1).ends_with("="));
    }
}
