#!/usr/bin/env python3
"""Memory cost of idle keep-alive client connections on a proxy.

    python3 perf/idle_conns.py --addr 127.0.0.1:8082 --pid PID [--conns 10000] [--timeout 120]

Reads the proxy's RSS (VmRSS from /proc/PID/status, summed over PID and its descendants,
so an nginx master pid also counts its worker), then opens --conns client connections,
sends one keep-alive `GET /` on each and reads the whole response, then leaves them all
idle for --settle seconds and reads the RSS again. Reports both and the increase per
connection in KiB; then closes everything and reads the RSS once more.

Needs one file descriptor per connection: RLIMIT_NOFILE is raised (soft up to hard, and
hard too when allowed); if that is not enough it says so and opens as many as fit.
Bounded: the whole run stops at --timeout seconds (connections opened so far are measured
and closed). Only the given address is contacted. Exit 1 if a connection fails.
"""
import argparse
import json
import os
import resource
import socket
import sys
import time

RESERVED_FDS = 32  # stdin/out/err, /proc reads, Python's own


def rss_kib(pid):
    """VmRSS in KiB of pid and every descendant, and the per-process breakdown."""
    per = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status", encoding="utf-8") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        per[p] = int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="utf-8") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sum(per.values()), per


def raise_nofile(wanted):
    """Raise RLIMIT_NOFILE to cover `wanted` descriptors; return the usable count."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if hard != resource.RLIM_INFINITY and hard < wanted:
            try:  # needs CAP_SYS_RESOURCE
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
                target = None
            except (ValueError, OSError) as e:
                print(f"idle_conns: cannot raise RLIMIT_NOFILE hard limit {hard} to {wanted} "
                      f"({e}); using {hard}", file=sys.stderr)
        if target is not None:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            except (ValueError, OSError) as e:
                print(f"idle_conns: cannot raise RLIMIT_NOFILE soft limit {soft} to {target} "
                      f"({e})", file=sys.stderr)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(f"idle_conns: RLIMIT_NOFILE is now soft={soft} hard={hard}")
    return wanted if soft == resource.RLIM_INFINITY else soft


def read_response(sock, deadline):
    """Read one HTTP/1.1 response; return (status, keeps_alive). Raises on error/timeout."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += recv_some(sock, deadline)
        if len(buf) > 65536:
            raise ValueError("response head over 64 KiB")
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "chunked" in headers.get("transfer-encoding", ""):
        while not body.endswith(b"0\r\n\r\n"):  # enough for the small bodies used here
            body += recv_some(sock, deadline)
    else:
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            body += recv_some(sock, deadline)
    keeps_alive = "close" not in headers.get("connection", "")
    return status, keeps_alive


def recv_some(sock, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline reached")
    sock.settimeout(min(left, 10.0))
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("closed by the proxy")
    return data


def still_open(sock):
    """True if the proxy has not closed this idle connection (nothing readable, no EOF)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--addr", required=True, help="proxy HOST:PORT, e.g. 127.0.0.1:8082")
    ap.add_argument("--pid", type=int, required=True,
                    help="proxy pid (its descendants, e.g. nginx workers, are included)")
    ap.add_argument("--conns", type=int, default=10000, help="connections to open [10000]")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="overall time bound in seconds [120]")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to leave all connections idle before reading RSS [2]")
    ap.add_argument("--host-header", default="bench", help="Host header to send [bench]")
    ap.add_argument("--json", help="also write the result as JSON to this file")
    args = ap.parse_args()

    host, _, port = args.addr.rpartition(":")
    if not host or not port.isdigit():
        sys.exit(f"idle_conns: --addr {args.addr!r} is not HOST:PORT")
    if args.conns < 1:
        sys.exit("idle_conns: --conns must be at least 1")
    if not os.path.exists(f"/proc/{args.pid}/status"):
        sys.exit(f"idle_conns: no process with pid {args.pid}")
    deadline = time.monotonic() + args.timeout

    usable = raise_nofile(args.conns + RESERVED_FDS) - RESERVED_FDS
    conns = args.conns
    if usable < conns:
        print(f"idle_conns: only {usable} descriptors available: opening {usable} connections, "
              f"not {conns}", file=sys.stderr)
        conns = usable

    request = (f"GET / HTTP/1.1\r\nHost: {args.host_header}\r\n"
               f"User-Agent: ringway-idle-conns\r\n\r\n").encode()
    rss_before, per_before = rss_kib(args.pid)
    print(f"idle_conns: proxy pid {args.pid} RSS before: {rss_before} KiB {per_before}")

    socks, failure = [], None
    t0 = time.monotonic()
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    for i in range(conns):
        if time.monotonic() > deadline:
            failure = f"timeout after {len(socks)} connections"
            break
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.settimeout(max(0.1, min(10.0, deadline - time.monotonic())))
            s.connect((host.strip("[]"), int(port)))
            s.sendall(request)
            status, keeps_alive = read_response(s, deadline)
        except (OSError, ValueError, TimeoutError) as e:
            s.close()
            failure = f"connection {i + 1}: {e.__class__.__name__}: {e}"
            break
        if status != 200 or not keeps_alive:
            s.close()
            failure = (f"connection {i + 1}: status {status}, "
                       f"{'keep-alive' if keeps_alive else 'Connection: close'}")
            break
        socks.append(s)
    opened = len(socks)
    open_s = time.monotonic() - t0
    print(f"idle_conns: {opened} connections opened and answered in {open_s:.1f} s")

    time.sleep(max(0.0, min(args.settle, deadline - time.monotonic())))
    alive = sum(1 for s in socks if still_open(s))
    rss_idle, per_idle = rss_kib(args.pid)
    per_conn = (rss_idle - rss_before) / alive if alive else float("nan")
    print(f"idle_conns: {alive} still open after {args.settle:g} s idle")
    print(f"idle_conns: proxy RSS with them idle: {rss_idle} KiB {per_idle}")

    for s in socks:
        s.close()
    time.sleep(min(1.0, max(0.0, deadline + 5 - time.monotonic())))
    rss_after, _ = rss_kib(args.pid)

    print(f"RESULT conns={alive} rss_before_kib={rss_before} rss_idle_kib={rss_idle} "
          f"increase_kib={rss_idle - rss_before} per_conn_kib={per_conn:.2f} "
          f"rss_after_close_kib={rss_after}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"addr": args.addr, "pid": args.pid, "requested": args.conns,
                       "opened": opened, "idle_open": alive, "open_seconds": round(open_s, 2),
                       "rss_before_kib": rss_before, "rss_idle_kib": rss_idle,
                       "per_conn_kib": round(per_conn, 3), "rss_after_close_kib": rss_after,
                       "failure": failure}, f, indent=1)
    if failure:
        print(f"idle_conns: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
