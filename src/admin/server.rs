//! The admin server: one thread with blocking std sockets, one request per connection (the
//! answer carries `Connection: close`). It is the control plane: nothing here runs on a worker
//! or touches a worker's state; workers publish a `Snapshot` once a second into their
//! `Published` slot, and a scrape locks each slot once.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::metrics::{render_metrics, tally, Labels, Snapshot};
use crate::config::{Attributes, ConfigError, Target};
use crate::http::{self, encode, Limits, Method, RequestHead, Version};

/// Where one worker publishes its counters.
pub type Published = Arc<Mutex<Snapshot>>;

/// One target's health as the checker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    /// The group's index in the config.
    pub group_index: usize,
    pub group: String,
    pub target: SocketAddr,
    pub health: crate::balance::Health,
}

/// The checker's table, in config order.
pub type HealthTable = Arc<Mutex<Vec<HealthRow>>>;

/// What the admin API changes on the running balancer (the workers implement it).
pub trait Plane: Send + Sync {
    fn attributes(&self) -> Attributes;
    /// Sets every `(key, value)` or none; the error names the key, the value and what is
    /// allowed.
    fn set_attributes(&self, changes: &[(String, String)]) -> Result<Attributes, ConfigError>;
    fn target_groups(&self) -> Vec<GroupListing>;
    fn register(&self, group: &str, target: Target) -> Result<(), RefusedChange>;
    fn deregister(&self, group: &str, addr: SocketAddr) -> Result<(), RefusedChange>;
    /// A graceful stop; 409 while deletion protection is on.
    fn stop(&self) -> Result<(), RefusedChange>;
    /// Re-reads the config file; says what changed.
    fn reload(&self) -> Result<String, RefusedChange>;
    /// The labels of the metrics' per-listener and per-group series, as reloads left them.
    fn labels(&self) -> Labels;
    /// Once stopping, the admin API closes too (so a new process can take its address).
    fn is_stopping(&self) -> bool;
    /// The bearer token every request but `GET /health` must carry; `None`: none needed. A
    /// reload can change it.
    fn admin_token(&self) -> Option<String>;
}

/// A target group as `GET /target-groups` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// The group's slot: its `HealthRow::group_index` and `TargetCounts::group`.
    pub slot: usize,
    pub name: String,
    pub algorithm: &'static str,
    /// Each target, and whether it is draining.
    pub targets: Vec<(Target, bool)>,
}

/// Why the control plane refused a change: the status to answer and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedChange {
    pub status: u16,
    pub message: String,
}

impl RefusedChange {
    pub fn bad(message: String) -> Self {
        RefusedChange {
            status: 400,
            message,
        }
    }

    pub fn not_found(message: String) -> Self {
        RefusedChange {
            status: 404,
            message,
        }
    }

    pub fn conflict(message: String) -> Self {
        RefusedChange {
            status: 409,
            message,
        }
    }
}

/// Everything the admin thread serves from.
pub struct Admin {
    pub workers: Vec<Published>,
    pub plane: Arc<dyn Plane>,
    pub health: HealthTable,
}

/// A slow or silent admin client cannot hold the admin thread longer than this.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// An admin request head is small; anything larger is refused.
const MAX_HEAD: usize = 8 * 1024;
/// The largest request body the admin API reads (a JSON object of attributes or a target).
const MAX_BODY: usize = 64 * 1024;

impl Admin {
    /// Each worker's last published counters.
    fn snapshots(&self) -> Vec<Snapshot> {
        self.workers
            .iter()
            .map(|w| w.lock().map(|s| s.clone()).unwrap_or_default())
            .collect()
    }

    /// The checker's table as it is now.
    fn health_rows(&self) -> Vec<HealthRow> {
        self.health.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Binds `addr` and serves the admin API on a thread of its own; returns the bound address.
/// When the address is in use (a ringway being upgraded still holds it while it drains),
/// returns `None` and keeps trying in the background; the thread logs the address once bound.
pub fn start(addr: SocketAddr, admin: Admin) -> io::Result<Option<SocketAddr>> {
    let now = match TcpListener::bind(addr) {
        Ok(listener) => Some(listener),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            eprintln!(
                "ringway: admin address {addr} is in use (another ringway draining?); retrying until it is free"
            );
            None
        }
        Err(e) => return Err(e),
    };
    let bound = match &now {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    std::thread::Builder::new()
        .name("ringway-admin".into())
        .spawn(move || {
            let listener = match now {
                Some(listener) => listener,
                None => loop {
                    std::thread::sleep(RETRY_BIND);
                    if let Ok(listener) = TcpListener::bind(addr) {
                        eprintln!("ringway: admin on http://{addr}");
                        break listener;
                    }
                },
            };
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &admin);
                if admin.plane.is_stopping() {
                    break;
                }
            }
        })?;
    Ok(bound)
}

