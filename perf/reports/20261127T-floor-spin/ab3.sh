#!/bin/bash
# ab3.sh NAME... : shared layout (no pinning) on :9280 with backends 9201/9202; proxy user/sys us per request
cd /tmp/prof
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-8}
ut() { awk '{print $14}' /proc/$1/stat; }; st() { awk '{print $15}' /proc/$1/stat; }
for r in $(seq $ROUNDS); do
  for b in "$@"; do
    case $b in
      floor*) ./$b 127.0.0.1:9280 127.0.0.1:9201 127.0.0.1:9202 >/dev/null 2>&1 & ;;
      *) ./$b serve -c rw-shared.toml --workers 1 >/dev/null 2>&1 & ;;
    esac
    P=$!; sleep 0.7
    B1=$(pgrep -f "origin --bind 127.0.0.1:9201"); B2=$(pgrep -f "origin --bind 127.0.0.1:9202")
    wrk -t1 -c64 -d2s http://127.0.0.1:9280/ >/dev/null
    u0=$(ut $P); s0=$(st $P); b0=$(( $(ut $B1) + $(st $B1) + $(ut $B2) + $(st $B2) ))
    out=$(wrk -t1 -c64 -d${DUR}s http://127.0.0.1:9280/)
    u1=$(ut $P); s1=$(st $P); b1=$(( $(ut $B1) + $(st $B1) + $(ut $B2) + $(st $B2) ))
    n=$(echo "$out" | awk '/requests in/{print $1}')
    kill $P; wait $P 2>/dev/null
    python3 -c "u=($u1-$u0)*1e4/$n; s=($s1-$s0)*1e4/$n; b=($b1-$b0)*1e4/$n; print(f'$r %-12s req={$n} user={u:.2f} sys={s:.2f} proxy={u+s:.2f}us backend={b:.2f}us ratio={(u+s)/b:.3f} load=' % '$b' + open('/proc/loadavg').read().split()[0])"
  done
done
