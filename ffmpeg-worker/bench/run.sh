#!/bin/bash
# The same 3-rung ladder (360p/720p/1080p, x264 veryfast, AAC 128k, 4 s
# fMP4 segments) from the same 1080p30 source, by ingest-worker and by
# one ffmpeg command, side by side in one run. Prints both wall times
# and the ratio worker / CLI (the target is <= 1.05).
#
#   ffmpeg-worker/bench/run.sh [seconds of source, default 20]

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$HERE/../build/ingest-worker
SECS=${1:-20}
DIR=$(mktemp -d /tmp/iw-bench.XXXXXX)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT

make -s -C "$HERE/.." >/dev/null

echo "source: testsrc2 1920x1080 30 fps + sine, $SECS s" >&2
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t "$SECS" \
    -c:v libx264 -preset ultrafast -crf 18 -pix_fmt yuv420p \
    -c:a aac -b:a 192k "$DIR/src.mp4"

# -- ingest-worker ----------------------------------------------------------

mkdir -p "$DIR/spool/incoming" "$DIR/spool/tmp"
cat > "$DIR/w.conf" <<CONF
workers 1;
webhooks off;
reclaim_interval 1s;
profile default {
    preset veryfast;
    segment_duration 4s;
    passthrough off;
}
CONF

"$BIN" -f -c "$DIR/w.conf" -p "$DIR/spool" -o "$DIR/out" \
    2> "$DIR/worker.log" &
PID=$!
sleep 0.5

cat > "$DIR/spool/tmp/b.json" <<JOB
{"version":1,"id":"b","kind":"upload","source":"$DIR/src.mp4"}
JOB

start=$(date +%s.%N)
mv "$DIR/spool/tmp/b.json" "$DIR/spool/incoming/b.json"
while [ ! -e "$DIR/spool/done/b.json" ]; do
    if [ -e "$DIR/spool/failed/b.json" ]; then
        cat "$DIR/spool/failed/b.error" "$DIR/worker.log" >&2
        exit 1
    fi
    sleep 0.02
done
worker=$(echo "$(date +%s.%N) - $start" | bc)
kill -QUIT "$PID"; wait "$PID" || true

# -- the ffmpeg command line ------------------------------------------------

mkdir -p "$DIR/cli"
start=$(date +%s.%N)
ffmpeg -nostdin -v error -i "$DIR/src.mp4" \
    -filter_complex "[0:v]split=3[a][b][c];[a]scale=640:360[v0];\
[b]scale=1280:720[v1];[c]scale=1920:1080[v2]" \
    -map "[v0]" -map "[v1]" -map "[v2]" -map 0:a \
    -c:v libx264 -preset veryfast -x264-params scenecut=0:open-gop=0 \
    -force_key_frames "expr:gte(t,n_forced*4)" \
    -b:v:0 600k -maxrate:v:0 800k -bufsize:v:0 800k \
    -b:v:1 2200k -maxrate:v:1 3000k -bufsize:v:1 3000k \
    -b:v:2 4500k -maxrate:v:2 6000k -bufsize:v:2 6000k \
    -c:a aac -b:a 128k -ar 48000 -ac 2 \
    -f hls -hls_time 4 -hls_playlist_type vod -hls_segment_type fmp4 \
    -var_stream_map "v:0 v:1 v:2 a:0" -master_pl_name master.m3u8 \
    -hls_segment_filename "$DIR/cli/%v/seg%05d.m4s" "$DIR/cli/%v/index.m3u8"
cli=$(echo "$(date +%s.%N) - $start" | bc)

printf 'ingest-worker  %.2f s\nffmpeg CLI     %.2f s\nratio          %.3f\n' \
    "$worker" "$cli" "$(echo "$worker / $cli" | bc -l)"
