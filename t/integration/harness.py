"""
Integration harness: a private nginx (the stock Debian binary) with the
ingest module loaded, a config builder, raw HTTP helpers, tus helpers,
spool/store helpers and a Prometheus text parser.

Everything here talks to 127.0.0.1 only.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests


REPO = Path(__file__).resolve().parents[2]
NGINX = os.environ.get("INGEST_NGINX", "/usr/sbin/nginx")
MODULE = Path(os.environ.get(
    "INGEST_MODULE", str(REPO / "build" / "nginx" / "ngx_http_ingest_module.so")))
# the SRT listener, loaded after MODULE by configs that set srt_module
SRT_MODULE = Path(os.environ.get(
    "INGEST_SRT_MODULE", str(REPO / "build" / "nginx" / "ngx_srt_module.so")))

TUS_VERSION = "1.0.0"
TUS_HDR = {"Tus-Resumable": TUS_VERSION}
OCTET = "application/offset+octet-stream"
EXTENSIONS = {"creation", "creation-with-upload", "creation-defer-length",
              "expiration", "checksum", "termination", "concatenation",
              "concatenation-unfinished"}
CHECKSUM_ALGOS = {"sha1", "md5", "sha256", "crc32"}
ID_RE = re.compile(r"^[0-9a-f]{32}$")
# RFC 7231 IMF-fixdate
IMF_FIXDATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d:\d\d GMT$")

# what must never appear in error.log / the master's stderr
BAD_LOG_RE = re.compile(
    r"\[(alert|emerg|crit)\]|AddressSanitizer|LeakSanitizer|"
    r"runtime error:|ThreadSanitizer")

HTTP_TIMEOUT = 30
KiB = 1024
MiB = 1024 * 1024


class HarnessError(Exception):
    pass


# --------------------------------------------------------------------------
# small utilities


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_in_use(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode("ascii")


def encode_metadata(pairs):
    """pairs: dict or list of (key, value|None); value str or bytes"""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    out = []
    for k, v in items:
        out.append(k if v is None else "%s %s" % (k, b64(v)))
    return ",".join(out)


def payload(n, seed=0):
    """deterministic pseudo-random bytes (not compressible, not zero)"""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha512(b"%d:%d" % (seed, counter)).digest()
        counter += 1
    return bytes(out[:n])


def big_payload(n, seed=0):
    """fast deterministic bytes for multi-MiB bodies"""
    block = payload(MiB, seed)
    reps, rest = divmod(n, MiB)
    parts = []
    for i in range(reps):
        # vary each MiB so misplaced blocks are detected
        parts.append(hashlib.sha256(b"%d:%d" % (seed, i)).digest()[:16]
                     + block[16:])
    parts.append(block[:rest])
    return b"".join(parts)


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    """bounded polling; returns the predicate's truthy value"""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def dir_snapshot(path):
    """{name: (size, mtime_ns)} of a directory tree (missing dir: {})"""
    snap = {}
    path = Path(path)
    if not path.exists():
        return snap
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            p = Path(root) / name
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue
            snap[str(p.relative_to(path))] = (st.st_size, st.st_mtime_ns)
    return snap


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...
        rest = stat.rsplit(")", 1)[1].split()
        if int(rest[1]) == pid:
            kids.append(int(entry))
    return sorted(kids)


def nginx_group_members(pgid):
    """pids of the nginx processes in process group pgid"""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if int(rest[2]) == pgid and cmd.startswith(b"nginx"):
            out.append(int(entry))
    return out


def proc_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def ofd_locks_on(path):
    """lines of /proc/locks that lock the inode of path"""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return []
    want = ":%d " % st.st_ino
    with open("/proc/locks") as f:
        return [l for l in f if want in l.replace("\n", " ")]


# --------------------------------------------------------------------------
# sanitizer builds: the stock nginx needs the runtime preloaded


