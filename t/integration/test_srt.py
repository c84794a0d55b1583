"""
The SRT listener (ngx_srt_module.so) with real peers: ffmpeg and
srt-live-transmit as callers, a libsrt caller (srtpeer.py) where the
exact reject reason matters, the ffmpeg-worker's live input turning a
publish into LL-HLS, and a second nginx with Debian's nginx-rtmp-module
receiving the RTMP relay, read back with ffprobe.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import (REPO, SRT_MODULE, NGINX, Conf, NginxServer, free_port,
                     nginx_t, sanitizer_env, wait_until)
from tokens import HSKey, LogCursor, claims, mint
import srtpeer


# INGEST_WORKER_BIN: another build of the daemon (CI: the ASan one)
WORKER_BIN = Path(os.environ.get("INGEST_WORKER_BIN", str(
    REPO / "ffmpeg-worker" / "build" / "ingest-worker")))
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
PASSPHRASE = "correct horse battery"


def udp_port():
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()


def udp_sockets_on(port):
    """UDP sockets bound to 127.0.0.1:port (a reuseport group)"""
    key = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        return sum(1 for l in f if l.split()[1] == key)


class TcpSink:
    """a TCP listener that accepts every connection and reads it (or,
    read=False, never reads); conns: one dict per connection"""

    def __init__(self, read=True, rcvbuf=None):
        self.read = read
        self.conns = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            # accepted sockets inherit it: a small window, no autotuning
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.alive = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.alive:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            rec = {"sock": c, "data": bytearray(), "closed": False}
            with self.lock:
                self.conns.append(rec)
            if self.read:
                threading.Thread(target=self._read, args=(rec,),
                                 daemon=True).start()

    def _read(self, rec):
        while True:
            try:
                b = rec["sock"].recv(1 << 16)
            except OSError:
                b = b""
            if not b:
                rec["closed"] = True
                return
            with self.lock:
                rec["data"] += b

    def peer_closed(self, rec):
        """for read=False: has nginx closed this connection? (a reset or
        EOF shows once the unread bytes are gone)"""
        try:
            rec["sock"].setblocking(False)
            while True:
                b = rec["sock"].recv(1 << 20)
                if not b:
                    return True
        except BlockingIOError:
            return False
        except OSError:
            return True

    def close(self):
        self.alive = False
        self.sock.close()
        with self.lock:
            for rec in self.conns:
                rec["sock"].close()


class UnixSink:
    """a unix stream socket (a stand-in for the worker's live input)
    that reads everything: bytes per connection"""

    def __init__(self, path):
        self.path = str(path)
        self.conns = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            rec = {"sock": c, "bytes": 0}
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._read, args=(rec,),
                             daemon=True).start()

    def _read(self, rec):
        while True:
            try:
                b = rec["sock"].recv(1 << 16)
            except OSError:
                return
            if not b:
                return
            with self.lock:
                rec["bytes"] += len(b)

    def close(self):
        self.sock.close()


def send_paced(sock, total, mbytes_per_s=6.0, msg=b"\x47" * 1316):
    """srt_sendmsg() of total bytes in 1316-byte messages at a rate"""
    l = srtpeer.lib()
    sent, t0 = 0, time.monotonic()
    while sent < total:
        for _ in range(100):
            if sent >= total:
                break
            if l.srt_sendmsg(sock, msg, len(msg), -1, 1) < 0:
                return sent
            sent += len(msg)
        ahead = sent / (mbytes_per_s * 1e6) - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    return sent


def worker_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def ffmpeg_publish(port, streamid, seconds, passphrase=PASSPHRASE,
                   pbkeylen=16, size="320x180"):
    """ffmpeg as the SRT caller: H.264 + AAC in MPEG-TS, in real time"""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
           "-re", "-f", "lavfi", "-i", "testsrc2=size=%s:rate=30" % size,
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
           "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
           "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "64k", "-f", "mpegts",
           "-srt_streamid", streamid]
    if passphrase is not None:
        cmd += ["-passphrase", passphrase, "-pbkeylen", str(pbkeylen)]
    # "progress=end" on stdout: every output was written and closed
    cmd += ["-progress", "pipe:1", "srt://127.0.0.1:%d" % port]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


# glibc's words when free() finds the heap corrupt
HEAP_ABORT = re.compile(r"(corrupted|double free|free\(\)|malloc\(\)|"
                        r"munmap_chunk\(\))[^\n]*\n?\Z")


def finish(proc, timeout=60):
    """the exit code and stderr of a caller; ffmpeg's rare abort in its
    exit handlers, after it reported the end of a complete run, counts
    as 0: Debian's ffmpeg with libsrt1.5-gnutls 1.5.1 sometimes aborts
    on a corrupt heap in exit(0), after the stream was sent whole
    (docs/srt.md)"""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    err = err.decode(errors="replace")
    rc = proc.returncode
    if (rc == -signal.SIGABRT and out and b"progress=end" in out
            and HEAP_ABORT.search(err)):
        print("finish: ffmpeg aborted in exit() after progress=end: %r"
              % err[-200:])
        rc = 0
    return rc, err


class LiveWorker:
    """the ffmpeg-worker with only its live input"""

    def __init__(self, base):
        if not WORKER_BIN.exists():
            raise AssertionError("%s is not built (make worker)" % WORKER_BIN)
        self.base = Path(base)
        self.sock = self.base / "live.sock"
        self.out = self.base / "live"
        spool = self.base / "spool"
        for d in ("incoming", "tmp"):
            (spool / d).mkdir(parents=True, exist_ok=True)
        conf = self.base / "worker.conf"
        conf.write_text(
            "workers 1;\nlog_level info;\nlive_socket %s;\n"
            "live_output %s;\nlive_window 4;\nlive_segment_duration 1s;\n"
            "live_part_duration 334ms;\n" % (self.sock, self.out))
        self.logpath = self.base / "worker.log"
        self.logfile = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [str(WORKER_BIN), "-f", "-c", str(conf), "-p", str(spool),
             "-o", str(self.base / "out")],
            stdin=subprocess.DEVNULL, stdout=self.logfile,
            stderr=self.logfile)
        wait_until(lambda: "live process ready" in self.log()
                   or self.proc.poll() is not None, timeout=30,
                   what="the worker's live process")
        assert self.proc.poll() is None, self.log()

    def log(self):
        return self.logpath.read_text(errors="replace")

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logfile.close()
        # a worker built with sanitizers reports to its stderr
        text = self.log()
        assert not re.search(r"AddressSanitizer|LeakSanitizer|"
                             r"runtime error:", text), text[-6000:]


class RtmpServer:
    """a separate stock nginx with Debian's nginx-rtmp-module"""

    def __init__(self, base):
        assert RTMP_MODULE.exists(), "libnginx-mod-rtmp is not installed"
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = self.base / "nginx.conf"
        conf.write_text(
            "load_module %s;\nworker_processes 1;\ndaemon off;\n"
            "pid %s/nginx.pid;\nerror_log %s/error.log info;\n"
            "events { worker_connections 256; }\n"
            "rtmp { server { listen 127.0.0.1:%d; "
            "application live { live on; } } }\n"
            % (RTMP_MODULE, self.base, self.base, self.port))
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.base), "-c", str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return False

        wait_until(up, timeout=15, what="nginx-rtmp")

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("srt")
    key = HSKey("srt1")
    keyfile = base / "srt1.key"
    keyfile.write_bytes(key.file_bytes())
    worker = LiveWorker(base / "worker")
    rtmp = RtmpServer(base / "rtmp")
    yield {"base": base, "key": key, "keyfile": keyfile, "worker": worker,
           "rtmp": rtmp}
    worker.stop()
    rtmp.stop()


