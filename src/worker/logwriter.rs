//! The access log as a worker writes it: each worker formats its requests' lines
//! (`accesslog`) into a buffer of its own and writes the buffer in one `write` when it passes
//! `FLUSH_AT` or once a second, so lines from different workers never interleave and the
//! request path makes no system call for the log.

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::accesslog::{write_line, Entry};
use crate::config::AccessLog;

/// A buffer this large is written out at once.
const FLUSH_AT: usize = 32 * 1024;

enum Sink {
    Stdout,
    File(File),
}

pub struct LogWriter {
    buf: RefCell<Vec<u8>>,
    sink: Sink,
}

impl LogWriter {
    /// The writer `access_log` asks for; `None` when it is off or the file cannot be opened
    /// (said once on stderr).
    pub fn open(config: &AccessLog, worker: usize) -> Option<LogWriter> {
        let sink = match config {
            AccessLog::Off => return None,
            AccessLog::Stdout => Sink::Stdout,
            AccessLog::File(path) => match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => Sink::File(f),
                Err(e) => {
                    eprintln!(
                        "ringway: worker {worker}: access log {}: {e}; logging off",
                        path.display()
                    );
                    return None;
                }
            },
        };
        Some(LogWriter {
            buf: RefCell::new(Vec::with_capacity(FLUSH_AT + 4096)),
            sink,
        })
    }

    pub fn push(&self, entry: &Entry<'_>) {
        let mut buf = self.buf.borrow_mut();
        write_line(&mut buf, entry);
        if buf.len() >= FLUSH_AT {
            self.write_out(&mut buf);
        }
    }

    /// Writes what is buffered (once a second, from the publish loop).
    pub fn flush(&self) {
        let mut buf = self.buf.borrow_mut();
        if !buf.is_empty() {
            self.write_out(&mut buf);
        }
    }

    fn write_out(&self, buf: &mut Vec<u8>) {
        // Whole lines in one write: an O_APPEND write to a file is not split by others'.
        let _ = match &self.sink {
            Sink::Stdout => std::io::stdout().lock().write_all(buf),
            Sink::File(f) => (&*f).write_all(buf),
        };
        buf.clear();
    }
}

/// What is known of the request being served on a connection, for its log line.
#[derive(Default)]
pub struct RequestLog {
    pub started: Option<Instant>,
    pub wall: (u64, u32),
    pub request: Vec<u8>,
    pub user_agent: Option<Vec<u8>>,
    pub classification: &'static str,
    pub classification_reason: &'static str,
    pub target: Option<SocketAddr>,
    pub sent_to_target: Option<Instant>,
    pub response_head: Option<Instant>,
    pub finished: Option<Instant>,
    pub target_status: Option<u16>,
    pub elb_status: Option<u16>,
    pub error_cause: Option<&'static str>,
    pub received: u64,
    pub sent: u64,
}

impl RequestLog {
    /// A request whose head (the first `head_len` bytes of `buf`) has just arrived.
    pub fn begin(buf: &[u8], head_len: usize) -> RequestLog {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let line_end = buf[..head_len.min(buf.len())]
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(head_len.min(buf.len()));
        RequestLog {
            started: Some(Instant::now()),
            wall: (now.as_secs(), now.subsec_micros()),
            request: buf[..line_end].to_vec(),
            classification: "-",
            classification_reason: "-",
            received: head_len as u64,
            ..RequestLog::default()
        }
    }

    /// The line, with the listener's address and the client's.
    pub fn entry(&self, client: SocketAddr, listener: Option<SocketAddr>) -> Entry<'_> {
        let between =
            |a: Option<Instant>, b: Option<Instant>| Some(b?.saturating_duration_since(a?));
        Entry {
            time: self.wall,
            client: Some(client),
            listener,
            target: self.target,
            request_processing: between(self.started, self.sent_to_target),
            target_processing: between(self.sent_to_target, self.response_head),
            response_processing: between(self.response_head, self.finished),
            elb_status_code: self.elb_status,
            target_status_code: self.target_status,
            received_bytes: self.received,
            sent_bytes: self.sent,
            request: &self.request,
            user_agent: self.user_agent.as_deref(),
            classification: self.classification,
            classification_reason: self.classification_reason,
            error_cause: self.error_cause,
        }
    }
}
