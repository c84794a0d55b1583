"""
LL-HLS origin benchmark (run by bench/llhls.sh; /usr/bin/python3).

Scenarios (--only, comma-separated):

  wake   wake-up delay: one blocking playlist request (_HLS_msn/_HLS_part
         for the next part) and one request for the preload-hinted part
         are held, then the writer (t/integration/llhls_writer.py, the
         worker's exact files) publishes the part; the delay is from just
         before the rename into place (of the part for the hinted
         request, of the playlist for the playlist request) to the kernel
         receive timestamp (SO_TIMESTAMPNS) of the response's first
         packet at the client. --samples of each; p50/p95/p99/max, and
         the server's own ingest_llhls_wakeup_delay_seconds mean.
  hold   --held (10,000) concurrent blocking playlist requests on ONE
         nginx worker (worker_processes 1, worker_connections high,
         RLIMIT_NOFILE raised), made by build/bench/llhls_hold (C, epoll):
         worker RSS before and while holding, worker CPU while holding,
         then one publish: time to the first and the last response's
         first byte and until all are complete. --runs times.
  g2g    glass to glass: ffmpeg (lavfi, -re, H.264 keyint 1 s, MPEG-TS)
         -> the ffmpeg-worker's live socket -> LL-HLS files -> nginx
         llhls -> hls.js (lowLatencyMode) in headless Debian chromium;
         hls.playingDate (EXT-X-PROGRAM-DATE-TIME, stamped by the worker
         at ingest) against Date.now() every 250 ms, and hls.latency;
         the same through a plain static location for comparison.

Everything listens on 127.0.0.1. Results: a summary on stdout and JSON
in --out.
"""

import argparse
import calendar
import importlib.util
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "t" / "integration"))

from llhls_writer import Feeder, LiveWriter, parse_media  # noqa: E402

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
MODULE = ROOT / "build" / "nginx" / "ngx_http_ingest_module.so"
HOLD_BIN = ROOT / "build" / "bench" / "llhls_hold"
SO_TIMESTAMPNS = 35                 # linux, also SCM_TIMESTAMPNS
TICKS = os.sysconf("SC_CLK_TCK")


def pct(values, p):
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def ms(x):
    return None if x is None else round(x * 1000, 3)


# --------------------------------------------------------------------------
# a private nginx


class Nginx:
    def __init__(self, prefix, port, workers=1, connections=1024,
                 extra_locations=""):
        self.prefix = Path(prefix)
        self.port = port
        self.root = self.prefix / "www"
        (self.root / "live").mkdir(parents=True, exist_ok=True)
        (self.prefix / "temp").mkdir(parents=True, exist_ok=True)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        p = self.prefix
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nofile = connections * 2 + 100
        if hard != resource.RLIM_INFINITY:
            nofile = min(nofile, hard)
        conf = f"""load_module {MODULE};
{user}worker_processes {workers};
worker_rlimit_nofile {nofile};
daemon off;
master_process on;
pid {p}/nginx.pid;
error_log {p}/error.log notice;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    {os.environ.get("BENCH_HTTP_EXTRA", "")}
    default_type application/octet-stream;
    client_body_temp_path {p}/temp/client_body;
    proxy_temp_path {p}/temp/proxy;
    fastcgi_temp_path {p}/temp/fastcgi;
    uwsgi_temp_path {p}/temp/uwsgi;
    scgi_temp_path {p}/temp/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /live/ {{ root {self.root}; llhls on; llhls_cors_origin *; }}
        location = /metrics {{ ingest_metrics; }}
{extra_locations}
    }}
}}
"""
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(conf)
        self.proc = None

    def start(self):
        self.log = open(self.prefix / "stderr.log", "ab")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(self.conf)],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                logs = [self.prefix / n for n in ("stderr.log", "error.log")]
                raise RuntimeError("nginx exited: %s" % "".join(
                    p.read_text()[-2000:] for p in logs if p.exists()))
            try:
                self.get("/metrics")
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def workers(self):
        out = []
        for e in os.listdir("/proc"):
            if e.isdigit():
                try:
                    st = Path("/proc/%s/stat" % e).read_text()
                except OSError:
                    continue
                if int(st.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    out.append(int(e))
        return out

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s"
                                    % (self.port, path), timeout=10) as r:
            return r.read()

    def metric(self, name, **labels):
        want = ",".join('%s="%s"' % kv for kv in labels.items())
        total = 0.0
        for line in self.get("/metrics").decode().splitlines():
            m = re.match(r"^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$", line)
            if m and m.group(1) == name and (not want or want in
                                             (m.group(3) or "")):
                total += float(m.group(4))
        return total

    def bad_log(self):
        text = (self.prefix / "error.log").read_text(errors="replace")
        return [l for l in text.splitlines()
                if re.search(r"\[(alert|emerg|crit)\]", l)]


