"""
Live input: an MPEG-TS stream made by ffmpeg, fed in real time into the
worker's unix socket after a "stream NAME" line, packaged as LL-HLS
(parts, preload hints, blocking reload and skip support, rendition
reports, program date time); checked while live and after its end with
python3-m3u8 and ffprobe.
"""

import re
import socket
import subprocess
import threading
import time

import m3u8
import pytest

from harness import TEST_CONF, ffprobe_json, segment_packets, wait_for


PART_TARGET = 0.334


class Feeder:
    """ffmpeg -f mpegts into the socket, behind a header line."""

    def __init__(self, path, name, seconds, header=None, size="320x180"):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.sock.sendall(header if header is not None
                          else b"stream " + name.encode() + b"\n")
        self.proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-re",
             "-f", "lavfi", "-i", "testsrc2=size=%s:rate=30" % size,
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
             "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
             "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-f", "mpegts", "pipe:1"],
            stdout=subprocess.PIPE)
        self.error = None
        self.thread = threading.Thread(target=self._pump)
        self.thread.start()

    def _pump(self):
        try:
            while True:
                b = self.proc.stdout.read(4096)
                if not b:
                    break
                self.sock.sendall(b)
        except OSError as e:
            self.error = e
        finally:
            self.sock.close()
            self.proc.stdout.close()
            self.proc.wait()

    def join(self):
        self.thread.join(120)


def live_worker(worker, tmp_path, window=4, extra=""):
    sock = tmp_path / "live.sock"
    out = tmp_path / "live"
    conf = TEST_CONF.format(workers=1, max_attempts=3) + (
        "live_socket %s;\nlive_output %s;\nlive_window %d;\n"
        "live_segment_duration 1s;\nlive_part_duration 334ms;\n"
        % (sock, out, window)) + extra
    w = worker(conf=conf).start()
    wait_for(lambda: "live process ready" in w.log(), "the live process")
    return w, sock, out


def check_live_playlist(text, ended):
    pl = m3u8.loads(text)

    assert pl.version == 9
    assert pl.target_duration == 1
    assert pl.server_control.can_block_reload == "YES"
    assert abs(pl.part_inf.part_target - PART_TARGET) < 1e-6
    assert pl.server_control.part_hold_back >= 3 * PART_TARGET - 1e-3
    assert pl.server_control.can_skip_until >= 6 * pl.target_duration
    assert "#EXT-X-MAP:URI=\"init.mp4\"" in text
    assert pl.is_endlist == ended
    assert (pl.preload_hint is None) == ended

    whole = [s for s in pl.segments if s.uri]
    for s in whole:
        assert s.program_date_time is not None
        assert round(s.duration) <= pl.target_duration
        assert sum(p.duration for p in s.parts) <= s.duration + 2e-3

    # the last whole segment keeps all its parts (older ones lose theirs
    # three target durations from the end): they add up to it, and the
    # first starts with a keyframe
    last = whole[-1]
    assert abs(sum(p.duration for p in last.parts) - last.duration) < 2e-3
    assert last.parts[0].independent == "YES"
    for s in pl.segments:
        for p in s.parts:
            assert p.duration <= PART_TARGET + 1e-9
    return pl


