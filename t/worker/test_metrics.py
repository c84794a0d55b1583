"""
The metrics file: the master writes the Prometheus text of the shared
counters (queue depth, jobs by outcome, job duration, encode speed, live
streams) to <spool>/worker.prom by default.
"""

import re

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