def srt_conf(conf, env, port, extra=()):
    conf.extra_modules.append(SRT_MODULE)
    conf.location("= /metrics", "ingest_metrics;")
    lines = ["srt {",
             "    log_format all '$srt_session|$srt_stream|$srt_sub|"
             "$srt_remote_addr|$srt_remote_port|$srt_server_addr|"
             "$srt_packets|$srt_bytes|$srt_packets_lost|$srt_retransmits|"
             "$srt_drops|$srt_undecrypted|$srt_rtt|$srt_duration|"
             "$srt_status|$srt_reason|$srt_relay_bytes|"
             "$srt_bridge_dropped|$time_iso8601|$time_local|$msec|$pid';",
             "    log_format json escape=json '{\"stream\":\"$srt_stream\","
             "\"sub\":\"$srt_sub\",\"status\":\"$srt_status\","
             "\"packets\":$srt_packets,\"lost\":$srt_packets_lost,"
             "\"rtt\":$srt_rtt}';",
             "    server {",
             "        listen 127.0.0.1:%d;" % port,
             "        latency 120ms;",
             "        passphrase \"%s\";" % PASSPHRASE,
             "        pbkeylen 16;",
             "        idle_timeout 3s;",
             "        max_streams 8;",
             "        token on;",
             "        token_key srt1 HS256 %s;" % env["keyfile"],
             "        relay_live %s;" % env["worker"].sock,
             "        relay_rtmp rtmp://127.0.0.1:%d/live/$stream;"
             % env["rtmp"].port,
             "        access_log %s/srt_access.log;" % conf.prefix,
             "        access_log %s/srt_all.log all;" % conf.prefix,
             "        access_log %s/srt_json.log json;" % conf.prefix]
    lines += ["        " + e for e in extra]
    lines += ["    }", "}"]
    conf.main.append("\n".join(lines))


@pytest.fixture(scope="module")
def srt(env, tmp_path_factory):
    from harness import NginxServer
    port = udp_port()
    conf = Conf(tmp_path_factory.mktemp("nginx-srt"), workers=2)
    srt_conf(conf, env, port)
    srv = NginxServer(conf)
    srv.start()
    srv.srt_port = port
    yield srv
    srv.stop()
    srv.assert_clean_log()


def token(env, name="cam", ttl=300, **kw):
    kw.setdefault("aud", "srt")
    kw.setdefault("scope", name)
    return env["key"].mint(sub="alice", ttl=ttl, **kw)


def sid(name, tok=None, mode="publish"):
    s = "#!::r=%s,m=%s" % (name, mode)
    if tok:
        s += ",t=" + tok
    return s


