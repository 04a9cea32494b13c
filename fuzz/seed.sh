#!/usr/bin/env bash
# Writes seed inputs into fuzz/corpus/<target>/ (ignored by git; safe to run again).
#   request_head: the raw requests of shared/desync/corpus/corpus.jsonl, beside the repo root
#                 (../shared), plus a few hand-written ones;
#   response_head, chunked, route: hand-written; config: src/config/example.toml and more.
# Seeds carry each target's selector bytes first (see fuzz/README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
shared="${RINGWAY_SHARED:-$repo/../shared}"
corpus="$here/corpus"
mkdir -p "$corpus"/{request_head,response_head,chunked,config,route,desync}

python3 - "$repo" "$shared" "$corpus" <<'PY'
import hashlib, json, os, sys

repo, shared, corpus = sys.argv[1:4]

def put(target, data):
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)

def head_seed(target, msg):
    # [flags, split_lo, split_hi, message]: default and small limits, cut halfway and one
    # byte before the end.
    for flags in (0, 1):
        for cut in (len(msg) // 2, max(len(msg) - 1, 0)):
            put(target, bytes([flags]) + cut.to_bytes(2, "little") + msg)

# Requests from the desync corpus.
jsonl = os.path.join(shared, "desync", "corpus", "corpus.jsonl")
n = 0
if os.path.exists(jsonl):
    with open(jsonl) as f:
        for line in f:
            if line.strip():
                raw = bytes.fromhex(json.loads(line)["raw_hex"])
                head_seed("request_head", raw)
                head_seed("desync", raw)
                n += 1
else:
    print(f"seed.sh: {jsonl} not found; request_head gets hand-written seeds only",
          file=sys.stderr)

requests = [
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\nConnection: keep-alive\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: close, Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"\r\n\nOPTIONS * HTTP/1.1\nHost: [::1]:80\n\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\n",
]
for r in requests:
    head_seed("request_head", r)
    head_seed("desync", r)
desync_requests = [
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\n Content-Length: 5\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n",
    b"GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET HTTP/1.1\r\nnocolon\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTran\xc5\xbffer-Encoding: chunked, gzip\r\n\r\n",
]
for r in desync_requests:
    head_seed("desync", r)

responses = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200\r\nContent-Length: 1, 1\r\n\r\nx",
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
    b"HTTP/1.1 200 \xe9t\xe9\r\nServer: x\r\n\r\n",
    b"HTTP/2.0 200 OK\r\n\r\n",
    b"\r\nHTTP/1.1 404 Not Found\nContent-Length: 0\n\n",
]
for r in responses:
    head_seed("response_head", r)

bodies = [
    b"0\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    b"a;name=value;q=\"quo\\\"ted\"\r\n0123456789\r\n0\r\n\r\n",
    b"3 ; ext\r\nabc\r\n0\r\nTrailer: value\r\nOther: x\r\n\r\n",
    b"FFFFFFFFFFFFFFFF\r\n",
    b"10000000000000000\r\n",
    b"5\nhello\n0\n\n",
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b"-1\r\n\r\n",
]
for b in bodies:
    put("chunked", bytes([0]) + b)             # one byte at a time
    put("chunked", bytes([1, 3]) + b)          # pieces of 3
    put("chunked", bytes([3, 1, 0, 7]) + b)    # 1, empty, 7, ...

example = os.path.join(repo, "src", "config", "example.toml")
configs = []
if os.path.exists(example):
    with open(example, "rb") as f:
        configs.append(f.read())
configs += [
    b'[[listeners]]\naddress = "127.0.0.1"\nport = 8080\ndefault_target_group = "web"\n'
    b'[[target_groups]]\nname = "web"\ntargets = ["127.0.0.1:9001"]\n',
    b'[load_balancer]\nworkers = 2\n[attributes]\n"idle_timeout.timeout_seconds" = 60\n'
    b'[[listeners]]\naddress = "::"\nport = 80\ndefault_target_group = "web"\n'
    b'[[listeners.rules]]\npriority = 10\npath = ["/api/*"]\nhost = ["*.example.com"]\n'
    b'target_group = "api"\n'
    b'[[target_groups]]\nname = "web"\n[target_groups.health_check]\npath = "/health"\n'
    b'[[target_groups]]\nname = "api"\n',
    b'[[listeners]]\nport = "x"\n',
    b'[load_balancer\n',
]
for c in configs:
    put("config", c)

routes = [
    (b"*.example.com", b"www.example.com"),
    (b"/api/*", b"/api/v1/users"),
    (b"/a?c", b"/abc"),
    (b"*a*b*c*", b"xxaxxbxxcxx"),
    (b"http://h:80/p?q", b""),
    (b"[::1]:8080", b"example.com:80"),
    (b"EXAMPLE.com", b"example.COM"),
]
for ic in (0, 1):
    for p, t in routes:
        put("route", bytes([ic, len(p)]) + p + t)

print(f"seed.sh: {n} requests from {jsonl}; seeds in {corpus}")
PY
for t in request_head response_head chunked config route desync; do
    echo "  $t: $(ls "$corpus/$t" | wc -l) files"
done
