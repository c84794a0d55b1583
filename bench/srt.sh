#!/bin/bash
# The guide's SRT load test: N concurrent SRT pushes (default 100) at
# 4 Mbps into one nginx with 2 workers (ngx_srt_module, token and
# passphrase checked in the handshake, every stream forwarded to TCP),
# and in the same run the same load relayed by srt-live-transmit, one
# process per stream. Prints loss, retransmits, nginx CPU per stream and
# srt-live-transmit's, and their ratio (target: no loss on loopback,
# nginx <= 1.2x).
#
#   bench/srt.sh [N] [SECONDS]          (default 100 streams, 30 s)
#   make bench-srt                      (builds everything, then this)
#
# The load: bench/srtload (C, libsrt, one process, one socket per
# stream, srt_epoll) sends a recorded MPEG-TS (4 Mbps H.264 + AAC, made
# once with ffmpeg) in a loop, 7 x 188-byte TS packets per SRT message,
# paced at RATE per stream, each stream with its own stream id and token
# (minted with build/ingest-token). bench/srtsink (C, epoll) receives
# and counts what the relays deliver.
#
# Like for like: both relays receive SRT with the same libsrt (Debian's
# 1.5), the same latency and passphrase, and write the TS bytes as they
# are to a TCP connection on loopback to the same sink: nginx with
# "forward tcp://", srt-live-transmit with "file://con" whose stdout is
# a TCP connection to the sink (SLT_OUT=udp: "udp://" to a UDP port of
# the sink instead). nginx's side also verifies a token per stream
# (once, in the handshake).
#
# Modes (MODE): "seq" (default) runs nginx's phase, then
# srt-live-transmit's, each alone on the machine with the same load, in
# one invocation; "par" runs both at once (2 x N streams), so that both
# see the same background load; "nginx" or "slt" runs one side only.
#
# The generator runs at nice 10 (GEN_NICE) in both phases: it stands in
# for N encoders elsewhere, and on a small machine it otherwise takes the
# CPU the relay under test needs (libsrt's sender wakes a thread for each
# message). It paces by the clock, so a late tick sends what was due; at
# nice 19 it fell so far behind that its own sender dropped packets as
# too late. nginx listens with "sockets=16" (SOCKETS): 16 libsrt
# receive threads and socket buffers per worker (docs/srt.md).
#
# Environment: MODE (seq), RATE (4m), LATENCY (250 ms), PASSPHRASE
# ("bench-passphrase-1", no spaces: srt-live-transmit does not decode
# URLs; empty: no encryption), SLT_OUT (tcp), SOCKETS (16), GEN_NICE (10),
# NGINX_MAIN (more main-context directives for nginx), NGINX
# (/usr/sbin/nginx). Loopback only; files go to build/bench-srt/.

set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${1:-100}
SECS=${2:-30}
OUT=$ROOT/build/bench-srt

make --no-print-directory -s bench-srt-tools modules tools >/dev/null

rm -rf "$OUT"
mkdir -p "$OUT/logs" "$OUT/temp"

# a recorded 4 Mbps H.264 + AAC MPEG-TS, made once
TS=$ROOT/build/bench-srt-4m.ts
if [ ! -f "$TS" ]; then
    ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 30 \
        -c:v libx264 -preset veryfast -b:v 3600k -maxrate 3600k \
        -bufsize 3600k -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k \
        -muxrate 4000k -f mpegts "$TS.tmp"
    mv "$TS.tmp" "$TS"
fi

exec /usr/bin/python3 - "$ROOT" "$OUT" "$TS" "$N" "$SECS" <<'EOF'
import os, re, signal, socket, subprocess, sys, threading, time
import urllib.request
from pathlib import Path

root, out, ts, n, secs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), int(sys.argv[5])
mode = os.environ.get("MODE", "seq")
rate = os.environ.get("RATE", "4m")
latency = int(os.environ.get("LATENCY", "250"))
passphrase = os.environ.get("PASSPHRASE", "bench-passphrase-1")
slt_out = os.environ.get("SLT_OUT", "tcp")
nginx_bin = os.environ.get("NGINX", "/usr/sbin/nginx")
sockets = os.environ.get("SOCKETS", "16")
gen_nice = os.environ.get("GEN_NICE", "10")
bench = root / "build" / "bench"
hz = os.sysconf("SC_CLK_TCK")
page = os.sysconf("SC_PAGE_SIZE")

