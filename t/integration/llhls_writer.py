"""
A live LL-HLS writer for the tests and the benchmark of the nginx LL-HLS
origin: it writes one rendition's files the way the ffmpeg-worker's live
packager does (ffmpeg-worker/src/iw_live.c + iw_hls.c), so the origin sees
the same shapes, names and order of renames without an encoder:

    <dir>/init.mp4
    <dir>/part<N>.m4s            part numbers run across segments
    <dir>/seg<MSN>.m4s           the parts of a segment, concatenated
    <dir>/index.m3u8             EXT-X-VERSION:9, SERVER-CONTROL with
                                 CAN-BLOCK-RELOAD=YES, CAN-SKIP-UNTIL (six
                                 target durations), PART-HOLD-BACK (three
                                 part targets), PART-INF, MEDIA-SEQUENCE,
                                 INDEPENDENT-SEGMENTS, MAP, per segment
                                 PROGRAM-DATE-TIME, EXT-X-PART (listed for
                                 the last three target durations only,
                                 INDEPENDENT=YES on the first of a
                                 segment), EXTINF + URI; the parts of the
                                 segment in progress; PRELOAD-HINT of the
                                 next part; RENDITION-REPORT

Every file is written to "<name>.tmp" beside it and renamed into place
(as iw_file_write does); a part is renamed before the playlist that lists
it; a segment file before the playlist that closes it. The window slides
like the worker's: at most `window` whole segments, older segment and part
files are deleted.

    w = LiveWriter(dir)
    w.publish()                 # one part (closes a segment every K parts)
    w.start(0.2, 0.4)           # a background thread publishes parts
    w.wait_published(msn, part) # until that part was published
    w.stop(); w.end()           # EXT-X-ENDLIST

publish() returns a record with the CLOCK_MONOTONIC times (time.monotonic)
just before and after the part's and the playlist's renames, so a client
can tell whether a response arrived after them.

Also here: parse_media() / all_part_uris() (a small reader of such
playlists), expected_delta() (the delta update of RFC 8216bis 6.2.5.1,
computed independently of src/core), master_text() (a multivariant
playlist like the worker's), and Feeder (ffmpeg's live MPEG-TS into the
worker's live socket).
"""

import hashlib
import os
import random
import socket
import subprocess
import threading
import time
from pathlib import Path


US = 1000000


