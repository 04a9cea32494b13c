//! The access log's line (DESIGN.md §6): one JSON object per request with ALB's field names
//! where ALB has the field. Pure: the caller gives the wall-clock time and the durations; the
//! worker buffers the lines and writes them (`worker::logwriter`).

use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// What one line says. `None` is written as ALB writes a missing value: `-` for text and
/// `-1` for numbers.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    /// Seconds and microseconds since the Unix epoch, when the request head arrived.
    pub time: (u64, u32),
    pub client: Option<SocketAddr>,
    pub listener: Option<SocketAddr>,
    pub target: Option<SocketAddr>,
    /// From the head's arrival to the request's head being sent to the target.
    pub request_processing: Option<Duration>,
    /// From the request sent to the target's response head.
    pub target_processing: Option<Duration>,
    /// From the target's response head to the last byte sent to the client.
    pub response_processing: Option<Duration>,
    pub elb_status_code: Option<u16>,
    pub target_status_code: Option<u16>,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// The request line, as received (escaped on output).
    pub request: &'a [u8],
    pub user_agent: Option<&'a [u8]>,
    pub classification: &'a str,
    pub classification_reason: &'a str,
    /// Why ringway answered itself (`X-Ringway-Error`), if it did.
    pub error_cause: Option<&'a str>,
}

/// Appends the entry as one JSON line.
pub fn write_line(out: &mut Vec<u8>, e: &Entry<'_>) {
    let mut s = String::with_capacity(512);
    let (secs, micros) = e.time;
    let (y, mo, d, h, mi, sec) = civil(secs);
    let _ = write!(
        s,
        "{{\"time\":\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}.{micros:06}Z\""
    );
    field_addr(&mut s, "client", e.client);
    field_addr(&mut s, "listener", e.listener);
    field_addr(&mut s, "target", e.target);
    field_secs(&mut s, "request_processing_time", e.request_processing);
    field_secs(&mut s, "target_processing_time", e.target_processing);
    field_secs(&mut s, "response_processing_time", e.response_processing);
    field_code(&mut s, "elb_status_code", e.elb_status_code);
    field_code(&mut s, "target_status_code", e.target_status_code);
    let _ = write!(
        s,
        ",\"received_bytes\":{},\"sent_bytes\":{}",
        e.received_bytes, e.sent_bytes
    );
    field_text(&mut s, "request", Some(e.request));
    field_text(&mut s, "user_agent", e.user_agent);
    field_text(&mut s, "classification", Some(e.classification.as_bytes()));
    field_text(
        &mut s,
        "classification_reason",
        Some(e.classification_reason.as_bytes()),
    );
    field_text(&mut s, "error_cause", e.error_cause.map(str::as_bytes));
    s.push_str("}\n");
    out.extend_from_slice(s.as_bytes());
}

fn field_addr(s: &mut String, name: &str, v: Option<SocketAddr>) {
    match v {
        Some(a) => {
            let _ = write!(s, ",\"{name}\":\"{a}\"");
        }
        None => {
            let _ = write!(s, ",\"{name}\":\"-\"");
        }
    }
}

fn field_secs(s: &mut String, name: &str, v: Option<Duration>) {
    match v {
        Some(d) => {
            let _ = write!(s, ",\"{name}\":{:.6}", d.as_secs_f64());
        }
        None => {
            let _ = write!(s, ",\"{name}\":-1");
        }
    }
}

fn field_code(s: &mut String, name: &str, v: Option<u16>) {
    match v {
        Some(c) => {
            let _ = write!(s, ",\"{name}\":{c}");
        }
        None => {
            let _ = write!(s, ",\"{name}\":\"-\"");
        }
    }
}

/// A JSON string of client bytes: quotes, backslashes, control bytes and non-ASCII bytes are
/// escaped (`\u00XX` per byte), so a hostile request line cannot break the line or the JSON.
fn field_text(s: &mut String, name: &str, v: Option<&[u8]>) {
    let _ = write!(s, ",\"{name}\":\"");
    match v {
        None => s.push('-'),
        Some(bytes) => {
            for &b in bytes.iter().take(MAX_TEXT) {
                match b {
                    b'"' => s.push_str("\\\""),
                    b'\\' => s.push_str("\\\\"),
                    0x20..=0x7e => s.push(b as char),
                    _ => {
                        let _ = write!(s, "\\u{b:04x}");
                    }
                }
            }
        }
    }
    s.push('"');
}

/// Longest text field written, in bytes (a request line can be 16 KiB).
const MAX_TEXT: usize = 2048;

/// Seconds since the Unix epoch as (year, month, day, hour, minute, second), UTC (Howard
/// Hinnant's days-to-civil algorithm).
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, mi, s) = (
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    );
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, h, mi, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_795_761_296), (2026, 11, 27, 6, 34, 56));
    }

    #[test]
    fn a_line_is_one_json_object_with_alb_field_names() {
        let mut out = Vec::new();
        let e = Entry {
            time: (1_795_761_296, 42),
            client: Some("10.0.0.1:5000".parse().unwrap()),
            target_processing: Some(Duration::from_micros(1500)),
            elb_status_code: Some(502),
            request: b"GET /\"x\"\x01\xff HTTP/1.1",
            classification: "Compliant",
            classification_reason: "-",
            error_cause: Some("invalid-response"),
            ..Entry::default()
        };
        write_line(&mut out, &e);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["time"], "2026-11-27T06:34:56.000042Z");
        assert_eq!(v["client"], "10.0.0.1:5000");
        assert_eq!(v["target"], "-");
        assert_eq!(v["request_processing_time"], -1);
        assert_eq!(v["target_processing_time"], 0.0015);
        assert_eq!(v["elb_status_code"], 502);
        assert_eq!(v["target_status_code"], "-");
        assert_eq!(v["request"], "GET /\"x\"\u{1}\u{ff} HTTP/1.1");
        assert_eq!(v["user_agent"], "-");
        assert_eq!(v["error_cause"], "invalid-response");
    }
}