ALL_FIELDS = ("session stream sub remote_addr remote_port server_addr "
              "packets bytes packets_lost retransmits drops undecrypted rtt "
              "duration status reason relay_bytes bridge_dropped "
              "time_iso8601 time_local msec pid").split()


def all_log(srv, name, timeout=10):
    """the fields of the stream's line in srt_all.log (format "all")"""
    path = srv.prefix / "srt_all.log"
    found = []

    def line():
        if path.exists():
            found[:] = [l for l in path.read_text().splitlines()
                        if l.split("|")[1] == name]
        return found

    wait_until(line, timeout=timeout, what="the access log line of %s" % name)
    assert len(found) == 1, found
    return dict(zip(ALL_FIELDS, found[0].split("|")))


def json_log(srv, name, timeout=10):
    import json
    path = srv.prefix / "srt_json.log"
    found = []

    def line():
        if path.exists():
            found[:] = [json.loads(l) for l in path.read_text().splitlines()]
            found[:] = [j for j in found if j["stream"] == name]
        return found

    wait_until(line, timeout=timeout, what="the JSON log line of %s" % name)
    assert len(found) == 1, found
    return found[0]


def metric(srv, name, **labels):
    return srv.metrics().value(name, **labels) or 0


def errors(srv, reason):
    return metric(srv, "ingest_connection_errors_total", protocol="srt",
                  reason=reason)


# --------------------------------------------------------------------------


def test_publish_becomes_llhls_and_rtmp(srt, env):
    """an encrypted ffmpeg publish with a token is LL-HLS through the
    worker and H.264 + AAC on nginx-rtmp; stats reach /metrics"""
    name = "main1"
    m0 = srt.metrics()
    pub = ffmpeg_publish(srt.srt_port, sid(name, token(env, name)), 14)
    try:
        out = env["worker"].out / name / "video"
        wait_until(lambda: (out / "index.m3u8").exists()
                   and "#EXT-X-PART:" in (out / "index.m3u8").read_text(),
                   timeout=20, what="the LL-HLS playlist with parts")
        pl = (out / "index.m3u8").read_text()
        assert "#EXT-X-PRELOAD-HINT" in pl
        parts = list(out.glob("part*.m4s"))
        assert parts and all(p.stat().st_size > 0 for p in parts)

        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-rw_timeout", "10000000",
             "-show_entries", "stream=codec_name,width,height",
             "-of", "compact",
             "rtmp://127.0.0.1:%d/live/%s" % (env["rtmp"].port, name)],
            capture_output=True, text=True, timeout=30)
        assert "codec_name=h264|width=320|height=180" in probe.stdout, (
            probe.stdout, probe.stderr)
        assert "codec_name=aac" in probe.stdout, probe.stdout

        m = srt.metrics()
        assert m.get("srt_streams_active") == 1
        assert m.get("srt_receive_rate_bytes") > 0
    finally:
        rc, err = finish(pub)
    assert rc == 0, err

    wait_until(lambda: metric(srt, "srt_streams_active") == 0, timeout=10,
               what="the stream to end")
    m1 = srt.metrics()
    assert m1.get("srt_streams_accepted_total") \
        - (m0.value("srt_streams_accepted_total") or 0) == 1
    assert m1.get("srt_packets_received_total") > 1000
    assert m1.get("srt_bytes_received_total") > 1000000
    assert m1.get("srt_rtt_seconds_count") >= 5
    assert m1.get("srt_relay_bytes_total", relay="live") > 1000000
    assert m1.get("srt_relay_bytes_total", relay="rtmp") > 500000
    assert m1.get("srt_packet_loss_total") is not None
    assert m1.get("srt_retransmits_total") is not None

    wait_until(lambda: "#EXT-X-ENDLIST" in (out / "index.m3u8").read_text(),
               timeout=20, what="the playlist to end")

    log = (srt.prefix / "srt_access.log").read_text()
    line = [l for l in log.splitlines() if '"%s"' % name in l]
    assert len(line) == 1, log
    assert '"alice"' in line[0]

    # log_format with every variable: the session's real values
    v = all_log(srt, name)
    pid, sess = v["session"].split("-")
    assert pid == v["pid"] and int(pid) in srt.worker_pids()
    assert int(sess) >= 1
    assert v["sub"] == "alice"
    assert v["remote_addr"] == "127.0.0.1" and int(v["remote_port"]) > 0
    assert v["server_addr"] == "127.0.0.1:%d" % srt.srt_port
    assert int(v["packets"]) == m1.get("srt_packets_received_total") \
        - (m0.value("srt_packets_received_total") or 0)
    assert int(v["bytes"]) == m1.get("srt_bytes_received_total") \
        - (m0.value("srt_bytes_received_total") or 0)
    assert int(v["packets_lost"]) >= 0 and int(v["retransmits"]) >= 0
    assert int(v["drops"]) >= 0 and int(v["undecrypted"]) == 0
    assert 0 < float(v["rtt"]) < 100
    assert 12 < float(v["duration"]) < 25, v
    assert v["status"] == "closed" and v["reason"] == "connection lost"
    assert int(v["relay_bytes"]) == \
        m1.get("srt_relay_bytes_total", relay="live") \
        + m1.get("srt_relay_bytes_total", relay="rtmp") \
        - (m0.value("srt_relay_bytes_total", relay="live") or 0) \
        - (m0.value("srt_relay_bytes_total", relay="rtmp") or 0)
    assert int(v["bridge_dropped"]) == 0
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$",
                    v["time_iso8601"]), v
    assert re.match(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$",
                    v["time_local"]), v
    assert abs(float(v["msec"]) - time.time()) < 30
    j = json_log(srt, name)
    assert j["sub"] == "alice" and j["status"] == "closed"
    assert j["packets"] == int(v["packets"]) and j["rtt"] == float(v["rtt"])