def sanitizer_env(module=MODULE):
    env = dict(os.environ)
    try:
        out = subprocess.run(["readelf", "-d", str(module)], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return env
    preload = []
    for lib in ("libasan", "libubsan", "libtsan"):
        m = re.search(r"\[(%s\.so[.\d]*)\]" % lib, out)
        if m:
            try:
                p = subprocess.run(["gcc", "-print-file-name=%s" % m.group(1)],
                                   capture_output=True, text=True,
                                   timeout=10).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                p = m.group(1)
            preload.append(p)
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
        # nginx frees its pools at exit only partly: leaks are not bugs here
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


# --------------------------------------------------------------------------
# config builder


class Conf:
    """
    Builds an nginx.conf for a private instance under `prefix`.

        conf = Conf(prefix)
        conf.http.append("tus_cleanup_interval 1s;")
        conf.location("/files/", "tus on;", "tus_store %s;" % conf.store("files"))
        text = conf.render()
    """

    def __init__(self, prefix, port=None, module=MODULE, workers=2,
                 thread_pool="threads=4", load_module=True, user_root=None):
        self.prefix = Path(prefix)
        self.port = port or free_port()
        self.module = Path(module)
        self.workers = workers
        self.thread_pool = thread_pool
        self.load_module = load_module
        self.user_root = (os.geteuid() == 0) if user_root is None else user_root
        self.main = []
        self.events = ["worker_connections 512;"]
        self.http = []
        self.server = []
        self.locations = []
        self.raw_http = []          # extra blocks (e.g. other servers)
        self.extra_modules = []     # load_module after self.module
        self.stores = {}
        self.spool = self.prefix / "spool"

    def store(self, name):
        path = self.prefix / "store" / name
        self.stores[name] = path
        return path

    def location(self, spec, *directives):
        self.locations.append((spec, list(directives)))
        return self

    def render(self):
        p = self.prefix
        lines = []
        if self.load_module:
            lines.append("load_module %s;" % self.module)
        lines += ["load_module %s;" % m for m in self.extra_modules]
        if self.user_root:
            lines.append("user root root;")
        lines += [
            "worker_processes %d;" % self.workers,
            "daemon off;",
            "master_process on;",
            "pid %s/nginx.pid;" % p,
            "error_log %s/error.log info;" % p,
            "worker_shutdown_timeout 15s;",
        ]
        if self.thread_pool:
            lines.append("thread_pool default %s;" % self.thread_pool)
        lines += self.main
        lines.append("events {")
        lines += ["    " + d for d in self.events]
        lines.append("}")
        lines.append("http {")
        http = [
            "default_type application/octet-stream;",
            "access_log %s/access.log ingest_test;" % p,
            "client_body_temp_path %s/temp/client_body;" % p,
            "proxy_temp_path %s/temp/proxy;" % p,
            "fastcgi_temp_path %s/temp/fastcgi;" % p,
            "uwsgi_temp_path %s/temp/uwsgi;" % p,
            "scgi_temp_path %s/temp/scgi;" % p,
        ]
        lines.append("    log_format ingest_test '$pid $connection "
                     "\"$request\" $status $body_bytes_sent "
                     "$request_length $request_time';")
        # INGEST_EXTRA_HTTP: extra http-level directives for every generated
        # config (a debugging aid, e.g. to triage a failure; never set in CI)
        extra = [d.strip() + ";" for d in
                 os.environ.get("INGEST_EXTRA_HTTP", "").split(";") if d.strip()]
        lines += ["    " + d for d in http + self.http + extra]
        lines.append("    server {")
        lines.append("        listen 127.0.0.1:%d reuseport;" % self.port)
        lines.append("        server_name localhost;")
        lines += ["        " + d for d in self.server]
        # which worker serves this connection
        lines.append("        location = /pid { return 200 \"$pid\\n\"; }")
        for spec, directives in self.locations:
            lines.append("        location %s {" % spec)
            lines += ["            " + d for d in directives]
            lines.append("        }")
        lines.append("    }")
        for block in self.raw_http:
            lines += ["    " + l for l in block.splitlines()]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def write(self):
        self.prefix.mkdir(parents=True, exist_ok=True)
        for d in ("temp", "logs", "conf"):
            (self.prefix / d).mkdir(exist_ok=True)
        path = self.prefix / "conf" / "nginx.conf"
        path.write_text(self.render())
        return path


def standard_conf(prefix, port=None, cleanup_interval="1s", create_dirs=True):
    """the default layout used by most tests (see conftest.py)"""
    c = Conf(prefix, port)
    c.http.append("tus_cleanup_interval %s;" % cleanup_interval)
    spool = c.spool

    def tus_loc(spec, store, *extra):
        # client_max_body_size 0: as docs/quickstart.md and directives.md
        # ("tus") tell, tus_max_size is the limit
        c.location(spec, "tus on;", "tus_store %s;" % c.store(store),
                   "tus_spool %s;" % spool, "client_max_body_size 0;", *extra)

    tus_loc("/files/", "files", "tus_max_size 1g;", "tus_expiration 1h;",
            "tus_cors_origin *;")
    tus_loc("/small/", "small", "tus_max_size 1m;", "tus_expiration 1h;")
    tus_loc("/expiring/", "expiring", "tus_max_size 1g;",
            "tus_expiration 2s;")
    tus_loc("/proxied/", "proxied", "tus_behind_proxy on;",
            "tus_expiration 1h;")
    tus_loc("/fixedbase/", "fixedbase",
            "tus_location_base https://cdn.example.com/up/;",
            "tus_max_size 1g;")
    tus_loc("/varbase/", "varbase",
            "tus_location_base https://$host/vb/;", "tus_max_size 1g;")
    tus_loc("/relbase/", "relbase", "tus_location_base /relbase/;",
            "tus_max_size 1g;")
    tus_loc("/hooked/", "hooked", "tus_max_size 1g;",
            "tus_spool_profile hd720;",
            "tus_webhook http://127.0.0.1:9/hook?x=1;")
    tus_loc("/cors-list/", "corslist", "tus_max_size 1g;",
            "tus_cors_origin https://a.example https://b.example;")
    tus_loc("~ ^/rx/", "rx", "tus_base_uri /rx/;", "tus_max_size 1g;")
    tus_loc("/smallbuf/", "smallbuf", "tus_buffer_size 64k;")
    c.location("/nospool/", "tus on;", "tus_store %s;" % c.store("nospool"),
               "client_max_body_size 0;")
    c.location("= /metrics", "ingest_metrics;")
    if create_dirs:
        for d in ("tmp", "incoming"):
            (spool / d).mkdir(parents=True, exist_ok=True)
        for path in c.stores.values():
            path.mkdir(parents=True, exist_ok=True)
    return c


def nginx_t(conf):
    """runs `nginx -t` on a Conf; returns (returncode, combined output)"""
    path = conf.write()
    r = subprocess.run([NGINX, "-t", "-p", str(conf.prefix), "-c", str(path)],
                       capture_output=True, text=True, timeout=60,
                       env=sanitizer_env(conf.module))
    return r.returncode, r.stdout + r.stderr


# --------------------------------------------------------------------------
# the server


class NginxServer:
    live = []           # started and not yet stopped (for the log checks)

    def __init__(self, conf, allowed_log_patterns=()):
        self.conf = conf
        self.prefix = conf.prefix
        self.port = conf.port
        self.proc = None
        self.allowed = [re.compile(p) for p in allowed_log_patterns]
        self.error_log = self.prefix / "error.log"
        self.stderr_log = self.prefix / "stderr.log"
        self.access_log = self.prefix / "access.log"
        self.base = "http://127.0.0.1:%d" % self.port
        self._stderr = None
        self.expected_exit = False
        self.reported = set()       # forbidden log lines already reported

    # paths
    def store(self, name="files"):
        return self.conf.stores[name]

    @property
    def spool(self):
        return self.conf.spool

    def url(self, path="/"):
        return self.base + path

    # lifecycle
    def start(self, timeout=20):
        for m in ([self.conf.module] if self.conf.load_module else []) \
                + list(self.conf.extra_modules):
            if not Path(m).exists():
                raise HarnessError(
                    "module not built: %s is missing (run `make modules`)"
                    % m)
        path = self.conf.write()
        self._stderr = open(self.stderr_log, "ab")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(path)],
            stdin=subprocess.DEVNULL, stdout=self._stderr,
            stderr=subprocess.STDOUT, env=sanitizer_env(self.conf.module),
            start_new_session=True)
        NginxServer.live.append(self)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                NginxServer.live.remove(self)
                raise HarnessError(
                    "nginx exited with %s during start-up:\n%s\n%s"
                    % (self.proc.returncode, self.read_stderr()[-4000:],
                       self.read_log()[-4000:]))
            if (len(self.worker_pids()) == self.conf.workers
                    and self._pid_answers()):
                return self
            if time.monotonic() > deadline:
                self.stop(check=False)
                raise HarnessError("nginx did not become ready in %ss:\n%s"
                                   % (timeout, self.read_log()[-4000:]))
            time.sleep(0.05)

    def _pid_answers(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/pid")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status == 200
        except OSError:
            return False

    @property
    def master_pid(self):
        return self.proc.pid if self.proc else None

    def worker_pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [p for p in children_of(self.proc.pid) if proc_alive(p)]

    def reload(self, timeout=20):
        old = set(self.worker_pids())
        os.kill(self.proc.pid, signal.SIGHUP)

        def done():
            died = self.health_problem()
            if died:
                raise AssertionError("on reload (SIGHUP): " + died)
            pids = set(self.worker_pids())
            return len(pids) == self.conf.workers and not (pids & old)

        wait_until(done, timeout=timeout, what="new workers after reload")

    def health_problem(self):
        """why this instance is not healthy, or None"""
        if self.proc is not None and self.proc.poll() is not None:
            if not self.expected_exit:
                self.kill_orphans()
                return ("nginx master process %d died (exit status %s)"
                        % (self.proc.pid, self.proc.returncode))
        return None

    def restart_after_crash(self):
        """a fresh master on the same config, port, store and logs"""
        self.kill_orphans()
        if self in NginxServer.live:
            NginxServer.live.remove(self)
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        self.proc = None
        self.expected_exit = False
        wait_until(lambda: not port_in_use(self.port), timeout=10,
                   what="port %d to be free" % self.port)
        return self.start()

    def kill_orphans(self):
        """workers left by a dead master (same process group)"""
        if self.proc is None:
            return
        for pid in nginx_group_members(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self, timeout=20, check=True):
        """SIGQUIT (graceful), SIGKILL after timeout. Returns True when the
        graceful stop worked."""
        graceful = True
        died = self.health_problem()
        if self.proc is not None and died is None:
            self.expected_exit = True
            os.kill(self.proc.pid, signal.SIGQUIT)
            try:
                rc = self.proc.wait(timeout)
                if rc != 0:
                    died = ("nginx master process %d exited with status %s "
                            "on SIGQUIT" % (self.proc.pid, rc))
            except subprocess.TimeoutExpired:
                graceful = False
        if self.proc is not None and (died is not None or not graceful):
            # a hung master, or workers orphaned by a crashed one: they
            # are in the process group of the master (start_new_session)
            self.kill_orphans()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self in NginxServer.live:
            NginxServer.live.remove(self)
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        if check and died is not None:
            raise AssertionError(died + "; see " + str(self.error_log))
        if check and not graceful:
            raise AssertionError(
                "nginx did not exit within %ss of SIGQUIT (a request or a "
                "thread task never finished?); killed" % timeout)
        return graceful

    # logs
    def read_log(self):
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def read_stderr(self):
        try:
            return self.stderr_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_offsets(self):
        return tuple(p.stat().st_size if p.exists() else 0
                     for p in (self.error_log, self.stderr_log))

    def log_problems(self, since=(0, 0), mark=False):
        """bad lines written to error.log / stderr since the offsets, less
        those already reported (mark=True records these as reported)"""
        bad = []
        for p, off in zip((self.error_log, self.stderr_log), since):
            if not p.exists():
                continue
            with open(p, "rb") as f:
                f.seek(off)
                text = f.read().decode(errors="replace")
            for line in text.splitlines():
                if BAD_LOG_RE.search(line) and not any(
                        a.search(line) for a in self.allowed):
                    entry = "%s: %s" % (p.name, line)
                    if entry not in self.reported:
                        bad.append(entry)
        if mark:
            self.reported.update(bad)
        return bad

    def assert_clean_log(self, since=(0, 0)):
        bad = self.log_problems(since)
        if bad:
            raise AssertionError(
                "error log of %s has %d forbidden line(s):\n%s"
                % (self.prefix, len(bad), "\n".join(bad[:40])))

    # connections
    def connect(self, timeout=HTTP_TIMEOUT):
        return RawConn(self.port, timeout)

    def connect_worker(self, pid=None, not_pid=None, tries=200):
        """a keep-alive connection served by a given worker (or any worker
        but not_pid); returns (conn, worker_pid)"""
        for _ in range(tries):
            c = self.connect()
            r = c.request("GET", "/pid")
            wpid = int(r.body.strip())
            if (pid is None or wpid == pid) and wpid != not_pid:
                return c, wpid
            c.close()
        raise AssertionError("could not get a connection to worker %s "
                             "(not %s) in %d tries" % (pid, not_pid, tries))

    # tus helpers
    def tus(self, base="/files/", **kw):
        return TusClient(self, base, **kw)

    def job_path(self, upload_id):
        return self.spool / "incoming" / ("%s.json" % upload_id)

    def wait_job(self, upload_id, timeout=15):
        p = self.job_path(upload_id)
        wait_until(p.exists, timeout=timeout, what="spool job %s" % p)
        return json.loads(p.read_text())

    def metrics(self):
        r = requests.get(self.url("/metrics"), timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, r.status_code
        return Metrics(r.text, r.headers.get("Content-Type", ""))


# --------------------------------------------------------------------------
# raw HTTP/1.1 over a socket (no path normalisation, slow bodies, pipelining)


class RawResponse:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.headers = CIDict(headers)
        self.body = body

    def __repr__(self):
        return "<RawResponse %d %r>" % (self.status, self.headers)


class CIDict(dict):
    """case-insensitive header dict; repeated headers are joined by ', '"""

    def __init__(self, pairs):
        super().__init__()
        for k, v in pairs:
            k = k.lower()
            if k in self:
                dict.__setitem__(self, k, dict.__getitem__(self, k) + ", " + v)
            else:
                dict.__setitem__(self, k, v)

    def __getitem__(self, k):
        return dict.__getitem__(self, k.lower())

    def get(self, k, default=None):
        return dict.get(self, k.lower(), default)

    def __contains__(self, k):
        return dict.__contains__(self, k.lower())


class RawConn:
    def __init__(self, port, timeout=HTTP_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.port = port

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send_head(self, method, path, headers=(), body_len=None,
                  host="127.0.0.1"):
        hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        names = {k.lower() for k, _ in hdrs}
        lines = ["%s %s HTTP/1.1" % (method, path)]
        if "host" not in names:
            lines.append("Host: %s:%d" % (host, self.port))
        for k, v in hdrs:
            lines.append("%s: %s" % (k, v))
        if body_len is not None and "content-length" not in names \
                and "transfer-encoding" not in names:
            lines.append("Content-Length: %d" % body_len)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, path, headers=(), body=b""):
        self.send_head(method, path, headers,
                       body_len=len(body) if (body or method in
                                              ("POST", "PATCH", "PUT"))
                       else None)
        if body:
            self.sock.sendall(body)
        return self.read_response(method)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def _readline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _readn(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response_pending(self):
        """True when nothing has arrived from the server yet (non-blocking)"""
        if self.buf:
            return False
        r, _, _ = select.select([self.sock], [], [], 0)
        return not r

    def early_response(self, method="PATCH"):
        """the response, when the server already sent one (e.g. it
        rejected a request whose body is still being sent), else None"""
        if self.response_pending():
            return None
        try:
            return self.read_response(method)
        except (ConnectionError, OSError) as e:
            return RawResponse(0, "connection closed: %r" % e, [], b"")

    def assert_no_early_response(self, what="request"):
        r = self.early_response()
        assert r is None, ("the server answered the %s before its body was "
                           "sent: %s %s %r" % (what, r.status, r.reason,
                                               r.body[:200]))

    def read_response(self, method="GET"):
        line = self._readline()
        while line == b"":
            line = self._readline()
        parts = line.decode("latin-1").split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        while True:
            h = self._readline()
            if h == b"":
                break
            k, v = h.decode("latin-1").split(":", 1)
            headers.append((k.strip(), v.strip()))
        hd = CIDict(headers)
        body = b""
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in hd.get("transfer-encoding", "").lower():
            while True:
                size = int(self._readline().split(b";")[0], 16)
                if size == 0:
                    while self._readline() != b"":
                        pass
                    break
                body += self._readn(size)
                self._readn(2)
        elif "content-length" in hd:
            body = self._readn(int(hd["content-length"]))
        else:
            try:
                while True:
                    self._fill()
            except (ConnectionError, OSError):
                pass
            body, self.buf = self.buf, b""
        return RawResponse(status, reason, headers, body)


def raw_request(port, method, path, headers=(), body=b"", timeout=HTTP_TIMEOUT):
    with RawConn(port, timeout) as c:
        return c.request(method, path, headers, body)


# --------------------------------------------------------------------------
# tus over requests


class TusClient:
    def __init__(self, server, base="/files/", session=None):
        self.server = server
        self.base = base
        self.endpoint = server.url(base)
        self.http = session or requests.Session()

    def _h(self, headers, tus=True):
        h = dict(TUS_HDR) if tus else {}
        h.update(headers or {})
        return h

    def create(self, length=None, defer=False, metadata=None, concat=None,
               headers=None, body=None, content_type=OCTET):
        h = {}
        if length is not None:
            h["Upload-Length"] = str(length)
        if defer:
            h["Upload-Defer-Length"] = "1"
        if metadata is not None:
            h["Upload-Metadata"] = (metadata if isinstance(metadata, str)
                                    else encode_metadata(metadata))
        if concat is not None:
            h["Upload-Concat"] = concat
        if body is not None and content_type:
            h["Content-Type"] = content_type
        h = self._h(dict(h, **(headers or {})))
        return self.http.post(self.endpoint, headers=h, data=body,
                              timeout=HTTP_TIMEOUT, allow_redirects=False)

    def create_ok(self, length=None, **kw):
        r = self.create(length, **kw)
        assert r.status_code == 201, (r.status_code, r.text)
        loc = r.headers["Location"]
        uid = loc.rstrip("/").rsplit("/", 1)[1]
        assert ID_RE.match(uid), loc
        return self.url_of(uid), uid

    def url_of(self, uid):
        return self.endpoint + uid

    def head(self, url, headers=None):
        return self.http.head(url, headers=self._h(headers),
                              timeout=HTTP_TIMEOUT, allow_redirects=False)

    def patch(self, url, offset, data, headers=None, content_type=OCTET):
        h = {"Upload-Offset": str(offset)}
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        return self.http.patch(url, headers=self._h(h), data=data,
                               timeout=HTTP_TIMEOUT, allow_redirects=False)

    def delete(self, url, headers=None):
        return self.http.delete(url, headers=self._h(headers),
                                timeout=HTTP_TIMEOUT, allow_redirects=False)

    def get(self, url, headers=None, tus=True):
        r = self.http.get(url, headers=self._h(headers, tus),
                          timeout=HTTP_TIMEOUT, allow_redirects=False)
        # urllib3 does not enforce Content-Length: a short body would pass
        cl = r.headers.get("Content-Length")
        if cl is not None:
            assert len(r.content) == int(cl), (
                "GET %s: Content-Length %s but %d body bytes"
                % (url, cl, len(r.content)))
        return r

    def options(self, url=None, headers=None, tus=False):
        return self.http.options(url or self.endpoint,
                                 headers=self._h(headers, tus),
                                 timeout=HTTP_TIMEOUT, allow_redirects=False)

    def offset(self, url):
        r = self.head(url)
        assert r.status_code == 200, (r.status_code, r.text)
        return int(r.headers["Upload-Offset"])

    def upload(self, data, chunk=None, metadata=None, **kw):
        """create + PATCH all of data; returns (url, id)"""
        url, uid = self.create_ok(len(data), metadata=metadata, **kw)
        self.send_all(url, data, chunk=chunk)
        return url, uid

    def send_all(self, url, data, start=0, chunk=None):
        chunk = chunk or max(len(data), 1)
        off = start
        while off < len(data):
            piece = data[off:off + chunk]
            r = self.patch(url, off, piece)
            assert r.status_code == 204, (r.status_code, r.text)
            new = int(r.headers["Upload-Offset"])
            assert new == off + len(piece), (new, off, len(piece))
            off = new
        return off


# --------------------------------------------------------------------------
# Prometheus text format


_SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$')
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_labels(s):
    labels = {}
    pos = 0
    s = s or ""
    while pos < len(s):
        m = _LABEL_RE.match(s, pos)
        if not m:
            if s[pos:].strip() == "":
                break
            raise ValueError("bad labels: %r" % s)
        labels[m.group(1)] = (m.group(2).replace('\\"', '"')
                              .replace("\\n", "\n").replace("\\\\", "\\"))
        pos = m.end()
    return labels


class Metrics:
    def __init__(self, text, content_type=""):
        self.text = text
        self.content_type = content_type
        self.samples = {}       # (name, frozenset(labels)) -> value
        self.types = {}
        self.helps = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
                elif len(parts) >= 3 and parts[1] == "HELP":
                    self.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            m = _SAMPLE_RE.match(line)
            if not m:
                raise ValueError("not a Prometheus sample line: %r" % line)
            name, labels, value = m.group(1), parse_labels(m.group(3)), m.group(4)
            key = (name, frozenset(labels.items()))
            if key in self.samples:
                raise ValueError("duplicate series: %r" % line)
            self.samples[key] = float(value)

    def find(self, name, **labels):
        """all samples of name whose labels include the given ones"""
        want = set(labels.items())
        return {k: v for k, v in self.samples.items()
                if k[0] == name and want <= set(k[1])}

    def value(self, name, **labels):
        """sum over the matching series; None when no series matches"""
        found = self.find(name, **labels)
        if not found:
            return None
        return sum(found.values())

    def get(self, name, **labels):
        v = self.value(name, **labels)
        assert v is not None, "metric %s%r missing from /metrics:\n%s" % (
            name, labels, self.text[:3000])
        return v
