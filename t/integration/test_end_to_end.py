"""
End to end: a real upload through nginx becomes HLS without anyone
touching it.

One private nginx with the ingest module (tus locations whose tus_spool is
the worker's spool directory, a tus_webhook to a receiver in this test,
and static locations serving the worker's output and the hls.js player)
and one ffmpeg-worker daemon in the foreground (1 job process, the fast
timings of the worker suite, a 2-rung ultrafast profile named by nginx's
tus_spool_profile). A 4 s H.264/AAC clip made by ffmpeg's lavfi sources is
uploaded by tus-js-client (t/js/tus_upload.mjs) and by tuspy; each upload
must end in spool/done/ with a master playlist whose renditions are parsed
with python3-m3u8 and decoded with ffprobe/ffmpeg, and the worker's signed
job.done webhook must arrive. Random bytes declared video/mp4 are refused
by the location with tus_sniff and, uploaded to a location without it, end
in spool/failed/ with a reason. The output is played once with hls.js in
headless Chromium through nginx (t/worker/js/play.mjs; skipped without
chromium or the npm packages).

Reuses t/integration/harness.py (nginx) and t/worker/harness.py (worker,
clips, output checks; loaded as `worker_harness`, the names clash).
Skipped when ffmpeg-worker cannot be built (`make worker`) or ffmpeg,
ffprobe or python3-m3u8 are missing. Waits are bounded polling with
generous deadlines; no timing is asserted.
"""

import hashlib
import hmac
import http.server
import importlib.util
import json
import shutil
import signal
import subprocess
import threading
import time

import pytest
from tusclient import client as tus_client

from harness import (REPO, Conf, HarnessError, KiB, NginxServer, payload,
                     sha256_file, wait_until)


WORKER_HARNESS = REPO / "t" / "worker" / "harness.py"
JS_DIR = REPO / "t" / "js"
UPLOAD_JS = JS_DIR / "tus_upload.mjs"
PLAY_DIR = REPO / "t" / "worker" / "js"
HLSJS = PLAY_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js"
NODE = shutil.which("node") or "/usr/bin/node"
CHROMIUM = "/usr/bin/chromium"

SECRET = "e2e-webhook-secret"
SEG = 1.0               # segment_duration of the e2e profile
JOB_WAIT = 120          # generous: a guard against hangs, not a threshold

# the worker suite's fast timings (TEST_CONF) plus a small, fast ladder;
# nginx names the profile (tus_spool_profile e2e)
E2E_PROFILE = """
webhook_secret "%s";
webhook_attempts 3;
webhook_timeout 5s;

profile e2e {
    preset ultrafast;
    segment_duration 1s;
    rung 180 200k 300k;
    rung 360 600k 800k;
    passthrough off;
}
""" % SECRET


# --------------------------------------------------------------------------
# what the test needs; skip (with the reason) when it is not there


