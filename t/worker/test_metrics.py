"""
The metrics file: the master writes the Prometheus text of the shared
counters (queue depth, jobs by outcome, job duration, encode speed, live
streams) to <spool>/worker.prom by default.
"""

import re
import time

from harness import wait_for


LINE = re.compile(r'^([a-z_]+)(\{[a-z_]+="[^"]*"\})? ([0-9.]+)$')


def parse(text):
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, line
        values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return values


def test_metrics_file(worker, clips):
    w = worker(workers=2).start()
    prom = w.spool / "worker.prom"

    w.submit("m1", clips.get("small"))
    w.submit("m2", clips.get("text"))
    assert w.wait_final("m1") == "done"
    assert w.wait_final("m2") == "failed"

    def counted():
        try:
            v = parse(prom.read_text())
        except FileNotFoundError:
            return None
        if v['ingest_transcode_jobs_total{outcome="done"}'] == 1 and \
                v['ingest_transcode_jobs_total{outcome="failed"}'] == 1:
            return v
        return None

    v = wait_for(counted, "the counters in the metrics file")

    assert v["ingest_transcode_queue_depth"] == 0
    assert v["ingest_transcode_workers"] == 2
    assert v["ingest_transcode_job_duration_seconds_count"] == 1
    assert v['ingest_transcode_job_duration_seconds_bucket{le="+Inf"}'] == 1
    assert v["ingest_transcode_job_duration_seconds_sum"] > 0
    assert abs(v["ingest_transcode_media_seconds_total"] - 4.0) < 0.1
    assert v["ingest_transcode_speed_ratio"] > 0
    assert v["ingest_live_streams"] == 0

    # jobs not yet due wait in incoming/: that is the queue depth
    for i in ("m3", "m4"):
        w.submit(i, clips.get("small"), retry_at=2 ** 62, attempts=1)

    wait_for(lambda: parse(prom.read_text()).get(
        'ingest_transcode_queue_depth{state="waiting"}') == 2,
        "the waiting jobs")
    assert parse(prom.read_text())["ingest_transcode_queue_depth"] == 2
    w.stop()


def test_metrics_file_off(worker, clips):
    w = worker()
    w.write_conf(w.conf.read_text() + "metrics_file off;\n")
    w.start()
    w.submit("x", clips.get("small"))
    assert w.wait_final("x") == "done"
    w.stop()
    assert not (w.spool / "worker.prom").exists()


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])        # utime + stime


def test_metrics_fresh_while_busy(worker, clips):
    # a long reclaim_interval: freshness must not wait for it
    w = worker()
    w.write_conf(w.conf.read_text().replace("reclaim_interval 1s;",
                                            "reclaim_interval 60s;"))
    w.start()
    prom = w.spool / "worker.prom"

    # written at start, not a reclaim_interval later
    wait_for(prom.exists, "the metrics file at start", timeout=5)

    # a change of the queue shows within a second (or so)
    t0 = time.monotonic()
    for i in ("f1", "f2"):
        w.submit(i, clips.get("small"), retry_at=2 ** 62, attempts=1)
    wait_for(lambda: parse(prom.read_text()).get(
        'ingest_transcode_queue_depth{state="waiting"}') == 2,
        "the waiting jobs", timeout=10)
    assert time.monotonic() - t0 < 3

    # while a job runs: rewritten every second, "running" is 1
    w.submit("busy", clips.get("long"))
    wait_for(lambda: w.state("busy") == "claimed", "the job running")
    stamps, running = [], []
    while w.state("busy") == "claimed" and len(stamps) < 40:
        stamps.append(prom.stat().st_mtime)
        running.append(parse(prom.read_text()).get(
            'ingest_transcode_queue_depth{state="running"}'))
        time.sleep(0.1)
    writes = sorted(set(stamps))
    assert len(writes) >= 3, writes
    assert max(b - a for a, b in zip(writes, writes[1:])) < 1.6, writes
    assert 1 in running

    # the outcome is counted within a second of the job's end
    assert w.wait_final("busy") == "done"
    t0 = time.monotonic()
    wait_for(lambda: parse(prom.read_text()).get(
        'ingest_transcode_jobs_total{outcome="done"}') == 1,
        "the done job counted", timeout=10)
    assert time.monotonic() - t0 < 3

    # idle again: no rewrite every second, no busy loop in the master
    time.sleep(1.5)
    before = prom.stat().st_mtime
    ticks = cpu_ticks(w.proc.pid)
    time.sleep(3)
    assert prom.stat().st_mtime == before
    assert cpu_ticks(w.proc.pid) - ticks <= 2
    assert w.stop() == 0
