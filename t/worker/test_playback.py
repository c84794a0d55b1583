"""
Playback of the worker's HLS by hls.js in headless Chromium (Debian's
chromium, npm playwright-core and hls.js in t/worker/js): a VOD ladder,
a rotated phone video, audio only, and a live LL-HLS stream, each played
to its end. Skipped when chromium or the npm packages are missing.
"""

import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from harness import TEST_CONF, wait_for


JS = Path(__file__).resolve().parent / "js"
HLSJS = JS / "node_modules" / "hls.js" / "dist" / "hls.min.js"

pytestmark = pytest.mark.skipif(
    not (Path("/usr/bin/chromium").exists() and HLSJS.exists()
         and (JS / "node_modules" / "playwright-core").exists()),
    reason="needs chromium and `npm install` in t/worker/js")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root):
    shutil.copy(HLSJS, root / "hls.min.js")
    shutil.copy(JS / "play.html", root / "play.html")
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def play(srv, src, seconds=0):
    url = "http://127.0.0.1:%d/play.html?src=%s&seconds=%s" % (
        srv.server_port, src, seconds)
    out = subprocess.run(["node", str(JS / "play.mjs"), url],
                         capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def vod(worker, clips, items):
    w = worker().start()
    for job_id, clip in items:
        w.submit(job_id, clips.get(clip))
    for job_id, _ in items:
        assert w.wait_final(job_id) == "done", w.log()
    w.stop()
    return w


def test_vod_plays(worker, clips):
    w = vod(worker, clips, [("pv", "h264"), ("pr", "rotated"),
                            ("pa", "audio"), ("pp", "passthrough")])
    srv = serve(w.output)
    try:
        r = play(srv, "pv/master.m3u8")
        assert r["ok"] and r["why"] == "ended", r
        assert [(l["width"], l["height"]) for l in r["levels"]] == \
            [(640, 360), (1280, 720)]
        assert r["audioTracks"] == 1
        assert abs(r["currentTime"] - 4.0) < 0.3, r
        assert r["videoHeight"] in (360, 720)
        assert r["decodedFrames"] > 60

        r = play(srv, "pr/master.m3u8")
        assert r["ok"], r
        assert (r["videoWidth"], r["videoHeight"]) == (360, 640)

        r = play(srv, "pa/master.m3u8")
        assert r["ok"] and r["why"] == "ended", r
        assert abs(r["currentTime"] - 4.0) < 0.3, r

        r = play(srv, "pp/master.m3u8")
        assert r["ok"] and r["why"] == "ended", r
    finally:
        srv.shutdown()


def test_live_plays(worker, tmp_path):
    from test_live import Feeder

    sock = tmp_path / "live.sock"
    out = tmp_path / "live"
    conf = TEST_CONF.format(workers=1, max_attempts=3) + \
        "live_socket %s;\nlive_output %s;\n" % (sock, out)
    w = worker(conf=conf).start()
    wait_for(lambda: "live process ready" in w.log(), "the live process")

    feed = Feeder(sock, "cam", 12)
    # the worker makes live_output with the first stream
    out.mkdir(parents=True, exist_ok=True)
    srv = serve(out)
    try:
        wait_for(lambda: (out / "cam" / "master.m3u8").exists(), "master")
        r = play(srv, "cam/master.m3u8", seconds=4)
        assert r["ok"] and r["why"] == "played", r
        assert r["videoWidth"] == 320 and r["audioTracks"] == 1
        assert not [e for e in r["errors"] if "fatal" in e]
    finally:
        srv.shutdown()
        feed.join()
    w.stop()
