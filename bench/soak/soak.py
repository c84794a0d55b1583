#!/usr/bin/python3
"""
Soak (issue 8): a mixed load for a long time, with the resources of every
process sampled; fails when something grows that should stay flat.

    bench/soak/soak.py                       # SOAK_SECONDS or 3600 s
    SOAK_SECONDS=120 bench/soak/soak.py      # a short run
    make soak                                # the same as the first line

It starts a private nginx (2 workers: tus, the S3 API with three
accounts, an `llhls` location, /metrics, the SRT module relaying to the
worker's live input) and the ffmpeg-worker (live_socket, 2 live
processes, VOD jobs from the spool), then for the duration runs at once:

  tus       3 clients: create, 8 MiB in 1 MiB PATCHes, check the stored
            bytes (sha256), terminate (DELETE); again
  s3        2 clients, the three accounts in turn: multipart (5 + 1 MiB),
            GetObject checked, DeleteObject; every 5th upload aborted
  srt       2 publishers (ffmpeg, real time, 320x180 H.264 + AAC) into
            the SRT module, sessions of 15-40 s with short pauses
  llhls     3 players on the streams the worker writes: blocking playlist
            reloads (_HLS_msn/_HLS_part) and the preload-hinted parts
  vod       a short clip uploaded with tus into the worker's spool every
            30 s (transcoded by the worker)

Every --interval (5) seconds it samples the open fds (/proc/PID/fd) and
the RSS of the nginx workers (sum) and of the worker daemon (master and
every child, sum), and the use of nginx's `ngx_http_ingest` shared-memory
zone: its slab pool header is read from /proc/<master>/mem (pages in use
= pages - pfree; chunks in use from the pool's per-size stats). The
quota entries of the S3 accounts are allocated and freed there for every
upload, so that is what a leak of the zone would show.

At the end (after the load stops and a settling pause) it fails when:

  - the fds of the nginx workers or of the worker daemon are more than
    --fd-slack (5) above the baseline taken before the load;
  - the zone's pages or chunks in use are above the baseline;
  - RSS grew over the second half of the load by more than
    max(--rss-growth-mib, --rss-growth-pct of the median): the Theil-Sen
    slope of the samples times the duration of that half (not checked
    against a sanitizer build, whose allocator quarantine grows by design);
  - an upload was not byte-exact, a VOD job failed, a process crashed,
    nothing was played, or nginx's error.log has [alert]/[crit]/[emerg]
    (the worker's log: a crash or sanitizer report).

Prints the series (all samples, or every n-th of a long run; the whole
series goes to series.csv in the work directory) and the verdict; exits 1
on failure. --no-srt / --no-worker leave parts out (the test suite does so
when their binaries are missing).
"""

import argparse
import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "t" / "integration"))

import harness as H                                           # noqa: E402
from harness import (                                         # noqa: E402
    Conf, NginxServer, RawConn, TUS_HDR, OCTET, MiB, big_payload, sha256,
    wait_until)

ACCOUNTS = [("AKIASOAK000000000001", "soak-secret-00000001", "acct1"),
            ("AKIASOAK000000000002", "soak-secret-00000002", "acct2"),
            ("AKIASOAK000000000003", "soak-secret-00000003", "acct3")]
BUCKET = "soak"
ZONE_SIZE = 2 * MiB             # ingest_zone: 2m tells it from other zones
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(msg):
    print("soak: %s" % msg, flush=True)


def sanitized(binary):
    """linked with ASan (whose quarantine makes RSS grow by design)"""
    try:
        out = subprocess.run(["readelf", "-d", str(binary)],
                             capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


# --------------------------------------------------------------------------
# process sampling


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = H.children_of(p)
        out += kids
        todo += kids
    return out


def fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "07": "CLOSE",
              "08": "CLOSE_WAIT", "0A": "LISTEN", "0B": "CLOSING",
              "04": "FIN_WAIT1", "05": "FIN_WAIT2", "09": "LAST_ACK"}


def socket_kinds():
    """inode -> a short description, from /proc/net"""
    kinds = {}
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open("/proc/net/" + proto) as f:
                next(f)
                for line in f:
                    p = line.split()
                    port = int(p[1].rsplit(":", 1)[1], 16)
                    st = TCP_STATES.get(p[3], p[3]) if "tcp" in proto else ""
                    kinds[p[9]] = "%s:%d %s" % (proto, port, st)
        except OSError:
            pass
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                p = line.split()
                kinds[p[6]] = "unix %s" % (p[7] if len(p) > 7 else "-")
    except OSError:
        pass
    return kinds


