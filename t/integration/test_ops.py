"""
Operations files against promtool (Debian's prometheus package) and the
real metrics:

- ops/prometheus/ingest-alerts.yml passes `promtool check rules`, its unit
  tests (ingest-alerts.test.yml) pass `promtool test rules`, and they
  test every alert both firing and silent;
- every alert has a summary, a description and a runbook_url whose anchor
  is a heading of docs/operations.md;
- a real scrape of nginx's /metrics, taken after tus uploads (so the
  histograms have data) and with the ffmpeg-worker's worker.prom appended
  by ingest_metrics_include after the worker ran a job, passes `promtool
  check metrics`, and so does worker.prom alone;
- docs/metrics.md lists every family of that scrape with its type and
  labels; every metric the rules and the dashboard use exists in the
  scrape (the SRT module's series are printed by the HTTP module, at 0
  without it);
- ops/grafana/ingest-dashboard.json is valid JSON with a Prometheus
  datasource variable, and every PromQL expression in it parses (each is
  wrapped as a recording rule into a temporary file for `promtool check
  rules`, promtool having no query parser of its own).

Skipped without promtool unless CI is set (scripts/install-deps.sh
installs it); the worker parts are skipped when `make worker` fails.
"""

import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import time

import pytest
import requests
import yaml

from harness import REPO, Conf, NginxServer, HarnessError, payload, wait_until


PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
RULES = REPO / "ops" / "prometheus" / "ingest-alerts.yml"
RULE_TESTS = REPO / "ops" / "prometheus" / "ingest-alerts.test.yml"
PROM_CONF = REPO / "ops" / "prometheus" / "prometheus.example.yml"
DASHBOARD = REPO / "ops" / "grafana" / "ingest-dashboard.json"
METRICS_DOC = REPO / "docs" / "metrics.md"
OPS_DOC = REPO / "docs" / "operations.md"
SAN_RE = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")
# INGEST_WORKER_BIN: another build of the daemon (CI: the ASan one)
WORKER = Path(os.environ.get("INGEST_WORKER_BIN", str(
    REPO / "ffmpeg-worker" / "build" / "ingest-worker")))
RUNBOOK_BASE = "https://docs.example.com/nginx-ingest/docs/operations.md#"

# the SRT module's series the guide's figures need (docs/metrics.md)
SRT_METRICS = {"srt_packets_received_total", "srt_packet_loss_total",
               "srt_retransmits_total", "srt_rtt_seconds",
               "srt_streams_active", "ingest_connection_errors_total"}

# Grafana's variables, replaced before an expression goes to promtool
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m",
                "$__range": "1h", "$instance": ".*"}

GUIDE_FIGURES = ["upload.success_rate", "upload.part_duration.p95",
                 "ingest.connection_errors", "srt.packet_loss",
                 "srt.retransmits", "srt.rtt", "transcode.queue_depth"]

WORKER_CONF = """\
workers 1;
webhooks off;
log_level info;
lease_time 5s;
heartbeat 1s;
reclaim_interval 1s;
poll_interval 200ms;
max_attempts 1;
profile default {
    preset ultrafast;
    segment_duration 1s;
    rung 180 200k 300k;
    passthrough off;
}
"""


# --------------------------------------------------------------------------
# helpers


@pytest.fixture(scope="module")
def promtool():
    if not os.access(PROMTOOL, os.X_OK):
        msg = ("promtool not found: install Debian's prometheus package "
               "(scripts/install-deps.sh)")
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return PROMTOOL


def run_promtool(promtool, *args, stdin=None, cwd=None):
    r = subprocess.run([promtool, *args], input=stdin, capture_output=True,
                       text=True, timeout=120, cwd=cwd)
    return r.returncode, (r.stdout + r.stderr).strip()


def load_rules():
    return yaml.safe_load(RULES.read_text())


def alert_rules():
    return [r for g in load_rules()["groups"] for r in g["rules"]
            if "alert" in r]


def github_anchors(markdown):
    """the anchors GitHub makes of a document's headings"""
    anchors = set()
    for line in markdown.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"`", "", m.group(1)).lower()
        text = re.sub(r"[^\w\- ]", "", text)
        anchors.add(text.replace(" ", "-"))
    return anchors


def metric_names(expr):
    """the ingest_*/srt_* series (and up) an expression reads"""
    return set(re.findall(
        r"(?<![\w:])((?:ingest|srt)_[a-z0-9_]+|up)(?![\w:])", expr))


