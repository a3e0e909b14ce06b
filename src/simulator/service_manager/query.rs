//! `fieldQuery` and `labelQuery` (service-manager-api.md §3): parsing and matching.
//!
//! Criteria `<key> <op> <value>` joined by ` and `; operators `eq ne en in notin contains` (both)
//! and `gt ge lt le` (fields only); strings in single quotes with `''` escaping, read as
//! upstream reads them (`\x` kept as is, every leading and trailing `'` trimmed); only
//! booleans, numbers and ISO 8601 date-times unquoted (a bare word is a 400, as upstream). Keys
//! may be nested JSON paths (`context/subaccount_id`). Comparisons are on the text of the value
//! (numbers compare numerically for the ordering operators).

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    En,
    In,
    NotIn,
    Contains,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str, labels: bool) -> Option<Op> {
        let op = match word {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "en" => Op::En,
            "in" => Op::In,
            "notin" => Op::NotIn,
            "contains" => Op::Contains,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        };
        let ordering = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
        (!(labels && ordering)).then_some(op)
    }
}

/// One criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Criterion {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A parsed query: all criteria must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Query {
    criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                tokens.push(Token::Str(quoted(&mut chars)?));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

/// The rest of a quoted string, the opening quote already consumed, read as upstream does
/// (`pkg/query/Query.g4`, `listener.go`): the grammar accepts `\x` escapes and `''`, but the
/// value is the literal's text with `''` replaced by `'` and **every** leading and trailing `'`
/// trimmed; a `\x` escape is never unescaped.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let unterminated = || "unterminated string literal".to_owned();
    let mut raw = String::from("'");
    loop {
        match chars.next().ok_or_else(unterminated)? {
            '\\' => {
                raw.push('\\');
                raw.push(chars.next().ok_or_else(unterminated)?);
            }
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                raw.push_str("''");
            }
            '\'' => {
                raw.push('\'');
                break;
            }
            c => raw.push(c),
        }
    }
    Ok(raw.replace("''", "'").trim_matches('\'').to_owned())
}

impl Query {
    /// Parses a field query (`labels = false`) or a label query.
    pub fn parse(text: &str, labels: bool) -> Result<Query, String> {
        let mut tokens = tokenize(text)?.into_iter();
        let mut criteria = Vec::new();
        loop {
            let key = match tokens.next() {
                Some(Token::Word(k)) if valid_key(&k) => k,
                other => return Err(format!("expected a key, found {other:?}")),
            };
            let op = match tokens.next() {
                Some(Token::Word(w)) => {
                    Op::parse(&w, labels).ok_or_else(|| format!("unsupported operator '{w}'"))?
                }
                other => return Err(format!("expected an operator, found {other:?}")),
            };
            let values = match op {
                Op::In | Op::NotIn => list(&mut tokens)?,
                _ => vec![literal(tokens.next())?],
            };
            criteria.push(Criterion { key, op, values });
            match tokens.next() {
                None => return Ok(Query { criteria }),
                Some(Token::Word(w)) if w == "and" => {}
                Some(other) => return Err(format!("expected 'and', found {other:?}")),
            }
        }
    }

    /// Whether a resource's JSON matches every field criterion.
    pub fn matches_fields(&self, resource: &Value) -> bool {
        self.criteria.iter().all(|c| {
            let field = c.key.split('/').try_fold(resource, |v, k| v.get(k));
            field_matches(c, field.and_then(text))
        })
    }

