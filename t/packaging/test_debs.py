"""
The Debian packages, installed on this machine and exercised:

1. packaging/build-debs.sh (what `make deb` runs) builds
   libnginx-mod-http-ingest and ingest-worker (and libnginx-mod-srt-ingest
   when build/nginx/ngx_srt_module.so exists) from the built module and
   worker, without network;
2. `dpkg -i` installs them; the module is enabled in
   /etc/nginx/modules-enabled the way Debian's libnginx-mod-* are, and the
   system configuration passes `nginx -t`; the worker's user, directories,
   unit, init script and configuration are in place;
3. the system nginx binary runs the packaged example configuration
   (vod-upload.conf, paths of pid, logs and temp files moved here, a free
   loopback port) and the worker runs as a service (systemd when it is
   running, else /etc/init.d/ingest-worker with its supervisor); a 2 s
   ffmpeg-made clip uploaded with tuspy comes out as HLS served by nginx,
   and /metrics carries the worker's metrics;
4. removing the module package disables it (`.removed` link, nginx -t
   still passes); purging every package leaves the machine as it was
   (no files, links, directories or user the test made).

Runs as root only (CI runs as root on a fresh Debian 12), and refuses to
touch a machine where these packages or their directories already exist.
Run: /usr/bin/python3 -m pytest -v t/packaging   (about 20 s)
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests


REPO = Path(__file__).resolve().parents[2]
BUILD_DEBS = REPO / "packaging" / "build-debs.sh"
MODULE_SO = REPO / "build" / "nginx" / "ngx_http_ingest_module.so"
SRT_SO = REPO / "build" / "nginx" / "ngx_srt_module.so"
WORKER_BIN = REPO / "ffmpeg-worker" / "build" / "ingest-worker"
NGINX = "/usr/sbin/nginx"

PACKAGES = ["libnginx-mod-http-ingest", "libnginx-mod-srt-ingest",
            "ingest-worker"]
ENABLED = Path("/etc/nginx/modules-enabled/50-mod-http-ingest.conf")
AVAILABLE = Path("/usr/share/nginx/modules-available/mod-http-ingest.conf")
# the SRT module calls the HTTP module's core functions: it loads after it
SRT_ENABLED = Path("/etc/nginx/modules-enabled/70-mod-srt-ingest.conf")
SPOOL = Path("/var/spool/nginx-ingest")
LIB = Path("/var/lib/nginx-ingest")
ETC = Path("/etc/ingest-worker")
INIT = Path("/etc/init.d/ingest-worker")
SYSTEMD = Path("/run/systemd/system").is_dir()
# what the packages may create outside their file lists
OWNED_PATHS = [SPOOL, LIB, ETC, Path("/run/ingest-worker"),
               Path("/run/ingest-worker.pid"),
               Path("/var/log/ingest-worker.log")]
WAIT = 120


def run(*cmd, check=True, timeout=300, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (
            " ".join(map(str, cmd)), r.returncode, r.stdout, r.stderr))
    return r


def dpkg(*args):
    """dpkg, retried while another dpkg/apt holds the lock"""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for _ in range(60):
        r = run("dpkg", *args, check=False, env=env)
        if r.returncode == 0 or "lock" not in (r.stderr + r.stdout):
            break
        time.sleep(2)
    if r.returncode != 0:
        raise AssertionError("dpkg %s exited %d:\n%s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def pkg_state(name):
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", name, check=False)
    return r.stdout.strip() if r.returncode == 0 else ""


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, what, timeout=WAIT, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


def service_links():
    """rc.d and systemd links of ingest-worker"""
    links = [str(p) for p in Path("/etc").glob("rc?.d/*ingest-worker")]
    links += [str(p) for p in Path("/etc/systemd/system").rglob(
        "ingest-worker.service")]
    links += [str(p) for p in Path("/var/lib/systemd").rglob(
        "*ingest-worker*")]
    return sorted(links)


def worker_service(action):
    if SYSTEMD:
        return run("systemctl", action, "ingest-worker", check=False)
    if INIT.exists():
        return run(str(INIT), action, check=False)
    return None


# --------------------------------------------------------------------------
# build, install, and put everything back


class State:
    debs = {}
    before = {}
    tmp = None
    nginx = None


def _preconditions():
    if os.geteuid() != 0:
        pytest.skip("installs packages: run as root (CI does)")
    for tool in ("dpkg", "dpkg-deb", "dpkg-shlibdeps"):
        if shutil.which(tool) is None:
            pytest.skip("%s is missing (apt install dpkg-dev)" % tool)
    installed = [p for p in PACKAGES if pkg_state(p)]
    if installed:
        pytest.skip("already installed here, the test would remove them: %s"
                    % installed)
    existing = [str(p) for p in OWNED_PATHS + [ENABLED, SRT_ENABLED]
                if p.exists() or p.is_symlink()]
    if existing:
        pytest.skip("these exist already and the test would remove them: %s"
                    % existing)
    if not MODULE_SO.exists():
        pytest.fail("%s is missing: run make modules" % MODULE_SO,
                    pytrace=False)
    if not WORKER_BIN.exists():
        run("make", "-s", "-C", str(REPO), "worker", timeout=900)


def _stop_and_clean_data(state):
    """stops what the test started, removes the data it made in the
    packages' directories; idempotent"""
    if pkg_state("ingest-worker") and pkg_state("ingest-worker")[1] == "i":
        worker_service("stop")
    if state.nginx is not None and state.nginx.poll() is None:
        state.nginx.send_signal(signal.SIGQUIT)
        try:
            state.nginx.wait(30)
        except subprocess.TimeoutExpired:
            state.nginx.kill()
            state.nginx.wait()
    for d in (SPOOL, LIB / "uploads", LIB / "hls"):
        if not d.is_dir():
            continue
        for child in d.iterdir():
            if d == SPOOL and child.name in ("tmp", "incoming"):
                for f in child.iterdir():
                    f.unlink()
            elif child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def _cleanup(state):
    """puts the machine back whatever happened: purges the packages,
    removes what is left of the paths that did not exist before, and the
    user when the test created it; idempotent"""
    errors = []
    try:
        _stop_and_clean_data(state)
    except Exception as e:                          # noqa: BLE001
        errors.append("stopping: %r" % e)
    installed = [p for p in PACKAGES if pkg_state(p)]
    if installed:
        try:
            dpkg("--purge", *installed)
        except AssertionError as e:
            errors.append(str(e))
    for p in OWNED_PATHS:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink()
    for suffix in ("", ".removed"):
        for enabled in (ENABLED, SRT_ENABLED):
            link = Path(str(enabled) + suffix)
            if link.is_symlink():
                link.unlink()
    user = os.environ.get("DEB_WORKER_USER", "ingest-worker")
    if user != "www-data" and user_exists(user) and not state.before.get("user"):
        run("userdel", user, check=False)
    if errors:
        raise AssertionError("\n".join(errors))


