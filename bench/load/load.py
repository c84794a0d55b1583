#!/usr/bin/python3
"""
Load harness for the guide's scenarios (issue 8), scaled to this machine.

    bench/load/load.py                       # the scaled defaults below
    bench/load/load.py --uploads 500 --size 64m   # the guide's full size
    bench/load/load.py --srt 20 --srt-rate 4m     # plus SRT publishers

It starts a private nginx with the built module (build/nginx/...so) on
loopback, then runs at once:

  uploads   N tus uploads, each sent as `parallel` partial uploads
            (tus concatenation, as tus-js-client's parallelUploads does)
            in CHUNK PATCHes, then the final concatenation; every PATCH
            is timed (the guide's "part duration")
  srt       M SRT publishers (srt-live-transmit fed at RATE bit/s with a
            pre-made MPEG-TS) into the SRT module, when ngx_srt_module.so
            is built; their loss and retransmits come from /metrics

and samples the RSS and CPU of the nginx workers every 200 ms. Bounded in
count and in time (--deadline). Prints a markdown table for
docs/benchmarks.md and exits 1 when an upload failed.

The guide's rollout scenario is 500 concurrent uploads of 4 MB chunks at
concurrency 3 plus 200 SRT connections at 4 Mbps; its first-week plan is
50 clients x 200 MB and 100 SRT pushes at 4 Mbps. The defaults scale the
first down to what 2 cores and a loopback disk take in about a minute.
"""

import argparse
import asyncio
import hashlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "build" / "nginx" / "ngx_http_ingest_module.so"
SRT_MODULE = ROOT / "build" / "nginx" / "ngx_srt_module.so"
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")


def size(s):
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", s)
    if not m:
        raise argparse.ArgumentTypeError("bad size %r" % s)
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[
        m.group(2).lower()]


# --------------------------------------------------------------------------
# nginx


def start_nginx(work, port, srt_port, workers):
    (work / "logs").mkdir(parents=True, exist_ok=True)
    for d in ("store", "spool/incoming", "spool/tmp", "temp"):
        (work / d).mkdir(parents=True, exist_ok=True)
    mods = ["load_module %s;" % MODULE]
    srt = ""
    if srt_port:
        mods.append("load_module %s;" % SRT_MODULE)
        # streams are forwarded to a discarding TCP sink of this process
        srt = ("srt {\n    server {\n        listen 127.0.0.1:%d;\n"
               "        forward tcp://127.0.0.1:%d;\n    }\n}\n"
               % (srt_port, start_sink()))
    conf = work / "nginx.conf"
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf.write_text("\n".join(mods) + "\n" + user + """
worker_processes %d;
worker_rlimit_nofile 65536;
pid %s/nginx.pid;
error_log %s/logs/error.log warn;
thread_pool default threads=16 max_queue=65536;
events { worker_connections 16384; }
%s
http {
    access_log off;
    client_body_temp_path %s/temp;
    server {
        listen 127.0.0.1:%d reuseport backlog=4096;
        location /files/ {
            tus on;
            tus_store %s/store;
            tus_max_size 10g;
            client_max_body_size 0;
        }
        location = /metrics { ingest_metrics; }
    }
}
""" % (workers, work, work, srt, work, port, work))
    subprocess.run([NGINX, "-p", str(work), "-c", str(conf)], check=True)
    pidfile = work / "nginx.pid"
    for _ in range(100):
        if pidfile.exists():
            break
        time.sleep(0.05)
    master = int(pidfile.read_text())
    time.sleep(0.3)
    return master


def start_sink():
    """a TCP listener that reads and drops everything; returns its port"""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1024)

    def drain(conn):
        with conn:
            while conn.recv(1 << 16):
                pass

    def accept():
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=drain, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv.getsockname()[1]


def worker_pids(master):
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def proc_sample(pids):
    """(rss bytes, cpu ticks) summed over pids"""
    rss = ticks = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            with open("/proc/%d/statm" % pid) as f:
                rss += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return rss, ticks


# --------------------------------------------------------------------------
# a small HTTP/1.1 client on asyncio streams


