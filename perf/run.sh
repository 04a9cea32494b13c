#!/usr/bin/env bash
# ringway performance harness: CPU per request of ringway, nginx and HAProxy as proxies in
# front of the same two backends, measured the way DESIGN.md §7 prescribes.
#
#   bash perf/setup.sh && bash perf/run.sh
#
# Options (environment variables; defaults in brackets):
#   PROXIES     proxies to measure, space-separated, of: ringway nginx haproxy ringway-base floor
#               ["ringway nginx haproxy"]; ringway-base is a second ringway binary (RINGWAY_BASE_BIN),
#               e.g. a build from before a change, measured in the same rounds as ringway;
#               floor is examples/floor_proxy.rs, the lean monoio proxy DESIGN.md §7 calls the
#               floor to beat (FLOOR_BIN)
#   BACKEND     backend servers on :9101 and :9102: ringway (`ringway origin`) | nginx [ringway]
#   LAYOUTS     shared (no pinning) and/or pinned (proxy on CPU 1; wrk and backends on CPU 0);
#               also "idle": RSS per idle keep-alive client connection (perf/idle_conns.py) ["shared pinned"]
#   IDLE_CONNS  connections for the idle layout [10000]
#   ROUNDS      measured runs per proxy and layout; the proxy order rotates each round [3]
#   DURATION    seconds per measured run (wrk -d), e.g. 10 or 10s [10]
#   WARMUP      seconds of unmeasured load per proxy before a layout's first round; 0 = none [2]
#   CONNS       wrk connections (-c) [64]
#   THREADS     wrk threads (-t) [1]
#   BODY_BYTES  response body size of the backends [64]
#   RINGWAY_BIN ringway binary [target/release/ringway, built with cargo if missing]
#   RINGWAY_BASE_BIN  the ringway-base binary [required when PROXIES has ringway-base]
#   FLOOR_BIN   the floor binary [target/release/examples/floor_proxy, built with cargo if missing]
#   RINGWAY_ALGORITHM       load_balancing.algorithm.type of ringway [round_robin]
#   RINGWAY_BASE_ALGORITHM  the same for ringway-base [round_robin]; with RINGWAY_BASE_BIN set
#               to the same binary this compares two algorithms in the same rounds
#   RINGWAY_HASH_KEY        load_balancing.consistent_hash.key of both ringways [client_ip];
#               with wrk's one client address, "header:x-hash-key" and WRK_SCRIPT=perf/conf/
#               hash-key.lua spread requests over the targets as many clients would
#   WRK_SCRIPT  a wrk Lua script for every run, e.g. perf/conf/hash-key.lua [none]
#   RINGWAY_ACCESS_LOG      ringway's load_balancer.access_log: off | on (a file in the results
#               directory, deleted after the run) [off]; RINGWAY_BASE_ACCESS_LOG for ringway-base
#
# Everything raw (wrk output, rendered configs, /proc samples, process logs) goes to
# perf/results/<UTC timestamp>/; the summary table is printed and written to summary.txt.
# Every process started here is stopped on exit, on failure and on Ctrl-C.
set -euo pipefail

PERF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$PERF_DIR/.." && pwd)
# nginx and haproxy are in /usr/sbin, which a non-root PATH may lack
PATH=$PATH:/usr/sbin:/sbin

HOST=127.0.0.1
BACKEND_PORTS=(9101 9102)
declare -A PROXY_PORT=([ringway]=8081 [nginx]=8082 [haproxy]=8083 [ringway-base]=8084 [floor]=8085)
RINGWAY_ADMIN=$HOST:9990
RINGWAY_BASE_ADMIN=$HOST:9991
LOAD_CPU=0   # pinned layout: wrk and the backends
PROXY_CPU=1  # pinned layout: the proxy under test

# Children inherit our file-descriptor limit: raise the soft limit to the hard one, and size
# the proxies' connection limits from it (nginx: worker_connections; HAProxy: maxconn,
# which needs two descriptors per connection), so 10k idle clients fit where the box allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
[[ $NOFILE == unlimited ]] && NOFILE=1048576
# cap: nginx preallocates per worker_connections, and 64k is plenty for these tests
((NOFILE > 65536)) && NOFILE=65536