    /// Whether a resource's labels match every label criterion.
    pub fn matches_labels(&self, labels: &Value) -> bool {
        self.criteria.iter().all(|c| {
            let values: Vec<String> = labels[&c.key]
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default();
            label_matches(c, &values)
        })
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.' | '\\'))
}

fn literal(token: Option<Token>) -> Result<String, String> {
    match token {
        Some(Token::Str(s)) => Ok(s),
        Some(Token::Word(s)) if unquoted_literal(&s) => Ok(s),
        Some(Token::Word(s)) => Err(format!(
            "'{s}' is not a literal: strings must be in single quotes"
        )),
        other => Err(format!("expected a value, found {other:?}")),
    }
}

/// Whether a bare word is a literal of the grammar: a boolean, a number or an ISO 8601 date-time
/// (everything else, strings included, must be single-quoted).
fn unquoted_literal(word: &str) -> bool {
    let number = |w: &str| {
        let digits = w.strip_prefix('-').unwrap_or(w);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        [int, frac]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    matches!(word, "true" | "false")
        || number(word)
        || chrono::DateTime::parse_from_rfc3339(word).is_ok()
}

fn list(tokens: &mut impl Iterator<Item = Token>) -> Result<Vec<String>, String> {
    if tokens.next() != Some(Token::Open) {
        return Err("expected '(' after in/notin".to_owned());
    }
    let mut values = vec![literal(tokens.next())?];
    loop {
        match tokens.next() {
            Some(Token::Comma) => values.push(literal(tokens.next())?),
            Some(Token::Close) => return Ok(values),
            other => return Err(format!("expected ',' or ')', found {other:?}")),
        }
    }
}

/// The comparable text of a JSON value; `None` for null.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn field_matches(c: &Criterion, field: Option<String>) -> bool {
    let first = &c.values[0];
    match (c.op, field) {
        (Op::En, None) => true,
        (_, None) => false,
        (Op::Eq | Op::En, Some(v)) => v == *first,
        (Op::Ne, Some(v)) => v != *first,
        (Op::In, Some(v)) => c.values.contains(&v),
        (Op::NotIn, Some(v)) => !c.values.contains(&v),
        (Op::Contains, Some(v)) => v.contains(first.as_str()),
        (op, Some(v)) => ordered(op, &v, first),
    }
}

fn ordered(op: Op, value: &str, literal: &str) -> bool {
    let ordering = match (value.parse::<f64>(), literal.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b),
        _ => Some(value.cmp(literal)),
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        Op::Gt => ordering.is_gt(),
        Op::Ge => ordering.is_ge(),
        Op::Lt => ordering.is_lt(),
        _ => ordering.is_le(),
    }
}

fn label_matches(c: &Criterion, values: &[String]) -> bool {
    let has = |v: &String| values.contains(v);
    match c.op {
        Op::Eq => has(&c.values[0]),
        Op::En => values.is_empty() || has(&c.values[0]),
        Op::Ne => !values.is_empty() && !has(&c.values[0]),
        Op::In => c.values.iter().any(has),
        Op::NotIn => !values.is_empty() && !c.values.iter().any(has),
        Op::Contains => values.iter().any(|v| v.contains(c.values[0].as_str())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_and_and_inside_values() {
        let q = Query::parse("name eq 'it''s and more' and plan in ('a', 'b')", false).unwrap();
        assert!(q.matches_fields(&json!({"name": "it's and more", "plan": "b"})));
        assert!(!q.matches_fields(&json!({"name": "it's", "plan": "b"})));
    }

    #[test]
    fn literals_are_read_as_upstream_reads_them() {
        // `\'` is not unescaped; leading and trailing quotes are all trimmed.
        let q = Query::parse(r"name eq 'x\'y'", false).unwrap();
        assert!(q.matches_fields(&json!({"name": r"x\'y"})));
        assert!(!q.matches_fields(&json!({"name": "x'y"})));
        let q = Query::parse("name eq '''a'''", false).unwrap();
        assert!(q.matches_fields(&json!({"name": "a"})));
        assert!(!q.matches_fields(&json!({"name": "'a'"})));
        // A backslash before the closing quote escapes it: the literal never ends.
        assert!(Query::parse(r"name eq 'a\'", false).is_err());
    }

    #[test]
    fn nested_keys_and_labels() {
        let q = Query::parse("context/zone eq 'z1'", false).unwrap();
        assert!(q.matches_fields(&json!({"context": {"zone": "z1"}})));
        let l = Query::parse("purpose in ('calm','x')", true).unwrap();
        assert!(l.matches_labels(&json!({"purpose": ["calm"]})));
        assert!(Query::parse("a gt 1", true).is_err());
    }

    #[test]
    fn bare_literals_are_booleans_numbers_and_date_times() {
        let q = Query::parse(
            "free eq true and n ge -2.5 and created_at gt 2024-01-01T00:00:00Z",
            false,
        )
        .unwrap();
        assert!(
            q.matches_fields(&json!({"free": true, "n": 3, "created_at": "2024-02-01T00:00:00Z"}))
        );
        assert!(Query::parse("created_at lt 2024-01-01T00:00:00.5+01:00", false).is_ok());
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "name",
            "name eq",
            "name foo 'x'",
            "name eq 'x' or b eq 'y'",
            "a eq 'x",
            "name eq calm",
            "name in ('a', b)",
            "n ge 1.",
        ] {
            assert!(Query::parse(bad, false).is_err(), "{bad}");
        }
    }
}