def fd_targets(pid, kinds=None):
    out = {}
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", t)
            if m and kinds is not None:
                t = "socket (%s)" % kinds.get(m.group(1), "?")
            t = re.sub(r"\[\d+\]", "", t)
            out[t] = out.get(t, 0) + 1
    except OSError:
        pass
    return out


def fd_diff(before, after):
    """what kinds of fd there are more of"""
    more = {}
    for k, v in after.items():
        if v > before.get(k, 0):
            more[k] = v - before.get(k, 0)
    return ", ".join("%s +%d" % kv for kv in sorted(more.items())) or \
        "nothing"


def group_fd_targets(pids):
    tot = {}
    kinds = socket_kinds()
    for p in pids:
        for k, v in fd_targets(p, kinds).items():
            tot[k] = tot.get(k, 0) + v
    return tot


def rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class SlabZone:
    """the slab pool at the start of an nginx shared-memory zone, read
    through /proc/PID/mem (ngx_slab_pool_t of nginx 1.22)"""

    def __init__(self, pid, size):
        self.pid = pid
        self.start = self.end = None
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split()
                a, b = (int(x, 16) for x in parts[0].split("-"))
                if b - a == size and "rw-s" in parts[1]:
                    self.start, self.end = a, b
                    break
        if self.start is None:
            raise RuntimeError("no shared mapping of %d bytes in %d"
                               % (size, pid))
        words = self._words(self.start, 32)
        # ... pages, last, free(3), stats, pfree, start, end, ...
        for i in range(4, 30):
            if words[i] == self.end and \
                    self.start <= words[i - 1] < self.end:
                self.i_end = i
                break
        else:
            raise RuntimeError("not a slab pool at %#x" % self.start)
        # min_size, min_shift: 8, 3 after the lock (8 or 16 bytes)
        for i in range(1, 4):
            if words[i] == 8 and words[i + 1] == 3:
                self.min_shift = 3
                break
        else:
            self.min_shift = 3
        self.nstats = (PAGE.bit_length() - 1) - self.min_shift

    def _words(self, addr, n):
        with open("/proc/%d/mem" % self.pid, "rb") as f:
            f.seek(addr)
            data = f.read(8 * n)
        return struct.unpack("<%dQ" % n, data)

    def sample(self):
        """(pages in use, chunks in use)"""
        w = self._words(self.start, self.i_end + 1)
        pstart, pend = w[self.i_end - 1], w[self.i_end]
        pfree, stats = w[self.i_end - 2], w[self.i_end - 3]
        pages = (pend - pstart) // PAGE
        st = self._words(stats, 4 * self.nstats)
        chunks = sum(st[4 * k + 1] for k in range(self.nstats))
        return pages - pfree, chunks


# --------------------------------------------------------------------------
# load generators


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.errors = []

    def add(self, key, n=1):
        with self.lock:
            self.c[key] = self.c.get(key, 0) + n

    def error(self, what):
        with self.lock:
            self.add_locked("errors")
            if len(self.errors) < 50:
                self.errors.append("%s %s" % (time.strftime("%H:%M:%S"),
                                              what))

    def add_locked(self, key):
        self.c[key] = self.c.get(key, 0) + 1

    def get(self, key):
        return self.c.get(key, 0)


class Loop(threading.Thread):
    def __init__(self, stop, stats, name):
        super().__init__(daemon=True, name=name)
        self.stop = stop
        self.stats = stats

    def run(self):
        while not self.stop.is_set():
            try:
                self.once()
            except Exception as e:          # noqa: BLE001 (counted)
                self.stats.error("%s: %s" % (self.name, repr(e)[:300]))
                self.stop.wait(1)

    def once(self):
        raise NotImplementedError


class TusLoop(Loop):
    def __init__(self, stop, stats, srv, datas, k):
        super().__init__(stop, stats, "tus%d" % k)
        self.srv, self.datas, self.k = srv, datas, k
        self.n = 0

    def once(self):
        data, digest = self.datas[self.n % len(self.datas)]
        self.n += 1
        with RawConn(self.srv.port) as c:
            r = c.request("POST", "/files/", dict(
                TUS_HDR, **{"Upload-Length": str(len(data))}))
            if r.status != 201:
                raise RuntimeError("create %d" % r.status)
            uid = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
            off = 0
            while off < len(data):
                r = c.request("PATCH", "/files/" + uid, dict(
                    TUS_HDR, **{"Upload-Offset": str(off),
                                "Content-Type": OCTET}),
                    data[off:off + MiB])
                if r.status != 204:
                    raise RuntimeError("PATCH %d" % r.status)
                off = int(r.headers["Upload-Offset"])
                self.stop.wait(0.1)
            f = self.srv.store("files") / uid
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(MiB), b""):
                    h.update(block)
            if h.hexdigest() != digest:
                self.stats.add("tus_corrupt")
                raise RuntimeError("upload %s not byte-exact" % uid)
            r = c.request("DELETE", "/files/" + uid, TUS_HDR)
            if r.status != 204:
                raise RuntimeError("DELETE %d" % r.status)
        self.stats.add("tus_ok")
        self.stats.add("bytes", len(data))


