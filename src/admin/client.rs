//! The CLI's side of the admin API: one blocking HTTP/1.1 request per call, bounded in time,
//! with the bearer token when one is given.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);
/// An admin answer larger than this is cut off (the biggest, /metrics, is a few KiB).
const MAX_ANSWER: u64 = 16 << 20;

/// Where the admin API is and how to authenticate.
pub struct AdminClient {
    pub addr: SocketAddr,
    pub token: Option<String>,
}

/// An answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The `error` field of a JSON error answer, or the body as it is.
    pub fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(str::to_string))
            .unwrap_or_else(|| self.body.trim().to_string())
    }
}

impl AdminClient {
    /// Sends `method path` with an optional JSON body. `Err` is one line for the operator.
    pub fn call(&self, method: &str, path: &str, json: Option<&str>) -> Result<Answer, String> {
        let unreachable =
            |e: std::io::Error| format!("cannot reach the admin API at {}: {e}", self.addr);
        let mut stream = TcpStream::connect_timeout(&self.addr, TIMEOUT).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(unreachable)?;
        stream
            .set_write_timeout(Some(TIMEOUT))
            .map_err(unreachable)?;
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(token) = &self.token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = json.unwrap_or("");
        if json.is_some() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(request.as_bytes()).map_err(unreachable)?;
        // The admin API closes after each answer.
        let mut raw = Vec::new();
        stream
            .take(MAX_ANSWER)
            .read_to_end(&mut raw)
            .map_err(unreachable)?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("the admin API at {} sent no valid answer", self.addr))?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("the admin API at {} sent no valid answer", self.addr))?;
        Ok(Answer {
            status,
            body: body.to_string(),
        })
    }
}