def is_known(name, known):
    if name in known:
        return True
    return any(name.endswith(s) and name[:-len(s)] in known
               for s in ("_bucket", "_sum", "_count"))


def parse_exposition(text):
    """{family: type}, [(name, {labels})] of a Prometheus text output"""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind.strip()
        elif line and not line.startswith("#"):
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s", line)
            assert m, line
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                                     m.group(2) or ""))
            samples.append((m.group(1), labels))
    return types, samples


def family_of(name, types):
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[:-len(suffix)] in types:
            return name[:-len(suffix)]
    raise AssertionError("sample %s has no TYPE line" % name)


def doc_rows():
    """{metric: (type cell, labels cell)} of the tables of docs/metrics.md"""
    rows = {}
    for line in METRICS_DOC.read_text().splitlines():
        m = re.match(r"^\| `([a-z0-9_]+)` \| (\w+) \| ([^|]*) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


# --------------------------------------------------------------------------
# rules


def test_rules_pass_promtool_check(promtool):
    rc, out = run_promtool(promtool, "check", "rules", str(RULES))
    assert rc == 0, out
    assert "SUCCESS" in out, out


def test_rule_unit_tests_pass(promtool):
    rc, out = run_promtool(promtool, "test", "rules", RULE_TESTS.name,
                           cwd=RULE_TESTS.parent)
    assert rc == 0, out
    assert "SUCCESS" in out, out


def test_prometheus_example_config(promtool):
    rc, out = run_promtool(promtool, "check", "config", PROM_CONF.name,
                           cwd=PROM_CONF.parent)
    assert rc == 0, out


def test_every_alert_is_tested_firing_and_silent():
    names = {r["alert"] for r in alert_rules()}
    fired, silent = set(), set()
    for t in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in t.get("alert_rule_test", []):
            if case.get("exp_alerts"):
                fired.add(case["alertname"])
            else:
                silent.add(case["alertname"])
    assert names - fired == set(), "alerts never tested firing"
    assert names - silent == set(), "alerts never tested silent"
    assert fired | silent <= names, "tests of alerts that do not exist"


def test_alerts_have_annotations_and_runbook_anchors():
    anchors = github_anchors(OPS_DOC.read_text())
    for rule in alert_rules():
        name = rule["alert"]
        ann = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            assert ann.get(key), "%s has no %s" % (name, key)
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        url = ann["runbook_url"]
        assert url.startswith(RUNBOOK_BASE), url
        anchor = url[len(RUNBOOK_BASE):]
        assert anchor == name.lower(), (name, anchor)
        assert anchor in anchors, (
            "%s: docs/operations.md has no heading for #%s" % (name, anchor))


def test_guide_thresholds_in_rules():
    """the guide's numbers, where the issue put them"""
    by_name = {}
    for r in alert_rules():
        by_name.setdefault(r["alert"], []).append(r)

    def one(name, severity="warning"):
        rules = [r for r in by_name[name]
                 if r["labels"]["severity"] == severity]
        assert len(rules) == 1, (name, severity)
        return rules[0]

    assert re.search(r">\s*0\.01\s*$", one("IngestUploadErrorRateHigh")["expr"])
    q = one("IngestTranscodeQueueDepthHigh")
    assert re.search(r">\s*50\s*$", q["expr"]) and q["for"] == "30s"
    assert re.search(r">\s*0\.01\s*$", one("IngestSRTPacketLossHigh")["expr"])
    assert re.search(r">\s*0\.02\s*$",
                     one("IngestSRTPacketLossHigh", "critical")["expr"])
    assert re.search(r">\s*0\.005\s*$", one("IngestSRTRetransmitsHigh")["expr"])
    assert re.search(r">\s*30\s*$", one("IngestUploadPartDurationHigh")["expr"])


# --------------------------------------------------------------------------
# a real scrape: nginx after uploads, the worker after a job


def _clip(path):
    """a 1 s H.264/AAC clip, or None without ffmpeg"""
    if shutil.which("ffmpeg") is None:
        return None
    r = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        capture_output=True, timeout=120)
    return path if r.returncode == 0 else None


