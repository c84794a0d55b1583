"""
/metrics (ingest_metrics): Prometheus text format, values summed over both
worker processes (shared memory), monotonic counters, a part-duration
histogram, an in-flight gauge, and counters that survive a reload.

The requests of each scenario are pinned to chosen worker processes
(keep-alive connections whose /pid answer is known), so exact deltas prove
that /metrics served by one worker counts the other one's work.
"""

import base64
import hashlib

import time

import pytest
import requests

from harness import (TUS_HDR, OCTET, MiB, KiB, payload, wait_until,
                     Metrics)


COUNTERS = [
    ("ingest_uploads_created_total", {"protocol": "tus"}),
    ("ingest_uploads_completed_total", {"protocol": "tus"}),
    ("ingest_uploads_failed_total", {"protocol": "tus"}),
    ("ingest_uploads_terminated_total", {"protocol": "tus"}),
    ("ingest_upload_bytes_received_total", {"protocol": "tus"}),
    ("ingest_http_requests_total", {"module": "tus", "class": "2xx"}),
    ("ingest_http_requests_total", {"module": "tus", "class": "4xx"}),
    ("ingest_http_requests_total", {"module": "tus", "class": "5xx"}),
    ("ingest_upload_parts_total", {"protocol": "tus", "result": "ok"}),
    ("ingest_upload_parts_total", {"protocol": "tus", "result": "client_error"}),
    ("ingest_upload_parts_total", {"protocol": "tus", "result": "server_error"}),
    ("ingest_upload_parts_total", {"protocol": "tus", "result": "aborted"}),
]
HIST = "ingest_upload_part_duration_seconds"


def metrics_via(conn):
    r = conn.request("GET", "/metrics")
    assert r.status == 200, r.status
    return Metrics(r.body.decode(), r.headers.get("Content-Type", ""))


def tus_req(conn, method, path, headers=None, body=b"", tus=True):
    h = dict(TUS_HDR) if tus else {}
    h.update(headers or {})
    return conn.request(method, path, h, body)


def create(conn, length, **kw):
    r = tus_req(conn, "POST", "/files/", dict({"Upload-Length": str(length)},
                                              **kw))
    assert r.status == 201, (r.status, r.body)
    return "/files/" + r.headers["Location"].rsplit("/", 1)[1]


def patch(conn, path, offset, data, headers=None):
    h = {"Upload-Offset": str(offset), "Content-Type": OCTET}
    h.update(headers or {})
    return tus_req(conn, "PATCH", path, h, data)


def deltas(m0, m1):
    out = {}
    for name, labels in COUNTERS:
        out[(name, tuple(sorted(labels.items())))] = \
            m1.get(name, **labels) - m0.get(name, **labels)
    return out


def d(dl, name, **labels):
    return dl[(name, tuple(sorted(labels.items())))]


def hist_view(m, **labels):
    """{le: cumulative count}, sum, count over series matching labels"""
    buckets = {}
    for (name, lbl), v in m.find(HIST + "_bucket", **labels).items():
        le = dict(lbl)["le"]
        key = float("inf") if le == "+Inf" else float(le)
        buckets[key] = buckets.get(key, 0) + v
    return buckets, m.get(HIST + "_sum", **labels), m.get(HIST + "_count",
                                                          **labels)


def assert_monotonic(snapshots):
    """every counter-like series never decreases across the snapshots"""
    for prev, cur in zip(snapshots, snapshots[1:]):
        for key, v in prev.samples.items():
            name = key[0]
            base = name
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix):
                    base = name[:-len(suffix)]
            kind = prev.types.get(base) or prev.types.get(name)
            if kind not in ("counter", "histogram") and not name.endswith("_total"):
                continue
            assert key in cur.samples, "series %r disappeared" % (key,)
            assert cur.samples[key] >= v, "counter %r went down: %s -> %s" % (
                key, v, cur.samples[key])


@pytest.fixture
def two_workers(nginx):
    a, pid_a = nginx.connect_worker()
    b, pid_b = nginx.connect_worker(not_pid=pid_a)
    yield a, b
    a.close()
    b.close()


def test_format_and_series(nginx):
    m = nginx.metrics()
    assert m.content_type.split(";")[0].strip() == "text/plain", m.content_type
    if "version=" in m.content_type:
        assert "version=0.0.4" in m.content_type
    for name, labels in COUNTERS:
        v = m.get(name, **labels)
        assert v >= 0
    for family in ("ingest_uploads_created_total", "ingest_http_requests_total",
                   "ingest_upload_parts_total"):
        assert m.types.get(family, m.types.get(family[:-len("_total")])) == \
            "counter", (family, m.types)
    assert m.types.get("ingest_uploads_active") == "gauge"
    assert m.get("ingest_uploads_active", protocol="tus") >= 0
    assert m.types.get(HIST) == "histogram"
    buckets, s, c = hist_view(m, protocol="tus")
    assert float("inf") in buckets, buckets
    les = sorted(buckets)
    assert len(les) >= 2
    for lo, hi in zip(les, les[1:]):
        assert buckets[lo] <= buckets[hi]
    assert buckets[float("inf")] == c
    # one HELP/TYPE per family, no duplicate series (the parser checks)
    assert m.text.endswith("\n")


