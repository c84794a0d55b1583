#!/bin/bash
# The demo: builds the module, starts the stock nginx with
# conf-examples/vod-upload.conf (paths moved under build/demo/) on
# 127.0.0.1:8080, checks one upload and tells how to use it.
#
#   sudo ./scripts/demo.sh         # (re)start the demo
#   sudo ./scripts/demo.sh stop    # stop it
#   sudo ./scripts/demo.sh status
#
# DEMO_PORT=8081 moves it to another port. Runs without root too when the
# packages are already installed (the workers then run as you).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=$ROOT/build/demo
CONF=$DEMO/nginx.conf
PIDFILE=$DEMO/nginx.pid
NGINX=/usr/sbin/nginx
PORT=${DEMO_PORT:-8080}
BASE=http://127.0.0.1:$PORT
MODULE=$ROOT/build/nginx/ngx_http_ingest_module.so

die() { echo "demo: $*" >&2; exit 1; }

running_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # only an nginx started with this demo's config
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$CONF" \
        || return 1
    echo "$pid"
}

WORKER=$ROOT/ffmpeg-worker/build/ingest-worker
WORKER_CONF=$DEMO/ingest-worker.conf
WORKER_PID=$DEMO/ingest-worker.pid

stop_worker() {
    local wpid i
    [ -f "$WORKER_PID" ] || return 0
    wpid=$(cat "$WORKER_PID" 2>/dev/null) || return 0
    if [[ $wpid =~ ^[0-9]+$ ]] && kill -0 "$wpid" 2>/dev/null \
        && tr '\0' ' ' < "/proc/$wpid/cmdline" 2>/dev/null | grep -qF "$WORKER_CONF"
    then
        kill -TERM "$wpid"              # running jobs go back to incoming/
        for i in $(seq 100); do
            kill -0 "$wpid" 2>/dev/null || break
            sleep 0.1
        done
        echo "demo: stopped (ingest-worker $wpid)"
    fi
    rm -f "$WORKER_PID"
}

stop() {
    local pid i w workers
    stop_worker
    if ! pid=$(running_pid); then
        rm -f "$PIDFILE"
        echo "demo: not running"
        return 0
    fi
    workers=$(pgrep -P "$pid" || true)
    kill -QUIT "$pid"                   # graceful: finish current requests
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
    fi
    # workers of a master that died abnormally would keep the port
    for w in $workers; do
        if kill -0 "$w" 2>/dev/null \
            && tr '\0' ' ' < "/proc/$w/cmdline" 2>/dev/null | grep -q '^nginx: worker'
        then
            kill -TERM "$w" 2>/dev/null || true
        fi
    done
    rm -f "$PIDFILE"
    echo "demo: stopped (nginx $pid)"
}

case ${1:-start} in
    stop)   stop; exit 0 ;;
    status)
        if pid=$(running_pid); then
            echo "demo: running (nginx $pid) on $BASE"
        else
            echo "demo: not running"
        fi
        exit 0 ;;
    start|restart) ;;
    *)      echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

# --- build -----------------------------------------------------------------

"$ROOT/scripts/install-deps.sh"
make -C "$ROOT" --no-print-directory modules
[ -f "$MODULE" ] || die "$MODULE was not built"

stop >/dev/null

# --- config ----------------------------------------------------------------

mkdir -p "$DEMO"/{uploads,spool/tmp,spool/incoming,logs,tmp,hls}
# a fresh log per start (uploads of earlier runs stay: they can resume)
for f in error access; do
    [ -f "$DEMO/logs/$f.log" ] && mv -f "$DEMO/logs/$f.log" "$DEMO/logs/$f.log.old"
done

if [ "$(id -u)" = 0 ]; then
    # the workers run as www-data: they must reach and write the demo dirs
    if runuser -u www-data -- test -x "$DEMO" 2>/dev/null; then
        user_line="user www-data;"
        chown -R www-data:www-data "$DEMO/uploads" "$DEMO/spool" "$DEMO/tmp"
    else
        echo "demo: www-data cannot reach $DEMO; the workers run as root"
        user_line="user root root;"
    fi