PROXIES=${PROXIES-ringway nginx haproxy}
RINGWAY_ALGORITHM=${RINGWAY_ALGORITHM-round_robin}
RINGWAY_BASE_ALGORITHM=${RINGWAY_BASE_ALGORITHM-round_robin}
RINGWAY_ACCESS_LOG=${RINGWAY_ACCESS_LOG-off}
RINGWAY_HASH_KEY=${RINGWAY_HASH_KEY-client_ip}
WRK_SCRIPT=${WRK_SCRIPT-}
RINGWAY_BASE_ACCESS_LOG=${RINGWAY_BASE_ACCESS_LOG-off}
BACKEND=${BACKEND-ringway}
LAYOUTS=${LAYOUTS-shared pinned}
ROUNDS=${ROUNDS-3}
DURATION=${DURATION-10}
WARMUP=${WARMUP-2}
CONNS=${CONNS-64}
THREADS=${THREADS-1}
BODY_BYTES=${BODY_BYTES-64}
IDLE_CONNS=${IDLE_CONNS-10000}
RINGWAY_BIN=${RINGWAY_BIN-}
RINGWAY_BASE_BIN=${RINGWAY_BASE_BIN-}
FLOOR_BIN=${FLOOR_BIN-}

die() { echo "run.sh: $*" >&2; exit 2; }
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$RES/run.log" >&2; }

# ---------------------------------------------------------------- option validation
in_list() { local x=$1; shift; local y; for y in "$@"; do [[ $x == "$y" ]] && return 0; done; return 1; }