def test_counts_sum_over_workers(nginx, two_workers):
    a, b = two_workers
    snaps = [metrics_via(a)]
    m0b = metrics_via(b)
    # both workers serve the same numbers
    assert snaps[0].samples == m0b.samples
    h0 = hist_view(snaps[0], protocol="tus")
    spool0 = snaps[0].value("ingest_spool_jobs_total", protocol="tus")
    mism0 = snaps[0].value("ingest_upload_checksum_mismatches_total",
                           protocol="tus")

    data = payload(3000, 1)
    up = create(a, 3000)                                     # 201 A
    assert patch(a, up, 0, data[:1000]).status == 204        # 204 A ok
    assert patch(b, up, 1000, data[1000:2000]).status == 204  # 204 B ok
    assert patch(b, up, 0, b"zz").status == 409              # 409 B client
    assert tus_req(b, "HEAD", up).status == 200              # 200 B
    snaps.append(metrics_via(a))
    assert patch(b, up, 2000, data[2000:]).status == 204     # 204 B ok, done
    gone = create(a, 10)                                     # 201 A
    assert tus_req(a, "DELETE", gone).status == 204          # 204 A terminated
    r = tus_req(b, "POST", "/files/", {"Upload-Length": "5"}, tus=False)
    assert r.status == 412                                   # 412 B
    assert tus_req(a, "OPTIONS", "/files/", tus=False).status == 204  # 204 A
    assert tus_req(b, "HEAD", "/files/" + "9" * 32).status == 404     # 404 B
    ck = create(a, 100)                                      # 201 A
    bad = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    r = patch(b, ck, 0, b"q" * 100, {"Upload-Checksum": "sha1 " + bad})
    assert r.status == 460                                   # 460 B client
    snaps.append(metrics_via(b))

    m1 = snaps[-1]
    dl = deltas(snaps[0], m1)
    assert d(dl, "ingest_uploads_created_total", protocol="tus") == 3
    assert d(dl, "ingest_uploads_completed_total", protocol="tus") == 1
    assert d(dl, "ingest_uploads_terminated_total", protocol="tus") == 1
    assert d(dl, "ingest_uploads_failed_total", protocol="tus") == 0
    got = d(dl, "ingest_upload_bytes_received_total", protocol="tus")
    # the discarded (checksum) chunk may or may not count as received
    assert got in (3000, 3100), got
    assert dl[("ingest_http_requests_total",
               (("class", "2xx"), ("module", "tus")))] == 9
    assert dl[("ingest_http_requests_total",
               (("class", "4xx"), ("module", "tus")))] == 4
    assert dl[("ingest_http_requests_total",
               (("class", "5xx"), ("module", "tus")))] == 0
    assert d(dl, "ingest_upload_parts_total", protocol="tus", result="ok") == 3
    assert d(dl, "ingest_upload_parts_total", protocol="tus",
             result="client_error") == 2
    assert d(dl, "ingest_upload_parts_total", protocol="tus",
             result="server_error") == 0
    assert d(dl, "ingest_upload_parts_total", protocol="tus",
             result="aborted") == 0
    assert m1.get("ingest_uploads_active", protocol="tus") == \
        snaps[0].get("ingest_uploads_active", protocol="tus")
    # histogram: every PATCH that was answered is a part; at least the ok ones
    b1, s1, c1 = hist_view(m1, protocol="tus")
    b0, s0, c0 = h0
    assert 3 <= c1 - c0 <= 5, (c0, c1)
    assert s1 >= s0
    assert b1[float("inf")] == c1
    for le in b1:
        assert b1[le] >= b0.get(le, 0)
    if spool0 is not None:
        assert m1.get("ingest_spool_jobs_total", protocol="tus") - spool0 == 1
    if mism0 is not None:
        assert m1.get("ingest_upload_checksum_mismatches_total",
                      protocol="tus") - mism0 == 1
    # the other worker agrees
    assert metrics_via(a).samples == metrics_via(b).samples
    assert_monotonic(snaps)