/// How often a balancer whose admin address is taken tries again.
const RETRY_BIND: Duration = Duration::from_millis(200);

fn serve(mut stream: TcpStream, admin: &Admin) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let limits = Limits {
        max_head: MAX_HEAD,
        ..Limits::default()
    };
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head = loop {
        match http::parse_request(&buf, &limits) {
            Ok(Some(head)) => break head,
            Ok(None) => {}
            Err(e) => return reply(&mut stream, e.status(), "text/plain", "bad request\n"),
        }
        match stream.read(&mut chunk)? {
            0 => return Ok(()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    };
    // `GET /health` says only "ok": load balancers and kubelets in front of ringway probe it
    // without the token. Everything else needs it.
    let open =
        head.method == Method::Get && http::split_target(head.target.of(&buf)).path == b"/health";
    if let Some(token) = admin.plane.admin_token().filter(|_| !open) {
        let given = http::header_value(&buf, &head.headers, b"authorization")
            .and_then(|v| v.strip_prefix(b"Bearer "));
        if !given.is_some_and(|g| same_secret(g, token.as_bytes())) {
            return reply(
                &mut stream,
                401,
                "text/plain",
                "a bearer token is required\n",
            );
        }
    }
    let body = match read_body(&mut stream, &mut buf, &head) {
        Ok(body) => body,
        Err(status) => {
            return reply_error(
                &mut stream,
                status,
                "the request body is missing or too large",
            );
        }
    };
    let path = http::split_target(head.target.of(&buf)).path;
    match (head.method, path) {
        (Method::Get, b"/metrics") => {
            let snapshots = admin.snapshots();
            let health = admin.health_rows();
            let text = render_metrics(&snapshots, &health, &admin.plane.labels());
            reply(&mut stream, 200, "text/plain; version=0.0.4", &text)
        }
        (Method::Get, b"/health") => reply(&mut stream, 200, "text/plain", "ok\n"),
        (Method::Get, b"/attributes") => {
            let json = attributes_json(&admin.plane.attributes());
            reply(&mut stream, 200, JSON, &json)
        }
        (Method::Patch, b"/attributes") => match parse_changes(&body) {
            Ok(changes) => match admin.plane.set_attributes(&changes) {
                Ok(now) => reply(&mut stream, 200, JSON, &attributes_json(&now)),
                Err(e) => reply_error(&mut stream, 400, &e.to_string()),
            },
            Err(message) => reply_error(&mut stream, 400, &message),
        },
        (Method::Post, b"/stop") => match admin.plane.stop() {
            Ok(()) => reply(&mut stream, 200, JSON, "{\"stopping\":true}\n"),
            Err(refused) => reply_error(&mut stream, refused.status, &refused.message),
        },
        (_, b"/stop") => reply_error(&mut stream, 405, "use POST on /stop"),
        (Method::Post, b"/reload") => match admin.plane.reload() {
            Ok(summary) => {
                let mut text = serde_json::json!({ "reloaded": summary }).to_string();
                text.push('\n');
                reply(&mut stream, 200, JSON, &text)
            }
            Err(refused) => reply_error(&mut stream, refused.status, &refused.message),
        },
        (_, b"/reload") => reply_error(&mut stream, 405, "use POST on /reload"),
        (Method::Get, b"/stats") => {
            let health = admin.health_rows();
            let snapshots = admin.snapshots();
            let groups = admin.plane.target_groups();
            let json = stats_json(&snapshots, &groups, &health);
            reply(&mut stream, 200, JSON, &json)
        }
        (Method::Get, b"/target-groups") => {
            let health = admin.health_rows();
            let snapshots = admin.snapshots();
            let mut json =
                target_groups_json(&admin.plane.target_groups(), &health, &snapshots).to_string();
            json.push('\n');
            reply(&mut stream, 200, JSON, &json)
        }
        (method, path) if path.starts_with(b"/target-groups/") => {
            let path = String::from_utf8_lossy(path).into_owned();
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let result = match (method, parts.as_slice()) {
                (Method::Post, ["target-groups", group, "targets"]) => {
                    parse_target(&body).and_then(|target| admin.plane.register(group, target))
                }
                (Method::Delete, ["target-groups", group, "targets", addr]) => {
                    match addr.parse::<SocketAddr>() {
                        Ok(addr) => admin.plane.deregister(group, addr),
                        Err(_) => Err(RefusedChange::bad(format!(
                            "{addr:?} is not a target address: write IP:PORT"
                        ))),
                    }
                }
                (_, ["target-groups", _, "targets", ..]) => Err(RefusedChange {
                    status: 405,
                    message: "POST …/targets registers, DELETE …/targets/ADDR deregisters".into(),
                }),
                _ => Err(RefusedChange::not_found("no such admin endpoint".into())),
            };
            match result {
                Ok(()) => reply(&mut stream, 200, JSON, "{\"ok\":true}\n"),
                Err(refused) => reply_error(&mut stream, refused.status, &refused.message),
            }
        }
        (_, b"/metrics" | b"/health" | b"/target-groups" | b"/stats") => {
            reply(&mut stream, 405, "text/plain", "only GET is allowed here\n")
        }
        (_, b"/attributes") => reply_error(&mut stream, 405, "use GET or PATCH on /attributes"),
        _ => reply(&mut stream, 404, "text/plain", "no such admin endpoint\n"),
    }
}

const JSON: &str = "application/json";

/// Reads the body a Content-Length announces into a `String`; `Err` is the status to answer.
fn read_body(stream: &mut TcpStream, buf: &mut Vec<u8>, head: &RequestHead) -> Result<String, u16> {
    let length = match http::request_framing(buf, head) {
        Ok(http::BodyFraming::ContentLength(n)) => n,
        Ok(http::BodyFraming::None) => 0,
        _ => return Err(411),
    };
    let length = usize::try_from(length).map_err(|_| 413u16)?;
    if length > MAX_BODY {
        return Err(413);
    }
    let end = head.len + length;
    let mut chunk = [0u8; 4096];
    while buf.len() < end {
        match stream.read(&mut chunk) {
            Ok(n @ 1..) => buf.extend_from_slice(&chunk[..n]),
            _ => return Err(400),
        }
    }
    String::from_utf8(buf[head.len..end].to_vec()).map_err(|_| 400)
}

/// The attributes as a JSON object of key to value (numbers, booleans, strings).
pub fn attributes_json(attrs: &Attributes) -> String {
    use crate::config::AttributeValue;
    let mut map = serde_json::Map::new();
    for (key, value) in attrs.entries() {
        let v = match value {
            AttributeValue::Seconds(s) => serde_json::Value::from(s),
            AttributeValue::Bool(b) => serde_json::Value::from(b),
            AttributeValue::Name(n) => serde_json::Value::from(n),
        };
        map.insert(key.to_string(), v);
    }
    let mut text = serde_json::Value::Object(map).to_string();
    text.push('\n');
    text
}

/// A registration: `{"address": "IP:PORT", "weight": N}` (weight optional, 1).
fn parse_target(body: &str) -> Result<Target, RefusedChange> {
    let bad = |m: String| RefusedChange::bad(m);
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let address = value
        .get("address")
        .and_then(|a| a.as_str())
        .ok_or_else(|| bad("the body needs \"address\": \"IP:PORT\"".into()))?;
    let address: SocketAddr = address
        .parse()
        .map_err(|_| bad(format!("address {address:?}: write IP:PORT")))?;
    let weight = match value.get("weight") {
        None => 1,
        Some(w) => w
            .as_u64()
            .filter(|&w| w <= 999)
            .ok_or_else(|| bad(format!("weight {w}: allowed 0..=999")))? as u32,
    };
    if let Some(extra) = value
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "address" && *k != "weight"))
    {
        return Err(bad(format!(
            "unknown key {extra:?}; allowed: \"address\", \"weight\""
        )));
    }
    Ok(Target { address, weight })
}