@pytest.fixture(scope="module")
def pkgs(tmp_path_factory):
    _preconditions()
    state = State()
    state.tmp = tmp_path_factory.mktemp("debs")
    state.before = {
        "user": user_exists(os.environ.get("DEB_WORKER_USER", "ingest-worker")),
        "enabled": sorted(os.listdir("/etc/nginx/modules-enabled")),
        "links": service_links(),
    }
    try:
        out = state.tmp / "deb"
        r = run("bash", str(BUILD_DEBS), env=dict(os.environ, DEB_OUT=str(out)),
                timeout=600)
        state.build_log = r.stdout + r.stderr
        for deb in sorted(out.glob("*.deb")):
            name = run("dpkg-deb", "-f", str(deb), "Package").stdout.strip()
            state.debs[name] = deb
        dpkg("-i", *map(str, state.debs.values()))
        yield state
    finally:
        _cleanup(state)


def control(deb, field):
    return run("dpkg-deb", "-f", str(deb), field).stdout.strip()


# --------------------------------------------------------------------------
# the tests, in order


def test_packages_built(pkgs):
    assert "libnginx-mod-http-ingest" in pkgs.debs, pkgs.build_log
    assert "ingest-worker" in pkgs.debs, pkgs.build_log
    if SRT_SO.exists():
        assert "libnginx-mod-srt-ingest" in pkgs.debs, pkgs.build_log
    else:
        assert "libnginx-mod-srt-ingest" not in pkgs.debs
        assert "skipping libnginx-mod-srt-ingest" in pkgs.build_log

    # the exact ABI of the installed nginx, as Debian's own modules
    provides = run("dpkg-query", "-W", "-f=${Provides}", "nginx").stdout
    abi = re.search(r"nginx-abi-[^\s,]+", provides).group(0)
    for name, deb in pkgs.debs.items():
        version = control(deb, "Version")
        assert re.match(r"^\d+\.\d+\.\d+([+~][A-Za-z0-9.]+)?$", version), \
            version
        if name.startswith("libnginx-mod-"):
            depends = control(deb, "Depends")
            assert depends.split(",")[0].strip() == abi, depends
    depends = control(pkgs.debs["ingest-worker"], "Depends")
    for lib in ("libavcodec", "libavformat", "libc6", "adduser"):
        assert lib in depends, depends
    files = run("dpkg-deb", "-c", str(pkgs.debs["ingest-worker"])).stdout
    for path in ("./usr/sbin/ingest-worker",
                 "./usr/share/man/man8/ingest-worker.8.gz",
                 "./lib/systemd/system/ingest-worker.service",
                 "./etc/init.d/ingest-worker",
                 "./etc/ingest-worker/ingest-worker.conf"):
        assert path in files, path