def test_active_gauge_and_aborted_part(nginx, two_workers):
    a, b = two_workers
    m0 = metrics_via(b)
    active0 = m0.get("ingest_uploads_active", protocol="tus")
    up = create(a, 4 * MiB)
    # an in-flight PATCH on worker A, watched from worker B
    a.send_head("PATCH", up, dict(TUS_HDR, **{"Upload-Offset": "0",
                                             "Content-Type": OCTET}),
                body_len=4 * MiB)
    a.send(payload(100 * KiB, 2))
    wait_until(lambda: (a.assert_no_early_response("PATCH")
                        or metrics_via(b).get("ingest_uploads_active",
                                              protocol="tus") >= active0 + 1),
               timeout=10, what="ingest_uploads_active to count the PATCH")
    a.close()        # the client goes away mid-body
    wait_until(lambda: metrics_via(b).get("ingest_upload_parts_total",
                                          protocol="tus",
                                          result="aborted") >=
               m0.get("ingest_upload_parts_total", protocol="tus",
                      result="aborted") + 1,
               timeout=20, what="the aborted part to be counted")
    wait_until(lambda: metrics_via(b).get("ingest_uploads_active",
                                          protocol="tus") == active0,
               timeout=20, what="ingest_uploads_active back to %s" % active0)
    m1 = metrics_via(b)
    assert m1.get("ingest_upload_parts_total", protocol="tus",
                  result="aborted") - m0.get("ingest_upload_parts_total",
                                             protocol="tus",
                                             result="aborted") == 1
    # what was received was counted
    assert m1.get("ingest_upload_bytes_received_total", protocol="tus") > \
        m0.get("ingest_upload_bytes_received_total", protocol="tus")
    assert_monotonic([m0, m1])


def test_expired_counts_as_failed(nginx):
    m0 = nginx.metrics()
    t = nginx.tus("/expiring/")
    r = t.create(100, body=b"x" * 10)
    assert r.status_code == 201
    uid = r.headers["Location"].rsplit("/", 1)[1]
    data = nginx.store("expiring") / uid
    wait_until(lambda: not data.exists(), timeout=30, interval=0.2,
               what="the cleaner")
    m1 = wait_until(lambda: (lambda m: m if m.get(
        "ingest_uploads_failed_total", protocol="tus") > m0.get(
        "ingest_uploads_failed_total", protocol="tus") else None)(
        nginx.metrics()), timeout=10, what="failed counter")
    assert m1.get("ingest_uploads_failed_total", protocol="tus") - \
        m0.get("ingest_uploads_failed_total", protocol="tus") == 1
    expired0 = m0.value("ingest_uploads_expired_total", protocol="tus")
    if expired0 is not None:
        assert m1.get("ingest_uploads_expired_total", protocol="tus") - \
            expired0 == 1
    assert_monotonic([m0, m1])


def settled_metrics(nginx, tries=50):
    """a worker counts a request in its log phase, just after the client
    got the answer: read until two scrapes agree (the scrape itself is not
    a tus request)"""
    prev = nginx.metrics()
    for _ in range(tries):
        time.sleep(0.05)
        cur = nginx.metrics()
        if all(cur.get(n, **l) == prev.get(n, **l) for n, l in COUNTERS):
            return cur
        prev = cur
    return prev


def test_counters_survive_reload(nginx):
    t = nginx.tus("/files/")
    t.upload(payload(1000, 3))
    m0 = settled_metrics(nginx)
    nginx.reload()
    m1 = nginx.metrics()
    for name, labels in COUNTERS:
        assert m1.get(name, **labels) == m0.get(name, **labels), (name, labels)
    assert hist_view(m1, protocol="tus")[2] == hist_view(m0, protocol="tus")[2]
    t2 = nginx.tus("/files/")
    t2.upload(payload(10, 4))
    m2 = nginx.metrics()
    assert m2.get("ingest_uploads_completed_total", protocol="tus") == \
        m0.get("ingest_uploads_completed_total", protocol="tus") + 1
    assert_monotonic([m0, m1, m2])


def test_include_appends_other_processes_metrics(nginx_factory):
    """ingest_metrics_include: files written by other processes (the
    ffmpeg-worker's worker.prom) are read in a thread and appended; a
    missing file is left out"""
    holder = {}

    def configure(c):
        prom = c.prefix / "worker.prom"
        holder["prom"] = prom
        c.location("= /metrics-all", "ingest_metrics;",
                   "ingest_metrics_include %s;" % prom,
                   "ingest_metrics_include %s;" % (c.prefix / "none.prom"))

    srv = nginx_factory(configure=configure)
    prom = holder["prom"]

    r = requests.get(srv.url("/metrics-all"), timeout=10)
    assert r.status_code == 200
    assert "ingest_transcode_queue_depth" not in r.text
    assert "ingest_uploads_created_total" in r.text

    # written like the worker does: temp + rename, no final newline
    tmp = prom.with_suffix(".tmp")
    tmp.write_text("# TYPE ingest_transcode_queue_depth gauge\n"
                   "ingest_transcode_queue_depth 7")
    tmp.rename(prom)

    for _ in range(20):
        r = requests.get(srv.url("/metrics-all"), timeout=10)
        assert r.status_code == 200
        assert r.text.endswith("ingest_transcode_queue_depth 7\n"), r.text[-200:]
        assert int(r.headers["Content-Length"]) == len(r.content)
        assert "ingest_uploads_created_total" in r.text