class Conn:
    def __init__(self, port):
        self.port = port
        self.r = self.w = None

    async def open(self):
        self.r, self.w = await asyncio.open_connection("127.0.0.1",
                                                       self.port)

    async def request(self, method, path, headers, body=b""):
        if self.w is None:
            await self.open()
        head = ["%s %s HTTP/1.1" % (method, path),
                "Host: 127.0.0.1:%d" % self.port,
                "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in headers.items()]
        self.w.write(("\r\n".join(head) + "\r\n\r\n").encode())
        if body:
            self.w.write(body)
        await self.w.drain()
        status_line = await self.r.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        hdrs = {}
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, v = line.decode("latin-1").split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        data = await self.r.readexactly(n) if n else b""
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, data

    def close(self):
        if self.w is not None:
            self.w.close()
        self.r = self.w = None


TUS = {"Tus-Resumable": "1.0.0"}


async def partial(port, data, chunk, stats):
    c = Conn(port)
    try:
        st, h, _ = await c.request("POST", "/files/", dict(
            TUS, **{"Upload-Length": str(len(data)),
                    "Upload-Concat": "partial"}))
        if st != 201:
            raise RuntimeError("create partial: %d" % st)
        path = h["location"].split("127.0.0.1:%d" % port, 1)[-1]
        off = 0
        while off < len(data):
            piece = data[off:off + chunk]
            t0 = time.monotonic()
            st, h, _ = await c.request("PATCH", path, dict(
                TUS, **{"Upload-Offset": str(off),
                        "Content-Type": "application/offset+octet-stream"}),
                piece)
            stats["parts"].append(time.monotonic() - t0)
            if st != 204:
                stats["part_errors"] += 1
                raise RuntimeError("PATCH: %d" % st)
            off += len(piece)
            stats["bytes"] += len(piece)
        return path
    finally:
        c.close()


async def upload(port, data, chunk, parallel, stats):
    third = -(-len(data) // parallel)
    pieces = [data[i:i + third] for i in range(0, len(data), third)]
    try:
        paths = await asyncio.gather(*(partial(port, p, chunk, stats)
                                       for p in pieces))
        c = Conn(port)
        st, _, _ = await c.request("POST", "/files/", dict(
            TUS, **{"Upload-Concat": "final;" + " ".join(paths)}))
        c.close()
        if st != 201:
            raise RuntimeError("final: %d" % st)
        stats["ok"] += 1
    except Exception as e:                  # noqa: BLE001 (counted)
        stats["failed"] += 1
        stats["errors"].append(repr(e))


async def run_uploads(args, stats):
    data = os.urandom(args.size)
    sem = asyncio.Semaphore(args.uploads)
    async def one():
        async with sem:
            await upload(args.port, memoryview(data), args.chunk,
                         args.parallel, stats)
    await asyncio.wait_for(asyncio.gather(*(one()
                                            for _ in range(args.uploads))),
                           args.deadline)


# --------------------------------------------------------------------------
# SRT publishers


def start_srt(args, work):
    ts = work / "feed.ts"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi",
                    "-i", "sine=frequency=440", "-t", "10", "-c:v",
                    "libx264", "-preset", "veryfast", "-b:v",
                    str(args.srt_rate), "-maxrate", str(args.srt_rate),
                    "-bufsize", str(args.srt_rate), "-g", "30", "-c:a",
                    "aac", "-f", "mpegts", str(ts)], check=True)
    procs = []
    for i in range(args.srt):
        url = ("srt://127.0.0.1:%d?streamid=load%d&latency=250"
               % (args.srt_port, i))
        procs.append(subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop",
             "-1", "-i", str(ts), "-c", "copy", "-f", "mpegts", url]))
    return procs