def test_module_enabled_and_nginx_t(pkgs):
    for name in pkgs.debs:
        assert pkg_state(name) == "ii", (name, pkg_state(name))
    assert Path("/usr/lib/nginx/modules/ngx_http_ingest_module.so").is_file()
    assert AVAILABLE.read_text().strip() == \
        "load_module modules/ngx_http_ingest_module.so;"
    assert ENABLED.is_symlink() and os.readlink(ENABLED) == str(AVAILABLE)
    if "libnginx-mod-srt-ingest" in pkgs.debs:
        assert SRT_ENABLED.is_symlink()
        assert control(pkgs.debs["libnginx-mod-srt-ingest"], "Depends") \
            .endswith("libnginx-mod-http-ingest (= %s)" % control(
                pkgs.debs["libnginx-mod-http-ingest"], "Version"))
    r = run(NGINX, "-t", check=False)
    assert r.returncode == 0, r.stderr
    r = run(NGINX, "-T", check=False)
    assert "load_module modules/ngx_http_ingest_module.so;" in r.stdout
    # the module answers for its directives in the system configuration
    conf = pkgs.tmp / "t.conf"
    conf.write_text("include /etc/nginx/modules-enabled/*.conf;\n"
                    "events {}\nhttp { server { listen 127.0.0.1:%d;\n"
                    "location = /metrics { ingest_metrics; } } }\n"
                    % free_port())
    r = run(NGINX, "-t", "-c", str(conf), check=False)
    assert r.returncode == 0, r.stderr


def worker_user():
    unit = Path("/lib/systemd/system/ingest-worker.service").read_text()
    return re.search(r"^User=(\S+)$", unit, re.M).group(1)


