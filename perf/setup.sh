#!/usr/bin/env bash
# Installs what perf/run.sh needs, from Debian's packages, only when it is missing.
# Idempotent: a second run installs nothing and only prints versions.
set -euo pipefail

# command -> Debian package that provides it
declare -A PKG_OF=(
  [wrk]=wrk
  [nginx]=nginx
  [haproxy]=haproxy
  [python3]=python3
  [taskset]=util-linux
  [curl]=curl
)

missing=()
for cmd in "${!PKG_OF[@]}"; do
  # nginx and haproxy live in /usr/sbin, which a non-login shell may not have on PATH.
  if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$cmd ]]; then
    missing+=("${PKG_OF[$cmd]}")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: missing packages (${missing[*]}) and not root; run: sudo bash perf/setup.sh" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts the packaged services when systemd runs; the harness uses its own
  # instances on its own ports, so stop the services we just installed (ignore failures).
  for svc in "${missing[@]}"; do
    [[ $svc == nginx || $svc == haproxy ]] && systemctl stop "$svc" >/dev/null 2>&1 || true
  done
fi

PATH=$PATH:/usr/sbin
echo "wrk:     $(wrk -v 2>&1 | head -1)"
echo "nginx:   $(nginx -v 2>&1)"
echo "haproxy: $(haproxy -v 2>&1 | head -1)"
echo "python3: $(python3 --version 2>&1)"
