//! Reading the `Retry-After` header in every form the platform is known to send.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// How long a `Retry-After` header asks to wait, measured from `now`.
///
/// Pure. Understands:
/// - delta-seconds (`120`, also `1.5`), the HTTP standard and Cloud Foundry's form;
/// - an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`, also the obsolete RFC 850 and asctime
///   forms), the form SAP documents for the Service Manager;
/// - Go's `time.String` form (`2024-11-11 14:59:33 +0000 UTC`, with optional fractional seconds,
///   any numeric offset and a trailing `m=+…` monotonic reading), which the Service Manager
///   has been seen to send;
/// - RFC 3339 (`2024-11-11T14:59:33Z`).
///
/// A time in the past gives `Some(Duration::ZERO)` (retry now); anything unreadable gives `None`
/// (the caller falls back to its own backoff).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 128 {
        return None;
    }
    if let Some(delay) = parse_delta(value) {
        return Some(delay);
    }
    let at = parse_http_date(value)
        .or_else(|| parse_go_time(value))
        .or_else(|| DateTime::parse_from_rfc3339(value).ok().map(|d| d.to_utc()))?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse_delta(value: &str) -> Option<Duration> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate rather than fail: the caller caps the wait anyway.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let is_decimal = value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && value.bytes().filter(|b| *b == b'.').count() == 1
        && value.bytes().any(|b| b.is_ascii_digit());
    if is_decimal {
        let secs: f64 = value.parse().ok()?;
        return Duration::try_from_secs_f64(secs).ok();
    }
    None
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc2822(value) {
        return Some(d.to_utc());
    }
    // RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
    let without_gmt = value.strip_suffix(" GMT").unwrap_or(value);
    for format in ["%A, %d-%b-%y %H:%M:%S", "%a %b %e %H:%M:%S %Y"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(without_gmt, format) {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    None
}

fn parse_go_time(value: &str) -> Option<DateTime<Utc>> {
    // `2024-11-11 14:59:33.123 +0000 UTC m=+0.001`: drop the monotonic reading and the zone
    // abbreviation, keep the numeric offset.
    let mut parts: Vec<&str> = value.split_whitespace().collect();
    if parts.last().is_some_and(|p| p.starts_with("m=")) {
        parts.pop();
    }
    if parts.len() == 4 && parts[3].chars().all(|c| c.is_ascii_alphabetic()) {
        parts.pop();
    }
    match parts.as_slice() {
        [date, time, offset] => {
            let text = format!("{date} {time} {offset}");
            DateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f %z")
                .ok()
                .map(|d| d.to_utc())
        }
        [date, time] => {
            let text = format!("{date} {time}");
            NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|n| Utc.from_utc_datetime(&n))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 11, 11, 14, 59, 0).unwrap()
    }

    #[test]
    fn table() {
        let s = |n: u64| Some(Duration::from_secs(n));
        let cases: &[(&str, Option<Duration>)] = &[
            ("0", s(0)),
            ("120", s(120)),
            (" 7 ", s(7)),
            ("1.5", Some(Duration::from_millis(1500))),
            (
                "99999999999999999999999",
                Some(Duration::from_secs(u64::MAX)),
            ),
            ("Mon, 11 Nov 2024 14:59:33 GMT", s(33)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", s(0)),
            ("Monday, 11-Nov-24 15:00:00 GMT", s(60)),
            ("Mon Nov 11 15:01:00 2024", s(120)),
            ("2024-11-11 14:59:33 +0000 UTC", s(33)),
            (
                "2024-11-11 14:59:33.500 +0000 UTC",
                Some(Duration::from_millis(33_500)),
            ),
            ("2024-11-11 15:59:40 +0100 CET", s(40)),
            ("2024-11-11 14:59:33 +0000 UTC m=+0.000123", s(33)),
            ("2024-11-11 14:59:33", s(33)),
            ("2024-11-11 14:00:00 +0000 UTC", s(0)),
            ("2024-11-11T14:59:10Z", s(10)),
            ("", None),
            ("soon", None),
            ("-5", None),
            ("1.2.3", None),
            (".", None),
            ("NaN", None),
            ("inf", None),
            ("Mon, 99 Nov 2024 14:59:33 GMT", None),
            ("2024-13-11 14:59:33 +0000 UTC", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_retry_after(input, now()), *expected, "{input:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_text(value in ".{0,80}") {
            let _ = parse_retry_after(&value, now());
        }

        #[test]
        fn never_panics_on_date_like_text(value in "[0-9A-Za-z :+.,-]{0,40}") {
            let _ = parse_retry_after(&value, now());
        }

        #[test]
        fn delta_seconds_round_trip(secs in 0u64..10_000_000) {
            proptest::prop_assert_eq!(
                parse_retry_after(&secs.to_string(), now()),
                Some(Duration::from_secs(secs))
            );
        }
    }
}

#[cfg(test)]
mod examples {
    use super::*;

    #[test]
    fn retry_after_reads_every_form() {
        use chrono::{TimeZone, Utc};
        use std::time::Duration;
        let now = Utc.with_ymd_and_hms(2024, 11, 11, 14, 59, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("2024-11-11 14:59:33 +0000 UTC", now),
            Some(Duration::from_secs(33))
        );
        assert_eq!(
            parse_retry_after("Mon, 11 Nov 2024 14:59:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