def test_live_ll_hls(worker, tmp_path):
    w, sock, out = live_worker(worker, tmp_path)
    feed = Feeder(sock, "cam1", 5)

    video = out / "cam1" / "video"
    audio = out / "cam1" / "audio"

    # while live: two whole segments, parts of the next one, a hint
    def live_state():
        try:
            text = (video / "index.m3u8").read_text()
        except FileNotFoundError:
            return None
        pl = m3u8.loads(text)
        if sum(1 for s in pl.segments if s.uri) >= 2 and pl.preload_hint:
            return text
        return None

    text = wait_for(live_state, "a live playlist")
    pl = check_live_playlist(text, ended=False)

    hint = pl.preload_hint.uri
    assert pl.preload_hint.hint_type == "PART"
    assert [r.uri for r in pl.rendition_reports] == ["../audio/index.m3u8"]

    # the part files listed are there, whole, and start as fMP4 fragments
    for s in pl.segments:
        for p in s.parts:
            data = (video / p.uri).read_bytes()
            assert data[4:8] == b"moof", p.uri

    # the hinted part is the next one to appear
    wait_for(lambda: (video / hint).exists(), "the hinted part " + hint)

    # the master playlist appeared once every track had a segment
    m = m3u8.load(str(out / "cam1" / "master.m3u8"))
    assert len(m.playlists) == 1
    si = m.playlists[0].stream_info
    assert si.resolution == (320, 180)
    assert si.codecs.startswith("avc1.") and si.codecs.endswith(",mp4a.40.2")
    assert si.bandwidth > 0 and si.audio == "aud"
    assert [x.uri for x in m.media] == ["audio/index.m3u8"]

    feed.join()
    assert feed.error is None
    wait_for(lambda: 'live "cam1": ended' in w.log(), "the end")

    # after the end: ENDLIST, no hint, a window of 4 that slid
    for track in (video, audio):
        text = (track / "index.m3u8").read_text()
        pl = check_live_playlist(text, ended=True)
        assert len(pl.segments) == 4
        assert pl.media_sequence >= 1
        assert not (track / "seg0.m4s").exists()
        assert not (track / "part0.m4s").exists()
        m3u8.loads((track / "index-delta.m3u8").read_text())

    # the video segments decode, each from a keyframe
    pl = m3u8.load(str(video / "index.m3u8"))
    for s in pl.segments:
        pkts = segment_packets(video, s.uri)
        assert pkts and "K" in pkts[0]["flags"], s.uri
        assert abs(len(pkts) / 30.0 - s.duration) < 0.04

    info = ffprobe_json(video / "init.mp4", "-show_streams")
    assert info["streams"][0]["codec_name"] == "h264"
    info = ffprobe_json(audio / "init.mp4", "-show_streams")
    assert info["streams"][0]["codec_name"] == "aac"

    assert w.stop() == 0


def test_live_header_and_single_publisher(worker, tmp_path):
    w, sock, out = live_worker(worker, tmp_path)

    # no header line: the connection is closed, nothing written
    bad = Feeder(sock, "x", 1, header=b"GET / HTTP/1.0\r\n\r\n")
    bad.join()
    wait_for(lambda: "no valid \"stream NAME\" line" in w.log(), "refusal")
    assert not (out / "x").exists()

    # one live process: a second publisher waits its turn; with two,
    # the same name twice is refused while the first is live
    w.stop()
    conf = w.conf.read_text() + "live_workers 2;\n"
    w.write_conf(conf)
    w.start()
    wait_for(lambda: w.log().count("live process ready") >= 3, "two more")

    first = Feeder(sock, "dup", 3)
    wait_for(lambda: (out / "dup" / "video" / "index.m3u8").exists(),
             "the first publisher")
    second = Feeder(sock, "dup", 1)
    second.join()
    wait_for(lambda: "already being published" in w.log(), "the refusal")
    first.join()
    wait_for(lambda: 'live "dup": ended' in w.log(), "the end")
    assert w.stop() == 0


LADDER = """
live_transcode on;
live_profile live;

profile live {
    preset ultrafast;
    rung 360 600k 800k;
    rung 720 2M 3M;
    rung 1080 4M 6M;
}
"""

SIZES = {360: (640, 360), 720: (1280, 720), 1080: (1920, 1080)}


