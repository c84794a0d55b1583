#!/bin/bash
# SRT relay benchmark: N parallel publishers at about 4 Mbps for D seconds,
# relayed by nginx (ngx_srt_module, "forward tcp://") and, in the same
# run, by N srt-live-transmit listeners (srt -> udp) fed the same input.
# Prints the CPU seconds of each side, their ratio (nginx / slt) and
# nginx's SRT counters (packets, loss, retransmits, drops).
#
#   bench/srt.sh [N] [SECONDS]        (default 20 publishers, 20 s)
#
# Needs: make modules, ffmpeg, srt-tools. Loopback only; files go to
# build/bench-srt/.

set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${1:-20}
SECS=${2:-20}
OUT=$ROOT/build/bench-srt
NGX=$ROOT/build/nginx

rm -rf "$OUT"
mkdir -p "$OUT/logs" "$OUT/temp"

# a recorded 4 Mbps H.264 + AAC MPEG-TS, made once
TS=$ROOT/build/bench-srt-4m.ts
if [ ! -f "$TS" ]; then
    ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 30 \
        -c:v libx264 -preset veryfast -b:v 3800k -maxrate 3800k \
        -bufsize 3800k -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k \
        -muxrate 4200k -f mpegts "$TS.tmp"
    mv "$TS.tmp" "$TS"
fi

exec /usr/bin/python3 - "$ROOT" "$OUT" "$TS" "$N" "$SECS" <<'EOF'
import os, re, signal, socket, subprocess, sys, threading, time
from pathlib import Path

root, out, ts, n, secs = sys.argv[1], Path(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), int(sys.argv[5])
hz = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / hz
    except OSError:
        return 0.0


def children(pid):
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                       text=True)
    return [int(p) for p in r.stdout.split()]


def port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# sinks: a TCP sink for nginx's forward, a UDP sink for srt-live-transmit
got = {"tcp": 0, "udp": 0}
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 0))
tcp.listen(512)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)


def drain(c):
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        got["tcp"] += len(b)


def accept():
    while True:
        try:
            c, _ = tcp.accept()
        except OSError:
            return
        threading.Thread(target=drain, args=(c,), daemon=True).start()


def udp_drain():
    while True:
        try:
            got["udp"] += len(udp.recv(1 << 16))
        except OSError:
            return


threading.Thread(target=accept, daemon=True).start()
threading.Thread(target=udp_drain, daemon=True).start()

srt_port = port(socket.SOCK_DGRAM)
http_port = port(socket.SOCK_STREAM)
conf = out / "nginx.conf"
conf.write_text("""
load_module %(root)s/build/nginx/ngx_http_ingest_module.so;
load_module %(root)s/build/nginx/ngx_srt_module.so;
worker_processes 2;
daemon off;
pid %(out)s/nginx.pid;
error_log %(out)s/error.log notice;
events { worker_connections 4096; }
srt { server {
    listen 127.0.0.1:%(srt)d;
    latency 250ms;
    max_streams 1024;
    forward tcp://127.0.0.1:%(tcp)d;
    relay_buffer 2m;
} }
http {
    access_log off;
    client_body_temp_path %(out)s/temp; proxy_temp_path %(out)s/temp;
    fastcgi_temp_path %(out)s/temp; uwsgi_temp_path %(out)s/temp;
    scgi_temp_path %(out)s/temp;
    server { listen 127.0.0.1:%(http)d;
             location = /metrics { ingest_metrics; } }
}
""" % {"root": root, "out": out, "srt": srt_port,
       "tcp": tcp.getsockname()[1], "http": http_port})
ngx = subprocess.Popen(["/usr/sbin/nginx", "-p", str(out), "-c", str(conf)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1)
workers = children(ngx.pid)

slt_ports = [port(socket.SOCK_DGRAM) for _ in range(n)]
slts = [subprocess.Popen(
    ["srt-live-transmit", "-a", "no", "-q",
     "srt://127.0.0.1:%d?mode=listener&latency=250" % p,
     "udp://127.0.0.1:%d" % udp.getsockname()[1]],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in slt_ports]
time.sleep(1)


def publish(url):
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop", "-1",
         "-i", ts, "-t", str(secs), "-c", "copy", "-f", "mpegts", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


c0 = sum(cpu(p) for p in workers)
s0 = sum(cpu(p.pid) for p in slts)
t0 = time.monotonic()
pubs = [publish("srt://127.0.0.1:%d?streamid=bench%d&latency=250000"
                % (srt_port, i)) for i in range(n)]
pubs += [publish("srt://127.0.0.1:%d?latency=250000" % p)
         for p in slt_ports]
for p in pubs:
    p.wait()
elapsed = time.monotonic() - t0
time.sleep(1.5)
c1 = sum(cpu(p) for p in workers)
s1 = sum(cpu(p.pid) for p in slts)

import urllib.request
metrics = urllib.request.urlopen(
    "http://127.0.0.1:%d/metrics" % http_port).read().decode()


def m(name):
    r = re.search(r"^%s (\S+)$" % re.escape(name), metrics, re.M)
    return float(r.group(1)) if r else 0.0


for p in slts:
    p.send_signal(signal.SIGINT)
for p in slts:
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
ngx.send_signal(signal.SIGQUIT)
ngx.wait(20)

nginx_cpu, slt_cpu = c1 - c0, s1 - s0
pk = m("srt_packets_received_total")
print("publishers: %d x ~4 Mbps for %d s (%.1f s wall), 2 nginx workers"
      % (n, secs, elapsed))
print("nginx (ngx_srt_module -> tcp): %.2f CPU-s, %.1f MB relayed, "
      "%.3f CPU-s per stream" % (nginx_cpu, got["tcp"] / 1e6,
                                 nginx_cpu / n))
print("srt-live-transmit (srt -> udp): %.2f CPU-s, %.1f MB relayed, "
      "%.3f CPU-s per stream" % (slt_cpu, got["udp"] / 1e6, slt_cpu / n))
print("CPU ratio nginx / srt-live-transmit: %.2f"
      % (nginx_cpu / slt_cpu if slt_cpu else float("nan")))
print("nginx SRT: packets %d, loss %d (%.3f %%), retransmits %d "
      "(%.3f %%), drops %d, bridge drops %d B, slow consumers %d"
      % (pk, m("srt_packet_loss_total"),
         100 * m("srt_packet_loss_total") / pk if pk else 0,
         m("srt_retransmits_total"),
         100 * m("srt_retransmits_total") / pk if pk else 0,
         m("srt_drops_total"), m("srt_bridge_dropped_bytes_total"),
         float(re.search(r'srt_relay_slow_consumers_total\{relay="forward"\}'
                         r' (\S+)', metrics).group(1))))
EOF