REJECTIONS = [
    # (id, how to build the stream id, reject code, metric reason)
    ("no_token", lambda e: sid("rj"), 1401, "no_token"),
    ("bad_signature",
     lambda e: sid("rj", HSKey("srt1").mint(sub="x", aud="srt", scope="rj")),
     1401, "token_invalid"),
    ("expired", lambda e: sid("rj", token(e, "rj", ttl=-120)), 1401,
     "token_expired"),
    ("wrong_scope", lambda e: sid("rj", token(e, "other")), 1403,
     "forbidden"),
    ("scope_prefix_boundary",
     lambda e: sid("rj2", token(e, "rj")), 1403, "forbidden"),
    ("wrong_audience", lambda e: sid("rj", token(e, "rj", aud="upload")),
     1403, "forbidden"),
    ("mode_request", lambda e: sid("rj", token(e, "rj"), mode="request"),
     1405, "bad_mode"),
    ("bad_syntax", lambda e: "#!::r=rj,m=publish,m=publish", 1400,
     "bad_request"),
]


@pytest.mark.parametrize("case", REJECTIONS, ids=[c[0] for c in REJECTIONS])
def test_rejected_in_handshake(srt, env, case):
    _, make, code, reason = case
    before = errors(srt, reason)
    cur = LogCursor(srt)
    got = srtpeer.srt_connect(srt.srt_port, make(env), PASSPHRASE)
    assert got == code, (got, srtpeer.reject_str(got))
    wait_until(lambda: cur.find(r"\[info\].*srt: rejected .*\(%d\)" % code),
               timeout=5, what="the rejection in error.log")
    assert errors(srt, reason) == before + 1


def test_rejection_seen_by_ffmpeg_and_srt_live_transmit(srt, env):
    """real callers fail with the application's rejection"""
    before = errors(srt, "no_token")
    rc, err = finish(ffmpeg_publish(srt.srt_port, sid("rjf"), 2))
    assert rc != 0
    assert "Application-defined rejection reason" in err, err

    ts = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
         "testsrc2=size=160x90:rate=10", "-t", "1", "-c:v", "libx264",
         "-f", "mpegts", "-"], capture_output=True, timeout=60).stdout
    slt = subprocess.run(
        ["srt-live-transmit", "-a", "no", "file://con",
         "srt://127.0.0.1:%d?streamid=%s&passphrase=%s"
         % (srt.srt_port, sid("rjs", token(env, "rjs"), mode="request"),
            PASSPHRASE.replace(" ", "%20"))],
        input=ts, capture_output=True, timeout=30)
    out = (slt.stdout + slt.stderr).decode(errors="replace")
    assert "Application-defined rejection reason" in out, out
    assert errors(srt, "no_token") >= before + 1


def test_wrong_passphrase(srt, env):
    """libsrt refuses the key exchange; nothing is accepted, and the name
    is free again right after"""
    accepted = metric(srt, "srt_streams_accepted_total")
    got = srtpeer.srt_connect(srt.srt_port, sid("pw", token(env, "pw")),
                              "not the passphrase")
    assert got == 10, srtpeer.reject_str(got)      # SRT_REJ_BADSECRET
    got = srtpeer.srt_connect(srt.srt_port, sid("pw", token(env, "pw")),
                              None)
    assert got != 0
    # a reservation whose handshake failed holds the name for 1.5 s
    time.sleep(1.6)
    rc, err = finish(ffmpeg_publish(srt.srt_port, sid("pw", token(env, "pw")),
                                    2, passphrase="not the passphrase"))
    assert rc != 0 and "Incorrect passphrase" in err, err
    assert metric(srt, "srt_streams_accepted_total") == accepted
    time.sleep(1.6)
    r = srtpeer.srt_connect(srt.srt_port, sid("pw", token(env, "pw")),
                            PASSPHRASE, keep=True)
    assert r[0] == 0
    srtpeer.srt_close(r[1])
    # the worker counts an accept when its event loop takes the session
    # from libsrt's thread, which may come after srt_connect() returned
    wait_until(lambda: metric(srt, "srt_streams_accepted_total")
               == accepted + 1, what="the accept counted")