@pytest.mark.parametrize("source,rungs", [
    ("1920x1080", [360, 720, 1080]),
    ("1280x720", [360, 720]),            # never upscaled to 1080p
])
def test_live_transcode_ladder(worker, tmp_path, source, rungs):
    w, sock, out = live_worker(worker, tmp_path, extra=LADDER)
    feed = Feeder(sock, "abr", 5, size=source)
    names = ["%dp" % r for r in rungs]
    top = out / "abr" / names[-1]

    # while live: every rendition has parts, a hint, and reports of the
    # others (the other renditions and the audio)
    def live_state():
        try:
            text = (top / "index.m3u8").read_text()
        except FileNotFoundError:
            return None
        pl = m3u8.loads(text)
        if sum(1 for s in pl.segments if s.uri) >= 2 and pl.preload_hint:
            return text
        return None

    pl = check_live_playlist(wait_for(live_state, "a live playlist"),
                             ended=False)
    others = sorted("../%s/index.m3u8" % n for n in names[:-1] + ["audio"])
    assert sorted(r.uri for r in pl.rendition_reports) == others

    feed.join()
    assert feed.error is None
    wait_for(lambda: 'live "abr": ended' in w.log(), "the end")
    assert 'live "abr": %s video transcoded to %s (profile "live")' % (
        source, ", ".join(names)) in w.log()

    # the master lists the ladder's renditions, smallest first
    m = m3u8.load(str(out / "abr" / "master.m3u8"))
    assert [p.uri for p in m.playlists] == \
        ["%s/index.m3u8" % n for n in names]
    assert [p.stream_info.resolution for p in m.playlists] == \
        [SIZES[r] for r in rungs]
    for p, r in zip(m.playlists, rungs):
        si = p.stream_info
        assert si.codecs.startswith("avc1.") and \
            si.codecs.endswith(",mp4a.40.2")
        assert si.audio == "aud" and abs(si.frame_rate - 30) < 0.01
        assert si.bandwidth >= {360: 800000, 720: 3000000,
                                1080: 6000000}[r]
    assert [x.uri for x in m.media] == ["audio/index.m3u8"]
    assert sorted(p.name for p in (out / "abr").iterdir()) == \
        sorted(names + ["audio", "master.m3u8"])

    # each rendition: LL-HLS with parts, its size (ffprobe), a keyframe
    # exactly where each segment starts, the same segments on every one
    timelines = []
    for n, r in zip(names, rungs):
        rdir = out / "abr" / n
        text = (rdir / "index.m3u8").read_text()
        pl = check_live_playlist(text, ended=True)
        assert len(pl.segments) == 4
        info = ffprobe_json(rdir / "init.mp4", "-show_streams")["streams"]
        assert (info[0]["codec_name"], info[0]["width"],
                info[0]["height"]) == ("h264",) + SIZES[r]
        starts = []
        for seg in pl.segments:
            pkts = segment_packets(rdir, seg.uri)
            keys = ["K" in p["flags"] for p in pkts]
            assert keys[0] and sum(keys) == 1, (n, seg.uri)
            assert abs(len(pkts) / 30.0 - seg.duration) < 0.04
            assert seg.parts[0].independent == "YES"
            assert all(p.independent is None for p in seg.parts[1:])
            starts.append(round(float(pkts[0]["pts_time"]), 3))
        timelines.append((pl.media_sequence, starts,
                          [s.duration for s in pl.segments]))
    assert all(t == timelines[0] for t in timelines), timelines

    assert w.stop() == 0


def test_live_copy_is_the_default(worker, tmp_path):
    # without live_transcode a 720p stream is packaged as it is
    w, sock, out = live_worker(worker, tmp_path)
    feed = Feeder(sock, "cp", 2, size="1280x720")
    feed.join()
    wait_for(lambda: 'live "cp": ended' in w.log(), "the end")
    assert sorted(p.name for p in (out / "cp").iterdir()) == \
        ["audio", "master.m3u8", "video"]
    info = ffprobe_json(out / "cp" / "video" / "init.mp4", "-show_streams")
    assert info["streams"][0]["width"] == 1280
    assert "transcoded" not in w.log()
    assert w.stop() == 0


class GapFeeder:
    """Several ffmpeg runs into one connection, one after the other, each
    with its own timestamps (-output_ts_offset): what the worker gets
    from a relay whose publisher reconnected, from a stall, or from an
    MPEG-TS discontinuity. runs: (pause before, offset, seconds)."""

    def __init__(self, path, name, runs, size="320x180"):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.sock.sendall(b"stream " + name.encode() + b"\n")
        self.runs, self.size = runs, size
        self.error = None
        self.thread = threading.Thread(target=self._pump)
        self.thread.start()

    def _pump(self):
        try:
            for pause, offset, seconds in self.runs:
                time.sleep(pause)
                proc = subprocess.Popen(
                    ["ffmpeg", "-nostdin", "-v", "error", "-re",
                     "-f", "lavfi",
                     "-i", "testsrc2=size=%s:rate=30" % self.size,
                     "-f", "lavfi",
                     "-i", "sine=frequency=440:sample_rate=48000",
                     "-t", str(seconds), "-c:v", "libx264",
                     "-preset", "ultrafast", "-tune", "zerolatency",
                     "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac",
                     "-output_ts_offset", str(offset),
                     "-f", "mpegts", "pipe:1"],
                    stdout=subprocess.PIPE)
                try:
                    while True:
                        b = proc.stdout.read(4096)
                        if not b:
                            break
                        self.sock.sendall(b)
                finally:
                    proc.stdout.close()
                    proc.wait()
        except OSError as e:
            self.error = e
        finally:
            self.sock.close()

    def join(self):
        self.thread.join(120)


