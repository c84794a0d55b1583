#!/bin/sh
# Real media files for test_sniff, made by ffmpeg in DIR. Prints one
# line per file: FILE CONTAINER TYPE, where CONTAINER is what
# ingest_container_name() must say and TYPE a declared media type that
# must match it ("-": none). Prints "missing ffmpeg" without ffmpeg.

set -eu

dir=$1

if ! command -v ffmpeg > /dev/null 2>&1; then
    echo "missing ffmpeg"
    exit 0
fi

video="-f lavfi -i testsrc=size=64x48:rate=10 -t 0.5"
audio="-f lavfi -i sine=frequency=440:sample_rate=8000 -t 0.5"

# make NAME CONTAINER TYPE ffmpeg-arguments...
make() {
    name=$1 container=$2 type=$3
    shift 3
    # shellcheck disable=SC2068
    ffmpeg -nostdin -hide_banner -loglevel error -y $@ "$dir/$name"
    echo "$dir/$name $container $type"
}

make a.mp4 mp4 video/mp4 $video -c:v mpeg4 -f mp4
make faststart.mp4 mp4 video/mp4 $video -c:v mpeg4 -movflags +faststart -f mp4
make frag.mp4 mp4 video/mp4 $video -c:v mpeg4 \
    -movflags frag_keyframe+empty_moov+default_base_moof -f mp4
make cmaf.mp4 mp4 video/mp4 $video -c:v libx264 \
    -movflags frag_custom+cmaf+empty_moov+default_base_moof+delay_moov -f mp4
make a.mov mov video/quicktime $video -c:v mpeg4 -f mov
make a.3gp mp4 video/3gpp $video -c:v mpeg4 -f 3gp
make a.m4a mp4 audio/mp4 $audio -c:a aac -f ipod
make a.mkv matroska video/x-matroska $video -c:v mpeg4 -f matroska
make a.mka matroska audio/x-matroska $audio -c:a libvorbis -f matroska
make a.webm webm video/webm $video -c:v libvpx -f webm
make audio.webm webm audio/webm $audio -c:a libopus -f webm
make a.ts mpegts video/mp2t $video -c:v mpeg2video -f mpegts
make a.m2ts mpegts video/mp2t $video -c:v mpeg2video -f mpegts \
    -mpegts_m2ts_mode 1
make a.flv flv video/x-flv $video -c:v flv -f flv
make a.avi avi video/x-msvideo $video -c:v mpeg4 -f avi
make a.wav unknown - $audio -f wav
make a.ogg unknown - $audio -c:a libvorbis -f ogg
make a.nut unknown - $video -c:v mpeg4 -f nut
make a.png unknown - $video -frames:v 1 -f image2
make a.mpg unknown - $video -c:v mpeg2video -f mpeg