def test_passphrase_from_the_token(srt, env):
    """a token's srt_passphrase is its caller's passphrase instead of the
    server's: the caller with it is accepted, with the server's, another
    or none refused by libsrt's key exchange"""
    own = "per stream secret 1"
    cur = LogCursor(srt)
    accepted = metric(srt, "srt_streams_accepted_total")
    # (each name of its own: a failed handshake holds its name for 1.5 s)
    for name, other, code in (("pp1a", PASSPHRASE, 10),   # BADSECRET
                              ("pp1b", "another secret 99", 10),
                              ("pp1c", None, 11)):        # UNSECURE
        tok = token(env, name, srt_passphrase=own)
        got = srtpeer.srt_connect(srt.srt_port, sid(name, tok), other)
        assert got == code, (name, srtpeer.reject_str(got))
    name = "pp1"
    tok = token(env, name, srt_passphrase=own)
    r = srtpeer.srt_connect(srt.srt_port, sid(name, tok), own, keep=True,
                            send=b"\x47" * 1316 * 3)
    assert r[0] == 0, srtpeer.reject_str(r[0])
    time.sleep(0.5)
    srtpeer.srt_close(r[1])
    # pp1 alone was accepted: its accept is the one counted
    wait_until(lambda: cur.find(r'publishes "pp1"'), what="pp1 accepted")
    assert cur.find(r'publishes "pp1[abc]"') == []
    wait_until(lambda: metric(srt, "srt_streams_accepted_total")
               == accepted + 1, what="one accept counted")
    v = all_log(srt, name)
    assert int(v["packets"]) == 3 and int(v["undecrypted"]) == 0, v

    # a token minted by the CLI, a real encoder (ffmpeg) with its key
    name, own = "pp2", "another per stream secret"
    tok = subprocess.run(
        [str(REPO / "build" / "ingest-token"), "mint", "--kid", "srt1",
         "--alg", "HS256", "--key", str(env["keyfile"]), "--sub", "bob",
         "--aud", "srt", "--scope", name, "--ttl", "5m",
         "--srt-passphrase", own],
        capture_output=True, text=True, check=True).stdout.strip()
    rc, err = finish(ffmpeg_publish(srt.srt_port, sid(name, tok), 3,
                                    passphrase=own, pbkeylen=24))
    assert rc == 0, err
    v = all_log(srt, name)
    assert v["sub"] == "bob" and int(v["packets"]) > 50, v
    assert int(v["undecrypted"]) == 0, v
    rc, err = finish(ffmpeg_publish(srt.srt_port, sid(name, tok), 2))
    assert rc != 0 and "Incorrect passphrase" in err, err


def test_percent_encoded_streamid(srt, env):
    from urllib.parse import quote
    r = srtpeer.srt_connect(srt.srt_port,
                            quote(sid("enc", token(env, "enc")), safe=""),
                            PASSPHRASE, keep=True)
    assert r[0] == 0
    srtpeer.srt_close(r[1])


def test_duplicate_publisher_conflict(srt, env):
    """a second publisher of a live name gets 409, whichever worker its
    packets reach (the table of names is in shared memory)"""
    name = "dup1"
    before = errors(srt, "conflict")
    cur = LogCursor(srt)
    pub = ffmpeg_publish(srt.srt_port, sid(name, token(env, name)), 8)
    try:
        wait_until(lambda: cur.find(r'srt: .* publishes "%s"' % name),
                   timeout=10, what="the first publisher")
        for _ in range(4):
            got = srtpeer.srt_connect(srt.srt_port,
                                      sid(name, token(env, name)),
                                      PASSPHRASE)
            assert got == 1409, srtpeer.reject_str(got)
        rc, err = finish(ffmpeg_publish(srt.srt_port,
                                        sid(name, token(env, name)), 2))
        assert rc != 0 and "rejection" in err, err
    finally:
        finish(pub)
    assert errors(srt, "conflict") == before + 5


def test_vanished_publisher_cleaned_after_idle_timeout(srt, env):
    """a caller that stops sending without closing is dropped after
    idle_timeout (3s here) and its name is free again"""
    name = "idle1"
    cur = LogCursor(srt)
    r = srtpeer.srt_connect(srt.srt_port, sid(name, token(env, name)),
                            PASSPHRASE, keep=True, send=b"\x47" * 1316)
    assert r[0] == 0
    before = errors(srt, "idle_timeout")
    wait_until(lambda: cur.find(r'srt: "%s" from .* ended' % name),
               timeout=10, what="the idle stream to be closed")
    assert errors(srt, "idle_timeout") == before + 1 or \
        cur.find(r'"%s" .*(connection lost|idle)' % name)
    srtpeer.srt_close(r[1])
    v = all_log(srt, name)
    assert (v["status"], v["reason"]) == ("idle_timeout", "idle timeout"), v
    # libsrt counts the headers (UDP, IP) in its bytes
    assert int(v["packets"]) == 1 and int(v["bytes"]) == 1316 + 44
    got = srtpeer.srt_connect(srt.srt_port, sid(name, token(env, name)),
                              PASSPHRASE)
    assert got == 0


def test_concurrent_publishers_two_workers(srt, env):
    names = ["multi%d" % i for i in range(4)]
    cur = LogCursor(srt)
    pubs = [ffmpeg_publish(srt.srt_port, sid(n, token(env, n)), 6,
                           size="160x90") for n in names]
    try:
        wait_until(lambda: metric(srt, "srt_streams_active") >= 4,
                   timeout=15, what="four streams")
        for n in names:
            wait_until(lambda: (env["worker"].out / n / "video"
                                / "index.m3u8").exists(), timeout=20,
                       what="LL-HLS of %s" % n)
    finally:
        results = [finish(p) for p in pubs]
    assert all(rc == 0 for rc, _ in results), results
    pids = set()
    for n in names:
        line = cur.find(r'srt: .* publishes "%s"' % n)
        assert len(line) == 1
        pids.add(line[0].split("]")[1].split("#")[0].strip())
    assert pids <= set(str(p) for p in srt.worker_pids())


