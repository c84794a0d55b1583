"""
valgrind memcheck of the worker on one VOD job (issue 8): the daemon, its
job process and its other children (valgrind follows fork) run under
`valgrind --error-exitcode=99 --leak-check=full`, transcode one short
clip, and stop; every process's report must say "ERROR SUMMARY: 0
errors" (invalid reads and writes, uses of uninitialised values, bad
frees, and definite or possible leaks at exit). Skipped without valgrind.

The binary is the harness's (INGEST_WORKER_BIN or
ffmpeg-worker/build/ingest-worker; skipped for an ASan build); under
valgrind it runs 20 to 50 times slower, so the job is a 2 s 320x180 clip
and the leases are long. About 15 s.
"""

import re
import shutil
import signal
import subprocess

import pytest

import harness
from harness import Worker, ffmpeg, wait_for


def _asan_build():
    try:
        out = subprocess.run(["readelf", "-d", str(harness.BIN)],
                             capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


pytestmark = [
    pytest.mark.skipif(shutil.which("valgrind") is None,
                       reason="needs valgrind"),
    pytest.mark.skipif(_asan_build(), reason="the worker binary is built "
                       "with ASan, which valgrind cannot run")]

VG_CONF = """\
workers 1;
log_level info;
lease_time 300s;
heartbeat 5s;
reclaim_interval 5s;
poll_interval 200ms;
progress_interval 1s;
max_attempts 1;
webhooks off;

profile default {
    preset ultrafast;
    segment_duration 1s;
}
"""

SUMMARY_RE = re.compile(r"ERROR SUMMARY: (\d+) errors")


class ValgrindWorker(Worker):
    def start(self, *args):
        self.logfile = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            ["valgrind", "--error-exitcode=99", "--leak-check=full",
             "--track-origins=yes", "--num-callers=30",
             "--log-file=%s/vg.%%p" % self.base,
             str(harness.BIN), "-f", "-c", str(self.conf), "-p",
             str(self.spool), "-o", str(self.output), *args],
            stdin=subprocess.DEVNULL, stdout=self.logfile,
            stderr=self.logfile)
        wait_for(lambda: "job process" in self.log() and "ready" in
                 self.log() or self.proc.poll() is not None,
                 "the job process under valgrind", timeout=300)
        assert self.proc.poll() is None, self.log()
        return self


def first_errors(text, n=3):
    """the first n error blocks of a valgrind log"""
    blocks, cur = [], []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if body == "":
            if cur:
                blocks.append("\n".join(cur))
                cur = []
            continue
        cur.append(body)
    if cur:
        blocks.append("\n".join(cur))
    errs = [b for b in blocks if re.match(
        r"(Invalid|Conditional|Use of|Syscall param|Mismatched|"
        r"\d[\d,]* bytes in|Source and destination|Argument)", b)]
    return "\n\n".join(errs[:n])


@pytest.mark.timeout(900)
def test_one_vod_job_under_valgrind(tmp_path):
    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
           "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip))

    w = ValgrindWorker(tmp_path / "vg", conf=VG_CONF)
    w.start()
    try:
        w.submit("vg1", clip)
        assert w.wait_final("vg1", timeout=600) == "done", w.log()[-3000:]
    finally:
        rc = w.stop(signal.SIGQUIT, timeout=300)

    assert (w.output / "vg1" / "master.m3u8").exists()
    logs = sorted((tmp_path / "vg").glob("vg.*"))
    assert logs, "valgrind wrote no report"
    bad = []
    for p in logs:
        text = p.read_text(errors="replace")
        m = SUMMARY_RE.findall(text)
        if not m:
            # a process that exec()ed or was killed writes no summary
            bad.append("%s: no ERROR SUMMARY (killed?)\n%s"
                       % (p.name, text[-1500:]))
        elif int(m[-1]) != 0:
            bad.append("%s: %s errors\n%s" % (p.name, m[-1],
                                               first_errors(text)))
    assert not bad, "valgrind found errors (worker exit %s):\n\n%s" % (
        rc, "\n\n".join(bad))
    assert rc == 0, "the master exited with %s" % rc
