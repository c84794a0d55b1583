#!/bin/bash
# LL-HLS origin benchmark (issue 7): wake-up delay of held requests, 10,000
# held playlist requests on one nginx worker, and glass-to-glass latency of
# ffmpeg -> ffmpeg-worker -> nginx llhls -> hls.js. Loopback only; not part
# of the test suite. About three minutes.
#
#   bench/llhls.sh                          # everything
#   BENCH_ONLY=wake,hold bench/llhls.sh     # some scenarios: wake hold g2g
#   BENCH_HELD=2000 BENCH_SAMPLES=100 bench/llhls.sh
#
# The driver is bench/llhls_bench.py (its docstring says what each scenario
# measures and how); bench/llhls_hold.c is the epoll client that holds the
# many requests. The files served are written by
# t/integration/llhls_writer.py exactly as the worker writes them (wake,
# hold), or by the worker itself from ffmpeg's live MPEG-TS (g2g).
# Results: stdout and build/bench/llhls/results.json.
#
# Environment: NGINX (/usr/sbin/nginx), BENCH_ONLY (wake,hold,g2g),
# BENCH_SAMPLES (300 wake-ups), BENCH_HELD (10000), BENCH_RUNS (3),
# BENCH_G2G_SECONDS (30 s of playback per player run), BENCH_PORT (28580,
# and the next two).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench
MODULE=$ROOT/build/nginx/ngx_http_ingest_module.so
PY=/usr/bin/python3
ONLY=${BENCH_ONLY:-wake,hold,g2g}
HELD=${BENCH_HELD:-10000}

die() { echo "bench-llhls: $*" >&2; exit 1; }

[ -x "${NGINX:-/usr/sbin/nginx}" ] || die "nginx not found (scripts/install-deps.sh)"
[ -f "$MODULE" ] || die "$MODULE missing: run make modules"
[ -x "$PY" ] || die "$PY not found"
mkdir -p "$B"
cc -O2 -Wall -Wextra -D_GNU_SOURCE -o "$B/llhls_hold" "$ROOT/bench/llhls_hold.c"

if [[ ",$ONLY," == *",g2g,"* ]]; then
    command -v ffmpeg >/dev/null || die "ffmpeg not found"
    make -s -C "$ROOT" worker >/dev/null || die "make worker failed"
fi

# descriptors for 10,000 connections in the client and in nginx's worker
need=$((HELD + 1000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
    ulimit -Hn "$need" 2>/dev/null || die "cannot raise the descriptor limit to $need (run as root)"
fi
ulimit -n "$(ulimit -Hn)"

exec "$PY" "$ROOT/bench/llhls_bench.py" --only "$ONLY" \
    --samples "${BENCH_SAMPLES:-300}" --held "$HELD" \
    --runs "${BENCH_RUNS:-3}" --g2g-seconds "${BENCH_G2G_SECONDS:-30}" \
    --port "${BENCH_PORT:-28580}" --out "$B/llhls"