assert mode in ("seq", "par", "nginx", "slt"), \
    "MODE is seq, par, nginx or slt"
assert slt_out in ("tcp", "udp"), "SLT_OUT is tcp or udp"


def cpu(pid):
    """utime + stime of a process (all its threads), seconds"""
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / hz
    except OSError:
        return 0.0


def rss(pid):
    try:
        return int(open("/proc/%d/statm" % pid).read().split()[1]) * page
    except OSError:
        return 0


def port(kind):
    while True:
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if 20000 < p < 60000:
            return p


def kv(line):
    return {k: v for k, v in (w.split("=", 1) for w in line.split()[1:]
                              if "=" in w)}


# the sink: tcp A for nginx, tcp B / udp B for srt-live-transmit

sink_nginx, sink_slt = port(socket.SOCK_STREAM), port(socket.SOCK_STREAM)
sink = subprocess.Popen(
    [str(bench / "srtsink"), "tcp:%d" % sink_nginx,
     "%s:%d" % (slt_out, sink_slt)],
    stdout=subprocess.PIPE, text=True)
assert sink.stdout.readline().strip() == "ready"
sink_lock = threading.Lock()


def sink_counts():
    """bytes delivered so far: (to nginx's listener, to slt's)"""
    with sink_lock:
        sink.send_signal(signal.SIGUSR1)
        a = kv(sink.stdout.readline())
        b = kv(sink.stdout.readline())
    return int(a["bytes"]), int(b["bytes"])


# tokens: one per stream, scope = its name

cli = str(root / "build" / "ingest-token")
subprocess.run([cli, "genkey", "--alg", "HS256", "--out", str(out / "srt1")],
               check=True, capture_output=True)
ids = []
for i in range(n):
    tok = subprocess.run(
        [cli, "mint", "--kid", "srt1", "--alg", "HS256", "--key",
         str(out / "srt1.key"), "--sub", "bench", "--aud", "srt", "--scope",
         "bench%d" % i, "--ttl", "2h"],
        check=True, capture_output=True, text=True).stdout.strip()
    ids.append("#!::r=bench%d,m=publish,t=%s" % (i, tok))
(out / "streamids").write_text("\n".join(ids) + "\n")

# nginx: 2 workers, token + passphrase, forward to the sink

srt_port, http_port = port(socket.SOCK_DGRAM), port(socket.SOCK_STREAM)
conf = out / "nginx.conf"
conf.write_text("""
load_module %(root)s/build/nginx/ngx_http_ingest_module.so;
load_module %(root)s/build/nginx/ngx_srt_module.so;
worker_processes 2;
%(extra)s
worker_rlimit_nofile 8192;
daemon off;
pid %(out)s/nginx.pid;
error_log %(out)s/error.log info;
events { worker_connections 4096; }
srt { server {
    listen 127.0.0.1:%(srt)d sockets=%(sockets)s;
    latency %(lat)dms;
    %(pass)s
    token on;
    token_key srt1 HS256 %(out)s/srt1.key;
    max_streams 1024;
    forward tcp://127.0.0.1:%(sink)d;
} }
http {
    access_log off;
    client_body_temp_path %(out)s/temp; proxy_temp_path %(out)s/temp;
    fastcgi_temp_path %(out)s/temp; uwsgi_temp_path %(out)s/temp;
    scgi_temp_path %(out)s/temp;
    server { listen 127.0.0.1:%(http)d;
             location = /metrics { ingest_metrics; } }
}
""" % {"root": root, "out": out, "srt": srt_port, "lat": latency,
       "pass": 'passphrase "%s";' % passphrase if passphrase else "",
       "sink": sink_nginx, "http": http_port,
       "extra": os.environ.get("NGINX_MAIN", ""), "sockets": sockets})
ngx = subprocess.Popen([nginx_bin, "-p", str(out), "-c", str(conf)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def metrics():
    return urllib.request.urlopen(
        "http://127.0.0.1:%d/metrics" % http_port, timeout=5).read().decode()


def metric(text, name, labels=""):
    r = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)),
                  text, re.M)
    return float(r.group(1)) if r else 0.0