def _worker_bin():
    if WORKER.exists():
        return WORKER
    try:
        subprocess.run(["make", "-s", "-C", str(REPO), "worker"],
                       capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return None
    return WORKER if WORKER.exists() else None


class Scrape:
    nginx_text = None       # /metrics (nginx + worker.prom)
    worker_text = None      # worker.prom alone, None without a worker
    worker_skip = None


@pytest.fixture(scope="module")
def scrape(tmp_path_factory):
    base = tmp_path_factory.mktemp("ops")
    spool = base / "spool"
    for d in ("tmp", "incoming"):
        (spool / d).mkdir(parents=True)
    prom = spool / "worker.prom"

    c = Conf(base / "nginx")
    c.location("/files/", "tus on;", "tus_store %s;" % c.store("files"),
               "tus_spool %s;" % spool, "client_max_body_size 0;")
    c.location("= /metrics", "ingest_metrics;",
               "ingest_metrics_include %s;" % prom)
    c.stores["files"].mkdir(parents=True)
    srv = NginxServer(c)
    try:
        srv.start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)

    worker = log = None
    s = Scrape()
    try:
        wbin = _worker_bin()
        if wbin is None:
            s.worker_skip = "ffmpeg-worker could not be built (make worker)"
        else:
            (base / "worker.conf").write_text(WORKER_CONF)
            log = open(base / "worker.log", "wb")
            worker = subprocess.Popen(
                [str(wbin), "-f", "-c", str(base / "worker.conf"),
                 "-p", str(spool), "-o", str(base / "hls")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        tus = srv.tus("/files/")
        clip = _clip(base / "clip.mp4")
        clip_id = None
        if clip is not None:
            data = clip.read_bytes()
            _, clip_id = tus.upload(data, chunk=max(len(data) // 3, 1))
        # more parts of several sizes, a client error and a non-video
        # upload (which the worker fails)
        for i, size in enumerate((1000, 70000, 300000)):
            tus.upload(payload(size, i), chunk=32768)
        url, _ = tus.create_ok(100)
        r = tus.patch(url, 50, b"x" * 10)
        assert r.status_code == 409, r.status_code

        if worker is not None:
            done = spool / "done" / ("%s.json" % clip_id) if clip_id else None

            def finished():
                if worker.poll() is not None:
                    raise AssertionError("ingest-worker exited: %s" %
                                         (base / "worker.log").read_text())
                text = prom.read_text() if prom.exists() else ""
                ok = 'outcome="failed"} 0' not in text
                if done is not None:
                    ok = ok and done.exists() and \
                        'outcome="done"} 0' not in text
                return ok and text
            s.worker_text = wait_until(finished, timeout=120, interval=0.2,
                                       what="the worker's jobs in worker.prom")
        time.sleep(0.2)     # the last request's log phase
        r = requests.get(srv.url("/metrics"), timeout=30)
        assert r.status_code == 200
        s.nginx_text = r.text
        (base / "scrape.prom").write_text(r.text)
        yield s
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            log.close()
            # a worker built with sanitizers reports to its stderr
            text = (base / "worker.log").read_text(errors="replace")
            assert not SAN_RE.search(text), text[-6000:]
        srv.stop()
        srv.assert_clean_log()


def test_scrape_passes_promtool_check_metrics(promtool, scrape):
    types, samples = parse_exposition(scrape.nginx_text)
    # the histograms have data
    count = [l for l in scrape.nginx_text.splitlines() if l.startswith(
        'ingest_upload_part_duration_seconds_count{protocol="tus"}')]
    assert count and float(count[0].split()[-1]) > 0, count
    if scrape.worker_text is not None:
        assert "ingest_transcode_queue_depth" in types
    rc, out = run_promtool(promtool, "check", "metrics",
                           stdin=scrape.nginx_text)
    assert rc == 0 and out == "", (
        "promtool check metrics on /metrics (exit %d):\n%s" % (rc, out))


def test_worker_prom_passes_promtool_check_metrics(promtool, scrape):
    if scrape.worker_text is None:
        pytest.skip(scrape.worker_skip)
    assert "ingest_transcode_job_duration_seconds_count" in scrape.worker_text
    rc, out = run_promtool(promtool, "check", "metrics",
                           stdin=scrape.worker_text)
    assert rc == 0 and out == "", (
        "promtool check metrics on worker.prom (exit %d):\n%s" % (rc, out))


def test_promtool_check_metrics_is_not_vacuous(promtool):
    """a counter without _total is reported: the check above means it"""
    bad = "# HELP x_requests Requests.\n# TYPE x_requests counter\n" \
          "x_requests 1\n"
    rc, out = run_promtool(promtool, "check", "metrics", stdin=bad)
    assert rc != 0 and "_total" in out, (rc, out)


def test_metrics_doc_lists_every_series(scrape):
    types, samples = parse_exposition(scrape.nginx_text)
    if scrape.worker_text is not None:
        wt, ws = parse_exposition(scrape.worker_text)
        types.update(wt)
        samples += ws
    rows = doc_rows()
    missing = sorted(set(types) - set(rows))
    assert not missing, "docs/metrics.md does not list %s" % missing
    for family, kind in types.items():
        assert rows[family][0] == kind, (family, kind, rows[family][0])
    for name, labels in samples:
        family = family_of(name, types)
        for key in labels:
            if key == "le":
                continue
            assert "`%s`" % key in rows[family][1] or \
                '%s="' % key in rows[family][1], (
                "docs/metrics.md: label %s of %s is not documented"
                % (key, family))
    # the series the guide's SRT figures are computed from exist
    for name in SRT_METRICS:
        assert name in types and name in rows, name


def test_rules_and_dashboard_use_real_names(scrape):
    types, _ = parse_exposition(scrape.nginx_text)
    known = set(types) | {"up"}
    if scrape.worker_text is not None:
        known |= set(parse_exposition(scrape.worker_text)[0])
    else:
        known |= {n for n in doc_rows() if n.startswith("ingest_transcode")
                  or n.startswith("ingest_live")}
    used = {}
    for g in load_rules()["groups"]:
        for r in g["rules"]:
            for n in metric_names(r["expr"]):
                used.setdefault(n, r.get("alert") or r.get("record"))
    for name, expr in dashboard_exprs():
        for n in metric_names(expr):
            used.setdefault(n, name)
    unknown = {n: where for n, where in used.items()
               if not is_known(n, known)}
    assert not unknown, "series that no one exports: %s" % unknown


# --------------------------------------------------------------------------
# the dashboard


def dashboard_exprs():
    d = json.loads(DASHBOARD.read_text())
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append(("panel %s %r %s" % (p["id"], p["title"],
                                                t["refId"]), t["expr"]))
            walk(p.get("panels", []))
    walk(d["panels"])
    for a in d.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append(("annotation %r" % a["name"], a["expr"]))
    return out


def check_exprs(promtool, tmp_path, exprs):
    rules = []
    for i, (where, expr) in enumerate(exprs):
        for var, value in GRAFANA_VARS.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, "unknown Grafana variable in %s: %s" % (
            where, expr)
        rules.append({"record": "dashboard:expr_%d" % i, "expr": expr})
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [
        {"name": "dashboard", "rules": rules}]}))
    return run_promtool(promtool, "check", "rules", str(path))


def test_dashboard_is_valid_json():
    d = json.loads(DASHBOARD.read_text())
    assert 36 <= d["schemaVersion"] <= 41, d["schemaVersion"]
    assert d["uid"] and d["title"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in d["panels"]:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        if p.get("targets"):
            assert p["datasource"]["uid"] == "${datasource}", p["title"]
            for t in p["targets"]:
                assert t["datasource"]["uid"] == "${datasource}", p["title"]


def test_dashboard_exprs_parse(promtool, tmp_path):
    exprs = dashboard_exprs()
    assert len(exprs) > 20
    rc, out = check_exprs(promtool, tmp_path, exprs)
    assert rc == 0, out
    assert "SUCCESS: %d rules found" % len(exprs) in out, out


def test_dashboard_expr_check_is_not_vacuous(promtool, tmp_path):
    rc, out = check_exprs(promtool, tmp_path,
                          [("broken", "sum(rate(ingest_uploads_created_total"
                                      "[$__rate_interval])")])
    assert rc != 0, out


def test_dashboard_shows_guide_figures_and_thresholds():
    d = json.loads(DASHBOARD.read_text())
    panels = [p for p in d["panels"] if p["type"] != "row"]
    titles = " ".join(p["title"] for p in panels)
    for figure in GUIDE_FIGURES:
        assert "(%s)" % figure in titles, figure

    def thresholds(word):
        vals = set()
        for p in panels:
            if word in p["title"]:
                steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
                vals |= {s["value"] for s in steps if s["value"] is not None}
        return vals

    assert 0.99 in thresholds("upload.success_rate")
    assert 30 in thresholds("upload.part_duration.p95")
    assert 50 in thresholds("transcode.queue_depth")
    assert {0.01, 0.02} <= thresholds("srt.packet_loss")
    assert 0.005 in thresholds("srt.retransmits")
    assert 0.01 in thresholds("Upload part error rate")
    assert 0.01 in thresholds("LL-HLS 503")
    # thresholds are drawn on the time series
    drawn = [p for p in panels if p["type"] == "timeseries"
             and p["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]
             ["mode"] != "off"]
    assert len(drawn) >= 8