JUMP = re.compile(r'live "gap": (\w+) timestamps jump by ([+-]\d+) ms')

GAP_LADDER = """
live_transcode on;
live_profile live;

profile live {
    preset ultrafast;
    rung 360 600k 800k;
}
"""


@pytest.mark.parametrize("mode", ["copy", "transcode"])
def test_live_timestamp_jumps(worker, tmp_path, mode):
    # 3 s; a gap of 0.5 s (kept); after a stall of 1.5 s a jump of +5 s;
    # then one of -12.5 s (the timestamps of a publisher starting over)
    w, sock, out = live_worker(worker, tmp_path, window=30,
                               extra=GAP_LADDER if mode == "transcode"
                               else "")
    size = "640x360" if mode == "transcode" else "320x180"
    feed = GapFeeder(sock, "gap",
                     [(0, 0, 3), (0, 3.5, 2), (1.5, 10.5, 2), (0, 0, 2)],
                     size=size)
    tracks = [out / "gap" / ("360p" if mode == "transcode" else "video"),
              out / "gap" / "audio"]

    # while live, every playlist written follows the rules
    seen = {}

    def poll():
        for t in tracks:
            try:
                text = (t / "index.m3u8").read_text()
            except FileNotFoundError:
                continue
            if seen.get(t) != text and "#EXT-X-ENDLIST" not in text:
                seen[t] = text
                if any(s.uri for s in m3u8.loads(text).segments):
                    check_live_playlist(text, ended=False)

    while feed.thread.is_alive():
        poll()
        time.sleep(0.1)
    feed.join()
    assert feed.error is None
    wait_for(lambda: 'live "gap": ended' in w.log(), "the end")

    log = w.log()
    assert log.count('live "gap": publishing') == 1
    assert "[error]" not in log, log
    assert "[alert]" not in log, log

    # the two jumps, logged once each with their size (the other
    # stream's few ms off at the cut are the same jump); the 0.5 s gap
    # is no jump
    jumps = [int(m.group(2)) for m in JUMP.finditer(log)]
    assert len(jumps) == 2, jumps
    assert 4500 <= jumps[0] <= 5500, jumps
    assert -13000 <= jumps[1] <= -12000, jumps

    # the session went on to the end: about 9.5 s of media in segments
    # of at most the target, parts of at most the part target
    for t in tracks:
        pl = check_live_playlist((t / "index.m3u8").read_text(), ended=True)
        assert pl.media_sequence == 0
        total = sum(s.duration for s in pl.segments)
        assert 8.5 <= total <= 10, (t, total)
        for s in pl.segments:
            assert s.duration > 0

    # output timestamps go on: rising, no hole but the 0.5 s gap
    for t, kind in zip(tracks, ("v:0", "a:0")):
        pl = m3u8.load(str(t / "index.m3u8"))
        dts = []
        for s in pl.segments:
            dts += [float(p["dts_time"])
                    for p in segment_packets(t, s.uri, kind)]
        steps = [b - a for a, b in zip(dts, dts[1:])]
        assert min(steps) > 0, (t, min(steps))
        assert max(steps) < 0.6, (t, max(steps))
        assert 8.5 <= dts[-1] - dts[0] <= 10.5, (t, dts[0], dts[-1])

    # and are counted
    prom = w.spool / "worker.prom"
    wait_for(lambda: prom.exists() and re.search(
        r"^ingest_live_discontinuities_total ([0-9]+)$",
        prom.read_text(), re.M), "the metrics file")

    def counted():
        m = re.search(r"^ingest_live_discontinuities_total ([0-9]+)$",
                      prom.read_text(), re.M)
        return int(m.group(1)) == 2

    wait_for(counted, "the jumps counted", timeout=10)
    assert w.stop() == 0