/// `GET /stats`: the workers' counters summed (published once a second) and the groups.
fn stats_json(workers: &[Snapshot], groups: &[GroupListing], health: &[HealthRow]) -> String {
    let mut sum = Snapshot::default();
    for w in workers {
        sum.add(w);
    }
    let classes: serde_json::Map<String, serde_json::Value> = (1..6)
        .map(|c| (format!("{c}xx"), sum.responses_by_class[c].into()))
        .collect();
    let mut codes: Vec<(u16, u64)> = Vec::new();
    for &(key, n) in &sum.requests_by {
        tally(&mut codes, key.status, n);
    }
    codes.sort_unstable();
    let codes: serde_json::Map<String, serde_json::Value> = codes
        .into_iter()
        .map(|(code, n)| (code.to_string(), n.into()))
        .collect();
    let causes: serde_json::Map<String, serde_json::Value> = crate::error::Cause::ALL
        .iter()
        .zip(&sum.errors_by_cause)
        .filter(|(_, &n)| n > 0)
        .map(|(c, &n)| (c.name().to_string(), n.into()))
        .collect();
    let mut tiers = serde_json::Map::new();
    for (reason, &n) in crate::desync::Reason::ALL.iter().zip(&sum.desync_by_reason) {
        let tier = reason.tier().name().to_string();
        let total = tiers
            .get(&tier)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        tiers.insert(tier, (total + n).into());
    }
    let groups = target_groups_json(groups, health, workers);
    let mut text = serde_json::json!({
        "workers": workers.len(),
        "connections": {
            "active": sum.active_connections,
            "new_total": sum.new_connections,
        },
        "requests_total": sum.requests,
        "requests_per_second": sum.requests_per_second,
        "responses": classes,
        "responses_by_code": codes,
        "errors_by_cause": causes,
        "desync_non_compliant_by_tier": tiers,
        "timers": sum.timers,
        "target_groups": groups,
    })
    .to_string();
    text.push('\n');
    text
}