def test_worker_layout(pkgs):
    user = worker_user()
    u = pwd.getpwnam(user)
    www = grp.getgrnam("www-data").gr_gid
    assert u.pw_gid == www
    if user != "www-data":
        # a dedicated system user made by postinst (DEB_WORKER_USER)
        assert u.pw_uid < 1000 and u.pw_shell.endswith("nologin")

    def owner(p):
        st = p.stat()
        return (pwd.getpwuid(st.st_uid).pw_name,
                grp.getgrgid(st.st_gid).gr_name, oct(st.st_mode & 0o7777))

    assert owner(SPOOL) == ("www-data", "www-data", "0o2775")
    assert owner(SPOOL / "incoming") == ("www-data", "www-data", "0o2775")
    assert owner(LIB / "uploads") == ("www-data", "www-data", "0o2750")
    assert owner(LIB / "hls") == (user, "www-data", "0o2755")
    unit = Path("/lib/systemd/system/ingest-worker.service").read_text()
    assert "Group=www-data" in unit
    assert "-c /etc/ingest-worker/ingest-worker.conf" in unit
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}",
                    "ingest-worker").stdout
    assert "/etc/ingest-worker/ingest-worker.conf" in conffiles
    r = run("/usr/sbin/ingest-worker", "-t", "-c",
            str(ETC / "ingest-worker.conf"), check=False)
    assert r.returncode == 0, r.stderr
    assert Path("/usr/share/man/man8/ingest-worker.8.gz").is_file()
    # enabled for the boot, whichever init runs
    assert any("ingest-worker" in l for l in service_links())


def _nginx_conf(pkgs, port):
    """the packaged example, with pid, logs and temp files moved here"""
    example = Path("/usr/share/doc/libnginx-mod-http-ingest/examples/"
                   "vod-upload.conf").read_text()
    d = pkgs.tmp / "nginx"
    (d / "tmp").mkdir(parents=True, exist_ok=True)
    hard = run("sh", "-c", "ulimit -Hn").stdout.strip()
    nofile = 65536 if hard == "unlimited" else min(65536, int(hard))
    text = (example
            .replace("/run/nginx.pid", str(d / "nginx.pid"))
            .replace("/var/log/nginx/", str(d) + "/")
            .replace("/var/lib/nginx/", str(d / "tmp") + "/")
            .replace("listen 127.0.0.1:8080;", "listen 127.0.0.1:%d;" % port)
            .replace("worker_rlimit_nofile 65536;",
                     "worker_rlimit_nofile %d;" % nofile))
    assert "load_module /usr/lib/nginx/modules/ngx_http_ingest_module.so;" \
        in text
    conf = d / "nginx.conf"
    conf.write_text(text)
    return conf


