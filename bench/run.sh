#!/bin/bash
# Upload benchmarks of the tus module against side-by-side baselines.
# Not part of the test suite. `make bench` runs it after `make modules`.
#
#   bench/run.sh                      # everything, about a minute
#   BENCH_ONLY=dav,node bench/run.sh  # some scenarios (names below)
#   BENCH_SIZE=256m bench/run.sh      # a quicker, smaller run
#
# Scenarios (each server is a fresh process on 127.0.0.1; each scenario
# runs twice and the second run is reported):
#   tus4m    our module: one 1 GiB upload in 4 MiB PATCHes
#   tus1     our module: the same upload in one PATCH
#   dav      nginx's own WebDAV PUT of the same file (the ceiling baseline),
#            stock settings (client_body_buffer_size 16k)
#   davbuf   the same with client_body_buffer_size 512k (a tuned DAV)
#   node     @tus/server + @tus/file-store (Node), 4 MiB PATCHes
#   conc     our module: 50 clients x 64 MiB in 4 MiB PATCHes
#   davconc  nginx DAV PUT: 50 clients x 64 MiB (baseline for conc)
#   disk     dd of the file with oflag=direct bs=512k: what the disk takes
#            with O_DIRECT, which the module uses (context, not a server)
#
# All files land under build/bench/ on the same filesystem as the repo
# (no tmpfs), the source file is read from the page cache by the client
# (tusbench, sendfile(2)). Results: a markdown table at the end, for
# docs/benchmarks.md. Method: docs/benchmarks.md.
#
# Environment: NGINX (default /usr/sbin/nginx), NODE (default node),
# BENCH_SIZE (1g), BENCH_CLIENTS (50), BENCH_CLIENT_SIZE (64m),
# BENCH_CHUNK (4m), BENCH_ONLY (all), BENCH_PORT (28470; uses 3 ports),
# BENCH_TUS_CONF (directives added to the tus location, e.g.
# 'tus_buffer_size 2m;').

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench
MODULE=$ROOT/build/nginx/ngx_http_ingest_module.so
NGINX=${NGINX:-/usr/sbin/nginx}
NODE=${NODE:-node}
SIZE=${BENCH_SIZE:-1g}
CLIENTS=${BENCH_CLIENTS:-50}
CSIZE=${BENCH_CLIENT_SIZE:-64m}
CHUNK=${BENCH_CHUNK:-4m}
ONLY=${BENCH_ONLY:-tus4m,tus1,dav,davbuf,node,conc,davconc,disk}
PORT_TUS=${BENCH_PORT:-28470}
PORT_DAV=$((PORT_TUS + 1))
PORT_NODE=$((PORT_TUS + 2))
TICKS=$(getconf CLK_TCK)

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "== $*"; }

bytes() {               # 4m -> 4194304
    local n=${1%[kKmMgG]} s=${1: -1}
    case $s in
        k|K) echo $((n << 10)) ;;
        m|M) echo $((n << 20)) ;;
        g|G) echo $((n << 30)) ;;
        *)   echo "$1" ;;
    esac
}

human() {               # 1073741824 -> 1 GiB
    local n=$1
    if ((n % (1 << 30) == 0)); then echo "$((n >> 30)) GiB"
    elif ((n % (1 << 20) == 0)); then echo "$((n >> 20)) MiB"
    else echo "$n B"; fi
}

want() { [[ ",$ONLY," == *",$1,"* ]]; }

SIZE_B=$(bytes "$SIZE")
CSIZE_B=$(bytes "$CSIZE")
CHUNK_B=$(bytes "$CHUNK")

# --- servers ---------------------------------------------------------------