_boto_lock = threading.Lock()


def boto(port, account):
    import boto3
    from botocore.config import Config as BotoConfig
    with _boto_lock:
        return boto3.session.Session().client(
            "s3", endpoint_url="http://127.0.0.1:%d" % port,
            region_name="us-east-1", aws_access_key_id=account[0],
            aws_secret_access_key=account[1],
            config=BotoConfig(s3={"addressing_style": "path"},
                              signature_version="s3v4",
                              retries={"max_attempts": 1}))


class S3Loop(Loop):
    def __init__(self, stop, stats, port, datas, k):
        super().__init__(stop, stats, "s3-%d" % k)
        self.port, self.datas, self.k = port, datas, k
        self.clients = [boto(port, a) for a in ACCOUNTS]
        self.n = 0

    def once(self):
        c = self.clients[self.n % len(self.clients)]
        (p1, p2), digest = self.datas[self.n % len(self.datas)]
        self.n += 1
        key = "soak/%d/%d.bin" % (self.k, self.n)
        uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        e1 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=1, Body=p1)["ETag"]
        if self.n % 5 == 0:
            c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
            self.stats.add("s3_aborted")
            return
        self.stop.wait(0.2)
        e2 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=2, Body=p2)["ETag"]
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        body = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        if sha256(body) != digest:
            self.stats.add("s3_corrupt")
            raise RuntimeError("object %s not byte-exact" % key)
        c.delete_object(Bucket=BUCKET, Key=key)
        self.stats.add("s3_ok")
        self.stats.add("bytes", len(p1) + len(p2))
        self.stop.wait(0.3)

    def run(self):
        super().run()
        for c in self.clients:          # their keep-alive connections
            c.close()


class Publisher(Loop):
    """real-time ffmpeg sessions of one stream name into the SRT module"""

    def __init__(self, stop, stats, port, name, ts, rnd):
        super().__init__(stop, stats, "srt-" + name)
        self.port, self.sname, self.ts, self.rnd = port, name, ts, rnd
        self.proc = None

    def once(self):
        secs = self.rnd.uniform(15, 40)
        sid = urllib.parse.quote("#!::r=%s,m=publish" % self.sname)
        self.proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
             "-re", "-stream_loop", "-1", "-i", str(self.ts), "-t",
             "%.1f" % secs, "-c", "copy", "-f", "mpegts",
             "srt://127.0.0.1:%d?streamid=%s&latency=120000"
             % (self.port, sid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        t0 = time.monotonic()
        _, err = self.proc.communicate()
        ran = time.monotonic() - t0
        # ffmpeg's SRT output may fail its last write or close after -t
        # ("Input/output error"): a session that ran its time counts
        if self.proc.returncode == 0 or ran >= secs - 1:
            self.stats.add("srt_sessions")
            if self.proc.returncode != 0:
                self.stats.add("srt_close_errors")
        elif not self.stop.is_set():
            self.stats.error("srt %s: ffmpeg %d: %s" % (
                self.sname, self.proc.returncode,
                err.decode(errors="replace")[-200:]))
        self.stop.wait(self.rnd.uniform(1, 3))

    def end(self):
        p = self.proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGINT)


PART_RE = re.compile(r'^#EXT-X-PART:.*URI="([^"]+)"')
HINT_RE = re.compile(r'^#EXT-X-PRELOAD-HINT:.*URI="([^"]+)"')


def parse_llhls(text):
    """(next msn, next part index, preload hint uri) of a media playlist"""
    seq, segs, trailing, hint, endlist = 0, 0, 0, None, False
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            seq = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART:"):
            trailing += 1
        elif line.startswith("#EXTINF:"):
            segs += 1
            trailing = 0
        elif HINT_RE.match(line):
            hint = HINT_RE.match(line).group(1)
        elif line.startswith("#EXT-X-ENDLIST"):
            endlist = True
    return seq + segs, trailing, hint, endlist


