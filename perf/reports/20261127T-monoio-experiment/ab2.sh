#!/bin/bash
# ab2.sh NAME... : proxies on :9180 pinned to cpu 1 (ringway-*: serve rw.toml; floor*: floor_proxy), wrk on cpu 0
cd /tmp/prof
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-8}
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
for r in $(seq $ROUNDS); do
  for b in "$@"; do
    case $b in
      floor*) taskset -c 1 ./$b 127.0.0.1:9180 127.0.0.1:9101 127.0.0.1:9102 >/dev/null 2>&1 & ;;
      *) taskset -c 1 ./$b serve -c rw.toml --workers 1 >/dev/null 2>&1 & ;;
    esac
    P=$!; sleep 0.7
    B1=$(pgrep -f "origin --bind 127.0.0.1:9101"); B2=$(pgrep -f "origin --bind 127.0.0.1:9102")
    taskset -c 0 wrk -t1 -c64 -d2s http://127.0.0.1:9180/ >/dev/null
    t0=$(ticks $P); b0=$(( $(ticks $B1) + $(ticks $B2) ))
    out=$(taskset -c 0 wrk -t1 -c64 -d${DUR}s http://127.0.0.1:9180/)
    t1=$(ticks $P); b1=$(( $(ticks $B1) + $(ticks $B2) ))
    n=$(echo "$out" | awk '/requests in/{print $1}')
    kill $P; wait $P 2>/dev/null
    python3 -c "t=($t1-$t0)*1e4/$n; b=($b1-$b0)*1e4/$n; print(f'$r %-12s req={$n} proxy={t:.2f}us backend={b:.2f}us ratio={t/b:.3f} load=' % '$b' + open('/proc/loadavg').read().split()[0])"
  done
done