def test_reload_during_publish(srt, env):
    """reload cuts live streams (their sockets close with the old worker)
    without [alert]; a new publish works at once"""
    name = "rl1"
    cur = LogCursor(srt)
    pub = ffmpeg_publish(srt.srt_port, sid(name, token(env, name)), 30)
    try:
        wait_until(lambda: cur.find(r'srt: .* publishes "%s"' % name),
                   timeout=10, what="the publisher")
        srt.reload()
    finally:
        pub.kill()
        finish(pub)
    name = "rl2"
    rc, err = finish(ffmpeg_publish(srt.srt_port, sid(name, token(env, name)),
                                    3))
    assert rc == 0, err
    assert srt.log_problems() == []


@pytest.mark.parametrize("extra,message", [
    (["pbkeylen 20;"], r'"pbkeylen" must be 16, 24 or 32'),
    (["pbkeylen 0;"], r'"pbkeylen" must be 16, 24 or 32'),
    (["passphrase short;"], r'"passphrase" must be 10 to 79'),
    (["latency 2m;"], r'"latency" must be at most 60s'),
    (["relay_rtmp rtmp://127.0.0.1/live/x;"], r"needs an rtmp:// URL with "
                                               r"\$stream"),
    (["forward srt://127.0.0.1:5000;"], r'"forward" takes tcp://'),
    (["max_streams 0;"], r"must be between 1 and 1024"),
])
def test_config_errors(env, tmp_path_factory, extra, message):
    import re
    conf = Conf(tmp_path_factory.mktemp("nginx-srt-bad"), workers=1)
    conf.extra_modules.append(SRT_MODULE)
    conf.main.append("srt { server { listen 127.0.0.1:%d; relay_live "
                     "/tmp/x.sock; %s } }" % (udp_port(), " ".join(extra)))
    rc, out = nginx_t(conf)
    assert rc != 0
    assert re.search(r"\[emerg\].*" + message, out), out


def test_config_without_relay_or_key(env, tmp_path_factory):
    conf = Conf(tmp_path_factory.mktemp("nginx-srt-bad"), workers=1)
    conf.extra_modules.append(SRT_MODULE)
    conf.main.append("srt { server { listen 127.0.0.1:%d; token on; "
                     "relay_live /tmp/x.sock; } }" % udp_port())
    rc, out = nginx_t(conf)
    assert rc != 0 and '"token" is on but no "token_key"' in out, out
    conf.main[-1] = "srt { server { listen 127.0.0.1:%d; } }" % udp_port()
    rc, out = nginx_t(conf)
    assert rc != 0 and "has nowhere to send streams" in out, out


def test_module_loads_without_the_http_module(tmp_path):
    # its own copy of the core: no symbol of ngx_http_ingest_module.so is
    # needed (the metrics are weak references)
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "load_module %s;\n"
        "error_log %s/error.log info;\n"
        "pid %s/nginx.pid;\n"
        "events {}\n"
        "srt { server { listen 127.0.0.1:%d; forward tcp://127.0.0.1:9; } }\n"
        % (SRT_MODULE, tmp_path, tmp_path, port))
    r = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],
                       capture_output=True, text=True, timeout=60,
                       env=sanitizer_env(SRT_MODULE))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "undefined symbol" not in out