def _load_worker_harness():
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg and ffprobe are needed (Debian package ffmpeg)",
                    allow_module_level=True)
    if importlib.util.find_spec("m3u8") is None:
        pytest.skip("python3-m3u8 is needed", allow_module_level=True)
    spec = importlib.util.spec_from_file_location("worker_harness",
                                                  WORKER_HARNESS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


wh = _load_worker_harness()


@pytest.fixture(scope="session")
def worker_bin():
    """builds ffmpeg-worker/build/ingest-worker (make worker) or skips"""
    try:
        r = subprocess.run(["make", "-s", "-C", str(REPO), "worker"],
                           capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip("cannot build ffmpeg-worker: %s" % e)
    if r.returncode != 0 or not wh.BIN.exists():
        pytest.skip("cannot build ffmpeg-worker (make worker exited %d): %s"
                    % (r.returncode, (r.stderr or r.stdout)[-1500:]))
    return wh.BIN


# --------------------------------------------------------------------------
# a webhook receiver on 127.0.0.1


class Hooks:
    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with hooks.lock:
                    hooks.got.append((self.path, dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_port
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def find(self, upload_id):
        with self.lock:
            for path, headers, body in self.got:
                if json.loads(body).get("id") == upload_id:
                    return path, headers, body
        return None

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# --------------------------------------------------------------------------
# the stack: nginx + worker on one spool


class Stack:
    pass


@pytest.fixture(scope="module")
def stack(worker_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    st = Stack()
    st.hooks = Hooks()

    # the worker first: it owns the spool layout (incoming/, tmp/, ...)
    conf = wh.TEST_CONF.format(workers=1, max_attempts=3) + E2E_PROFILE
    st.worker = wh.Worker(base / "worker", conf=conf)
    (base / "clips").mkdir()
    st.clips = wh.Clips(base / "clips")
    st.done, st.failed = [], []

    # the player page and hls.js, served by nginx beside the output
    player = base / "player"
    player.mkdir()
    if HLSJS.exists():
        shutil.copy(HLSJS, player / "hls.min.js")
    shutil.copy(PLAY_DIR / "play.html", player / "play.html")

    c = Conf(base / "nginx")
    c.spool = st.worker.spool
    hook = "http://127.0.0.1:%d/hook" % st.hooks.port
    common = ("tus on;", "client_max_body_size 0;", "tus_max_size 100m;",
              "tus_spool %s;" % c.spool, "tus_webhook %s;" % hook)
    # sniffed: only media containers that fit the declared type get in
    c.location("/video/", "tus_store %s;" % c.store("video"), *common,
               "tus_sniff reject;", "tus_spool_profile e2e;")
    # not sniffed: whatever is uploaded reaches the worker
    c.location("/raw/", "tus_store %s;" % c.store("raw"), *common,
               "tus_spool_profile e2e;")
    types = ("types { application/vnd.apple.mpegurl m3u8; video/mp4 mp4 m4s;"
             " text/html html; application/javascript js; }")
    c.location("/hls/", "alias %s/;" % st.worker.output, types)
    c.location("/player/", "alias %s/;" % player, types)
    for p in c.stores.values():
        p.mkdir(parents=True, exist_ok=True)
    st.nginx = NginxServer(c)

    started = []
    try:
        st.worker.start()
        started.append("worker")
        st.nginx.start()
        started.append("nginx")
    except HarnessError as e:
        _teardown(st, started)
        pytest.fail("cannot start the stack: %s" % e, pytrace=False)

    yield st

    _teardown(st, started)
    st.nginx.assert_clean_log()


def _teardown(st, started):
    errors = []
    if "nginx" in started:
        try:
            st.nginx.stop()
        except AssertionError as e:
            errors.append(str(e))
    if "worker" in started and st.worker.proc is not None:
        rc = st.worker.stop(signal.SIGQUIT)
        if rc != 0:
            errors.append("worker exited with %s on SIGQUIT:\n%s"
                          % (rc, st.worker.log()[-3000:]))
        crashes = [l for l in st.worker.log().splitlines()
                   if "exited on signal" in l or "[alert]" in l
                   or "[crit]" in l or "[emerg]" in l]
        if crashes:
            errors.append("worker log:\n" + "\n".join(crashes[:20]))
        # stopped and idle: no temp output, no claim left behind
        left = st.worker.leftovers()
        if left:
            errors.append("worker left behind: %s" % left[:20])
    st.hooks.close()
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


# --------------------------------------------------------------------------
# helpers


def run_node(*args, timeout=120):
    if not (JS_DIR / "node_modules" / "tus-js-client").is_dir():
        pytest.fail("t/js/node_modules is missing: run `npm ci` in t/js "
                    "(scripts/run-integration.sh does)", pytrace=False)
    p = subprocess.run([NODE, str(UPLOAD_JS)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=str(JS_DIR))
    events = [json.loads(l) for l in p.stdout.splitlines()
              if l.strip().startswith("{")]
    assert p.returncode == 0, (p.returncode, p.stdout[-3000:],
                               p.stderr[-3000:])
    return events


def id_of(url):
    return url.rstrip("/").rsplit("/", 1)[1]


def wait_final(st, upload_id):
    """bounded polling until the job is in done/ or failed/"""
    try:
        return st.worker.wait_final(upload_id, timeout=JOB_WAIT)
    except wh.HarnessError:
        raise AssertionError("job %s not finished (state %s); worker log:\n%s"
                             % (upload_id, st.worker.state(upload_id),
                                st.worker.log()[-4000:]))


def decode_rendition(rdir):
    """init.mp4 + every segment through ffmpeg's decoders, errors fatal"""
    pl = wh.m3u8.load(str(rdir / "index.m3u8"))
    whole = rdir.parent / (".e2e-decode-%s.mp4" % rdir.name)
    with open(whole, "wb") as f:
        f.write((rdir / "init.mp4").read_bytes())
        for s in pl.segments:
            f.write((rdir / s.uri).read_bytes())
    try:
        r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-xerror",
                            "-i", str(whole), "-f", "null", "-"],
                           capture_output=True, text=True, timeout=120)
    finally:
        whole.unlink()
    assert r.returncode == 0 and not r.stderr.strip(), (rdir, r.stderr)


def source_durations(clip):
    info = wh.ffprobe_json(clip, "-show_streams")
    return {s["codec_type"]: float(s["duration"]) for s in info["streams"]}


def check_output(st, upload_id, clip):
    """the HLS of one upload: master, renditions, durations, decoding"""
    out = st.worker.output / upload_id
    assert (out / "master.m3u8").is_file(), sorted(
        p.name for p in st.worker.output.iterdir())
    m, text = wh.master(out)

    # the ladder of the e2e profile, from a 640x360 source: both rungs
    assert [p.stream_info.resolution for p in m.playlists] == \
        [(320, 180), (640, 360)], text
    assert [p.uri for p in m.playlists] == ["180p/index.m3u8",
                                            "360p/index.m3u8"]
    for p in m.playlists:
        si = p.stream_info
        assert si.bandwidth and si.bandwidth > 0, text
        assert wh.CODECS_RE.match(si.codecs), si.codecs
        assert si.audio == "aud"
    assert "#EXT-X-STREAM-INF:" in text and "BANDWIDTH=" in text \
        and "RESOLUTION=" in text and "CODECS=" in text
    assert [x.uri for x in m.media] == ["audio/index.m3u8"]

    want = source_durations(clip)
    pl180, k180 = wh.check_video_rendition(out / "180p", 320, 180, SEG)
    pl360, k360 = wh.check_video_rendition(out / "360p", 640, 360, SEG)
    pla = wh.check_audio_rendition(out / "audio")
    # the same segment times on both rungs
    assert [s.duration for s in pl180.segments] == \
        [s.duration for s in pl360.segments]
    # durations match the clip (a tolerance of a frame or two, not a time)
    assert abs(wh.total(pl360) - want["video"]) < 0.1, \
        (wh.total(pl360), want)
    assert abs(wh.total(pla) - want["audio"]) < 0.15, (wh.total(pla), want)

    for r in ("180p", "360p", "audio"):
        decode_rendition(out / r)
    return m


def check_done_job(st, upload_id, clip, metadata):
    job = st.worker.done_job(upload_id)
    assert job["id"] == upload_id
    assert job["kind"] == "upload" and job["protocol"] == "tus"
    assert job["profile"] == "e2e"
    assert job["content_type"] == "video/mp4"
    assert job["size"] == clip.stat().st_size
    assert job["source"] == str(st.nginx.store("video") / upload_id)
    for k, v in metadata.items():
        assert job["metadata"].get(k) == v, job["metadata"]
    assert job["webhook"] == "http://127.0.0.1:%d/hook" % st.hooks.port
    res = job["result"]
    assert res["mode"] == "transcode"
    assert res["video_renditions"] == 2 and res["audio"] is True
    assert abs(res["media_ms"] - 4000) < 150, res
    return job


def check_webhook(st, upload_id, event):
    found = wait_until(lambda: st.hooks.find(upload_id), timeout=JOB_WAIT,
                       interval=0.1, what="webhook of %s" % upload_id)
    path, headers, body = found
    h = {k.lower(): v for k, v in headers.items()}
    assert path == "/hook"
    assert h["content-type"] == "application/json"
    assert h["x-ingest-event"] == event
    # X-Ingest-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">
    sig = dict(part.split("=", 1) for part in
               h["x-ingest-signature"].split(","))
    assert set(sig) == {"t", "v1"}
    mac = hmac.new(SECRET.encode(), sig["t"].encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, sig["v1"])
    assert abs(int(sig["t"]) - time.time()) < 600
    doc = json.loads(body)
    assert doc["event"] == event and doc["id"] == upload_id
    assert doc["job"]["id"] == upload_id
    return doc


# --------------------------------------------------------------------------
# the tests


def test_tus_js_client_upload_becomes_hls(stack):
    clip = stack.clips.get("small")
    meta = {"filename": "e2e-js.mp4", "filetype": "video/mp4"}
    events = run_node("--endpoint", stack.nginx.url("/video/"),
                      "--file", clip, "--chunk-size", 256 * KiB,
                      *[a for k, v in meta.items()
                        for a in ("--meta", "%s=%s" % (k, v))])
    url = [e for e in events if e["event"] == "success"][-1]["url"]
    uid = id_of(url)
    assert sha256_file(stack.nginx.store("video") / uid) == \
        sha256_file(clip)

    assert wait_final(stack, uid) == "done", stack.worker.log()[-4000:]
    check_output(stack, uid, clip)
    check_done_job(stack, uid, clip, meta)
    doc = check_webhook(stack, uid, "job.done")
    assert doc["playlist"] == "%s/master.m3u8" % uid
    assert doc["error"] is None
    stack.done.append(uid)
    stack.js_id = uid


def test_tuspy_upload_becomes_hls(stack):
    clip = stack.clips.get("small")
    meta = {"filename": "e2e-py.mp4", "filetype": "video/mp4",
            "title": "Ünïcode ✓"}
    c = tus_client.TusClient(stack.nginx.url("/video/"))
    up = c.uploader(file_path=str(clip), chunk_size=128 * KiB,
                    metadata=meta)
    up.upload()
    uid = id_of(up.url)
    assert up.offset == clip.stat().st_size

    assert wait_final(stack, uid) == "done", stack.worker.log()[-4000:]
    check_output(stack, uid, clip)
    check_done_job(stack, uid, clip, meta)
    check_webhook(stack, uid, "job.done")
    stack.done.append(uid)


def test_not_a_video_ends_in_failed(stack):
    junk = payload(64 * KiB, seed=77)
    meta = {"filename": "junk.mp4", "filetype": "video/mp4"}

    # the sniffing location refuses it: nothing is written, no job
    tus = stack.nginx.tus("/video/")
    url, uid = tus.create_ok(len(junk), metadata=meta)
    r = tus.patch(url, 0, junk)
    assert r.status_code == 415, (r.status_code, r.text)
    assert tus.offset(url) == 0

    # without tus_sniff the upload completes and the worker gives up on it
    tus = stack.nginx.tus("/raw/")
    url, uid = tus.upload(junk, chunk=16 * KiB, metadata=meta)
    assert wait_final(stack, uid) == "failed", stack.worker.log()[-4000:]

    reason = stack.worker.error(uid)
    assert reason.strip(), "empty failed/%s.error" % uid
    assert ("not an audio or video file" in reason
            or "no audio or video stream" in reason
            or "nothing could be decoded" in reason), reason
    job = json.loads((stack.worker.spool / "failed" / (uid + ".json"))
                     .read_text())
    assert job["id"] == uid and job["metadata"] == meta
    assert job["source"] == str(stack.nginx.store("raw") / uid)
    # a verdict on the upload: failed at once, not retried
    assert "attempts" not in job
    assert not (stack.worker.output / uid).exists()

    doc = check_webhook(stack, uid, "job.failed")
    assert doc["playlist"] is None and doc["error"] == reason.strip()
    stack.failed.append(uid)


def test_worker_metrics_after_jobs(stack):
    """spool/worker.prom counts the jobs of the tests above"""
    if not (stack.done or stack.failed):
        pytest.skip("no job finished in the tests above")
    prom = stack.worker.spool / "worker.prom"
    done = 'ingest_transcode_jobs_total{outcome="done"} %d\n' \
        % len(stack.done)
    failed = 'ingest_transcode_jobs_total{outcome="failed"} %d\n' \
        % len(stack.failed)

    def counted():
        text = prom.read_text() if prom.exists() else ""
        return done in text and failed in text and text

    # rewritten every reclaim_interval (1 s in the test config)
    text = wait_until(counted, timeout=30, interval=0.2,
                      what="worker.prom with %r and %r" % (done, failed))
    assert "ingest_transcode_job_duration_seconds_count %d\n" \
        % len(stack.done) in text
    assert "ingest_transcode_queue_depth 0\n" in text


@pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and HLSJS.exists()
         and (PLAY_DIR / "node_modules" / "playwright-core").exists()),
    reason="needs chromium and `npm ci --prefix t/worker/js`")
def test_hlsjs_plays_through_nginx(stack):
    uid = getattr(stack, "js_id", None)
    if uid is None:
        pytest.skip("the tus-js-client upload did not become HLS")
    page = stack.nginx.url("/player/play.html?src=/hls/%s/master.m3u8"
                           % uid)
    p = subprocess.run([NODE, str(PLAY_DIR / "play.mjs"), page],
                       capture_output=True, text=True, timeout=150,
                       cwd=str(PLAY_DIR))
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout)
    assert r["ok"] and r["why"] == "ended", r
    assert [(l["width"], l["height"]) for l in r["levels"]] == \
        [(320, 180), (640, 360)], r
    assert r["audioTracks"] == 1
    assert abs(r["currentTime"] - 4.0) < 0.3, r
    assert r["videoHeight"] in (180, 360)
    assert r["decodedFrames"] > 60, r