PIDS=()
declare -A WORKERS LOGS

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        stop_pid "$p"
    done
    rm -f "$B/sampling"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
    local pid=$1 i w rc=0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || rc=$?
        # nginx and node exit 0 on SIGTERM; anything else is worth a look
        if ((rc != 0 && rc != 143)); then
            echo "   warning: server $pid exited with status $rc on SIGTERM" \
                 "($( ((rc > 128)) && echo "signal $((rc - 128))" || echo "exit code"))"
        fi
    fi
    if [ -n "${LOGS[$pid]:-}" ] \
        && grep -qE '\[(alert|crit|emerg)\]' "${LOGS[$pid]}" 2>/dev/null; then
        echo "   warning: ${LOGS[$pid]}:"
        grep -E '\[(alert|crit|emerg)\]' "${LOGS[$pid]}" | head -5 | sed 's/^/     /'
    fi
    LOGS[$pid]=
    # workers of a master that died abnormally would keep the port
    for w in ${WORKERS[$pid]:-}; do
        if kill -0 "$w" 2>/dev/null \
            && grep -q '^nginx: worker' "/proc/$w/cmdline" 2>/dev/null
        then
            echo "   warning: worker $w outlived its master; killing it"
            kill -KILL "$w" 2>/dev/null || true
        fi
    done
    WORKERS[$pid]=
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {           # port pid log
    local i
    for i in $(seq 100); do
        port_open "$1" && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "--- $3" >&2
    tail -20 "$3" >&2 || true
    die "server (pid $2) did not listen on 127.0.0.1:$1"
}

# nginx as a foreground master (daemon off) so $! is the master's pid
start_nginx() {         # dir port
    local dir=$1 port=$2 pid
    port_open "$port" && die "127.0.0.1:$port is already in use"
    "$NGINX" -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        || die "nginx -t failed for $dir/nginx.conf"
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        </dev/null >>"$dir/error.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_port "$port" "$pid" "$dir/error.log"
    # the workers too: if the master dies abnormally they must not linger
    WORKERS[$pid]=$(pgrep -P "$pid" | tr '\n' ' ')
    LOGS[$pid]=$dir/error.log
    SERVER_PID=$pid
}

# the pids whose CPU is counted: nginx master + workers, or node
server_pids() {
    echo "$1"
    pgrep -P "$1" || true
}