def rss_kib(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def hwm_kib(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def cpu_ticks(pid):
    f = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])          # utime + stime


# --------------------------------------------------------------------------
# (a) wake-up delay


class TsConn:
    """a keep-alive connection whose responses are stamped by the kernel"""

    def __init__(self, port):
        self.port = port
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def send(self, path):
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                        % (path, self.port)).encode())

    def idle(self):
        r, _, _ = select.select([self.s], [], [], 0)
        return not r

    def response(self):
        """(kernel receive time of the first packet in CLOCK_REALTIME ns,
        status, body)"""
        data, anc, _, _ = self.s.recvmsg(65536, socket.CMSG_SPACE(16))
        ts = None
        for level, typ, raw in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", raw[:16])
                ts = sec * 1000000000 + nsec
        while b"\r\n\r\n" not in data:
            data += self.s.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
        n = int(m.group(1)) if m else 0
        while len(body) < n:
            body += self.s.recv(65536)
        return ts, status, body


def clock_offset():
    """CLOCK_REALTIME - CLOCK_MONOTONIC in ns (the tightest of a few)"""
    best = None
    for _ in range(20):
        a = time.monotonic_ns()
        r = time.time_ns()
        b = time.monotonic_ns()
        if best is None or b - a < best[0]:
            best = (b - a, r - (a + b) // 2)
    return best[1]


def bench_wake(args, base):
    srv = Nginx(base / "wake", args.port).start()
    out = {}
    try:
        w = LiveWriter(srv.root / "live" / "wake")
        w.publish_segments(3)
        srv.get("/live/wake/index.m3u8")
        pl, hint = TsConn(args.port), TsConn(args.port)
        c0 = srv.metric("ingest_llhls_wakeup_delay_seconds_count")
        s0 = srv.metric("ingest_llhls_wakeup_delay_seconds_sum")
        d_pl, d_hint, bad = [], [], 0
        for i in range(args.samples):
            msn, part = w.next_ref()
            pl.send("/live/wake/index.m3u8?_HLS_msn=%d&_HLS_part=%d"
                    % (msn, part))
            hint.send("/live/wake/" + w.hint())
            time.sleep(0.03)
            if not (pl.idle() and hint.idle()):
                raise RuntimeError("a request was answered before the "
                                   "publish (sample %d)" % i)
            off = clock_offset()
            rec = w.publish()
            t_pl, st_pl, body = pl.response()
            t_h, st_h, data = hint.response()
            if st_pl != 200 or st_h != 200 or rec.uri.encode() not in body \
                    or data != (w.dir / rec.uri).read_bytes():
                bad += 1
                continue
            d_pl.append((t_pl - (int(rec.t_playlist0 * 1e9) + off)) / 1e9)
            d_hint.append((t_h - (int(rec.t_part0 * 1e9) + off)) / 1e9)
        c1 = srv.metric("ingest_llhls_wakeup_delay_seconds_count")
        s1 = srv.metric("ingest_llhls_wakeup_delay_seconds_sum")
        for name, d in (("playlist", d_pl), ("hinted_part", d_hint)):
            out[name] = {"samples": len(d), "p50_ms": ms(pct(d, 50)),
                         "p95_ms": ms(pct(d, 95)), "p99_ms": ms(pct(d, 99)),
                         "max_ms": ms(max(d)), "min_ms": ms(min(d))}
        out["bad_samples"] = bad
        out["server_histogram"] = {
            "count": c1 - c0,
            "mean_ms": ms((s1 - s0) / (c1 - c0)) if c1 > c0 else None}
        out["alerts"] = srv.bad_log()
    finally:
        srv.stop()
    return out


# --------------------------------------------------------------------------
# (b) many held requests on one worker


def hold_nginx(args, base, name, n):
    """a fresh one-worker nginx and a writer: 4 s segments of 8 parts of
    0.5 s, so a hold lasts up to 12 s"""
    srv = Nginx(base / name, args.port + 1, workers=1,
                connections=n + 1000).start()
    w = LiveWriter(srv.root / "live" / "hold", parts=(0.5,) * 8,
                   part_target=0.5, window=6)
    w.publish_segments(2)
    w.publish()
    srv.get("/live/hold/index.m3u8")
    time.sleep(0.5)
    return srv, w


def hold_baseline(args, base, flag):
    """RSS of the worker with N connections that sent a request header
    without its end (-p) or nothing (-i)"""
    n = args.held
    srv, w = hold_nginx(args, base, "hold-base" + flag, n)
    try:
        (pid,) = srv.workers()
        rss0 = rss_kib(pid)
        cli = subprocess.Popen([str(HOLD_BIN), flag, str(srv.port),
                                "/live/hold/index.m3u8", str(n), "60"],
                               stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                               text=True)
        line = cli.stdout.readline()
        if not line.startswith("sent"):
            raise RuntimeError("llhls_hold: %r" % line)
        time.sleep(1.5)
        rss1 = rss_kib(pid)
        cli.stdin.close()
        cli.wait(30)
        return {"rss_before_kib": rss0, "rss_with_n_kib": rss1,
                "rss_per_connection_bytes": round((rss1 - rss0) * 1024 / n)}
    finally:
        srv.stop()


def bench_hold(args, base):
    n = args.held
    runs = []
    alerts = []
    for run in range(args.runs):
        srv, w = hold_nginx(args, base, "hold%d" % run, n)
        try:
            (pid,) = srv.workers()
            rss0 = rss_kib(pid)
            cpu0 = cpu_ticks(pid)
            msn, part = w.next_ref()
            path = "/live/hold/index.m3u8?_HLS_msn=%d&_HLS_part=%d" % (
                msn, part)
            t0 = time.monotonic()
            cli = subprocess.Popen([str(HOLD_BIN), str(srv.port), path,
                                    str(n), "60"],
                                   stdout=subprocess.PIPE, text=True)
            line = cli.stdout.readline()
            if not line.startswith("sent"):
                raise RuntimeError("llhls_hold: %r" % line)
            t_sent = time.monotonic()
            deadline = time.monotonic() + 20
            while srv.metric("ingest_llhls_held_requests") < n:
                if time.monotonic() > deadline:
                    raise RuntimeError("only %d held" % srv.metric(
                        "ingest_llhls_held_requests"))
                time.sleep(0.05)
            t_held = time.monotonic()
            cpu_in = cpu_ticks(pid)
            rss_held = rss_kib(pid)
            # holding: what the worker costs while nothing happens
            time.sleep(args.hold_window)
            cpu_h1 = cpu_ticks(pid)
            rss_held2 = rss_kib(pid)
            rec = w.publish()
            res = cli.stdout.readline()
            cli.wait(30)
            cpu_after = cpu_ticks(pid)
            f = dict(kv.split("=") for kv in res.split()[1:])
            t_pub = rec.t_playlist0 * 1e9
            time.sleep(0.5)
            runs.append({
                "held": n,
                "ok": int(f["ok"]), "other": int(f["other"]),
                "closed": int(f["closed"]),
                "unanswered": int(f["unanswered"]),
                "connect_send_s": round(t_sent - t0, 3),
                "until_all_held_s": round(t_held - t0, 3),
                "rss_before_kib": rss0, "rss_all_held_kib": rss_held,
                "rss_held_kib": rss_held2,
                "rss_per_held_bytes": round((rss_held2 - rss0) * 1024 / n),
                "rss_after_answers_kib": rss_kib(pid),
                "vmhwm_kib": hwm_kib(pid),
                "cpu_accept_s": round((cpu_in - cpu0) / TICKS, 2),
                "cpu_holding_pct": round(100.0 * (cpu_h1 - cpu_in) / TICKS
                                         / args.hold_window, 2),
                "cpu_answer_s": round((cpu_after - cpu_h1) / TICKS, 2),
                "first_byte_ms": round((int(f["first"]) - t_pub) / 1e6, 2),
                "last_first_byte_ms": round((int(f["last"]) - t_pub) / 1e6,
                                            2),
                "all_complete_ms": round((int(f["complete"]) - t_pub) / 1e6,
                                         2),
                "held_after": srv.metric("ingest_llhls_held_requests"),
            })
        finally:
            srv.stop()
        alerts += srv.bad_log()
    out = {"runs": runs, "alerts": alerts,
           "baseline_unfinished_header": hold_baseline(args, base, "-p"),
           "baseline_idle_connection": hold_baseline(args, base, "-i")}
    keys = ("rss_per_held_bytes", "cpu_answer_s", "first_byte_ms",
            "last_first_byte_ms", "all_complete_ms")
    out["median"] = {k: statistics.median(r[k] for r in runs) for k in keys}
    return out


# --------------------------------------------------------------------------
# (c) glass to glass


def bench_g2g(args, base):
    spec = importlib.util.spec_from_file_location(
        "worker_harness", ROOT / "t" / "worker" / "harness.py")
    wh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wh)
    js = ROOT / "t" / "worker" / "js"
    hlsjs = js / "node_modules" / "hls.js" / "dist" / "hls.min.js"
    if not (Path("/usr/bin/chromium").exists() and hlsjs.exists()):
        return {"skipped": "needs chromium and npm ci --prefix t/worker/js"}
    d = base / "g2g"
    player = d / "player"
    player.mkdir(parents=True)
    shutil.copy(hlsjs, player / "hls.min.js")
    shutil.copy(ROOT / "t" / "integration" / "llhls" / "play.html",
                player / "play.html")
    srv = Nginx(d / "nginx", args.port + 2, extra_locations=(
        "        location /player/ { alias %s/; types { text/html html; "
        "application/javascript js; } }\n"
        "        location /static/ { alias %s/live/; types { "
        "application/vnd.apple.mpegurl m3u8; video/iso.segment m4s; "
        "video/mp4 mp4; } add_header Access-Control-Allow-Origin *; }\n"
        % (player, d / "nginx" / "www")))
    srv.start()
    sock = d / "live.sock"
    out_dir = srv.root / "live"
    conf = wh.TEST_CONF.format(workers=1, max_attempts=3) + (
        "live_socket %s;\nlive_output %s;\nlive_segment_duration 1s;\n"
        "live_part_duration 334ms;\n" % (sock, out_dir))
    worker = wh.Worker(d / "worker", conf=conf)
    worker.start()
    res = {}
    feed = None
    try:
        wh.wait_for(lambda: "live process ready" in worker.log(),
                    "the live process", timeout=30)
        total = len(args.g2g_order.split(",")) * (args.g2g_seconds + 40)
        feed = Feeder(sock, "cam", total)
        video = out_dir / "cam" / "video"

        def first_pdt():
            try:
                text = (video / "index.m3u8").read_text()
            except FileNotFoundError:
                return None
            m = re.search(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", text)
            if not m or "#EXT-X-MEDIA-SEQUENCE:0\n" not in text:
                return None
            return m.group(1)

        pdt0 = wh.wait_for(first_pdt, "the first playlist", timeout=30)
        t_pdt0 = calendar.timegm(time.strptime(pdt0[:19],
                                               "%Y-%m-%dT%H:%M:%S")) \
            + float("0." + pdt0[20:23])
        res["ingest_offset_s"] = round(t_pdt0 - feed.started, 3)
        wh.wait_for(lambda: (out_dir / "cam" / "master.m3u8").exists() and
                    len(parse_media((video / "index.m3u8").read_text())
                        ["segments"]) >= 3, "three segments", timeout=30)
        locs = {"llhls": "/live/", "static": "/static/"}
        for i, name in enumerate(args.g2g_order.split(",")):
            loc = locs[name]
            if name in res:
                name = "%s_%d" % (name, i)
            url = ("http://127.0.0.1:%d/player/play.html?src=%scam/"
                   "master.m3u8&seconds=%d" % (srv.port, loc,
                                               args.g2g_seconds))
            p = subprocess.run(["node", str(ROOT / "t" / "integration" /
                                            "llhls" / "play.mjs"), url,
                                str((args.g2g_seconds + 60) * 1000)],
                               capture_output=True, text=True,
                               timeout=args.g2g_seconds + 120)
            if p.returncode != 0:
                res[name] = {"error": p.stderr[-2000:]}
                continue
            r = json.loads(p.stdout)
            settle = r["samples"][0]["wall"] + 5000 if r["samples"] else 0
            ss = [s for s in r["samples"] if s["wall"] >= settle]
            glass = [s["glass"] for s in ss if s["glass"] is not None]
            lat = [s["latency"] for s in ss if s["latency"] is not None]
            tgt = [s["targetLatency"] for s in ss
                   if s["targetLatency"] is not None]
            (d / ("samples-%s.json" % name)).write_text(json.dumps(r))
            res[name] = {
                "ok": r["ok"], "why": r["why"],
                "played_s": round(r["played"], 2),
                "wall_s": round(r["wallPlayed"], 2),
                "glass_p50_s": round(pct(glass, 50), 3) if glass else None,
                "glass_p90_s": round(pct(glass, 90), 3) if glass else None,
                "glass_plus_ingest_p50_s": round(pct(glass, 50)
                                                 + res["ingest_offset_s"],
                                                 3) if glass else None,
                "hls_latency_p50_s": round(pct(lat, 50), 3) if lat else None,
                "target_latency_p50_s": round(pct(tgt, 50), 3)
                if tgt else None,
                "blocking_reloads": r["blockingReloads"],
                "playlist_loads": r["playlistLoads"],
                "parts_loaded": r["partsLoaded"],
                "errors": sorted(set(r["errors"])),
            }
        res["alerts"] = srv.bad_log()
    finally:
        if feed is not None:
            feed.stop()
        srv.stop()
        worker.stop()
    return res


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="wake,hold,g2g")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--held", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hold-window", type=float, default=3.0)
    ap.add_argument("--g2g-seconds", type=int, default=30)
    ap.add_argument("--g2g-order", default="llhls,static,llhls,static")
    ap.add_argument("--port", type=int, default=28580)
    ap.add_argument("--out", default=str(ROOT / "build" / "bench" / "llhls"))
    args = ap.parse_args()
    base = Path(args.out).resolve()
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    results = {"host": {"nproc": os.cpu_count(),
                        "kernel": os.uname().release}}
    for name in args.only.split(","):
        fn = {"wake": bench_wake, "hold": bench_hold, "g2g": bench_g2g}[name]
        t = time.monotonic()
        results[name] = fn(args, base)
        results[name]["bench_seconds"] = round(time.monotonic() - t, 1)
        print("== %s\n%s" % (name, json.dumps(results[name], indent=2)),
              flush=True)
    (base / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("results: %s" % (base / "results.json"))


if __name__ == "__main__":
    main()