class Player(Loop):
    """an LL-HLS player: blocking playlist reloads and the hinted parts"""

    def __init__(self, stop, stats, port, names, rnd, k):
        super().__init__(stop, stats, "player%d" % k)
        self.port, self.names, self.rnd = port, names, rnd
        self.conn = None

    def get(self, path):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=15)
        try:
            self.conn.request("GET", path)
            r = self.conn.getresponse()
            body = r.read()
            return r.status, body
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def once(self):
        name = self.rnd.choice(self.names)
        base = "/live/%s/video/" % name
        st, body = self.get(base + "index.m3u8")
        if st != 200:
            self.stats.add("llhls_%d" % st)
            self.stop.wait(0.5)
            return
        msn, part, hint, endlist = parse_llhls(body.decode())
        # follow the stream for a while, as a player does
        for _ in range(self.rnd.randint(10, 60)):
            if self.stop.is_set() or endlist:
                return
            st, body = self.get(base + "index.m3u8?_HLS_msn=%d&_HLS_part=%d"
                                % (msn, part))
            if st != 200:
                # 503 after three target durations (the stream ended),
                # 400 when a new session started over at 0
                self.stats.add("llhls_%d" % st)
                return
            self.stats.add("llhls_blocking_200")
            msn, part, hint, endlist = parse_llhls(body.decode())
            if hint and self.rnd.random() < 0.5:
                st, _ = self.get(base + hint)
                self.stats.add("llhls_hint_%d" % st)

    def finish(self):
        if self.conn is not None:
            self.conn.close()


class VodLoop(Loop):
    def __init__(self, stop, stats, srv, clip, every):
        super().__init__(stop, stats, "vod")
        self.srv, self.clip, self.every = srv, clip, every
        self.ids = []

    def once(self):
        # the first at once: the job process reaches its high-water mark
        # in the first half of the load, not in the measured second half
        if self.ids:
            self.stop.wait(self.every)
        if self.stop.is_set():
            return
        data = self.clip.read_bytes()
        t = self.srv.tus("/vod/")
        try:
            url, uid = t.create_ok(len(data),
                                   metadata={"filename": "clip.mp4"})
            t.send_all(url, data)
        finally:
            t.http.close()
        self.ids.append(uid)
        self.stats.add("vod_uploads")


# --------------------------------------------------------------------------
# the servers


def make_clip(path, seconds, size="320x180"):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=%s:rate=30" % size, "-f", "lavfi",
                    "-i", "sine=frequency=440:sample_rate=48000", "-t",
                    str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
                    "-tune", "zerolatency", "-g", "30", "-b:v", "600k",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
                    str(path)], check=True, timeout=120)
    return path


