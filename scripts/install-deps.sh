#!/bin/bash
# Installs what building, the demo and the tests need on Debian 12.
# Run as root (sudo). Idempotent: when every package is already there it
# makes no apt call at all, so repeated runs take well under a second.
#
# It never starts, stops or reconfigures the system nginx service: the
# demo and the tests run private nginx processes on loopback ports with
# their own prefix, whether or not the packaged service runs.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive

PKGS=(
    nginx nginx-dev libnginx-mod-stream libnginx-mod-rtmp
    libsrt-openssl-dev srt-tools
    build-essential make pkg-config libpcre2-dev libssl-dev zlib1g-dev
    python3 python3-pytest python3-requests python3-tuspy python3-boto3
    python3-m3u8 python3-cryptography python3-pytest-timeout
    curl procps psmisc ca-certificates binutils
    ffmpeg openssl xxd
    awscli
    # promtool (t/integration/test_ops.py); dpkg-shlibdeps (make deb)
    prometheus dpkg-dev
    # memcheck of the worker (t/worker/test_valgrind.py)
    valgrind
)

# the ffmpeg-worker's own list (libav*, libx264 through libavcodec, ...)
if [[ -f $ROOT/ffmpeg-worker/DEPENDS ]]; then
    while read -r p; do
        case $p in
            ''|'#'*|nodejs|npm) ;;
            *) PKGS+=("$p") ;;
        esac
    done < "$ROOT/ffmpeg-worker/DEPENDS"
fi

# Node: any node on PATH will do (the machines have Node 20 from
# elsewhere; Debian 12's own nodejs is 18). Install Debian's only when
# there is none, so that a newer Node is never replaced.
if ! command -v node >/dev/null 2>&1; then
    PKGS+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: node is $(command -v node) but there is no npm;" \
         "not installing Debian's npm over it" >&2
fi

installed() {
    local s
    s=$(dpkg-query -W -f='${db:Status-Abbrev}\n' "$1" 2>/dev/null | head -1)
    [[ $s == ii* ]]
}

missing=()
for p in "${PKGS[@]}"; do
    installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "install-deps: run as root: sudo $0" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >/dev/null
    for p in "${missing[@]}"; do
        installed "$p" || { echo "install-deps: $p did not install" >&2; exit 1; }
    done
fi

# JavaScript test clients (tus-js-client, hls.js + playwright-core ...),
# when the tests have them. Skipped when node_modules is newer than
# package.json and the lock file.
for JS in "$ROOT/t/js" "$ROOT/t/worker/js"; do
    [ -f "$JS/package.json" ] || continue
    command -v npm >/dev/null 2>&1 || { echo "install-deps: npm not found" >&2; exit 1; }
    stamp=$JS/node_modules/.package-lock.json
    if [ ! -f "$stamp" ] || [ "$JS/package.json" -nt "$stamp" ] \
        || { [ -f "$JS/package-lock.json" ] && [ "$JS/package-lock.json" -nt "$stamp" ]; }
    then
        if [ -f "$JS/package-lock.json" ]; then
            how=ci
        else
            how=install
        fi
        echo "install-deps: npm $how in ${JS#$ROOT/}"
        (cd "$JS" && npm "$how" --no-audit --no-fund --loglevel=error)
    fi
done

exit 0