cpu_ticks() {           # sum of utime + stime of the given pids
    local p t=0 stat rest
    for p in "$@"; do
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        rest=${stat##*) }
        # after "pid (comm) ": state=1 ... utime=12 stime=13
        set -- $rest
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}

status_kb() {           # field pid... -> max over pids (kB)
    local f=$1 p k v u m=0
    shift
    for p in "$@"; do
        while read -r k v u; do
            if [ "$k" = "$f:" ]; then
                ((v > m)) && m=$v
                break
            fi
        done < "/proc/$p/status" 2>/dev/null || true
    done
    echo "$m"
}

rss_sum_kb() {
    local p k v u s=0
    for p in "$@"; do
        while read -r k v u; do
            if [ "$k" = "VmRSS:" ]; then
                s=$((s + v))
                break
            fi
        done < "/proc/$p/status" 2>/dev/null || true
    done
    echo "$s"
}

# samples the summed VmRSS of the pids every 100 ms while $B/sampling exists
rss_sampler() {         # out pids...
    local out=$1
    shift
    : > "$out"
    while [ -e "$B/sampling" ]; do
        echo "$(rss_sum_kb "$@") $(status_kb VmRSS "$@")" >> "$out"
        sleep 0.1
    done
}

common_conf() {         # dir
    local d=$1
    mkdir -p "$d/tmp"
    cat <<EOF
# generated by bench/run.sh
$( [ "$(id -u)" = 0 ] && echo "user root root;  # the bench dir may not be reachable by nobody; no effect on the numbers" )
worker_processes auto;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
EOF
}

http_common() {         # dir
    local d=$1
    cat <<EOF
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
EOF
}

write_tus_conf() {      # dir
    local d=$1
    rm -rf "$d"
    mkdir -p "$d/store" "$d/spool"
    {
        echo "load_module $MODULE;"
        common_conf "$d"
        cat <<EOF
events { worker_connections 1024; }
http {
$(http_common "$d")
    server {
        listen 127.0.0.1:$PORT_TUS;
        location /files/ {
            tus on;
            tus_store $d/store;
            tus_spool $d/spool;
            ${BENCH_TUS_CONF:-}
            client_max_body_size 0;
            client_body_timeout 60s;
        }
    }
}
EOF
    } > "$d/nginx.conf"
}

write_dav_conf() {      # dir [client_body_buffer_size]
    local d=$1 buf=${2:-}
    rm -rf "$d"
    mkdir -p "$d/store/dav" "$d/store-tmp"
    {
        common_conf "$d"
        cat <<EOF
events { worker_connections 1024; }
http {
$(http_common "$d")
    server {
        listen 127.0.0.1:$PORT_DAV;
        location /dav/ {
            root $d/store;
            dav_methods PUT;
            create_full_put_path on;
            # same filesystem as the root: the finished file is renamed
            client_body_temp_path $d/store-tmp;
            client_max_body_size 0;
            client_body_timeout 60s;
$( [ -n "$buf" ] && echo "            client_body_buffer_size $buf;" )
        }
    }
}
EOF
    } > "$d/nginx.conf"
}

start_node() {          # dir
    local d=$1 pid
    rm -rf "$d"
    mkdir -p "$d/store"
    port_open "$PORT_NODE" && die "127.0.0.1:$PORT_NODE is already in use"
    (cd "$ROOT/bench" && exec "$NODE" tus-node-server.mjs "$PORT_NODE" \
        "$d/store" </dev/null >"$d/node.log" 2>&1) &
    pid=$!
    PIDS+=("$pid")
    wait_port "$PORT_NODE" "$pid" "$d/node.log"
    SERVER_PID=$pid
}

node_deps() {
    local major minor want have=
    command -v "$NODE" >/dev/null || die "node not found (scripts/install-deps.sh)"
    IFS=. read -r major minor _ <<< "$("$NODE" -p 'process.versions.node')"
    # @tus/server 2.x needs Node >= 20.19; 1.x runs on Node 16+
    if ((major > 20 || (major == 20 && minor >= 19))); then want=2; else want=1; fi
    if [ -f "$ROOT/bench/node_modules/@tus/server/package.json" ]; then
        have=$("$NODE" -p "require('$ROOT/bench/node_modules/@tus/server/package.json').version")
    fi
    if [ "${have%%.*}" != "$want" ] \
        || [ ! -f "$ROOT/bench/node_modules/@tus/file-store/package.json" ]
    then
        say "installing @tus/server@$want @tus/file-store@$want into bench/node_modules"
        (cd "$ROOT/bench" && npm install --no-save --no-package-lock \
            --no-audit --no-fund --loglevel=error \
            "@tus/server@$want" "@tus/file-store@$want") \
            || die "npm install failed"
        have=$("$NODE" -p "require('$ROOT/bench/node_modules/@tus/server/package.json').version")
    fi
    NODE_LABEL="@tus/server $have, Node $("$NODE" --version)"
}

# --- measuring -------------------------------------------------------------

# results: R_<name>_{mbps,cpu,rss,p95,secs}
declare -A R

clear_store() {
    find "$1" -mindepth 1 -delete 2>/dev/null || true
}

# run the client twice against a server; keep the second run
measure() {             # name store server_pid client-args...
    local name=$1 store=$2 spid=$3 run out c0 c1 s0 s1 pids bytes sampler
    shift 3
    for run in 1 2; do
        clear_store "$store"
        sync
        pids=$(server_pids "$spid")
        if [ -n "${SAMPLE_PIDS:-}" ]; then
            touch "$B/sampling"
            rss_sampler "$B/$name/rss.run$run" $SAMPLE_PIDS &
            sampler=$!
        fi
        c0=$(cpu_ticks $pids)
        if ! out=$("$B/tusbench" "$@"); then
            echo "$out"
            die "$name: the client failed (server log under $B/$name)"
        fi
        pids=$(server_pids "$spid")
        c1=$(cpu_ticks $pids)
        # what it takes to get the bytes onto the disk: a server writing
        # into the page cache leaves that work to the kernel's flusher
        s0=$(date +%s%N)
        sync
        s1=$(date +%s%N)
        if [ -n "${SAMPLE_PIDS:-}" ]; then
            rm -f "$B/sampling"
            wait "$sampler" || true
        fi
        echo "   run $run: $out cpu_ticks=$((c1 - c0)) sync_ms=$(( (s1 - s0) / 1000000 ))"
    done
    bytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<< "$out")
    R[$name.mbps]=$(sed -n 's/.*mbps=\([0-9.]*\).*/\1/p' <<< "$out")
    R[$name.secs]=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<< "$out")
    R[$name.p95]=$(sed -n 's/.*p95_ms=\([0-9.]*\).*/\1/p' <<< "$out")
    R[$name.sync]=$(awk -v b="$bytes" -v t="${R[$name.secs]}" \
        -v s=$(( (s1 - s0) / 1000000 )) 'BEGIN { printf "%.1f", b / (t + s / 1e3) / 1e6 }')
    R[$name.cpu]=$(awk -v t=$((c1 - c0)) -v hz="$TICKS" -v b="$bytes" \
        'BEGIN { printf "%.2f", t / hz / (b / 1073741824) }')
    R[$name.rss]=$(( $(status_kb VmHWM $( [ "$name" = node ] && echo "$spid" \
        || pgrep -P "$spid") ) / 1024 ))
    clear_store "$store"
}