# check_words NAME VALUE ALLOWED...: VALUE is a non-empty list of distinct allowed words
check_words() {
  local name=$1 value=$2; shift 2
  local -a seen=() words
  read -r -a words <<<"$value"
  ((${#words[@]})) || die "$name is empty; allowed: $*"
  local w
  for w in "${words[@]}"; do
    in_list "$w" "$@" || die "$name: unknown '$w'; allowed: $*"
    ((${#seen[@]})) && in_list "$w" "${seen[@]}" && die "$name: '$w' given twice"
    seen+=("$w")
  done
}

# check_int NAME VALUE MIN MAX
check_int() {
  [[ $2 =~ ^[0-9]+$ ]] || die "$1='$2' is not a whole number"
  (( 10#$2 >= $3 && 10#$2 <= $4 )) || die "$1=$2 is out of range $3..$4"
}

validate_options() {
  check_words PROXIES "$PROXIES" ringway nginx haproxy ringway-base floor
  local algorithms="round_robin least_outstanding_requests weighted_random p2c_least_outstanding consistent_hash"
  check_words RINGWAY_ALGORITHM "$RINGWAY_ALGORITHM" $algorithms
  check_words RINGWAY_BASE_ALGORITHM "$RINGWAY_BASE_ALGORITHM" $algorithms
  check_words RINGWAY_ACCESS_LOG "$RINGWAY_ACCESS_LOG" off on
  if [[ -n $WRK_SCRIPT ]]; then
    [[ -f $WRK_SCRIPT ]] || die "WRK_SCRIPT='$WRK_SCRIPT' is not a file"
    WRK_SCRIPT=$(realpath "$WRK_SCRIPT")
  fi
  check_words RINGWAY_BASE_ACCESS_LOG "$RINGWAY_BASE_ACCESS_LOG" off on
  if in_list ringway-base $PROXIES; then
    [[ -x $RINGWAY_BASE_BIN ]] ||
      die "PROXIES has ringway-base but RINGWAY_BASE_BIN='$RINGWAY_BASE_BIN' is not an executable file"
    RINGWAY_BASE_BIN=$(realpath "$RINGWAY_BASE_BIN")
  fi
  check_words LAYOUTS "$LAYOUTS" shared pinned idle
  check_int IDLE_CONNS "$IDLE_CONNS" 1 100000
  in_list "$BACKEND" ringway nginx || die "BACKEND='$BACKEND'; allowed: ringway nginx"
  DURATION=${DURATION%s}   # wrk style "10s" is accepted; minutes are not (keep runs short)
  check_int DURATION "$DURATION" 1 600
  WARMUP=${WARMUP%s}
  check_int WARMUP "$WARMUP" 0 60
  check_int ROUNDS "$ROUNDS" 1 50
  check_int THREADS "$THREADS" 1 64
  check_int CONNS "$CONNS" "$THREADS" 10000   # wrk needs at least one connection per thread
  # the nginx stand-in puts the body inside its config; keep it to what `return` handles
  check_int BODY_BYTES "$BODY_BYTES" 0 1048576
  if [[ $BACKEND == nginx ]] && ((BODY_BYTES > 4000)); then
    die "BODY_BYTES=$BODY_BYTES is too large for the nginx stand-in backend (max 4000)"
  fi
  if [[ " $LAYOUTS " == *" pinned "* ]]; then
    local allowed
    allowed=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)
    taskset -c "$LOAD_CPU" true 2>/dev/null && taskset -c "$PROXY_CPU" true 2>/dev/null ||
      die "LAYOUTS has 'pinned' but CPUs $LOAD_CPU and $PROXY_CPU are not both usable (allowed: $allowed)"
  fi
  local tool
  for tool in wrk python3 taskset curl ss; do
    command -v "$tool" >/dev/null || die "$tool is missing; run: bash perf/setup.sh"
  done
  if [[ $BACKEND == nginx ]] || in_list nginx $PROXIES; then
    command -v nginx >/dev/null || die "nginx is missing; run: bash perf/setup.sh"
  fi
  if in_list haproxy $PROXIES; then
    command -v haproxy >/dev/null || die "haproxy is missing; run: bash perf/setup.sh"
  fi
}

# resolve_bin VAR DEFAULT CARGO_ARGS...: the binary named by $VAR (checked), else DEFAULT,
# built with `cargo build CARGO_ARGS...` when missing; sets VAR to its real path.
resolve_bin() {
  local var=$1 default=$2 path=${!1}
  shift 2
  if [[ -n $path ]]; then
    [[ -x $path ]] || die "$var=$path is not an executable file"
  else
    path=$default
    if [[ ! -x $path ]]; then
      echo "run.sh: $path missing; building it with cargo build $*" >&2
      (cd "$REPO_DIR" && cargo build "$@") || die "cargo build $* failed"
    fi
  fi
  printf -v "$var" '%s' "$(realpath "$path")"
}

# The ringway binary is only needed when ringway is a proxy or the backend.
resolve_ringway() {
  if [[ $BACKEND != ringway ]] && ! in_list ringway $PROXIES; then return; fi
  resolve_bin RINGWAY_BIN "$REPO_DIR/target/release/ringway" --release
}

# The floor binary, only when floor is a proxy.
resolve_floor() {
  in_list floor $PROXIES || return 0
  resolve_bin FLOOR_BIN "$REPO_DIR/target/release/examples/floor_proxy" --release --example floor_proxy
}

# ---------------------------------------------------------------- process bookkeeping
STARTED=()      # root pids of everything we started (backends, proxies, wrk)

# descendants PID: the pid and all its descendants (nginx: master + workers)
descendants() {
  local pid=$1 child f
  [[ -d /proc/$pid ]] || return 0
  echo "$pid"
  for f in /proc/"$pid"/task/*/children; do
    for child in $(cat "$f" 2>/dev/null); do descendants "$child"; done
  done
}

# stop_tree PID...: TERM every process of each tree, then KILL what is left after 5 s.
# Descendants are collected first, so that nginx workers are not orphaned if the master
# dies before them.
stop_tree() {
  local -a all=()
  local pid
  for pid in "$@"; do all+=($(descendants "$pid")); done
  ((${#all[@]})) || return 0
  kill -TERM "${all[@]}" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  kill -KILL "${all[@]}" 2>/dev/null || true
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((${#STARTED[@]})); then
    stop_tree "${STARTED[@]}"
    STARTED=()
  fi
  # Access logs written under RINGWAY_ACCESS_LOG=on are large and say nothing the counts don't.
  [[ -n ${RES:-} ]] && find "$RES" -name access.jsonl -delete 2>/dev/null
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

forget() { # forget PID: drop a stopped process from STARTED
  local -a keep=()
  local p
  for p in "${STARTED[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  STARTED=("${keep[@]}")
}

port_free() { [[ -z $(ss -Hltn "sport = :$1") ]]; }

# wait_port PORT PID NAME: until something accepts on HOST:PORT; fail if PID died
wait_port() {
  local port=$1 pid=$2 name=$3 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited during startup; see $RES/$name/"
    if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name did not accept on $HOST:$port within 10 s; see $RES/$name/"
}

# launch NAME CPUS CMD...: start CMD in the background (pinned to CPUS unless empty),
# output to $RES/NAME/, and set LAUNCHED to its pid.
launch() {
  local name=$1 cpus=$2; shift 2
  mkdir -p "$RES/$name"
  echo "$*" >"$RES/$name/cmdline"
  if [[ -n $cpus ]]; then
    taskset -c "$cpus" "$@" >"$RES/$name/stdout.log" 2>"$RES/$name/stderr.log" &
  else
    "$@" >"$RES/$name/stdout.log" 2>"$RES/$name/stderr.log" &
  fi
  LAUNCHED=$!
  STARTED+=("$LAUNCHED")
}

# ---------------------------------------------------------------- backends and proxies
declare -A PID_OF=()   # role -> root pid: backend1 backend2 ringway nginx haproxy

start_backends() {
  local layout=$1 cpus=""
  [[ $layout == pinned ]] && cpus=$LOAD_CPU
  local i
  for i in 1 2; do
    local port=${BACKEND_PORTS[i - 1]} name="$layout-backend$i"
    port_free "$port" || die "port $port is in use; stop whatever listens there"
    case $BACKEND in
      ringway)
        launch "$name" "$cpus" "$RINGWAY_BIN" origin --bind "$HOST:$port" \
          --body-bytes "$BODY_BYTES" --name "backend$i" --workers 1
        ;;
      nginx)
        local dir=$RES/$name
        mkdir -p "$dir"
        python3 "$PERF_DIR/lib/render.py" "$PERF_DIR/conf/nginx-backend.conf.in" "$dir/nginx.conf" \
          DIR="$dir" ADDR="$HOST:$port" NOFILE="$NOFILE" BODY="$(head -c "$BODY_BYTES" /dev/zero | tr '\0' x)"
        nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" ||
          die "nginx rejects $dir/nginx.conf"
        launch "$name" "$cpus" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
        ;;
    esac
    PID_OF[backend$i]=$LAUNCHED
    wait_port "$port" "$LAUNCHED" "$name"
  done
}

# The access_log value for a proxy's config: "off", or a file in its results directory (big;
# removed by the cleanup at exit).
access_log_value() {
  if [[ $1 == on ]]; then echo "$2/access.jsonl"; else echo off; fi
}

# start_ringway PROXY BIN ADMIN ALGORITHM ACCESS_LOG: one of the two ringways, from start_proxy
# (whose locals name, cpus, dir, port, b1 and b2 it reads).
start_ringway() {
  local proxy=$1 bin=$2 admin=$3 algorithm=$4 access_log=$5
  port_free "${admin##*:}" || die "port ${admin##*:} ($proxy admin) is in use"
  python3 "$PERF_DIR/lib/render.py" "$PERF_DIR/conf/ringway.toml.in" "$dir/ringway.toml" \
    ADMIN="$admin" HOST="$HOST" PORT="$port" BACKEND1="$b1" BACKEND2="$b2" \
    ALGORITHM="$algorithm" ACCESS_LOG="$(access_log_value "$access_log" "$dir")" \
    HASH_KEY="$RINGWAY_HASH_KEY"
  launch "$name" "$cpus" "$bin" serve -c "$dir/ringway.toml" --workers 1
}

start_proxy() {
  local layout=$1 proxy=$2 cpus=""
  [[ $layout == pinned ]] && cpus=$PROXY_CPU
  local port=${PROXY_PORT[$proxy]} name="$layout-$proxy"
  local dir=$RES/$name
  mkdir -p "$dir"
  port_free "$port" || die "port $port is in use; stop whatever listens there"
  local b1=$HOST:${BACKEND_PORTS[0]} b2=$HOST:${BACKEND_PORTS[1]}
  case $proxy in
    ringway)
      start_ringway "$proxy" "$RINGWAY_BIN" "$RINGWAY_ADMIN" "$RINGWAY_ALGORITHM" "$RINGWAY_ACCESS_LOG"
      ;;
    ringway-base)
      start_ringway "$proxy" "$RINGWAY_BASE_BIN" "$RINGWAY_BASE_ADMIN" "$RINGWAY_BASE_ALGORITHM" \
        "$RINGWAY_BASE_ACCESS_LOG"
      ;;
    nginx)
      python3 "$PERF_DIR/lib/render.py" "$PERF_DIR/conf/nginx-proxy.conf.in" "$dir/nginx.conf" \
        DIR="$dir" ADDR="$HOST:$port" BACKEND1="$b1" BACKEND2="$b2" \
        NOFILE="$NOFILE" WORKER_CONNECTIONS=$((NOFILE - 64))
      nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" ||
        die "nginx rejects $dir/nginx.conf"
      launch "$name" "$cpus" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
      ;;
    haproxy)
      python3 "$PERF_DIR/lib/render.py" "$PERF_DIR/conf/haproxy.cfg.in" "$dir/haproxy.cfg" \
        DIR="$dir" ADDR="$HOST:$port" BACKEND1="$b1" BACKEND2="$b2" \
        MAXCONN=$(((NOFILE - 64) / 2))
      haproxy -q -c -f "$dir/haproxy.cfg" || die "haproxy rejects $dir/haproxy.cfg"
      # -db: stay in the foreground, one process (no master-worker), so $! is the proxy
      launch "$name" "$cpus" haproxy -db -f "$dir/haproxy.cfg"
      ;;
    floor)
      launch "$name" "$cpus" "$FLOOR_BIN" "$HOST:$port" "$b1" "$b2"
      ;;
  esac
  PID_OF[$proxy]=$LAUNCHED
  wait_port "$port" "$LAUNCHED" "$name"
  # One real request through the proxy: status 200 and the backend's body size, so that
  # we never benchmark an error page.
  local got
  got=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{size_download}' "http://$HOST:$port/") || true
  [[ $got == "200 $BODY_BYTES" ]] ||
    die "$proxy on :$port answered '$got' (want '200 $BODY_BYTES' = status, body bytes)"
}

# ---------------------------------------------------------------- measurement
# sample FILE ROLE=PID...: one snapshot of /proc for the given process trees.
#   time <epoch seconds>
#   cpu… lines of /proc/stat (per-core busy share)
#   pids ROLE <pid...>            the tree at this moment (a change between samples flags the run)
#   stat ROLE <raw /proc/PID/stat> utime (14) + stime (15) in clock ticks, all threads included
#   sched ROLE TID <schedstat>    per-thread ns run time, a finer cross-check of the ticks
#   rss ROLE PID <VmRSS kB>
# Bash builtins only where it matters (read), so sampling costs next to nothing.
sample() {
  local file=$1; shift
  {
    echo "time $(date +%s.%N)"
    grep '^cpu' /proc/stat
    local arg role root pid t line
    for arg in "$@"; do
      role=${arg%%=*} root=${arg#*=}
      local -a tree=($(descendants "$root"))
      echo "pids $role ${tree[*]}"
      for pid in "${tree[@]}"; do
        read -r line <"/proc/$pid/stat" && echo "stat $role $line"
        for t in /proc/"$pid"/task/*; do
          read -r line <"$t/schedstat" 2>/dev/null && echo "sched $role ${t##*/} $line"
        done
        echo "rss $role $pid $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)"
      done
    done
  } >"$file"
}

# run_wrk OUTBASE PORT SECONDS CPUS: wrk against the proxy, its CPU time in OUTBASE.rusage
run_wrk() {
  local out=$1 port=$2 secs=$3 cpus=$4
  local -a pin=()
  [[ -n $cpus ]] && pin=(taskset -c "$cpus")
  local -a cmd=(wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --latency)
  [[ -n $WRK_SCRIPT ]] && cmd+=(-s "$WRK_SCRIPT")
  cmd+=("http://$HOST:$port/")
  echo "${pin[*]} ${cmd[*]}" >"$out.cmd"
  # In the background + wait, so that Ctrl-C reaches our trap at once.
  python3 "$PERF_DIR/lib/rusage.py" --out "$out.rusage" --timeout $((secs + 30)) -- \
    "${pin[@]}" "${cmd[@]}" >"$out.wrk.txt" 2>&1 &
  local pid=$!
  STARTED+=("$pid")
  local rc=0
  wait "$pid" || rc=$?
  forget "$pid"
  ((rc == 130 || rc == 143)) && die "interrupted"
  ((rc == 0)) || die "wrk failed (exit $rc); see $out.wrk.txt"
}

# measure LAYOUT ROUND POS PROXY: one measured run, raw files under runs/
measure() {
  local layout=$1 round=$2 pos=$3 proxy=$4
  local base=$RES/runs/$layout-r$round-$pos-$proxy
  local wrk_cpus=""
  [[ $layout == pinned ]] && wrk_cpus=$LOAD_CPU
  local -a roles=("proxy=${PID_OF[$proxy]}" "backend=${PID_OF[backend1]}" "backend=${PID_OF[backend2]}")
  cat >"$base.meta" <<EOF
layout $layout
round $round
position $pos
proxy $proxy
backend $BACKEND
port ${PROXY_PORT[$proxy]}
duration $DURATION
conns $CONNS
threads $THREADS
body_bytes $BODY_BYTES
proxy_cpu $([[ $layout == pinned ]] && echo $PROXY_CPU || echo any)
load_cpu $([[ $layout == pinned ]] && echo $LOAD_CPU || echo any)
EOF
  sample "$base.before" "${roles[@]}"
  run_wrk "$base" "${PROXY_PORT[$proxy]}" "$DURATION" "$wrk_cpus"
  sample "$base.after" "${roles[@]}"
  # Record where every thread of the proxy was allowed to run: a proxy that re-pins its
  # own threads (thread-per-core) would otherwise silently leave CPU 1 in the pinned layout.
  local pid t
  for pid in $(descendants "${PID_OF[$proxy]}"); do
    for t in /proc/"$pid"/task/*; do
      echo "$pid ${t##*/} $(awk '/^Cpus_allowed_list/ {print $2}' "$t/status" 2>/dev/null)"
    done
  done >"$base.affinity"
  log "  $layout round $round: $proxy $(grep -E 'Requests/sec' "$base.wrk.txt" | tr -s ' ')"
}

# The idle layout: per proxy, RSS before and with IDLE_CONNS idle keep-alive clients.
run_idle() {
  log "layout idle: starting backends ($BACKEND) and proxies ($PROXIES)"
  start_backends idle
  local -a proxies
  read -r -a proxies <<<"$PROXIES"
  local p
  for p in "${proxies[@]}"; do
    start_proxy idle "$p"
    local n=$IDLE_CONNS
    # HAProxy reserves two descriptors per connection, so with our fd limit its maxconn is
    # about NOFILE/2; beyond that it stops accepting. Measure what it can hold, and say so.
    if [[ $p == haproxy ]] && ((n > (NOFILE - 64) / 2 - 100)); then
      n=$(((NOFILE - 64) / 2 - 100))
      log "  idle: haproxy maxconn is $(((NOFILE - 64) / 2)) with RLIMIT_NOFILE $NOFILE: using $n connections"
    fi
    log "  idle: $n connections to $p"
    # bounded: idle_conns.py stops itself at --timeout; a failure is recorded, not fatal
    python3 "$PERF_DIR/idle_conns.py" --addr "$HOST:${PROXY_PORT[$p]}" --pid "${PID_OF[$p]}" \
      --conns "$n" --timeout 120 --json "$RES/runs/idle-$p.json" \
      >"$RES/runs/idle-$p.txt" 2>&1 || log "  idle: $p FAILED, see $RES/runs/idle-$p.txt"
    grep '^RESULT' "$RES/runs/idle-$p.txt" | sed "s/^/[$p] /" >&2 || true
    # one proxy at a time, so their connections do not compete for descriptors
    stop_tree "${PID_OF[$p]}"
    forget "${PID_OF[$p]}"
  done
  stop_tree "${PID_OF[backend1]}" "${PID_OF[backend2]}"
  forget "${PID_OF[backend1]}"
  forget "${PID_OF[backend2]}"
  PID_OF=()
}

run_layout() {
  local layout=$1
  if [[ $layout == idle ]]; then run_idle; return; fi
  log "layout $layout: starting backends ($BACKEND) and proxies ($PROXIES)"
  start_backends "$layout"
  local -a proxies
  read -r -a proxies <<<"$PROXIES"
  local p
  for p in "${proxies[@]}"; do start_proxy "$layout" "$p"; done

  # Warm-up: fill the proxies' keep-alive pools and the page cache; not measured.
  if ((WARMUP > 0)); then
    local wrk_cpus=""
    [[ $layout == pinned ]] && wrk_cpus=$LOAD_CPU
    for p in "${proxies[@]}"; do
      run_wrk "$RES/runs/$layout-warmup-$p" "${PROXY_PORT[$p]}" "$WARMUP" "$wrk_cpus"
    done
  fi

  # Alternating rounds; the order rotates so no proxy always runs first (or right after
  # the same neighbour) while the machine's background load drifts.
  local n=${#proxies[@]} r i
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
      measure "$layout" "$r" "$((i + 1))" "${proxies[(i + r - 1) % n]}"
    done
  done

  # Stop this layout's processes: the next layout starts them again with its own pinning.
  local -a pids=()
  for p in backend1 backend2 "${proxies[@]}"; do pids+=("${PID_OF[$p]}"); done
  stop_tree "${pids[@]}"
  for p in "${pids[@]}"; do forget "$p"; done
  PID_OF=()
}

write_env() {
  {
    echo "date_utc $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host $(hostname)"
    echo "kernel $(uname -r)"
    echo "nproc $(nproc)"
    echo "cpus_allowed $(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)"
    echo "clk_tck $(getconf CLK_TCK)"
    echo "loadavg_start $(cat /proc/loadavg)"
    echo "git $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo none)"
    echo "PROXIES $PROXIES"
    echo "BACKEND $BACKEND"
    echo "LAYOUTS $LAYOUTS"
    echo "ROUNDS $ROUNDS"
    echo "DURATION $DURATION"
    echo "WARMUP $WARMUP"
    echo "CONNS $CONNS"
    echo "THREADS $THREADS"
    echo "BODY_BYTES $BODY_BYTES"
    echo "IDLE_CONNS $IDLE_CONNS"
    echo "NOFILE $NOFILE"
    echo "RINGWAY_BIN ${RINGWAY_BIN:-unused}"
    echo "RINGWAY_BASE_BIN ${RINGWAY_BASE_BIN:-unused}"
    echo "FLOOR_BIN ${FLOOR_BIN:-unused}"
    echo "RINGWAY_ALGORITHM $RINGWAY_ALGORITHM"
    echo "RINGWAY_BASE_ALGORITHM $RINGWAY_BASE_ALGORITHM"
    echo "RINGWAY_ACCESS_LOG $RINGWAY_ACCESS_LOG"
    echo "RINGWAY_HASH_KEY $RINGWAY_HASH_KEY"
    echo "WRK_SCRIPT ${WRK_SCRIPT:-none}"
    echo "RINGWAY_BASE_ACCESS_LOG $RINGWAY_BASE_ACCESS_LOG"
    echo "wrk $(wrk -v 2>&1 | head -1)"
    command -v nginx >/dev/null && echo "nginx $(nginx -v 2>&1)"
    command -v haproxy >/dev/null && echo "haproxy $(haproxy -v 2>&1 | head -1)"
    lscpu 2>/dev/null | grep -E '^(Model name|CPU\(s\)|Thread|Core|Hypervisor)' || true
  } >"$RES/env.txt"
}

main() {
  validate_options
  RES=$PERF_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$RES/runs"
  resolve_ringway
  resolve_floor
  write_env
  local -a layouts
  read -r -a layouts <<<"$LAYOUTS"
  local timed=$(wc -w <<<"${LAYOUTS//idle/}")
  local runs=$(( timed * ROUNDS * $(wc -w <<<"$PROXIES") ))
  log "results in $RES; $runs measured runs of ${DURATION}s (about $(( runs * (DURATION + 1) / 60 + 1 )) min)"
  local layout
  for layout in "${layouts[@]}"; do run_layout "$layout"; done
  echo "loadavg_end $(cat /proc/loadavg)" >>"$RES/env.txt"
  python3 "$PERF_DIR/lib/summarize.py" "$RES" | tee "$RES/summary.txt"
  log "raw data and summary.txt in $RES"
}

main "$@"