for _ in range(100):
    try:
        metrics()
        break
    except OSError:
        time.sleep(0.1)
workers = [int(p) for p in subprocess.run(
    ["pgrep", "-P", str(ngx.pid)], capture_output=True,
    text=True).stdout.split()]
assert len(workers) == 2, workers

# both workers' sockets in the reuseport group before the first caller:
# a group that changes moves callers between sockets
for _ in range(100):
    if (out / "error.log").read_text().count("srt: listening on") == 2:
        break
    time.sleep(0.1)
time.sleep(0.5)


def srtload(targets, extra):
    cmd = ["nice", "-n", gen_nice,
           str(bench / "srtload"), "-n", str(n), "-b", rate,
           "-t", str(secs), "-l", str(latency)] + extra
    if passphrase:
        cmd += ["-p", passphrase]
    return subprocess.Popen(cmd + [ts] + targets, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def load_result(p):
    """srtload's total line; the status of streams that failed"""
    o, e = p.communicate()
    tot = [l for l in o.splitlines() if l.startswith("total ")]
    assert tot, (o, e)
    res = {k: float(v) for k, v in kv(tot[0]).items()}
    failed = {}
    for l in o.splitlines():
        st = kv(l).get("status", "ok") if l.startswith("stream=") else "ok"
        if st != "ok":
            failed[st] = failed.get(st, 0) + 1
    res["failures"] = failed
    return res


def start_slt():
    """N srt-live-transmit listeners; their output to the sink"""
    procs, ports = [], []
    for _ in range(n):
        p = port(socket.SOCK_DGRAM)
        src = ("srt://127.0.0.1:%d?mode=listener&latency=%d"
               % (p, latency))
        if passphrase:
            # srt-live-transmit does not percent-decode: no spaces
            src += "&passphrase=" + passphrase
        if slt_out == "tcp":
            c = socket.create_connection(("127.0.0.1", sink_slt))
            procs.append(subprocess.Popen(
                ["srt-live-transmit", "-a", "no", "-q", src, "file://con"],
                stdout=c.fileno(), stderr=subprocess.DEVNULL))
            c.close()
        else:
            procs.append(subprocess.Popen(
                ["srt-live-transmit", "-a", "no", "-q", src,
                 "udp://127.0.0.1:%d" % sink_slt],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(p)
    time.sleep(1)
    return procs, ["127.0.0.1:%d" % p for p in ports]


class Sampler(threading.Thread):
    """the largest RSS of the nginx workers, every 0.5 s"""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.rss = False, 0

    def run(self):
        while not self.stop:
            self.rss = max(self.rss, sum(rss(w) for w in workers))
            time.sleep(0.5)


def run(nginx_side, slt_side):
    res = {}
    m0 = metrics()
    s0 = sink_counts()
    if slt_side:
        slts, targets = start_slt()
        slt_cpu0 = sum(cpu(p.pid) for p in slts)
    sampler = Sampler()
    sampler.start()
    c0 = sum(cpu(w) for w in workers)
    t0 = time.monotonic()
    gens = {}
    if nginx_side:
        gens["nginx"] = srtload(["127.0.0.1:%d" % srt_port],
                                ["-S", str(out / "streamids")])
    if slt_side:
        gens["slt"] = srtload(targets, [])
    loads = {k: load_result(p) for k, p in gens.items()}
    wall = time.monotonic() - t0
    time.sleep(1)
    c1 = sum(cpu(w) for w in workers)
    sampler.stop = True
    if slt_side:
        # they exit when their caller is gone: wait4() gives their CPU
        slt_cpu, killed, deadline = 0.0, 0, time.monotonic() + 15
        for p in slts:
            while time.monotonic() < deadline:
                try:
                    pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    p.returncode = status
                    slt_cpu += ru.ru_utime + ru.ru_stime
                    break
                time.sleep(0.05)
            else:
                slt_cpu += cpu(p.pid)
                killed += 1
                p.kill()
                p.wait()
        res["slt"] = {"cpu": slt_cpu - slt_cpu0, "load": loads["slt"],
                      "killed": killed}
    s1 = sink_counts()
    m1 = metrics()
    if nginx_side:
        d = lambda name, labels="": metric(m1, name, labels) \
            - metric(m0, name, labels)
        res["nginx"] = {
            "cpu": c1 - c0, "load": loads["nginx"], "rss": sampler.rss,
            "packets": d("srt_packets_received_total"),
            "lost": d("srt_packet_loss_total"),
            "retrans": d("srt_retransmits_total"),
            "drops": d("srt_drops_total"),
            "bridge": d("srt_bridge_dropped_bytes_total"),
            "slow": d("srt_relay_slow_consumers_total",
                      '{relay="forward"}'),
            "accepted": d("srt_streams_accepted_total"),
            "delivered": s1[0] - s0[0]}
    if slt_side:
        res["slt"]["delivered"] = s1[1] - s0[1]
    res["wall"] = wall
    return res


if mode == "seq":
    r = run(True, False)
    r.update({k: v for k, v in run(False, True).items() if k == "slt"})
else:
    r = run(mode != "slt", mode != "nginx")

ngx.send_signal(signal.SIGQUIT)
ngx.wait(30)
sink.send_signal(signal.SIGTERM)
sink.wait(10)

stream_s = n * secs
print("SRT load: %d streams x %s bit/s for %d s, latency %d ms, %s, "
      "mode %s, 2 nginx workers with sockets=%s, generator at nice %s, "
      "%d vCPU" % (n, rate, secs, latency,
                   "AES-128" if passphrase else "unencrypted", mode,
                   sockets, gen_nice, os.cpu_count()))
print()
print("| relay | connected | sent MB | delivered MB | lost (NAK) "
      "| retransmitted | dropped (sender) | CPU-s | CPU per stream |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for side, label in (("nginx", "nginx ngx_srt_module -> tcp"),
                    ("slt", "srt-live-transmit -> %s" % slt_out)):
    if side not in r:
        continue
    x = r[side]
    ld = x["load"]
    print("| %s | %d/%d | %.1f | %.1f | %d | %d | %d | %.2f | %.2f %% |"
          % (label, ld["connected"], ld["streams"], ld["bytes"] / 1e6,
             x["delivered"] / 1e6, ld["lost"], ld["retrans"], ld["dropped"],
             x["cpu"], 100 * x["cpu"] / stream_s))
print()
print("(lost, retransmitted, dropped: srtload's sender totals; CPU per "
      "stream: CPU-s / (streams x seconds), in % of one core)")
if "nginx" in r and "slt" in r:
    a, b = r["nginx"]["cpu"], r["slt"]["cpu"]
    print("CPU per stream, nginx / srt-live-transmit: %.2f (target <= 1.2)"
          % (a / b if b else float("nan")))
x = r.get("nginx")
if x:
    pk = x["packets"] or 1
    print("nginx receiver: accepted %d, packets %d, lost %d (%.3f %%), "
          "retransmitted %d (%.3f %%), dropped %d, bridge drops %d B, "
          "slow consumers %d, workers' RSS at most %.1f MB"
          % (x["accepted"], x["packets"], x["lost"], 100 * x["lost"] / pk,
             x["retrans"], 100 * x["retrans"] / pk, x["drops"], x["bridge"],
             x["slow"], x["rss"] / 1e6))
for side in ("nginx", "slt"):
    if side not in r:
        continue
    ld = r[side]["load"]
    miss = ld["bytes"] - r[side]["delivered"]
    print("%s: end to end %s (%d B sent, %d B delivered); generator "
          "%.2f CPU-s, late at most %.1f ms%s%s"
          % (side, "no loss" if miss == 0 else "MISSING %d B" % miss,
             ld["bytes"], r[side]["delivered"], ld["cpu_s"], ld["late_ms"],
             "; %d srt-live-transmit killed (did not exit within 15 s)"
             % r[side]["killed"] if r[side].get("killed") else "",
             "; streams that failed: %s" % ", ".join(
                 "%s x%d" % kv_ for kv_ in sorted(ld["failures"].items()))
             if ld["failures"] else ""))
EOF