# --- setup -----------------------------------------------------------------

[ -x "$NGINX" ] || die "$NGINX not found (scripts/install-deps.sh)"
if want tus4m || want tus1 || want conc; then
    [ -f "$MODULE" ] || die "$MODULE missing: run make modules"
fi
mkdir -p "$B/data"

need=$(( (SIZE_B > CLIENTS * CSIZE_B ? SIZE_B : CLIENTS * CSIZE_B) + 2 * SIZE_B + (1 << 30) ))
avail=$(( $(df -Pk "$B" | awk 'NR == 2 { print $4 }') * 1024 ))
((avail > need)) || die "not enough disk space under $B: $((avail >> 20)) MiB free, $((need >> 20)) MiB needed"

cc -O2 -Wall -Wextra -pthread -o "$B/tusbench" "$ROOT/bench/tusbench.c" \
    || die "cannot build bench/tusbench.c"

SRC=$B/data/src.bin
SRC_B=$((SIZE_B > CSIZE_B ? SIZE_B : CSIZE_B))
if [ "$(stat -c %s "$SRC" 2>/dev/null || echo 0)" -lt "$SRC_B" ]; then
    say "writing $(human "$SRC_B") of random data to $SRC"
    head -c "$SRC_B" /dev/urandom > "$SRC.tmp"
    mv "$SRC.tmp" "$SRC"
fi
cat "$SRC" > /dev/null      # into the page cache: the client reads from RAM

want node && node_deps

say "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
say "store filesystem: $(df -PT "$B" | awk 'NR == 2 { print $1 " (" $2 ")" }'), nginx $("$NGINX" -v 2>&1 | sed 's|.*/||')"

# --- scenarios -------------------------------------------------------------

T0=$SECONDS

if want tus4m; then
    say "tus4m: module, $(human "$SIZE_B") in $(human "$CHUNK_B") PATCHes"
    write_tus_conf "$B/tus4m"
    start_nginx "$B/tus4m" "$PORT_TUS"
    measure tus4m "$B/tus4m/store" "$SERVER_PID" \
        tus "http://127.0.0.1:$PORT_TUS/files/" "$SRC" "$SIZE_B" "$CHUNK_B" 1
    stop_pid "$SERVER_PID"
fi

if want tus1; then
    say "tus1: module, $(human "$SIZE_B") in one PATCH"
    write_tus_conf "$B/tus1"
    start_nginx "$B/tus1" "$PORT_TUS"
    measure tus1 "$B/tus1/store" "$SERVER_PID" \
        tus "http://127.0.0.1:$PORT_TUS/files/" "$SRC" "$SIZE_B" 0 1
    stop_pid "$SERVER_PID"
fi

if want dav; then
    say "dav: nginx DAV PUT, $(human "$SIZE_B")"
    write_dav_conf "$B/dav"
    start_nginx "$B/dav" "$PORT_DAV"
    measure dav "$B/dav/store/dav" "$SERVER_PID" \
        put "http://127.0.0.1:$PORT_DAV/dav/" "$SRC" "$SIZE_B" 1
    stop_pid "$SERVER_PID"
