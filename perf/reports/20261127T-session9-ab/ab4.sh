#!/bin/bash
# ab4.sh NAME... : pinned (proxy on cpu 1, wrk + backends 9101/9102 on cpu 0), proxy user/sys us per request
cd /tmp/prof
[ "$(pgrep -fc "origin --bind 127.0.0.1:910")" = 2 ] || { echo "need exactly two backends"; exit 1; }
if ss -ltn | grep -q ":9180 "; then echo "port 9180 in use"; exit 1; fi
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-8}
ut() { awk '{print $14}' /proc/$1/stat; }; st() { awk '{print $15}' /proc/$1/stat; }
for r in $(seq $ROUNDS); do
  for b in "$@"; do
    case $b in
      floor*) taskset -c 1 ./$b 127.0.0.1:9180 127.0.0.1:9101 127.0.0.1:9102 >/dev/null 2>&1 & ;;
      *) taskset -c 1 ./$b serve -c rw.toml --workers 1 >/dev/null 2>&1 & ;;
    esac
    P=$!; sleep 0.7
    B1=$(pgrep -f "origin --bind 127.0.0.1:9101" | head -1); B2=$(pgrep -f "origin --bind 127.0.0.1:9102" | head -1)
    taskset -c 0 wrk -t1 -c64 -d2s http://127.0.0.1:9180/ >/dev/null
    u0=$(ut $P); s0=$(st $P); b0=$(( $(ut $B1) + $(st $B1) + $(ut $B2) + $(st $B2) ))
    out=$(taskset -c 0 wrk -t1 -c64 -d${DUR}s http://127.0.0.1:9180/)
    u1=$(ut $P); s1=$(st $P); b1=$(( $(ut $B1) + $(st $B1) + $(ut $B2) + $(st $B2) ))
    n=$(echo "$out" | awk '/requests in/{print $1}')
    kill $P; wait $P 2>/dev/null
    python3 -c "u=($u1-$u0)*1e4/$n; s=($s1-$s0)*1e4/$n; b=($b1-$b0)*1e4/$n; print(f'$r %-14s req={$n} user={u:.2f} sys={s:.2f} proxy={u+s:.2f}us backend={b:.2f}us ratio={(u+s)/b:.3f} load=' % '$b' + open('/proc/loadavg').read().split()[0])"
  done
done