def _clip(path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to make the clip")
    run("ffmpeg", "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", "25", "-c:a", "aac", "-shortest", str(path))
    return path


def test_upload_becomes_hls(pkgs):
    from tusclient import client as tus_client

    port = free_port()
    conf = _nginx_conf(pkgs, port)
    r = run(NGINX, "-t", "-c", str(conf), check=False)
    assert r.returncode == 0, r.stderr
    log = open(pkgs.tmp / "nginx" / "stderr.log", "wb")
    pkgs.nginx = subprocess.Popen([NGINX, "-c", str(conf), "-g", "daemon off;"],
                                  stdout=log, stderr=log)
    base = "http://127.0.0.1:%d" % port

    def up():
        if pkgs.nginx.poll() is not None:
            raise AssertionError("nginx exited: %s" % (
                pkgs.tmp / "nginx" / "error.log").read_text())
        try:
            return requests.get(base + "/metrics", timeout=5).status_code == 200
        except requests.RequestException:
            return False
    wait_for(up, "nginx on port %d" % port, timeout=30)

    r = worker_service("start")
    assert r is not None and r.returncode == 0, r and (r.stdout + r.stderr)
    wait_for((SPOOL / "worker.prom").exists, "the worker's worker.prom")
    if not SYSTEMD:
        # the supervisor and the worker run as the package's user
        pid = int(Path("/run/ingest-worker.pid").read_text())
        assert pwd.getpwuid(os.stat("/proc/%d" % pid).st_uid).pw_name == \
            worker_user()

    clip = _clip(pkgs.tmp / "clip.mp4")
    c = tus_client.TusClient(base + "/files/")
    uploader = c.uploader(str(clip), chunk_size=256 * 1024,
                          metadata={"filename": "clip.mp4",
                                    "filetype": "video/mp4"})
    uploader.upload()
    uid = uploader.url.rstrip("/").rsplit("/", 1)[1]
    assert re.match(r"^[0-9a-f]{32}$", uid), uploader.url

    done = SPOOL / "done" / ("%s.json" % uid)

    def finished():
        failed = SPOOL / "failed" / ("%s.error" % uid)
        if failed.exists():
            raise AssertionError("the job failed: %s" % failed.read_text())
        return done.exists()
    wait_for(finished, "job %s in done/" % uid)

    master = requests.get("%s/hls/%s/master.m3u8" % (base, uid), timeout=10)
    assert master.status_code == 200, master.status_code
    assert master.text.startswith("#EXTM3U"), master.text[:200]
    variant = [l for l in master.text.splitlines()
               if l and not l.startswith("#")][0]
    media = requests.get("%s/hls/%s/%s" % (base, uid, variant), timeout=10)
    assert media.status_code == 200 and "#EXT-X-ENDLIST" in media.text
    seg = [l for l in media.text.splitlines()
           if l.endswith(".m4s")][0]
    vdir = variant.rsplit("/", 1)[0]
    r = requests.get("%s/hls/%s/%s/%s" % (base, uid, vdir, seg), timeout=10)
    assert r.status_code == 200 and len(r.content) > 1000

    # the worker's metrics reach /metrics (rewritten every 10 s)
    seen = {}

    def counted():
        seen["text"] = requests.get(base + "/metrics", timeout=5).text
        return 'ingest_transcode_jobs_total{outcome="done"} 1' in seen["text"] \
            and 'ingest_uploads_completed_total{protocol="tus"} 1' in seen["text"]
    try:
        wait_for(counted, "the done job in /metrics", timeout=60)
    except AssertionError:
        raise AssertionError("/metrics:\n%s\nworker.prom: %s" % (
            "\n".join(l for l in seen["text"].splitlines()
                      if "completed" in l or "transcode_jobs" in l),
            (SPOOL / "worker.prom").read_text()
            if (SPOOL / "worker.prom").exists() else None))

    # stop what the test started
    r = worker_service("stop")
    assert r.returncode == 0, r.stdout + r.stderr
    pkgs.nginx.send_signal(signal.SIGQUIT)
    pkgs.nginx.wait(30)
    errors = [l for l in (pkgs.tmp / "nginx" / "error.log").read_text()
              .splitlines() if re.search(r"\[(alert|emerg|crit)\]", l)]
    assert not errors, errors


def test_remove_then_purge_restores_the_machine(pkgs):
    # removing the modules disables them, as Debian's libnginx-mod-* do
    # (the SRT module first: it depends on the HTTP one)
    if pkg_state("libnginx-mod-srt-ingest"):
        dpkg("-r", "libnginx-mod-srt-ingest")
        assert not SRT_ENABLED.exists()
        assert Path(str(SRT_ENABLED) + ".removed").is_symlink()
    dpkg("-r", "libnginx-mod-http-ingest")
    assert not ENABLED.exists()
    assert Path(str(ENABLED) + ".removed").is_symlink()
    r = run(NGINX, "-t", check=False)
    assert r.returncode == 0, r.stderr

    user = worker_user()
    _stop_and_clean_data(pkgs)
    dpkg("--purge", *[p for p in PACKAGES if pkg_state(p)])
    if user != "www-data":
        # a dedicated user stays after a purge (Debian's practice)
        assert user_exists(user)
        if not pkgs.before["user"]:
            run("userdel", user)

    for name in PACKAGES:
        assert pkg_state(name) == "", (name, pkg_state(name))
    assert not Path(str(ENABLED) + ".removed").is_symlink()
    assert not Path(str(SRT_ENABLED) + ".removed").is_symlink()
    assert sorted(os.listdir("/etc/nginx/modules-enabled")) == \
        pkgs.before["enabled"]
    left = [str(p) for p in OWNED_PATHS if p.exists()]
    assert not left, left
    assert service_links() == pkgs.before["links"]
    if user != "www-data":
        assert user_exists(user) == pkgs.before["user"]
    assert not Path("/usr/lib/nginx/modules/ngx_http_ingest_module.so").exists()
    assert not Path("/usr/sbin/ingest-worker").exists()
    r = run(NGINX, "-t", check=False)
    assert r.returncode == 0, r.stderr