def test_listen_sockets(tmp_path_factory):
    """listen ... sockets=3 with 2 workers: 6 UDP sockets in the
    reuseport group, each a libsrt listener; every caller's packets reach
    the listener that accepted it, so each stream arrives whole"""
    sink = TcpSink()
    port = udp_port()
    conf = Conf(tmp_path_factory.mktemp("nginx-srt-sockets"), workers=2)
    conf.extra_modules.append(SRT_MODULE)
    conf.main.append("srt { server { listen 127.0.0.1:%d sockets=3; "
                     "latency 80ms; forward tcp://127.0.0.1:%d; } }"
                     % (port, sink.port))
    srv = NginxServer(conf)
    srv.start()
    socks = []
    try:
        assert udp_sockets_on(port) == 6
        assert len(re.findall(r"srt: listening on 127\.0\.0\.1:%d \(UDP, "
                              r"3 sockets" % port, srv.read_log())) == 2
        payloads = [bytes([0x47, i]) * (1316 * 40 // 2) for i in range(8)]
        for i, data in enumerate(payloads):
            r = srtpeer.srt_connect(port, "s%d" % i, keep=True, send=data)
            assert r[0] == 0, srtpeer.reject_str(r[0])
            socks.append(r[1])

        def whole():
            with sink.lock:
                got = sorted(bytes(c["data"]) for c in sink.conns)
            return got == sorted(payloads)

        wait_until(whole, timeout=15, what="every stream at the sink")
    finally:
        for sk in socks:
            srtpeer.srt_close(sk)
        srv.stop()
        sink.close()
    srv.assert_clean_log()


@pytest.mark.parametrize("param,message", [
    ("sockets=0", r'"sockets" must be 1 to 32'),
    ("sockets=33", r'"sockets" must be 1 to 32'),
    ("socket=2", r'invalid parameter "socket=2"'),
])
def test_listen_sockets_config(tmp_path_factory, param, message):
    conf = Conf(tmp_path_factory.mktemp("nginx-srt-bad"), workers=1)
    conf.extra_modules.append(SRT_MODULE)
    conf.main.append("srt { server { listen 127.0.0.1:%d %s; relay_live "
                     "/tmp/x.sock; } }" % (udp_port(), param))
    rc, out = nginx_t(conf)
    assert rc != 0
    assert re.search(r"\[emerg\].*" + message, out), out


def test_access_log_escapes(srt, env):
    """bytes of the token's sub that a log line cannot hold as they are:
    \\xHH in the default escaping, JSON escapes with escape=json"""
    name = "esc1"
    sub = 'a"b\\c\u00e9'
    tok = env["key"].mint(sub=sub, ttl=300, aud="srt", scope=name)
    r = srtpeer.srt_connect(srt.srt_port, sid(name, tok), PASSPHRASE,
                            keep=True, send=b"\x47" * 1316)
    assert r[0] == 0
    time.sleep(0.5)
    srtpeer.srt_close(r[1])
    v = all_log(srt, name)
    assert v["sub"] == "a\\x22b\\x5Cc\\xC3\\xA9", v["sub"]
    assert json_log(srt, name)["sub"] == sub
    assert v["status"] == "closed"
    # the totals of a session shorter than the 1 s of the statistics
    assert int(v["packets"]) == 1, v


def test_access_log_config(tmp_path_factory):
    conf = Conf(tmp_path_factory.mktemp("nginx-srt-bad"), workers=1)
    conf.extra_modules.append(SRT_MODULE)
    base = "srt { %s server { listen 127.0.0.1:%d; relay_live /tmp/x.sock; " \
        "%s } }"
    cases = [
        ("log_format a '$srt_nope';", "", r'unknown variable "\$srt_nope"'),
        ("log_format a '$srt_stream';", "access_log /tmp/srt.log b;",
         r'unknown log format "b"'),
        ("log_format a x; log_format a y;", "",
         r'duplicate "log_format" name "a"'),
        ("log_format a escape=html x;", "",
         r'unknown log format escaping "html"'),
        ("log_format a '${srt_stream';", "", r"closing bracket"),
        ("", "access_log off; access_log /tmp/srt.log;",
         r'"access_log off"'),
    ]
    for main, server, message in cases:
        conf.main[:] = [base % (main, udp_port(), server)]
        rc, out = nginx_t(conf)
        assert rc != 0, (main, server)
        assert re.search(r"\[emerg\].*" + message, out), out
    conf.main[:] = [base % ("log_format a escape=json '${srt_stream}x';",
                            udp_port(), "access_log %s/a.log a; "
                            "access_log %s/b.log;"
                            % (conf.prefix, conf.prefix))]
    rc, out = nginx_t(conf)
    assert rc == 0, out


def test_slow_consumer_cut_memory_bounded(tmp_path_factory):
    """a forward target that accepts and never reads fills its relay's
    buffer and is disconnected and counted; the stream goes on to its
    other relay whole, and the worker's memory does not grow with what
    the slow one did not take. A stream whose only relay is slow ends."""
    base = tmp_path_factory.mktemp("nginx-srt-slow")
    slow = TcpSink(read=False, rcvbuf=16384)
    live = UnixSink(base / "live.sock")
    port, port2 = udp_port(), udp_port()
    conf = Conf(base, workers=1)
    conf.extra_modules.append(SRT_MODULE)
    conf.location("= /metrics", "ingest_metrics;")
    conf.main.append(
        "srt { log_format s '$srt_stream $srt_status $srt_reason "
        "$srt_bytes $srt_relay_bytes';\n"
        "  server { listen 127.0.0.1:%d; latency 120ms; relay_buffer 1m; "
        "forward tcp://127.0.0.1:%d; relay_live %s; "
        "access_log %s/srt.log s; }\n"
        "  server { listen 127.0.0.1:%d; latency 120ms; relay_buffer 1m; "
        "forward tcp://127.0.0.1:%d; access_log %s/srt.log s; } }"
        % (port, slow.port, live.path, base, port2, slow.port, base))
    srv = NginxServer(conf)
    srv.start()
    total = 1316 * 12000                # 16 MB, at 3 MB/s
    try:
        m0 = srv.metrics()
        slow0 = m0.value("srt_relay_slow_consumers_total",
                         relay="forward") or 0
        pid = srv.worker_pids()[0]

        # a first stream: libsrt's and nginx's one-off allocations
        r = srtpeer.srt_connect(port, "warm", keep=True)
        assert r[0] == 0
        send_paced(r[1], 2 * 1024 * 1024)
        time.sleep(0.5)
        srtpeer.srt_close(r[1])
        wait_until(lambda: "warm " in (base / "srt.log").read_text()
                   if (base / "srt.log").exists() else False, timeout=10,
                   what="the first stream's end")
        rss0 = worker_rss(pid)
        cur = LogCursor(srv)
        m1 = srv.metrics()

        r = srtpeer.srt_connect(port, "slow1", keep=True)
        assert r[0] == 0
        assert send_paced(r[1], total, 3.0) == total
        wait_until(lambda: cur.find(r'srt: "slow1": forward relay to '
                                    r'.* closed: slow consumer'),
                   timeout=10, what="the slow relay to be cut")
        with live.lock:
            stream = [c for c in live.conns if c["bytes"] > 0][-1]

        def whole():
            with live.lock:
                return stream["bytes"] >= len(b"stream slow1\n") + total

        try:
            wait_until(whole, timeout=20, what="the whole stream at the "
                       "live relay")
        except AssertionError:
            m = srv.metrics()
            raise AssertionError((stream["bytes"], total, [
                (k, m.value(k)) for k in (
                    "srt_packets_received_total", "srt_packet_loss_total",
                    "srt_drops_total", "srt_bridge_dropped_bytes_total",
                    "srt_retransmits_total")]))
        rss1 = worker_rss(pid)
        m2 = srv.metrics()
        assert m2.value("srt_relay_slow_consumers_total",
                        relay="forward") == slow0 + 1
        # the slow peer got what the kernel's socket buffers took (up to
        # tcp_wmem's 4 MB of send buffer), the relay held 1m more when
        # it was cut, and the worker grew by far less than the 16 MB
        # that it did not take
        fwd = m2.value("srt_relay_bytes_total", relay="forward") \
            - (m1.value("srt_relay_bytes_total", relay="forward") or 0)
        wmem = int(open("/proc/sys/net/ipv4/tcp_wmem").read().split()[2])
        assert fwd < wmem + 256 * 1024, (fwd, wmem)
        # (ASan keeps freed memory in its quarantine: no RSS check then)
        if "libasan" not in sanitizer_env(SRT_MODULE).get("LD_PRELOAD", ""):
            assert rss1 - rss0 < 6 * 1024 * 1024, (rss0, rss1)
        assert m2.get("srt_streams_active") == 1
        with slow.lock:
            cut = slow.conns[-1]
        wait_until(lambda: slow.peer_closed(cut), timeout=5,
                   what="nginx to close the slow connection")
        srtpeer.srt_close(r[1])

        # the only relay is slow: the stream ends, the caller is cut
        r = srtpeer.srt_connect(port2, "slow2", keep=True)
        assert r[0] == 0
        send_paced(r[1], total, 3.0)
        wait_until(lambda: "slow2 " in (base / "srt.log").read_text(),
                   timeout=15, what="the end of the stream with no relay")
        line = [l for l in (base / "srt.log").read_text().splitlines()
                if l.startswith("slow2 ")][0].split()
        assert line[1] == "relay_failed", line
        assert int(line[-1]) < 4 * 1024 * 1024, line
        # the caller sees its connection closed (SRTS_CONNECTED is 5)
        wait_until(lambda: srtpeer.lib().srt_getsockstate(r[1]) != 5,
                   timeout=10, what="the caller to be disconnected")
        srtpeer.srt_close(r[1])
        assert srv.metrics().value("srt_relay_slow_consumers_total",
                                   relay="forward") == slow0 + 2

        # slow1 went on until its caller closed
        line = wait_until(lambda: [l.split() for l in (base / "srt.log")
                                   .read_text().splitlines()
                                   if l.startswith("slow1 ")],
                          timeout=10, what="the line of slow1")[0]
        assert line[1] == "closed", line
        assert int(line[-1]) > total, line
    finally:
        srv.stop()
        slow.close()
        live.close()
    srv.assert_clean_log()


def test_concurrent_handshakes(tmp_path_factory):
    """many callers at once, their handshakes decided by several libsrt
    threads of two workers at the same time: every one is accepted with
    its reservation (a reservation made a millisecond later than another
    thread's clock reading once looked ten seconds old and was taken)"""
    sink = TcpSink()
    port = udp_port()
    conf = Conf(tmp_path_factory.mktemp("nginx-srt-many"), workers=2)
    conf.extra_modules.append(SRT_MODULE)
    conf.main.append("srt { server { listen 127.0.0.1:%d sockets=8; "
                     "latency 80ms; max_streams 1024; "
                     "forward tcp://127.0.0.1:%d; } }"
                     % (port, sink.port))
    srv = NginxServer(conf)
    srv.start()
    n, results, socks = 48, {}, []

    def call(i):
        results[i] = srtpeer.srt_connect(port, "c%d" % i, keep=True,
                                         timeout_ms=8000,
                                         send=bytes([0x47, i]) * 658)

    try:
        for attempt in range(3):
            threads = [threading.Thread(target=call, args=(attempt * n + i,))
                       for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        socks = [r[1] for r in results.values() if isinstance(r, tuple)]
        bad = {i: r for i, r in results.items() if not isinstance(r, tuple)}
        assert not bad, bad

        def whole():
            with sink.lock:
                return sum(1 for c in sink.conns
                           if len(c["data"]) == 1316) == 3 * n

        wait_until(whole, timeout=15, what="every caller's packet")
        assert "no reservation" not in srv.read_log()
    finally:
        for sk in socks:
            srtpeer.srt_close(sk)
        srv.stop()
        sink.close()
    srv.assert_clean_log()