class Daemon:
    """the ffmpeg-worker, foreground, its log in a file"""

    def __init__(self, binary, base, live):
        self.base = base
        self.spool = base / "spool"
        self.out = base / "out"
        self.live_out = base / "www" / "live"
        self.sock = base / "live.sock"
        for d in ("incoming", "tmp"):
            (self.spool / d).mkdir(parents=True, exist_ok=True)
        self.live_out.mkdir(parents=True, exist_ok=True)
        conf = base / "worker.conf"
        text = ("workers 1;\nlog_level info;\npoll_interval 200ms;\n"
                "webhooks off;\n"
                "profile default {\n    preset veryfast;\n"
                "    segment_duration 1s;\n}\n")
        if live:
            text += ("live_socket %s;\nlive_output %s;\nlive_workers 2;\n"
                     "live_window 4;\nlive_segment_duration 1s;\n"
                     "live_part_duration 334ms;\n" % (self.sock,
                                                      self.live_out))
        conf.write_text(text)
        self.logpath = base / "worker.log"
        self.logfile = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [str(binary), "-f", "-c", str(conf), "-p", str(self.spool),
             "-o", str(self.out)], stdin=subprocess.DEVNULL,
            stdout=self.logfile, stderr=self.logfile)
        wait_until(lambda: "ready" in self.log() or
                   self.proc.poll() is not None, timeout=60,
                   what="the worker")
        if live:
            wait_until(lambda: "live process ready" in self.log() or
                       self.proc.poll() is not None, timeout=60,
                       what="the worker's live processes")
        if self.proc.poll() is not None:
            raise RuntimeError("the worker exited: %s" % self.log()[-2000:])

    def log(self):
        return self.logpath.read_text(errors="replace")

    def pids(self):
        if self.proc.poll() is not None:
            return []
        return [self.proc.pid] + descendants(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()


def udp_port():
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()


def nginx_conf(prefix, module, srt_module, daemon, srt_port):
    c = Conf(prefix, module=module, workers=2)
    c.http.append("ingest_zone %dk;" % (ZONE_SIZE // 1024))
    for d in ("tmp", "incoming"):
        (c.spool / d).mkdir(parents=True, exist_ok=True)
    files = c.store("files")
    files.mkdir(parents=True, exist_ok=True)
    c.location("/files/", "tus on;", "tus_store %s;" % files,
               "tus_max_size 1g;", "client_max_body_size 0;")
    if daemon is not None:
        vod = c.store("vod")
        vod.mkdir(parents=True, exist_ok=True)
        c.location("/vod/", "tus on;", "tus_store %s;" % vod,
                   "tus_spool %s;" % daemon.spool, "tus_max_size 1g;",
                   "client_max_body_size 0;")
        c.location("/live/", "root %s;" % daemon.live_out.parent,
                   "llhls on;")
    s3 = prefix / "store" / "s3"
    s3.mkdir(parents=True, exist_ok=True)
    c.location("/", "ingest_s3 on;", "ingest_s3_store %s;" % s3,
               *["ingest_s3_credentials %s %s %s;" % a for a in ACCOUNTS],
               "ingest_s3_buckets %s;" % BUCKET, "client_max_body_size 0;")
    c.location("= /metrics", "ingest_metrics;")
    if srt_port:
        c.extra_modules.append(srt_module)
        c.main.append(
            "srt {\n    server {\n        listen 127.0.0.1:%d;\n"
            "        latency 120ms;\n        idle_timeout 3s;\n"
            "        max_streams 8;\n        relay_live %s;\n    }\n}"
            % (srt_port, daemon.sock))
    return c


# --------------------------------------------------------------------------
# analysis


def theil_sen(xs, ys):
    """median of the pairwise slopes (robust to spikes)"""
    slopes = []
    n = len(xs)
    step = max(1, n // 200)         # at most ~200 points: 20k pairs
    idx = list(range(0, n, step))
    for a in range(len(idx)):
        for b in range(a + 1, len(idx)):
            i, j = idx[a], idx[b]
            if xs[j] != xs[i]:
                slopes.append((ys[j] - ys[i]) / (xs[j] - xs[i]))
    return statistics.median(slopes) if slopes else 0.0


COLUMNS = [("t", "s", "%6.0f"), ("phase", "", "%-6s"),
           ("ngx_fds", "nginx worker fds", "%5d"),
           ("ngx_rss", "nginx worker RSS MiB", "%7.1f"),
           ("wrk_fds", "worker fds", "%5d"),
           ("wrk_rss", "worker RSS MiB", "%7.1f"),
           ("wrk_procs", "worker procs", "%3d"),
           ("zone_pages", "zone pages used", "%4d"),
           ("zone_chunks", "zone chunks used", "%4d"),
           ("uploads", "uploads active", "%4d"),
           ("streams", "SRT streams", "%3d"),
           ("held", "LL-HLS held", "%3d")]


def print_series(samples, limit):
    step = max(1, -(-len(samples) // limit))
    head = " | ".join(c[0] for c in COLUMNS)
    print("| " + head + " |")
    print("|" + "---|" * len(COLUMNS))
    for k, s in enumerate(samples):
        if k % step and k != len(samples) - 1 and s["phase"] == "load":
            continue
        cells = []
        for key, _, fmt in COLUMNS:
            v = s.get(key)
            cells.append("-" if v is None else (fmt % v).strip())
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("SOAK_SECONDS", 3600)))
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--settle", type=float, default=10,
                    help="seconds between the end of the load and the "
                    "final samples")
    ap.add_argument("--fd-slack", type=int, default=5)
    ap.add_argument("--rss-growth-mib", type=float, default=8)
    ap.add_argument("--rss-growth-pct", type=float, default=5)
    ap.add_argument("--no-srt", action="store_true",
                    help="no SRT publishers (and no LL-HLS playback)")
    ap.add_argument("--no-worker", action="store_true",
                    help="no ffmpeg-worker (no SRT, LL-HLS or VOD)")
    ap.add_argument("--players", type=int, default=3,
                    help="LL-HLS players (0: publishes without playback)")
    ap.add_argument("--series-rows", type=int, default=60)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()

    seed = args.seed if args.seed is not None else int(time.time())
    work = ROOT / "build" / "soak" / time.strftime("%Y%m%d-%H%M%S")
    work.mkdir(parents=True)
    verdict = []            # failures
    notes = []

    module = Path(H.MODULE)
    if not module.exists():
        sys.exit("soak: %s is not built (make modules)" % module)
    shutil.copy2(module, work / module.name)
    module = work / module.name
    srt_module = None
    worker_bin = Path(os.environ.get(
        "INGEST_WORKER_BIN",
        ROOT / "ffmpeg-worker" / "build" / "ingest-worker"))
    use_worker = not args.no_worker
    if use_worker and not worker_bin.exists():
        notes.append("no worker: %s is not built" % worker_bin)
        use_worker = False
    if use_worker and shutil.which("ffmpeg") is None:
        notes.append("no worker parts: ffmpeg is missing")
        use_worker = False
    use_srt = use_worker and not args.no_srt
    if use_srt and not Path(H.SRT_MODULE).exists():
        notes.append("no SRT: %s is not built" % H.SRT_MODULE)
        use_srt = False
    if not use_worker and not args.no_worker:
        notes.append("no SRT, LL-HLS or VOD without the worker")
    if use_srt:
        srt_module = work / Path(H.SRT_MODULE).name
        shutil.copy2(H.SRT_MODULE, srt_module)
    if use_worker:
        shutil.copy2(worker_bin, work / "ingest-worker")
        worker_bin = work / "ingest-worker"
    san = "LD_PRELOAD" in H.sanitizer_env(module)
    if san:
        notes.append("sanitizer build of the module: RSS is reported, "
                     "not checked")
    wsan = use_worker and sanitized(worker_bin)
    if wsan:
        notes.append("sanitizer build of the worker: its RSS is reported, "
                     "not checked")
    log("seed %d, %.0f s, work %s" % (seed, args.seconds, work))
    for n in notes:
        log(n)

    daemon = srv = None
    stop = threading.Event()
    stats = Stats()
    threads, pubs, players = [], [], []
    samples = []
    vod = None
    fd_kinds = {}
    base = after = None
    load_t0 = load_t1 = None
    t0 = time.monotonic()
    try:
        if use_worker:
            daemon = Daemon(worker_bin, work / "worker", live=use_srt)
        srt_port = udp_port() if use_srt else 0
        srv = NginxServer(nginx_conf(work / "nginx", module, srt_module,
                                     daemon, srt_port))
        srv.start()
        zone = SlabZone(srv.master_pid, ZONE_SIZE)

        def metrics():
            try:
                return srv.metrics()
            except Exception:               # noqa: BLE001 (a gap)
                return None

        def sample(phase):
            ngx = srv.worker_pids()
            s = {"t": time.monotonic() - t0, "phase": phase,
                 "ngx_fds": sum(fds(p) for p in ngx),
                 "ngx_rss": sum(rss(p) for p in ngx) / MiB,
                 "ngx_workers": len(ngx)}
            if daemon is not None:
                wp = daemon.pids()
                s.update(wrk_fds=sum(fds(p) for p in wp),
                         wrk_rss=sum(rss(p) for p in wp) / MiB,
                         wrk_procs=len(wp))
            s["zone_pages"], s["zone_chunks"] = zone.sample()
            m = metrics()
            if m is not None:
                s["uploads"] = int(m.value("ingest_uploads_active") or 0)
                s["streams"] = int(m.value("srt_streams_active") or 0)
                s["held"] = int(m.value("ingest_llhls_held_requests") or 0)
            samples.append(s)
            return s

        # data, clips
        tus_datas = []
        for k in range(3):
            d = big_payload(8 * MiB, 100 + k)
            tus_datas.append((d, sha256(d)))
        s3_datas = []
        for k in range(3):
            p1, p2 = big_payload(5 * MiB, 200 + k), big_payload(MiB, 300 + k)
            s3_datas.append(((p1, p2), sha256(p1 + p2)))
        if use_worker:
            clip = make_clip(work / "clip.mp4", 2)
        if use_srt:
            # longer than a session: ffmpeg's -stream_loop leaves a gap
            # at the loop that the worker's packager does not survive
            ts = make_clip(work / "feed.ts", 45)

        time.sleep(1)
        base = [sample("idle") for _ in range(3)]
        fd_kinds["ngx_before"] = group_fd_targets(srv.worker_pids())
        if daemon is not None:
            fd_kinds["wrk_before"] = group_fd_targets(daemon.pids())
        log("baseline: nginx workers %d fds, %.1f MiB; zone %d pages, %d "
            "chunks%s" % (base[-1]["ngx_fds"], base[-1]["ngx_rss"],
                          base[-1]["zone_pages"], base[-1]["zone_chunks"],
                          "; worker %d fds, %.1f MiB" % (
                              base[-1]["wrk_fds"], base[-1]["wrk_rss"])
                          if daemon else ""))

        # the load
        for k in range(3):
            threads.append(TusLoop(stop, stats, srv, tus_datas, k))
        for k in range(2):
            threads.append(S3Loop(stop, stats, srv.port, s3_datas, k))
        if use_worker:
            vod = VodLoop(stop, stats, srv, clip, 30)
            threads.append(vod)
        if use_srt:
            names = ["soak0", "soak1"]
            pubs = [Publisher(stop, stats, srt_port, n, ts,
                              random.Random(seed + i))
                    for i, n in enumerate(names)]
            players = [Player(stop, stats, srv.port, names,
                              random.Random(seed + 10 + i), i)
                       for i in range(args.players)]
            threads += pubs + players
        for t in threads:
            t.start()
        load_t0 = time.monotonic()
        end = load_t0 + args.seconds
        next_report = load_t0 + 60
        while time.monotonic() < end:
            time.sleep(min(args.interval, max(0, end - time.monotonic())))
            s = sample("load")
            if srv.health_problem():
                verdict.append(srv.health_problem())
                break
            if daemon and daemon.proc.poll() is not None:
                verdict.append("the worker exited with %s"
                               % daemon.proc.returncode)
                break
            if time.monotonic() >= next_report:
                next_report += 60
                log("%4.0f s: tus %d, s3 %d, srt sessions %d, llhls %d, "
                    "errors %d; nginx %d fds %.1f MiB%s" % (
                        s["t"], stats.get("tus_ok"), stats.get("s3_ok"),
                        stats.get("srt_sessions"),
                        stats.get("llhls_blocking_200"),
                        stats.get("errors"), s["ngx_fds"], s["ngx_rss"],
                        "; worker %d fds %.1f MiB" % (
                            s["wrk_fds"], s["wrk_rss"]) if daemon else ""))
        load_t1 = time.monotonic()

        # stop the load, let it settle
        stop.set()
        for p in pubs:
            p.end()
        for t in threads:
            t.join(60)
        for p in players:
            p.finish()
        if vod is not None and vod.ids:
            # the last VOD jobs finish
            try:
                wait_until(lambda: all(
                    (daemon.spool / "done" / (j + ".json")).exists() or
                    (daemon.spool / "failed" / (j + ".json")).exists()
                    for j in vod.ids), timeout=120, what="the VOD jobs")
            except AssertionError as e:
                verdict.append(str(e))
        if use_srt:
            try:
                wait_until(lambda: (srv.metrics().value(
                    "srt_streams_active") or 0) == 0, timeout=30,
                    what="the SRT streams to end")
            except AssertionError as e:
                verdict.append(str(e))
        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline:
            time.sleep(min(args.interval, max(0.5, deadline
                                              - time.monotonic())))
            sample("after")
        after = [sample("after") for _ in range(2)]
        fd_kinds["ngx_after"] = group_fd_targets(srv.worker_pids())
        if daemon is not None:
            fd_kinds["wrk_after"] = group_fd_targets(daemon.pids())
    except Exception as e:                  # noqa: BLE001 (reported)
        traceback.print_exc()
        verdict.append("soak aborted: %s: %s" % (type(e).__name__, e))
        stop.set()
        for p in pubs:
            p.end()
        after = None
    finally:
        stop.set()
        if srv is not None:
            try:
                srv.stop()
            except AssertionError as e:
                verdict.append(str(e))
        if daemon is not None:
            daemon.stop()

    # ---------------------------------------------------------------- verdict
    print()
    print("## series (every %s s; %d samples, all in %s)" % (
        args.interval, len(samples), work / "series.csv"))
    print()
    print_series(samples, args.series_rows)
    with open(work / "series.csv", "w") as f:
        keys = [c[0] for c in COLUMNS]
        f.write(",".join(keys) + "\n")
        for s in samples:
            f.write(",".join(str(s.get(k, "")) for k in keys) + "\n")

    checks = []

    def check(name, ok, detail):
        checks.append((name, ok, detail))
        if not ok:
            verdict.append("%s: %s" % (name, detail))

    if base and after:
        b = {k: min(s[k] for s in base) for k in base[0] if k != "phase"
             and isinstance(base[0][k], (int, float))}
        a = {k: min(s[k] for s in after) for k in after[0] if k != "phase"
             and isinstance(after[0][k], (int, float))}
        check("nginx worker fds back to baseline",
              a["ngx_fds"] <= b["ngx_fds"] + args.fd_slack,
              "%d before the load, %d after (slack %d); more: %s" % (
                  b["ngx_fds"], a["ngx_fds"], args.fd_slack,
                  fd_diff(fd_kinds["ngx_before"], fd_kinds["ngx_after"])))
        if daemon is not None:
            check("worker fds back to baseline",
                  a["wrk_fds"] <= b["wrk_fds"] + args.fd_slack,
                  "%d before the load, %d after (slack %d; %d processes "
                  "before, %d after); more: %s" % (
                      b["wrk_fds"], a["wrk_fds"], args.fd_slack,
                      b["wrk_procs"], a["wrk_procs"],
                      fd_diff(fd_kinds["wrk_before"],
                              fd_kinds["wrk_after"])))
        check("zone pages back to baseline",
              a["zone_pages"] <= b["zone_pages"],
              "%d before the load, %d after; at most %d during it" % (
                  b["zone_pages"], a["zone_pages"],
                  max(s["zone_pages"] for s in samples)))
        check("zone chunks back to baseline",
              a["zone_chunks"] <= b["zone_chunks"],
              "%d before the load, %d after; at most %d during it" % (
                  b["zone_chunks"], a["zone_chunks"],
                  max(s["zone_chunks"] for s in samples)))
        # RSS: the slope over the second half of the load
        load = [s for s in samples if s["phase"] == "load"]
        half = [s for s in load if s["t"] >= (load_t0 - t0) +
                (load_t1 - load_t0) / 2]
        if len(half) >= 4:
            dur = half[-1]["t"] - half[0]["t"]
            keys = [("ngx_rss", "nginx worker RSS")]
            if daemon is not None:
                keys.append(("wrk_rss", "worker RSS"))
            for key, label in keys:
                xs = [s["t"] for s in half]
                ys = [s[key] for s in half]
                slope = theil_sen(xs, ys)
                grow = slope * dur
                med = statistics.median(ys)
                bound = max(args.rss_growth_mib,
                            med * args.rss_growth_pct / 100)
                detail = ("%+.2f MiB over the last %.0f s (%+.1f MiB/h; "
                          "median %.1f MiB, first %.1f, last %.1f; bound "
                          "%.1f MiB)" % (grow, dur, slope * 3600, med,
                                         ys[0], ys[-1], bound))
                if san and key == "ngx_rss" or wsan and key == "wrk_rss":
                    notes.append("%s (not checked): %s" % (label, detail))
                else:
                    check("%s flat" % label, grow <= bound, detail)
        else:
            notes.append("too few samples for an RSS slope")

    # correctness of the load
    for k in ("tus_corrupt", "s3_corrupt"):
        check(k.replace("_", " ") + " = 0", stats.get(k) == 0,
              "%d" % stats.get(k))
    check("uploads done", stats.get("tus_ok") > 0 and stats.get("s3_ok") > 0,
          "tus %d, s3 %d (+%d aborted)" % (stats.get("tus_ok"),
                                           stats.get("s3_ok"),
                                           stats.get("s3_aborted")))
    check("client errors", stats.get("errors") == 0,
          "%d: %s" % (stats.get("errors"), stats.errors[:5]))
    if use_srt:
        check("SRT sessions and LL-HLS playback",
              stats.get("srt_sessions") > 0 and
              (stats.get("llhls_blocking_200") > 0 or args.players == 0),
              "%d sessions, %d blocking reloads answered 200 (other "
              "answers: %s)" % (
                  stats.get("srt_sessions"),
                  stats.get("llhls_blocking_200"),
                  {k: v for k, v in stats.c.items()
                   if k.startswith("llhls_") and k != "llhls_blocking_200"}))
    if daemon is not None:
        wlog = daemon.log()
        crashes = re.findall(r".*exited on signal.*", wlog)
        san_lines = [l for l in wlog.splitlines() if re.search(
            r"AddressSanitizer|LeakSanitizer|runtime error:", l)]
        check("worker: no crash or sanitizer report",
              not crashes and not san_lines, "%s" % (crashes + san_lines)[:5])
        if vod is not None:
            failed = [j for j in vod.ids
                      if (daemon.spool / "failed" / (j + ".json")).exists()]
            check("VOD jobs done", not failed,
                  "%d uploaded, failed: %s" % (len(vod.ids), failed[:5]))
    if srv is not None:
        bad = srv.log_problems()
        check("nginx error.log clean", not bad, "%s" % bad[:5])

    print()
    print("## checks")
    print()
    print("| check | result | detail |")
    print("|---|---|---|")
    for name, ok, detail in checks:
        print("| %s | %s | %s |" % (name, "ok" if ok else "FAILED", detail))
    print()
    print("load: %.0f s; tus %d, S3 %d (+%d aborted), %.0f MiB; SRT "
          "sessions %d; LL-HLS blocking reloads %d, hinted parts %d; VOD "
          "jobs %d" % (
              (load_t1 - load_t0) if load_t0 else 0, stats.get("tus_ok"),
              stats.get("s3_ok"), stats.get("s3_aborted"),
              stats.get("bytes") / MiB, stats.get("srt_sessions"),
              stats.get("llhls_blocking_200"),
              stats.get("llhls_hint_200"), stats.get("vod_uploads")))
    for n in notes:
        print("note: %s" % n)
    if verdict:
        print("soak: FAILED")
        for v in verdict:
            print("  - %s" % v)
        print("soak: files kept in %s" % work)
        sys.exit(1)
    print("soak: passed")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
