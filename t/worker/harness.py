"""
Harness of the worker's integration tests: test clips made by ffmpeg's
lavfi sources, a private spool and output directory, the ingest-worker
daemon run in the foreground, and checks of its HLS output with ffprobe
and python3-m3u8.

Waiting loops only guard against hangs (their deadlines are generous);
nothing here asserts how fast anything is.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import m3u8


ROOT = Path(__file__).resolve().parents[2]
WORKER_DIR = ROOT / "ffmpeg-worker"
# INGEST_WORKER_BIN: run the tests against another build of the daemon
# (make worker-asan: ffmpeg-worker/build-asan/ingest-worker), used as it
# is, not rebuilt. Sanitizer reports go to <worker base>/san.<pid>.
BIN = Path(os.environ.get("INGEST_WORKER_BIN",
                          str(WORKER_DIR / "build" / "ingest-worker")))

WAIT = 180


class HarnessError(Exception):
    pass


def build():
    if "INGEST_WORKER_BIN" in os.environ:
        if not BIN.exists():
            raise HarnessError("INGEST_WORKER_BIN: %s does not exist" % BIN)
        return BIN
    subprocess.run(["make", "-s", "-C", str(WORKER_DIR)], check=True)
    return BIN


def sanitizer_env(base):
    """ASan/UBSan reports of the daemon and its children into files
    (harmless for a build without sanitizers)"""
    env = dict(os.environ)
    for var, opts in (("ASAN_OPTIONS", "detect_leaks=1"),
                      ("UBSAN_OPTIONS", "print_stacktrace=1")):
        env[var] = ":".join(o for o in (
            opts, "log_path=%s/san" % base, os.environ.get(var)) if o)
    return env


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args],
                   check=True)


def ffprobe_json(path, *args):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args,
                          str(path)], check=True, capture_output=True)
    return json.loads(out.stdout)


def wait_for(pred, what, timeout=WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise HarnessError("timed out waiting for " + what)
        time.sleep(step)


def host_name():
    """This host as the worker writes it in worker names."""
    raw = socket.gethostname()[:127]
    return "".join(c if (c.isascii() and c.isalnum()) or (c == "." and i)
                   else "_" for i, c in enumerate(raw))


# -- clips ------------------------------------------------------------------

class Clips:
    """Short clips, made once per session on first use."""

    def __init__(self, base):
        self.base = Path(base)
        self.made = {}

    def get(self, name):
        if name not in self.made:
            path = getattr(self, "_" + name)()
            self.made[name] = path
        return self.made[name]

    def _av(self, path, size, seconds, vcodec, acodec, extra=()):
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=%s:rate=30" % size,
               "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
               "-t", str(seconds), *vcodec, *acodec, *extra, str(path))
        return path

    def _h264(self):
        return self._av(self.base / "h264.mp4", "1280x720", 4,
                        ["-c:v", "libx264", "-preset", "ultrafast",
                         "-pix_fmt", "yuv420p"], ["-c:a", "aac"])

    def _small(self):
        return self._av(self.base / "small.mp4", "640x360", 4,
                        ["-c:v", "libx264", "-preset", "ultrafast",
                         "-pix_fmt", "yuv420p"], ["-c:a", "aac"])

    def _tail(self):
        # half a segment past the last whole one
        return self._av(self.base / "tail.mp4", "640x360", 4.5,
                        ["-c:v", "libx264", "-preset", "ultrafast",
                         "-pix_fmt", "yuv420p"], ["-c:a", "aac"])

    def _rotated(self):
        # a phone-style MOV: landscape pixels, a display matrix of 90
        path = self.base / "rotated.mov"
        ffmpeg("-i", str(self.get("small")), "-c", "copy",
               "-metadata:s:v:0", "rotate=90", str(path))
        return path

    def _vp9(self):
        return self._av(self.base / "vp9.webm", "640x360", 4,
                        ["-c:v", "libvpx-vp9", "-deadline", "realtime",
                         "-cpu-used", "8", "-b:v", "300k"],
                        ["-c:a", "libopus"])

    def _audio(self):
        path = self.base / "audio.mp3"
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
               "-t", "4", "-c:a", "libmp3lame", str(path))
        return path

    def _passthrough(self):
        # fits the 360p rung: H.264 within 800 kbps, a keyframe a second
        return self._av(self.base / "pass.mp4", "640x360", 4,
                        ["-c:v", "libx264", "-preset", "veryfast",
                         "-b:v", "400k", "-maxrate", "500k",
                         "-bufsize", "500k", "-g", "30",
                         "-pix_fmt", "yuv420p"],
                        ["-c:a", "aac", "-ar", "48000"])

    def _long(self):
        # long enough to be killed in the middle
        return self._av(self.base / "long.mp4", "1280x720", 12,
                        ["-c:v", "libx264", "-preset", "ultrafast",
                         "-pix_fmt", "yuv420p"], ["-c:a", "aac"])

    def _text(self):
        path = self.base / "notes.txt"
        path.write_text("This is not a video.\n" * 2000)
        return path


# -- the daemon -------------------------------------------------------------

TEST_CONF = """\
workers {workers};
log_level info;
lease_time 5s;
heartbeat 1s;
reclaim_interval 1s;
poll_interval 200ms;
progress_interval 200ms;
max_attempts {max_attempts};
retry_base 200ms;
retry_max 1s;
respawn_base 100ms;
respawn_max 1s;

