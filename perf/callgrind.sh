#!/usr/bin/env bash
# perf/callgrind.sh BIN [OUT]: user-space instructions per request of `BIN serve`, counted by
# callgrind. One worker on the epoll driver (valgrind cannot run io_uring), two `BIN origin`
# backends, wrk -t1 for 6 s. Counting starts once the proxy has answered a first request, so
# start-up is left out. Prints requests, instructions and instructions per request; OUT (default
# a temporary file) keeps callgrind's data for callgrind_annotate.
#
# Environment: PORT_BASE (default 9600: listener +80, admin +90, backends +1 and +2), CONNS
# (wrk -c, default 16), SECONDS_RUN (default 6), BROWSER=1 adds six browser-like request
# headers. Compare two builds back to back, twice each: repeats agree within about 20
# instructions when the machine is quiet, and the count moves a little with load (batching).
# Needs valgrind, wrk and curl (perf/setup.sh installs wrk; `apt-get install valgrind`).
set -euo pipefail

die() { echo "callgrind.sh: $*" >&2; exit 1; }
[[ $# -ge 1 ]] || die "usage: perf/callgrind.sh BIN [OUT]"
BIN=$(readlink -f "$1")
[[ -x $BIN ]] || die "$1 is not an executable"
OUT=$(readlink -f "${2:-$(mktemp /tmp/callgrind.XXXXXX)}")
B=${PORT_BASE:-9600}
CONNS=${CONNS:-16}
SECS=${SECONDS_RUN:-6}
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
HEADERS=()
if [[ -n ${BROWSER:-} ]]; then
  HEADERS=(-H "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    -H "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    -H "Accept-Language: en-US,en;q=0.5" -H "Accept-Encoding: gzip, deflate, br"
    -H "Cookie: session=3f9a7c2e1b; theme=dark" -H "Referer: http://example.com/start")
fi

DIR=$(mktemp -d)
PIDS=()
cleanup() {
  ((${#PIDS[@]})) && kill "${PIDS[@]}" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

cat >"$DIR/cfg.toml" <<CFG
[load_balancer]
workers = 1
admin = "127.0.0.1:$((B + 90))"
access_log = "off"

[[listeners]]
address = "127.0.0.1"
port = $((B + 80))
default_target_group = "bench"

[[target_groups]]
name = "bench"
targets = ["127.0.0.1:$((B + 1))", "127.0.0.1:$((B + 2))"]
"pool.max_idle_per_target" = 256

[target_groups.health_check]
enabled = false
CFG

up() { curl -s -m 1 -o /dev/null "http://127.0.0.1:$1/"; }
for p in $((B + 1)) $((B + 2)); do
  ! up "$p" || die "port $p is in use"
  taskset -c 0 "$BIN" origin --bind "127.0.0.1:$p" >/dev/null 2>&1 &
  PIDS+=($!)
done
sleep 0.5
for p in $((B + 1)) $((B + 2)); do up "$p" || die "backend on $p did not start"; done

taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$OUT" --instr-atstart=no \
  "$BIN" serve -c "$DIR/cfg.toml" --workers 1 --driver epoll >"$DIR/proxy.log" 2>&1 &
VP=$!
PIDS+=($VP)
for _ in $(seq 50); do up $((B + 80)) && break; sleep 0.2; done
# A 502 would mean the backends are not reached, and callgrind would count the error path.
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((B + 80))/")
[[ $code == 200 ]] || die "the proxy answered $code, not 200; see its log: $(tail -3 "$DIR/proxy.log")"
callgrind_control -i on "$VP" >/dev/null 2>&1
REQ=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${SECS}s" "${HEADERS[@]}" "http://127.0.0.1:$((B + 80))/" |
  awk '/requests in/ {print $1} /Non-2xx/ {print "non-2xx answers: " $0 > "/dev/stderr"; exit 1}')
kill -INT "$VP"
wait "$VP" 2>/dev/null || true
TOTAL=$(callgrind_annotate "$OUT" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "requests $REQ instructions $TOTAL per_request $((TOTAL / REQ)) data $OUT"