else
    user_line="# user: not root, the workers run as $(id -un)"
fi

# worker_rlimit_nofile above the hard limit nginx starts with makes every
# worker log an [alert] (containers, shells without systemd's limits)
hard=$(ulimit -Hn)
nofile=65536
if [ "$hard" != unlimited ] && ((hard < nofile)); then
    nofile=$hard
fi

sed -e "s|/usr/lib/nginx/modules/ngx_http_ingest_module.so|$MODULE|" \
    -e "s|/var/lib/nginx-ingest/uploads|$DEMO/uploads|" \
    -e "s|/var/lib/nginx-ingest/hls/|$DEMO/hls/|" \
    -e "s|/var/spool/nginx-ingest|$DEMO/spool|" \
    -e "s|/var/lib/nginx/|$DEMO/tmp/|" \
    -e "s|/var/log/nginx/|$DEMO/logs/|" \
    -e "s|/run/nginx.pid|$PIDFILE|" \
    -e "s|^user www-data;|$user_line|" \
    -e "s|listen 127.0.0.1:8080;|listen 127.0.0.1:$PORT;|" \
    -e "s|^worker_rlimit_nofile 65536;|worker_rlimit_nofile $nofile;|" \
    "$ROOT/conf-examples/vod-upload.conf" > "$CONF.tmp"

# a path the rewrite missed would write outside build/demo
if grep -nE '^[^#]*[[:space:]](/var/|/run/)' "$CONF.tmp"; then
    die "conf-examples/vod-upload.conf has paths demo.sh does not rewrite (above)"
fi
mv "$CONF.tmp" "$CONF"

# --- start -----------------------------------------------------------------

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "127.0.0.1:$PORT is in use by another program (DEMO_PORT=... to move the demo)"
fi

"$NGINX" -t -q -p "$DEMO" -c "$CONF" -e "$DEMO/logs/error.log" \
    || die "the config does not load: $CONF (log: $DEMO/logs/error.log)"
"$NGINX" -p "$DEMO" -c "$CONF" -e "$DEMO/logs/error.log" \
    || die "nginx did not start (log: $DEMO/logs/error.log)"

for i in $(seq 50); do
    running_pid >/dev/null && curl -s -o /dev/null -X OPTIONS "$BASE/files/" \
        && break
    sleep 0.1
done
pid=$(running_pid) || { tail -20 "$DEMO/logs/error.log" >&2; die "nginx is not running"; }

# --- self-check: one upload, POST then PATCH, then HEAD --------------------

b64() { printf '%s' "$1" | base64 -w0; }

HELLO=$DEMO/hello.txt
echo "hello from the nginx ingest demo, $(date -u +%FT%TZ)" > "$HELLO"
size=$(stat -c %s "$HELLO")

check_failed() {
    echo "demo: self-check failed: $*" >&2
    echo "--- $DEMO/logs/error.log" >&2
    tail -20 "$DEMO/logs/error.log" >&2 || true
    echo "demo: nginx is still running (pid $pid) for a look; stop it with $0 stop" >&2
    exit 1
}

loc=$(curl -sS -D - -o /dev/null -X POST "$BASE/files/" \
        -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $size" \
        -H "Upload-Metadata: filename $(b64 hello.txt),filetype $(b64 text/plain)" \
      | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p') || true
[ -n "$loc" ] || check_failed "POST $BASE/files/ returned no Location"
case $loc in
    /*) loc=$BASE$loc ;;
esac

curl -sS -f -o /dev/null -X PATCH "$loc" \
    -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
    -H 'Content-Type: application/offset+octet-stream' \
    --data-binary "@$HELLO" || check_failed "PATCH $loc failed"

head=$(curl -sS -I "$loc" -H 'Tus-Resumable: 1.0.0' | tr -d '\r') \
    || check_failed "HEAD $loc failed"
grep -qi "^upload-offset: $size\$" <<< "$head" \
    || check_failed "HEAD $loc does not report Upload-Offset: $size"
id=${loc##*/}