def dur(us):
    """seconds with 5 decimals, rounded to the nearest 10 us (iw_hls_dur)"""
    v = (us + 5) // 10
    return "%d.%05d" % (v // 100000, v % 100000)


def pdt(ms):
    """EXT-X-PROGRAM-DATE-TIME value of unix milliseconds"""
    t = time.gmtime(ms // 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", t), ms % 1000)


def part_bytes(index, size):
    """deterministic bytes of part `index`, starting like an fMP4 fragment"""
    head = b"\x00\x00\x00\x10moof" + index.to_bytes(4, "big")
    out = bytearray(head)
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"part:%d:%d" % (index, counter)).digest()
        counter += 1
    return bytes(out[:size])


def write_atomic(path, data, chunks=1, pause=0.0):
    """<path>.tmp, then rename; optionally written in several chunks with
    a pause between them (a slow writer). Returns the time.monotonic()
    values just before and just after the rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        data = data.encode()
    with open(tmp, "wb") as f:
        step = max(1, -(-len(data) // chunks))
        for i in range(0, len(data), step):
            f.write(data[i:i + step])
            f.flush()
            if pause and i + step < len(data):
                time.sleep(pause)
    t0 = time.monotonic()
    os.rename(tmp, path)
    return t0, time.monotonic()


class Part:
    def __init__(self, index, duration, independent):
        self.index = index
        self.uri = "part%d.m4s" % index
        self.duration = duration        # us
        self.independent = independent


class Segment:
    def __init__(self, msn, pdt_ms):
        self.msn = msn
        self.uri = "seg%d.m4s" % msn
        self.pdt = pdt_ms
        self.parts = []

    @property
    def duration(self):
        return sum(p.duration for p in self.parts)


class Published:
    """what one publish() did; times are time.monotonic() just before
    (t_*0) and just after the renames"""

    def __init__(self, msn, part, uri, t_part, t_playlist, closed,
                 wall):
        self.msn = msn              # the part's segment
        self.part = part            # its index in the segment
        self.uri = uri              # part<N>.m4s
        self.t_part0, self.t_part = t_part          # the part's rename
        self.t_playlist0, self.t_playlist = t_playlist  # the playlist's
        self.closed = closed        # it was the last part: seg<msn> whole
        self.wall = wall            # time.time() after the playlist

    def __repr__(self):
        return "<Published msn=%d part=%d %s%s>" % (
            self.msn, self.part, self.uri, " closed" if self.closed else "")


class LiveWriter:
    """
    dir: the rendition directory (created). parts: the part durations of
    every segment in seconds (the worker's 334 ms parts of 1 s segments by
    default); part_target: EXT-X-PART-INF; target: EXT-X-TARGETDURATION
    (default: the segment duration rounded); window: whole segments kept;
    part_size: bytes of each part file; report: a RENDITION-REPORT line as
    the worker writes for the other track.
    """

    def __init__(self, directory, parts=(0.33367, 0.33367, 0.33266),
                 part_target=0.334, target=None, window=12, part_size=2048,
                 report="../audio/index.m3u8", name="index.m3u8",
                 start_msn=0, start_part=0, pdt_ms=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.part_durations = [int(round(p * US)) for p in parts]
        self.part_target = int(round(part_target * US))
        seg = sum(self.part_durations)
        self.target = target if target is not None else \
            max(1, (seg + US // 2) // US)
        self.window = window
        self.part_size = part_size
        self.report = report
        self.name = name
        self.pdt0 = pdt_ms if pdt_ms is not None else \
            int(time.time() * 1000)
        self.segments = []          # whole segments in the window
        self.cur = Segment(start_msn, self.pdt0)
        self.next_part = start_part
        self.ended = False
        self.published = []
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.thread = None
        self.stopping = threading.Event()
        self.error = None
        self.hooks = []             # functions called with each Published
        write_atomic(self.dir / "init.mp4",
                     b"\x00\x00\x00\x18ftypiso6" + b"\x00" * 12
                     + b"\x00\x00\x00\x08moov")

    # -- model --------------------------------------------------------------

    @property
    def next_msn(self):
        """the segment in progress (the parts after the last whole one)"""
        return self.cur.msn

    @property
    def media_sequence(self):
        return self.segments[0].msn if self.segments else self.cur.msn

    def hint(self):
        return "part%d.m4s" % self.next_part

    def next_ref(self):
        """(msn, part) of the next part publish() writes"""
        return self.cur.msn, len(self.cur.parts)

    def last_ref(self):
        """(msn, part) of the last part published, None before any"""
        if self.cur.parts:
            return self.cur.msn, len(self.cur.parts) - 1
        if self.segments:
            s = self.segments[-1]
            return s.msn, len(s.parts) - 1
        return None

    def file(self, uri):
        return self.dir / uri

    def text(self, ended=None):
        return self.render(self.ended if ended is None else ended)

    def render(self, ended=False):
        """the playlist, as iw_hls_media() writes it"""
        L = []
        L.append("#EXTM3U")
        L.append("#EXT-X-VERSION:9")
        L.append("#EXT-X-TARGETDURATION:%d" % self.target)
        L.append("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                 "CAN-SKIP-UNTIL=%s,PART-HOLD-BACK=%s"
                 % (dur(self.target * 6 * US), dur(3 * self.part_target)))
        L.append("#EXT-X-PART-INF:PART-TARGET=%s" % dur(self.part_target))
        L.append("#EXT-X-MEDIA-SEQUENCE:%d" % self.media_sequence)
        L.append("#EXT-X-INDEPENDENT-SEGMENTS")
        L.append('#EXT-X-MAP:URI="init.mp4"')
        tail = [] if ended else self.cur.parts
        end = sum(s.duration for s in self.segments) + \
            sum(p.duration for p in tail)
        window = self.target * 3 * US
        start = 0
        for s in self.segments:
            t = start
            start += s.duration
            L.append("#EXT-X-PROGRAM-DATE-TIME:%s" % pdt(s.pdt))
            for p in s.parts:
                if end - t <= window:
                    L.append(self._part_line(p))
                t += p.duration
            L.append("#EXTINF:%s," % dur(s.duration))
            L.append(s.uri)
        if tail:
            L.append("#EXT-X-PROGRAM-DATE-TIME:%s" % pdt(self.cur.pdt))
            for p in tail:
                L.append(self._part_line(p))
        if not ended:
            L.append('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="%s"' % self.hint())
        else:
            L.append("#EXT-X-ENDLIST")
        if self.report:
            last = self.last_ref()
            if last is not None:
                L.append('#EXT-X-RENDITION-REPORT:URI="%s",LAST-MSN=%d,'
                         'LAST-PART=%d' % (self.report, last[0], last[1]))
        return "\n".join(L) + "\n"

    @staticmethod
    def _part_line(p):
        return '#EXT-X-PART:DURATION=%s,URI="%s"%s' % (
            dur(p.duration), p.uri, ",INDEPENDENT=YES" if p.independent
            else "")

    # -- writing ------------------------------------------------------------

    def write_playlist(self, ended=False):
        return write_atomic(self.dir / self.name, self.render(ended))

    def publish(self, slow_part=None):
        """writes the next part (and, when it completes the segment, the
        segment file), then the playlist; slow_part=(chunks, pause) writes
        the part's temp file slowly"""
        with self.lock:
            if self.ended:
                raise RuntimeError("the stream has ended")
            k = len(self.cur.parts)
            p = Part(self.next_part, self.part_durations[k], k == 0)
            data = part_bytes(p.index, self.part_size)
            if slow_part:
                t_part = write_atomic(self.dir / p.uri, data, *slow_part)
            else:
                t_part = write_atomic(self.dir / p.uri, data)
            self.next_part += 1
            self.cur.parts.append(p)
            msn = self.cur.msn
            closed = len(self.cur.parts) == len(self.part_durations)
            if closed:
                self._close_segment()
            t_pl = self.write_playlist()
            rec = Published(msn, k, p.uri, t_part, t_pl, closed,
                            time.time())
            self.published.append(rec)
            self.cond.notify_all()
        for h in list(self.hooks):
            h(rec)
        return rec

    def _close_segment(self):
        seg = self.cur
        write_atomic(self.dir / seg.uri,
                     b"".join(part_bytes(p.index, self.part_size)
                              for p in seg.parts))
        if len(self.segments) == self.window:
            old = self.segments.pop(0)
            for uri in [old.uri] + [p.uri for p in old.parts]:
                try:
                    os.unlink(self.dir / uri)
                except FileNotFoundError:
                    pass
        self.segments.append(seg)
        self.cur = Segment(seg.msn + 1,
                           seg.pdt + seg.duration // 1000)

    def publish_segments(self, n):
        """publishes parts until n more segments are whole"""
        for _ in range(n):
            while True:
                if self.publish().closed:
                    break

    def publish_until(self, msn, part):
        """publishes until part `part` of segment msn is published"""
        while True:
            rec = self.publish()
            if (rec.msn, rec.part) >= (msn, part):
                return rec

    def end(self):
        """closes the segment in progress and writes EXT-X-ENDLIST (what
        the worker does when the publisher disconnects)"""
        self.stop()
        with self.lock:
            if self.cur.parts:
                self._close_segment()
            self.ended = True
            t = self.write_playlist(ended=True)
            self.cond.notify_all()
            return t

    # -- background publishing ------------------------------------------------

    def start(self, lo=0.2, hi=0.4, seed=1):
        """publishes a part every lo..hi seconds in a thread"""
        assert self.thread is None
        self.stopping.clear()
        rnd = random.Random(seed)

        def run():
            try:
                while not self.stopping.wait(rnd.uniform(lo, hi)):
                    self.publish()
            except Exception as e:      # reported by stop()
                self.error = e

        self.thread = threading.Thread(target=run, daemon=True,
                                       name="llhls-writer")
        self.thread.start()
        return self

    def stop(self):
        if self.thread is not None:
            self.stopping.set()
            self.thread.join(10)
            self.thread = None
        if self.error is not None:
            e, self.error = self.error, None
            raise RuntimeError("the writer thread failed: %r" % e)

    def wait_published(self, msn, part=None, timeout=30):
        """the Published record of that part (part None: the segment's
        last part, i.e. segment msn whole), waiting for it"""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for r in reversed(self.published):
                    if r.msn == msn and (r.part == part if part is not None
                                         else r.closed):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "part %s of segment %d was not published in %ss"
                        % (part, msn, timeout))
                self.cond.wait(min(left, 0.5))

    def record(self, msn, part):
        for r in self.published:
            if r.msn == msn and r.part == part:
                return r
        return None


def master_text(variants=("video/index.m3u8",), audio="audio/index.m3u8"):
    """a multivariant playlist like the worker's live master.m3u8"""
    L = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio:
        L.append('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="audio",'
                 'DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="%s"' % audio)
    for v in variants:
        L.append('#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x180,'
                 'CODECS="avc1.42c00d,mp4a.40.2"%s'
                 % (',AUDIO="aud"' if audio else ""))
        L.append(v)
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------
# reading playlists (by hand: python3-m3u8 0.8 is checked where it helps)


def parse_media(text):
    """a small model of a media playlist of the worker's shape:
    {media_sequence, target, segments: [{msn, uri, duration, parts}],
     tail: [part uris], hint, endlist, skipped, version, can_skip_until}"""
    lines = text.splitlines()
    assert lines and lines[0] == "#EXTM3U", text[:200]
    m = {"segments": [], "tail": [], "hint": None, "endlist": False,
         "skipped": 0, "media_sequence": 0, "version": None,
         "target": None, "can_skip_until": None, "part_target": None}
    parts, extinf = [], None
    for line in lines[1:]:
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            m["media_sequence"] = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-VERSION:"):
            m["version"] = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            m["target"] = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-SERVER-CONTROL:"):
            for kv in line.split(":", 1)[1].split(","):
                k, v = kv.split("=", 1)
                if k == "CAN-SKIP-UNTIL":
                    m["can_skip_until"] = float(v)
        elif line.startswith("#EXT-X-PART-INF:"):
            m["part_target"] = float(line.split("=", 1)[1])
        elif line.startswith("#EXT-X-SKIP:"):
            m["skipped"] = int(line.split("SKIPPED-SEGMENTS=", 1)[1]
                               .split(",")[0])
        elif line.startswith("#EXT-X-PART:"):
            parts.append(attr(line, "URI"))
        elif line.startswith("#EXTINF:"):
            extinf = float(line.split(":", 1)[1].rstrip(",").split(",")[0])
        elif line.startswith("#EXT-X-PRELOAD-HINT:"):
            m["hint"] = attr(line, "URI")
        elif line == "#EXT-X-ENDLIST":
            m["endlist"] = True
        elif line and not line.startswith("#"):
            m["segments"].append({"uri": line, "duration": extinf,
                                  "parts": parts})
            parts, extinf = [], None
    m["tail"] = parts
    first = m["media_sequence"] + m["skipped"]
    for i, s in enumerate(m["segments"]):
        s["msn"] = first + i
    m["next_msn"] = first + len(m["segments"])
    return m


def attr(line, name):
    """an attribute's value (quotes removed) of a tag line"""
    body = line.split(":", 1)[1]
    i = 0
    while i < len(body):
        eq = body.index("=", i)
        key = body[i:eq]
        if body[eq + 1:eq + 2] == '"':
            end = body.index('"', eq + 2)
            val = body[eq + 2:end]
            nxt = end + 2
        else:
            end = body.find(",", eq)
            end = len(body) if end < 0 else end
            val = body[eq + 1:end]
            nxt = end + 1
        if key == name:
            return val
        i = nxt
    return None


def all_part_uris(text):
    m = parse_media(text)
    out = []
    for s in m["segments"]:
        out += s["parts"]
    return out + m["tail"]


def expected_delta(text):
    """the delta update (RFC 8216bis 6.2.5.1) of a full playlist of the
    worker's shape, computed independently of src/core: the leading
    segments whose end is at least CAN-SKIP-UNTIL before the end of the
    playlist (last part included) are replaced by one EXT-X-SKIP line;
    everything else stays. Returns (delta text, skipped count); count 0
    means no delta is due."""
    lines = text.splitlines()
    m = parse_media(text)
    if m["can_skip_until"] is None or m["endlist"]:
        return text, 0
    skip_us = int(round(m["can_skip_until"] * US))
    # durations as written (5 decimals), in us
    seg_us = [int(round(s["duration"] * US)) for s in m["segments"]]
    # the tail: the parts after the last segment's URI line
    last_uri = max([i for i, l in enumerate(lines)
                    if l and not l.startswith("#")], default=-1)
    tail_us = sum(int(round(float(attr(l, "DURATION")) * US))
                  for l in lines[last_uri + 1:]
                  if l.startswith("#EXT-X-PART:"))
    total = sum(seg_us) + tail_us
    n, t = 0, 0
    for d in seg_us:
        t += d
        if total - t < skip_us:
            break
        n += 1
    if n == 0:
        return text, 0
    # the header: up to and including EXT-X-MAP (the worker's order)
    out = []
    i = 0
    while not lines[i].startswith("#EXT-X-MAP:"):
        out.append(lines[i])
        i += 1
    out.append(lines[i])
    i += 1
    out.append("#EXT-X-SKIP:SKIPPED-SEGMENTS=%d" % n)
    uris = 0
    while uris < n:
        if lines[i] and not lines[i].startswith("#"):
            uris += 1
        i += 1
    out += lines[i:]
    return "\n".join(out) + "\n", n


# --------------------------------------------------------------------------
# a real publisher for the worker's live socket


class Feeder:
    """ffmpeg (lavfi testsrc2 + sine, H.264 with a keyframe a second, AAC,
    -re, MPEG-TS) into the worker's live socket after "stream NAME\\n"."""

    def __init__(self, sock_path, name, seconds):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(sock_path))
        self.sock.sendall(b"stream " + name.encode() + b"\n")
        self.started = time.time()
        self.proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-re",
             "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
             "-re", "-f", "lavfi",
             "-i", "sine=frequency=440:sample_rate=48000",
             "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
             "-tune", "zerolatency", "-g", "30", "-keyint_min", "30",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mpegts", "pipe:1"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.error = None
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        try:
            while True:
                b = self.proc.stdout.read1(65536)
                if not b:
                    break
                self.sock.sendall(b)
        except OSError as e:
            self.error = e
        finally:
            self.sock.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(10)
        self.proc.stdout.close()