fi

if want davbuf; then
    say "davbuf: nginx DAV PUT with client_body_buffer_size 512k, $(human "$SIZE_B")"
    write_dav_conf "$B/davbuf" 512k
    start_nginx "$B/davbuf" "$PORT_DAV"
    measure davbuf "$B/davbuf/store/dav" "$SERVER_PID" \
        put "http://127.0.0.1:$PORT_DAV/dav/" "$SRC" "$SIZE_B" 1
    stop_pid "$SERVER_PID"
fi

if want node; then
    say "node: $NODE_LABEL, $(human "$SIZE_B") in $(human "$CHUNK_B") PATCHes"
    start_node "$B/node"
    measure node "$B/node/store" "$SERVER_PID" \
        tus "http://127.0.0.1:$PORT_NODE/files/" "$SRC" "$SIZE_B" "$CHUNK_B" 1
    stop_pid "$SERVER_PID"
fi

peak_mib() {             # column file -> MiB
    echo $(( $(sort -k"$1" -n "$2" | tail -1 | cut -d' ' -f"$1") / 1024 ))
}

if want conc; then
    say "conc: module, $CLIENTS clients x $(human "$CSIZE_B") in $(human "$CHUNK_B") PATCHes"
    write_tus_conf "$B/conc"
    start_nginx "$B/conc" "$PORT_TUS"
    SAMPLE_PIDS=$(pgrep -P "$SERVER_PID" | tr '\n' ' ')
    nworkers=$(wc -w <<< "$SAMPLE_PIDS")
    rss_idle=$(( $(rss_sum_kb $SAMPLE_PIDS) / 1024 ))
    measure conc "$B/conc/store" "$SERVER_PID" \
        tus "http://127.0.0.1:$PORT_TUS/files/" "$SRC" "$CSIZE_B" "$CHUNK_B" "$CLIENTS"
    rss_after=$(( $(rss_sum_kb $SAMPLE_PIDS) / 1024 ))
    rss_peak_1=$(peak_mib 1 "$B/conc/rss.run1")
    rss_peak=$(peak_mib 1 "$B/conc/rss.run2")
    rss_one=$(peak_mib 2 "$B/conc/rss.run2")
    echo "   worker RSS (sum of $nworkers workers, sampled every 100 ms): idle ${rss_idle} MiB," \
         "peak ${rss_peak_1} MiB in run 1, ${rss_peak} MiB in run 2, ${rss_after} MiB after;" \
         "one worker at most ${rss_one} MiB (VmHWM ${R[conc.rss]} MiB)"
    SAMPLE_PIDS=
    stop_pid "$SERVER_PID"
fi

if want davconc; then
    say "davconc: nginx DAV PUT, $CLIENTS clients x $(human "$CSIZE_B")"
    write_dav_conf "$B/davconc"
    start_nginx "$B/davconc" "$PORT_DAV"
    measure davconc "$B/davconc/store/dav" "$SERVER_PID" \
        put "http://127.0.0.1:$PORT_DAV/dav/" "$SRC" "$CSIZE_B" "$CLIENTS"
    stop_pid "$SERVER_PID"
fi

if want disk; then
    say "disk: dd oflag=direct bs=512k, $(human "$SIZE_B")"
    mkdir -p "$B/disk"
    for run in 1 2; do
        rm -f "$B/disk/dd.out"
        sync
        out=$(dd if="$SRC" of="$B/disk/dd.out" bs=512k \
                count=$((SIZE_B / 524288)) oflag=direct 2>&1 | tail -1)
        echo "   run $run: $out"
    done
    rm -f "$B/disk/dd.out"
    R[disk.mbps]=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "s,") s = $(i-1);
                          printf "%.1f", $1 / s / 1e6 }' <<< "$out")
    R[disk.sync]=${R[disk.mbps]}
    R[disk.cpu]="-"
    R[disk.p95]="-"
    R[disk.rss]="-"
fi

# --- report ----------------------------------------------------------------

