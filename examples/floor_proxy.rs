//! The floor of DESIGN.md §7: "a lean monoio proxy with a per-worker keep-alive pool". Not a
//! product — a yardstick for perf/ (`PROXIES=floor`), so ringway's CPU per request can be read
//! against the least a monoio proxy on this box can cost, in the same rounds.
//!
//! One thread, monoio on io_uring with COOP_TASKRUN + TASKRUN_FLAG (as ringway), mimalloc,
//! round robin over the backends, one keep-alive pool per backend. It forwards request heads
//! unchanged, handles Content-Length bodies only (both ways; a response to HEAD, or a 204/304,
//! that names a length would wait for a body: GET traffic only), no timeouts, no header
//! rules, no classification, and drops a connection on anything it does not understand.
//!
//!     cargo build --release --example floor_proxy
//!     target/release/examples/floor_proxy LISTEN_ADDR BACKEND_ADDR...

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Pools {
    backends: Vec<SocketAddr>,
    idle: Vec<RefCell<Vec<TcpStream>>>,
    next: Cell<usize>,
}

/// Where a complete message ends in `buf` (head plus Content-Length body), if it is complete;
/// None while more bytes are needed; Err when the head is not HTTP this proxy handles.
fn message_end(head_len: usize, headers: &[httparse::Header]) -> Result<usize, ()> {
    let mut body = 0usize;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            body = std::str::from_utf8(h.value)
                .map_err(|_| ())?
                .trim()
                .parse()
                .map_err(|_| ())?;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(());
        }
    }
    Ok(head_len + body)
}

fn request_end(buf: &[u8]) -> Result<Option<usize>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf).map_err(|_| ())? {
        httparse::Status::Complete(n) => message_end(n, req.headers).map(Some),
        httparse::Status::Partial => Ok(None),
    }
}

fn response_end(buf: &[u8]) -> Result<Option<usize>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf).map_err(|_| ())? {
        httparse::Status::Complete(n) => message_end(n, resp.headers).map(Some),
        httparse::Status::Partial => Ok(None),
    }
}

/// Reads into `buf` until `end(buf)` says a whole message is there; Ok(None) on EOF.
async fn read_message(
    stream: &mut TcpStream,
    mut buf: Vec<u8>,
    end: fn(&[u8]) -> Result<Option<usize>, ()>,
) -> (Result<Option<usize>, ()>, Vec<u8>) {
    loop {
        match end(&buf) {
            Ok(Some(n)) if n <= buf.len() => return (Ok(Some(n)), buf),
            Ok(_) => {}
            Err(()) => return (Err(()), buf),
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        let (len, cap) = (buf.len(), buf.capacity());
        let (res, slice) = stream.read(buf.slice_mut(len..cap)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => return (Ok(None), buf),
            Ok(_) => {}
            Err(_) => return (Err(()), buf),
        }
    }
}

async fn serve(mut client: TcpStream, pools: Rc<Pools>) {
    let mut req = Vec::with_capacity(4096);
    let mut resp = Vec::with_capacity(4096);
    loop {
        let (got, buf) = read_message(&mut client, req, request_end).await;
        req = buf;
        let Ok(Some(req_len)) = got else { return };
        let i = pools.next.get();
        pools.next.set((i + 1) % pools.backends.len());
        let pooled = pools.idle[i].borrow_mut().pop();
        let mut upstream = match pooled {
            Some(s) => s,
            None => match TcpStream::connect(pools.backends[i]).await {
                Ok(s) => s,
                Err(_) => return,
            },
        };
        let (res, slice) = upstream.write_all(req.slice(..req_len)).await;
        req = slice.into_inner();
        if res.is_err() {
            return;
        }
        req.drain(..req_len);
        resp.clear();
        let (got, buf) = read_message(&mut upstream, resp, response_end).await;
        resp = buf;
        let Ok(Some(resp_len)) = got else { return };
        if resp_len != resp.len() {
            return; // the backend sent more than one response: not ours to sort out
        }
        let (res, buf) = client.write_all(resp).await;
        resp = buf;
        if res.is_err() {
            return;
        }
        pools.idle[i].borrow_mut().push(upstream);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: floor_proxy LISTEN_ADDR BACKEND_ADDR...");
        std::process::exit(2);
    }
    let listen: SocketAddr = args[0].parse().expect("LISTEN_ADDR");
    let backends: Vec<SocketAddr> = args[1..]
        .iter()
        .map(|a| a.parse().expect("BACKEND_ADDR"))
        .collect();
    // FLOOR_DRIVER=epoll: monoio's epoll driver, for counting user-space instructions under
    // valgrind (which does not follow io_uring), as ringway's `--driver epoll`.
    if std::env::var("FLOOR_DRIVER").as_deref() == Ok("epoll") {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .build()
            .expect("epoll runtime");
        return rt.block_on(accept_loop(listen, backends));
    }
    let mut uring = io_uring06::IoUring::builder();
    uring.setup_coop_taskrun().setup_taskrun_flag();
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .uring_builder(uring)
        .with_entries(4096)
        .build()
        .expect("io_uring runtime");
    rt.block_on(accept_loop(listen, backends));
}

async fn accept_loop(listen: SocketAddr, backends: Vec<SocketAddr>) {
    let pools = Rc::new(Pools {
        idle: backends.iter().map(|_| RefCell::new(Vec::new())).collect(),
        backends,
        next: Cell::new(0),
    });
    let listener = TcpListener::bind(listen).expect("bind");
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        monoio::spawn(serve(client, pools.clone()));
    }
}
