#!/usr/bin/env bash
# Installs ringway on this host, or under a root directory:
#   binary  -> /usr/local/bin/ringway            (replaced by a rename, so a running one is safe)
#   config  -> /etc/ringway/ringway.toml         (only when absent: yours is never overwritten)
#   unit    -> /etc/systemd/system/ringway.service (change it with `systemctl edit ringway`)
#   sysctl  -> /etc/sysctl.d/60-ringway.conf
# and creates the `ringway` system user, then applies the sysctl files and reloads systemd.
# The config is checked with the new binary before anything is changed. Running it again
# changes only what differs. It does not enable or start the service; it says how.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: deploy/install.sh [--binary PATH] [--prefix DIR] [--dry-run]
  --binary PATH  the ringway binary to install (default: target/release/ringway, built with
                 `cargo build --release` when missing)
  --prefix DIR   install under DIR instead of /; the host's users, sysctls and systemd are
                 left alone (for tests and image builds)
  --dry-run      print every action instead of doing it
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

deploy=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$deploy")
binary=""
root=""
dry_run=0

while (($#)); do
    case $1 in
        --binary)
            (($# >= 2)) || die "--binary needs a path"
            binary=$2
            shift 2
            ;;
        --binary=*)
            binary=${1#*=}
            shift
            ;;
        --prefix)
            (($# >= 2)) || die "--prefix needs a directory"
            root=$2
            shift 2
            ;;
        --prefix=*)
            root=${1#*=}
            shift
            ;;
        --dry-run)
            dry_run=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done

if [[ -n $root ]]; then
    [[ $root == /* ]] || root="$PWD/$root"
    root=${root%/}
fi
if ((!dry_run)) && [[ -z $root ]] && ((EUID != 0)); then
    die "installing into / needs root; use sudo, or --dry-run, or --prefix DIR"
fi

# One action: printed as a shell line, then done unless this is a dry run.
run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    ((dry_run)) || "$@"
}

note() {
    echo "= $*"
}

# --- the binary, and the config it must accept -------------------------------------------
if [[ -z $binary ]]; then
    binary="$repo/target/release/ringway"
    if [[ ! -x $binary ]]; then
        command -v cargo >/dev/null || die "no $binary and no cargo to build it; pass --binary PATH"
        run cargo build --release --manifest-path "$repo/Cargo.toml"
    fi
elif [[ ! -f $binary || ! -x $binary ]]; then
    die "--binary $binary is not an executable file"
fi

config="$root/etc/ringway/ringway.toml"
if [[ -e $config ]]; then
    checked=$config
else
    checked="$deploy/ringway.toml"
fi
# Before anything changes: the new binary must accept the config it will run with.
printf '+ %q check -c %q\n' "$binary" "$checked"
if ((!dry_run)); then
    error=$("$binary" check -c "$checked" 2>&1 >/dev/null) ||
        die "$checked does not validate with $binary: ${error#ringway: }"
fi

# --- the user the service runs as ---------------------------------------------------------
if [[ -n $root ]]; then
    note "user ringway: not created under --prefix (the host's accounts are left alone)"
elif getent passwd ringway >/dev/null; then
    note "user ringway exists"
else
    run useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "ringway load balancer" ringway
fi

# --- files ------------------------------------------------------------------------------
# Copies SOURCE to DEST with MODE unless DEST already has those bytes; a new file is renamed
# into place so a reader (or a running binary) never sees it half written.
place() {
    local mode=$1 source=$2 dest=$3
    if [[ -f $dest ]] && cmp -s "$source" "$dest"; then
        note "$dest is up to date"
        return
    fi
    [[ -d $(dirname "$dest") ]] || run install -d -m 0755 "$(dirname "$dest")"
    run install -m "$mode" "$source" "$dest.new"
    run mv -f "$dest.new" "$dest"
}

place 0755 "$binary" "$root/usr/local/bin/ringway"

if [[ -e $config ]]; then
    note "$config exists: kept"
else
    [[ -d $root/etc/ringway ]] || run install -d -m 0755 "$root/etc/ringway"
    # It may hold admin_token: readable by the service's group, not by everyone.
    if [[ -n $root ]]; then
        run install -m 0640 "$deploy/ringway.toml" "$config"
    else
        run install -m 0640 -o root -g ringway "$deploy/ringway.toml" "$config"
    fi
fi

place 0644 "$deploy/ringway.service" "$root/etc/systemd/system/ringway.service"
place 0644 "$deploy/sysctl.conf" "$root/etc/sysctl.d/60-ringway.conf"

# --- apply ------------------------------------------------------------------------------
if [[ -n $root ]]; then
    note "sysctl and systemd: not applied under --prefix"
else
    # Every sysctl.d file in order, so the result is what the next boot gives. Another
    # file's bad line must not undo the install: warn and let `ringway doctor` show the rest.
    printf '+ sysctl --quiet --system\n'
    if ((!dry_run)) && ! error=$(sysctl --quiet --system 2>&1); then
        echo "install.sh: warning: sysctl --system: $(tail -n 1 <<<"$error"); see ringway doctor" >&2
    fi
    if [[ -d /run/systemd/system ]]; then
        run systemctl daemon-reload
    else
        note "systemd is not running here: no daemon-reload"
    fi
fi

if ((dry_run)); then
    echo "install.sh: dry run: nothing was changed"
else
    echo "install.sh: installed; start with: systemctl enable --now ringway (then: ringway doctor)"
fi