/// `GET /target-groups`: each group, its algorithm and its targets with weight, health,
/// whether draining, and requests in flight and connections opened summed over workers.
fn target_groups_json(
    groups: &[GroupListing],
    health: &[HealthRow],
    workers: &[Snapshot],
) -> serde_json::Value {
    let mut sum = Snapshot::default();
    for w in workers {
        sum.add(w);
    }
    let groups: Vec<serde_json::Value> = groups
        .iter()
        .map(|g| {
            let i = g.slot;
            let targets: Vec<serde_json::Value> = g
                .targets
                .iter()
                .map(|(t, draining)| {
                    let row = health
                        .iter()
                        .find(|r| r.group_index == i && r.target == t.address);
                    let counts = sum
                        .targets
                        .iter()
                        .find(|c| c.group == i && c.target == t.address);
                    serde_json::json!({
                        "address": t.address.to_string(),
                        "weight": t.weight,
                        "health": row.map_or("unknown", |r| r.health.name()),
                        "draining": draining,
                        "outstanding_requests": counts.map_or(0, |c| c.outstanding),
                        "connects": counts.map_or(0, |c| c.connects),
                    })
                })
                .collect();
            serde_json::json!({ "name": g.name, "algorithm": g.algorithm, "targets": targets })
        })
        .collect();
    serde_json::Value::from(groups)
}

/// A PATCH body: a JSON object of key to value, each value a number, boolean or string.
fn parse_changes(body: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("the body must be a JSON object of attribute key to value".to_string());
    };
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => {
                    return Err(format!(
                        "attributes.{key:?} = {other}: a number, boolean or string is expected"
                    ))
                }
            };
            Ok((key, text))
        })
        .collect()
}

/// An error answer: `{"error": message}`.
fn reply_error(stream: &mut TcpStream, status: u16, message: &str) -> io::Result<()> {
    let mut text = serde_json::json!({ "error": message }).to_string();
    text.push('\n');
    reply(stream, status, JSON, &text)
}

fn reply(stream: &mut TcpStream, status: u16, content_type: &str, body: &str) -> io::Result<()> {
    let mut out = Vec::with_capacity(body.len() + 128);
    encode::status_line(
        &mut out,
        Version::Http11,
        status,
        encode::reason_phrase(status),
    );
    encode::header(&mut out, b"Content-Type", content_type.as_bytes());
    encode::content_length(&mut out, body.len() as u64);
    encode::header(&mut out, b"Connection", b"close");
    encode::end_head(&mut out);
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out)
}

/// Compares a given token with the configured one in time that depends only on their lengths.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    given.len() == secret.len()
        && given
            .iter()
            .zip(secret)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_compare_needs_every_byte() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cres", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }
}