ratio() {               # a b -> a/b with 2 decimals, or n/a
    if [ -n "${R[$1.mbps]:-}" ] && [ -n "${R[$2.mbps]:-}" ]; then
        awk -v a="${R[$1.mbps]}" -v b="${R[$2.mbps]}" \
            'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'
    else
        echo "n/a"
    fi
}

row() {                 # name label baseline
    [ -n "${R[$1.mbps]:-}" ] || return 0
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "${R[$1.mbps]}" \
        "$(ratio "$1" "$3")" "${R[$1.sync]}" "${R[$1.cpu]}" "${R[$1.p95]}" \
        "${R[$1.rss]}"
}

S=$(human "$SIZE_B")
C=$(human "$CHUNK_B")
CS=$(human "$CSIZE_B")

echo
say "done in $((SECONDS - T0)) s; second of two runs each"
echo
echo "| upload | MB/s | vs DAV PUT | MB/s incl. sync | server CPU-s/GiB | p95 request ms | server max RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row tus4m   "ingest module, tus, $S in $C PATCHes" dav
row tus1    "ingest module, tus, $S in one PATCH" dav
row dav     "nginx DAV PUT, $S (baseline)" dav
row davbuf  "nginx DAV PUT, client_body_buffer_size 512k, $S" dav
row node    "${NODE_LABEL:-@tus/server}, $S in $C PATCHes" dav
row conc    "ingest module, tus, $CLIENTS clients x $CS in $C PATCHes" davconc
row davconc "nginx DAV PUT, $CLIENTS clients x $CS (baseline)" davconc
row disk    "the disk itself: dd oflag=direct bs=512k, $S (no server)" dav
echo
echo "MB/s: 10^6 bytes/s of upload data, wall clock of the client. Incl. sync: the"
echo "same with the time of a sync(1) right after, which writes out what a server"
echo "left in the page cache (the module writes with O_DIRECT). CPU: utime+stime"
echo "of the nginx master and workers (or the node process) per GiB received."
echo "Max RSS: largest VmHWM of one nginx worker (or of node). Rows with $CLIENTS"
echo "clients compare with the DAV row with $CLIENTS clients."
if [ -n "${rss_peak:-}" ]; then
    echo "Worker RSS with $CLIENTS clients (sum of $nworkers workers, sampled every 100 ms): ${rss_idle} MiB idle,"
    echo "peak ${rss_peak_1} MiB in the first run, ${rss_peak} MiB in the second, ${rss_after} MiB after;"
    echo "$(awk -v p="$rss_peak" -v i="$rss_idle" -v n="$CLIENTS" 'BEGIN { printf "%.1f", (p - i) / n }') MiB per active upload."
fi
echo

target() {              # label value op limit
    local ok
    ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN {
        if (v == "n/a" || v == "") { print "n/a"; exit }
        print ((op == ">=" ? v >= l : v <= l) ? "met" : "NOT met") }')
    echo "- $1: $2 (target $3 $4): $ok"
}

echo "Targets:"
target "tus 4 MiB PATCHes vs DAV PUT" "$(ratio tus4m dav)" ">=" 1.2
target "tus CPU-s/GiB (4 MiB PATCHes)" "${R[tus4m.cpu]:-n/a}" "<=" 0.6
target "tus vs @tus/server" "$(ratio tus4m node)" ">=" 3
if [ -n "${R[tus4m.mbps]:-}" ] && [ -n "${R[davbuf.mbps]:-}" ]; then
    echo "- for reference, tus 4 MiB PATCHes vs DAV PUT with a 512k body buffer:" \
         "$(ratio tus4m davbuf), including the sync: $(awk -v a="${R[tus4m.sync]}" \
            -v b="${R[davbuf.sync]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
fi
if [ -n "${rss_peak:-}" ]; then
    # flat: memory per upload is its buffers (2 x tus_buffer_size 512k
    # + a 256k read buffer = 1.25 MiB by design), not its size
    target "worker RSS per active upload, MiB ($CLIENTS x $CS)" \
        "$(awk -v p="$rss_peak" -v i="$rss_idle" -v n="$CLIENTS" \
            'BEGIN { printf "%.1f", (p - i) / n }')" "<=" 2
fi