profile default {{
    preset veryfast;
    segment_duration 1s;
}}

profile slow {{
    preset medium;
    segment_duration 1s;
    passthrough off;
}}
"""


class Worker:
    def __init__(self, base, workers=1, max_attempts=3, conf=None,
                 output=None):
        self.base = Path(base)
        self.spool = self.base / "spool"
        self.output = Path(output) if output else self.base / "out"
        self.conf = self.base / "worker.conf"
        self.logpath = self.base / "worker.log"
        self.proc = None
        for d in ("incoming", "tmp"):
            (self.spool / d).mkdir(parents=True, exist_ok=True)
        self.write_conf(conf if conf is not None else
                        TEST_CONF.format(workers=workers,
                                         max_attempts=max_attempts))

    def write_conf(self, text):
        self.conf.write_text(text)

    def start(self, *args):
        if self.proc is not None:
            raise HarnessError("already running")
        self.logfile = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [str(BIN), "-f", "-c", str(self.conf), "-p", str(self.spool),
             "-o", str(self.output), *args],
            stdin=subprocess.DEVNULL, stdout=self.logfile,
            stderr=self.logfile, env=sanitizer_env(self.base))
        wait_for(lambda: self.log().count("ready") >= 1 or
                 self.proc.poll() is not None, "the first job process")
        if self.proc.poll() is not None:
            raise HarnessError("worker exited: " + self.log())
        return self

    def send(self, signo):
        self.proc.send_signal(signo)

    def stop(self, signo=signal.SIGQUIT, timeout=WAIT):
        if self.proc is None:
            return None
        self.proc.send_signal(signo)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise HarnessError("worker did not stop")
        finally:
            self.logfile.close()
            self.proc = None
        return rc

    def log(self):
        try:
            return self.logpath.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def sanitizer_reports(self):
        """{file name: text} of the ASan/UBSan reports of this daemon"""
        return {p.name: p.read_text(errors="replace")
                for p in sorted(self.base.glob("san.*"))}

    def all_children(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True)
        return sorted(int(p) for p in out.stdout.split())

    def children(self):
        """The job processes (not the live or webhook ones)."""
        jobs = set(int(p) for p in
                   re.findall(r"job process \S+-(\d+) ready", self.log()))
        return [p for p in self.all_children() if p in jobs]

    # jobs

    def job(self, job_id, source, profile="default", **extra):
        job = {"version": 1, "id": job_id, "kind": "upload",
               "protocol": "tus", "source": str(source),
               "size": os.path.getsize(source)
               if os.path.isfile(source) else 0,
               "content_type": "video/mp4",
               "metadata": {"filename": Path(str(source)).name},
               "owner": None, "profile": profile, "created": int(time.time()),
               "webhook": None}
        job.update(extra)
        return job

    def submit(self, job_id, source, profile="default", raw=None, **extra):
        """Writes tmp/<id>.json and renames it into incoming/, as nginx."""
        text = raw if raw is not None else \
            json.dumps(self.job(job_id, source, profile, **extra)) + "\n"
        tmp = self.spool / "tmp" / (job_id + ".json")
        tmp.write_text(text)
        os.rename(tmp, self.spool / "incoming" / (job_id + ".json"))

    def state(self, job_id):
        for s in ("done", "failed", "incoming"):
            if (self.spool / s / (job_id + ".json")).exists():
                return s
        if list((self.spool / "claimed").glob("*/" + job_id + ".json")):
            return "claimed"
        return None

    def wait_final(self, job_id, timeout=WAIT):
        return wait_for(lambda: self.state(job_id) in ("done", "failed")
                        and self.state(job_id), "job " + job_id, timeout)

    def done_job(self, job_id):
        return json.loads((self.spool / "done" / (job_id + ".json"))
                          .read_text())

    def error(self, job_id):
        return (self.spool / "failed" / (job_id + ".error")).read_text()

    def claim_of(self, job_id):
        """(worker dir, pid) of the process holding the job, or None."""
        for p in (self.spool / "claimed").glob("*/" + job_id + ".json"):
            return p.parent, int(p.parent.name.rsplit("-", 1)[1])
        return None

    def leftovers(self):
        """Temp output and claims that should be gone when idle."""
        left = []
        tmp = self.output / ".tmp"
        if tmp.exists():
            left += [str(p) for p in tmp.rglob("*")]
        left += [str(p) for p in (self.spool / "claimed").rglob("*.json")]
        left += [str(p) for p in (self.spool / "claimed").rglob("*.tmp")]
        return left


# -- output checks ----------------------------------------------------------

def segment_packets(rdir, seg_uri, stream="v:0"):
    """Packets of one segment, read as init.mp4 + the segment."""
    both = rdir / (".probe-" + seg_uri + ".mp4")
    with open(both, "wb") as f:
        f.write((rdir / "init.mp4").read_bytes())
        f.write((rdir / seg_uri).read_bytes())
    try:
        info = ffprobe_json(both, "-show_packets", "-select_streams", stream)
    finally:
        both.unlink()
    return info.get("packets", [])


def rendition_streams(rdir):
    """Streams of the whole rendition (init + every segment)."""
    pl = m3u8.load(str(rdir / "index.m3u8"))
    whole = rdir / ".probe-all.mp4"
    with open(whole, "wb") as f:
        f.write((rdir / "init.mp4").read_bytes())
        for s in pl.segments:
            f.write((rdir / s.uri).read_bytes())
    try:
        return ffprobe_json(whole, "-show_streams", "-show_format")
    finally:
        whole.unlink()


def check_media_playlist(rdir):
    """A VOD media playlist of fMP4 segments; returns it."""
    text = (rdir / "index.m3u8").read_text()
    pl = m3u8.load(str(rdir / "index.m3u8"))
    assert pl.is_endlist
    assert pl.playlist_type == "vod"
    assert pl.segment_map["uri"] == "init.mp4" \
        if isinstance(pl.segment_map, dict) \
        else pl.segment_map[0].uri == "init.mp4"
    assert "#EXT-X-MAP:URI=\"init.mp4\"" in text
    assert pl.segments, "no segments"
    for s in pl.segments:
        assert (rdir / s.uri).stat().st_size > 0
        # EXTINF rounded must not exceed the target duration
        assert round(s.duration) <= pl.target_duration
    return pl


def check_video_rendition(rdir, width, height, seg_dur):
    pl = check_media_playlist(rdir)
    info = rendition_streams(rdir)
    v = [s for s in info["streams"] if s["codec_type"] == "video"]
    assert len(v) == 1 and len(info["streams"]) == 1
    assert v[0]["codec_name"] == "h264"
    assert (v[0]["width"], v[0]["height"]) == (width, height)
    assert v[0]["pix_fmt"] == "yuv420p"

    keyframes = 0
    for i, s in enumerate(pl.segments):
        pkts = segment_packets(rdir, s.uri)
        assert pkts, s.uri
        # every segment starts with a keyframe
        assert "K" in pkts[0]["flags"], (s.uri, pkts[0])
        keyframes += sum("K" in p["flags"] for p in pkts)
        if i + 1 < len(pl.segments):
            assert abs(s.duration - seg_dur) < 0.002, (s.uri, s.duration)
    return pl, keyframes


def check_audio_rendition(rdir, rate=48000, channels=2):
    pl = check_media_playlist(rdir)
    info = rendition_streams(rdir)
    a = info["streams"]
    assert len(a) == 1 and a[0]["codec_type"] == "audio"
    assert a[0]["codec_name"] == "aac"
    assert a[0]["profile"] == "LC"
    assert int(a[0]["sample_rate"]) == rate
    assert a[0]["channels"] == channels
    for s in pl.segments:
        assert segment_packets(rdir, s.uri, "a:0")
    return pl


def master(out_dir):
    text = (out_dir / "master.m3u8").read_text()
    return m3u8.load(str(out_dir / "master.m3u8")), text


CODECS_RE = re.compile(r"^avc1\.(42|4d|64)[0-9a-f]{4},mp4a\.40\.2$")


def total(pl):
    return sum(s.duration for s in pl.segments)
