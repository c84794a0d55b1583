#!/bin/sh
# End-to-end check of the core's RTMP path against nginx-rtmp-module
# (Debian's libnginx-mod-rtmp), not part of "make run": a local nginx
# with an rtmp "live" application that records; rtmp_live_check
# publishes build/unit/live.ts through TS demuxer -> FLV remuxer -> RTMP
# client; the recording must be H.264 320x240 + AAC with every frame.
# A second publisher of the same name must get NetStream.Publish.BadName.
#
#   sh t/unit/rtmp_live_check.sh        prints "ok" or why not

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/unit
core=$top/src/core
module=/usr/lib/nginx/modules/ngx_rtmp_module.so

if [ ! -f "$module" ]; then
    echo "missing $module (apt-get install libnginx-mod-rtmp)"
    exit 1
fi

make -s -C "$top/t/unit" "$build/live.ts"

gcc -std=gnu99 -Wall -Wextra -Werror -g -O1 \
    -fsanitize=address,undefined -fno-omit-frame-pointer -I"$core" \
    "$top/t/unit/rtmp_live_check.c" "$core/ingest_rtmp.c" \
    "$core/ingest_ts.c" "$core/ingest_flv.c" -o "$build/rtmp_live_check"

dir=$(mktemp -d /tmp/rtmp_live_check.XXXXXX)
port=$((20000 + $$ % 20000))
mkdir -p "$dir/rec" "$dir/logs"

# nginx's workers (nobody) write the recording
chmod 755 "$dir"
chmod 777 "$dir/rec"

cat > "$dir/nginx.conf" <<CONF
load_module $module;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:$port;
        chunk_size 4096;
        application live {
            live on;
            record all;
            record_path $dir/rec;
        }
    }
}
CONF

nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"

cleanup() {
    if [ -f "$dir/nginx.pid" ]; then
        kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
        sleep 0.5
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    echo "--- error.log"
    tail -20 "$dir/error.log"
    exit 1
}

url=rtmp://127.0.0.1:$port/live/cam1

# one publisher: publish, send everything, say goodbye

out=$("$build/rtmp_live_check" "$url" "$build/live.ts") \
    || fail "publish: $out"
echo "$out" | grep -q '^publishing$' || fail "no Publish.Start: $out"
echo "$out"

sleep 0.5
[ -f "$dir/rec/cam1.flv" ] || fail "no recording"

probe=$(ffprobe -v error -count_packets -show_entries \
        stream=codec_name,width,height,nb_read_packets -of csv=p=0 \
        "$dir/rec/cam1.flv")
echo "$probe"
echo "$probe" | grep -q '^h264,320,240,50$' || fail "video: $probe"
echo "$probe" | grep -q '^aac,95$' || fail "audio: $probe"

ffmpeg -nostdin -v error -xerror -i "$dir/rec/cam1.flv" -f null - \
    || fail "recording does not decode"

# a second publisher of a stream being published is refused

"$build/rtmp_live_check" "$url" "$build/live.ts" 3 > "$dir/first.out" &
first=$!
sleep 1

rc=0
out=$("$build/rtmp_live_check" "$url" "$build/live.ts") || rc=$?
echo "$out"
wait $first || fail "first publisher: $(cat "$dir/first.out")"

[ $rc -eq 2 ] || fail "second publisher not rejected (exit $rc)"
echo "$out" | grep -q '^rejected NetStream.Publish.BadName' \
    || fail "not BadName: $out"

if grep -E '\[(alert|emerg)\]' "$dir/error.log"; then
    fail "alert in error.log"
fi

echo ok