if grep -E '\[(alert|emerg|crit)\]' "$DEMO/logs/error.log"; then
    echo "demo: warning: nginx logged the problems above in $DEMO/logs/error.log" >&2
fi

# --- the transcode worker: finished uploads become HLS under /hls/ ---------

make -C "$ROOT" --no-print-directory worker >/dev/null \
    || die "the ffmpeg-worker did not build (make worker)"

sed -e "s|/var/spool/nginx-ingest|$DEMO/spool|" \
    -e "s|/var/lib/nginx-ingest/hls|$DEMO/hls|" \
    -e "s|^pid .*|pid $WORKER_PID;|" \
    "$ROOT/ffmpeg-worker/ingest-worker.conf" > "$WORKER_CONF"

"$WORKER" -t -c "$WORKER_CONF" >/dev/null 2>&1 \
    || die "the worker config does not load: $WORKER_CONF"
"$WORKER" -c "$WORKER_CONF" 2>> "$DEMO/logs/worker.log" \
    || die "ingest-worker did not start (log: $DEMO/logs/worker.log)"

# --- how to use it ---------------------------------------------------------

cat <<EOF

The ingest demo runs: nginx $pid on $BASE (tus endpoint $BASE/files/)
config $CONF, logs $DEMO/logs/
and the transcode worker (ingest-worker, config $WORKER_CONF): every
finished video upload becomes ABR HLS at $BASE/hls/<id>/master.m3u8
(the job moves from $DEMO/spool/incoming/ to done/ or failed/).

Self-check: POST + PATCH of $size bytes, then HEAD $loc:
$(sed 's/^/    /' <<< "$head")

Upload with curl (tus 1.0.0 by hand):

    # 1. create the upload; the answer's Location header is its URL
    curl -i -X POST $BASE/files/ -H 'Tus-Resumable: 1.0.0' \\
        -H "Upload-Length: \$(stat -c %s video.mp4)" \\
        -H "Upload-Metadata: filename \$(printf video.mp4 | base64),filetype \$(printf video/mp4 | base64)"
    # 2. send the bytes (one PATCH, or several with increasing Upload-Offset)
    curl -i -X PATCH <Location> -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \\
        -H 'Content-Type: application/offset+octet-stream' --data-binary @video.mp4
    # 3. ask how far it got (after a broken connection, resume from Upload-Offset)
    curl -I <Location> -H 'Tus-Resumable: 1.0.0'

Upload with tus-js-client (npm install tus-js-client), upload.mjs:

    import fs from 'node:fs';
    import { Upload } from 'tus-js-client';
    const path = process.argv[2];
    const upload = new Upload(fs.createReadStream(path), {
      endpoint: '$BASE/files/',
      chunkSize: 4 * 1024 * 1024,          // 4 MiB PATCHes, resumable
      uploadSize: fs.statSync(path).size,
      retryDelays: [500, 1000, 2000, 4000, 8000],
      metadata: { filename: path.split('/').pop(), filetype: 'video/mp4' },
      onError: (e) => { console.error(e); process.exit(1); },
      onSuccess: () => console.log('done:', upload.url),
    });
    upload.start();

    node upload.mjs video.mp4
EOF
if [ -f "$ROOT/t/js/tus_upload.mjs" ]; then
    cat <<EOF

or the test suite's client (tus-js-client from t/js/node_modules):

    node t/js/tus_upload.mjs --endpoint $BASE/files/ --file video.mp4 --chunk-size 4194304
EOF
fi
cat <<EOF

Where files land:
    $DEMO/uploads/<id>        the bytes      (self-check: $DEMO/uploads/$id)
    $DEMO/uploads/<id>.info   the upload record
    $DEMO/spool/incoming/     one job (<id>.json) per finished upload

Metrics (Prometheus text, allowed from 127.0.0.1 only):
    curl $BASE/metrics

Stop: $0 stop     (re-running $0 restarts it cleanly)
EOF