def metric(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            try:
                total += float(line.rsplit(None, 1)[1])
            except ValueError:
                pass
    return total


# --------------------------------------------------------------------------


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--size", type=size, default=size("24m"))
    ap.add_argument("--chunk", type=size, default=size("4m"))
    ap.add_argument("--parallel", type=int, default=3)
    ap.add_argument("--srt", type=int, default=0)
    ap.add_argument("--srt-rate", type=size, default=4000000)
    ap.add_argument("--srt-seconds", type=float, default=20,
                    help="how long the publishers run at least")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=28490)
    ap.add_argument("--srt-port", type=int, default=28491)
    ap.add_argument("--deadline", type=float, default=600)
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    args = ap.parse_args()

    if args.srt and not SRT_MODULE.exists():
        sys.exit("load: --srt needs %s (make modules)" % SRT_MODULE)

    work = Path(tempfile.mkdtemp(prefix="ingest-load-",
                                 dir=ROOT / "build"))
    master = start_nginx(work, args.port,
                         args.srt_port if args.srt else 0, args.workers)
    pids = worker_pids(master)
    stats = {"ok": 0, "failed": 0, "parts": [], "part_errors": 0,
             "bytes": 0, "errors": []}
    samples = []
    srt_procs = []

    async def sampler(stop):
        while not stop.is_set():
            samples.append((time.monotonic(),) + proc_sample(pids))
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except asyncio.TimeoutError:
                pass

    async def go():
        stop = asyncio.Event()
        s = asyncio.create_task(sampler(stop))
        t0 = time.monotonic()
        await run_uploads(args, stats)
        elapsed = time.monotonic() - t0
        if args.srt:
            await asyncio.sleep(max(0, args.srt_seconds - elapsed))
        stop.set()
        await s
        return elapsed

    try:
        if args.srt:
            srt_procs = start_srt(args, work)
            time.sleep(3)
        elapsed = asyncio.run(go())
        m = subprocess.run(["curl", "-s", "http://127.0.0.1:%d/metrics"
                            % args.port], capture_output=True,
                           text=True).stdout
    finally:
        for p in srt_procs:
            p.send_signal(signal.SIGINT)
        for p in srt_procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([NGINX, "-p", str(work), "-c",
                        str(work / "nginx.conf"), "-s", "quit"])
        time.sleep(0.5)

    attempted = stats["ok"] + stats["failed"]
    ticks = os.sysconf("SC_CLK_TCK")
    rss_max = max((s[1] for s in samples), default=0)
    cpu = ((samples[-1][2] - samples[0][2]) / ticks
           / max(samples[-1][0] - samples[0][0], 1e-9)) if samples else 0
    parts = stats["parts"]
    rows = [
        ("uploads (partial x %d, %d MiB chunks), of %d MiB" % (
            args.parallel, args.chunk >> 20, args.size >> 20),
         "%d" % attempted),
        ("upload.success_rate", "%.4f" % (stats["ok"] / attempted
                                          if attempted else 0)),
        ("part duration p50 / p95 / p99 (s)", "%.3f / %.3f / %.3f" % (
            pct(parts, 50), pct(parts, 95), pct(parts, 99))),
        ("aggregate throughput (MB/s)", "%.1f" % (stats["bytes"] / 1e6
                                                  / elapsed)),
        ("wall time (s)", "%.1f" % elapsed),
        ("nginx workers: max RSS (MiB), CPU (cores)", "%.1f, %.2f" % (
            rss_max / 2**20, cpu)),
    ]
    if args.srt:
        recv = metric(m, "srt_packets_received_total")
        lost = metric(m, "srt_packet_loss_total")
        retr = metric(m, "srt_retransmits_total")
        rows.append(("SRT publishers at %.1f Mbit/s" % (args.srt_rate / 1e6),
                     "%d" % args.srt))
        rows.append(("SRT packets received", "%d" % recv))
        rows.append(("srt.packet_loss, srt.retransmits (of packets)",
                     "%.4f %%, %.4f %%" % (100 * lost / max(recv, 1),
                                           100 * retr / max(recv, 1))))
    print("| measure | value |")
    print("|---|---:|")
    for k, v in rows:
        print("| %s | %s |" % (k, v))
    if stats["errors"]:
        print("errors (first 5): %s" % stats["errors"][:5], file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if stats["failed"] else 0)


if __name__ == "__main__":
    main()
