#!/usr/bin/python3
"""
Fault injection (issue 8): trials that kill or replace processes in the
middle of uploads, live streams and jobs, and check that nothing is lost.

    bench/chaos/chaos.py                     # every scenario, default counts
    bench/chaos/chaos.py --only a,b --trials 20
    make chaos                               # the same as the first line

Scenarios (default trial counts in brackets):

  a  [100] kill -9 of the nginx worker serving a tus PATCH, in the middle
           of the body: after the respawn the offset is the bytes on
           disk, a prefix of the source; the next PATCH is not 423 (no
           orphaned lock); the client resumes to a byte-exact file and
           a spool job; error.log has only nginx's alert for that pid
  b  [100] the same for an S3 UploadPart (presigned URL, raw socket):
           the part is absent or whole (a part sent again that is cut
           leaves the earlier one intact), re-sending it and completing
           gives a byte-exact object
  c   [30] kill -9 a few ms after a CompleteMultipartUpload of 64 MiB was
           sent (parts in place, completed by rename, and parts in files
           of their own, completed by copying): the object is complete
           and byte-exact, or the upload is still there and a second
           Complete succeeds
  d    [3] `nginx -s reload` and a binary upgrade (USR2, WINCH, QUIT of
           the old master; docs/operations.md) during 20 uploads (tus and
           S3, clients resume after connection errors) and 2 SRT
           publishes (publishers reconnect): every upload byte-exact,
           both streams live again, no [alert]/[crit]
  e    [3] redis-server killed (SIGKILL) and restarted under the worker
           in Redis mode (append-only file, fsync always): every job is
           done exactly once
  f    [6] the transcode worker killed mid-job: the job process alone
           (the master respawns it) or the whole daemon (restarted): the
           job is done exactly once, output complete, nothing left over

Everything runs on 127.0.0.1 with private instances under
build/chaos/<timestamp>/ (removed unless --keep). Each scenario has a
deadline (--deadline seconds, default 900); trials that did not run are
reported as such. The modules and the worker binary are copied first, so
a rebuild during the run does not change what is tested.

Prints a table (scenario, trials, passes, failures) and the reasons of the
failures; exits 1 when any trial failed.
"""

import argparse
import ctypes
import hashlib
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "t" / "integration"))

import harness as H                                           # noqa: E402
from harness import (                                         # noqa: E402
    Conf, NginxServer, RawConn, TUS_HDR, OCTET, MiB, KiB, big_payload,
    sha256, sha256_file, wait_until)


def _load_worker_harness():
    spec = importlib.util.spec_from_file_location(
        "worker_harness", ROOT / "t" / "worker" / "harness.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


AK, SK = "AKIACHAOS00000000001", "chaos-secret-000001"
ACCOUNT = "chaos"
BUCKET = "media"
SIGKILL_ALERT = r"\[alert\] %d#%d: worker process %d exited on signal 9$"


class TrialError(Exception):
    pass


def check(cond, reason):
    if not cond:
        raise TrialError(reason)


def log(msg):
    print("chaos: %s" % msg, flush=True)


# --------------------------------------------------------------------------
# results


class Results:
    def __init__(self):
        self.rows = {}          # scenario -> dict
        self.order = []

    def scenario(self, name, title):
        self.order.append(name)
        self.rows[name] = {"title": title, "trials": 0, "passes": 0,
                           "failures": [], "skipped": None, "notes": [],
                           "seconds": 0.0, "outcomes": {}}
        return self.rows[name]

    def table(self):
        out = ["| scenario | trials | passes | failures | seconds | "
               "outcomes |", "|---|---:|---:|---:|---:|---|"]
        for n in self.order:
            r = self.rows[n]
            if r["skipped"]:
                out.append("| %s %s | - | - | - | - | skipped: %s |"
                           % (n, r["title"], r["skipped"]))
                continue
            oc = ", ".join("%s %d" % kv for kv in sorted(r["outcomes"]
                                                         .items()))
            out.append("| %s %s | %d | %d | %d | %.0f | %s |"
                       % (n, r["title"], r["trials"], r["passes"],
                          len(r["failures"]), r["seconds"], oc))
        return "\n".join(out)

    def failed(self):
        return any(r["failures"] for r in self.rows.values())


def run_trials(row, count, deadline, trial_fn, stop_after_failures=None):
    """runs trial_fn(i) count times or until the deadline; a trial returns
    an outcome label or raises TrialError / anything"""
    t0 = time.monotonic()
    end = t0 + deadline
    for i in range(count):
        if time.monotonic() > end:
            row["notes"].append("deadline reached after %d of %d trials"
                                % (i, count))
            break
        if stop_after_failures is not None and \
                len(row["failures"]) >= stop_after_failures:
            row["notes"].append("stopped after %d failures"
                                % len(row["failures"]))
            break
        row["trials"] += 1
        try:
            outcome = trial_fn(i) or "ok"
            if os.environ.get("CHAOS_VERBOSE"):
                log("  trial %d: %s" % (i, outcome))
            row["passes"] += 1
            row["outcomes"][outcome] = row["outcomes"].get(outcome, 0) + 1
        except TrialError as e:
            row["failures"].append("trial %d: %s" % (i, e))
            log("  trial %d FAILED: %s" % (i, e))
        except Exception as e:              # noqa: BLE001 (reported)
            row["failures"].append("trial %d: %s: %s" % (
                i, type(e).__name__, e))
            log("  trial %d FAILED: %s" % (i, traceback.format_exc()))
    row["seconds"] = time.monotonic() - t0


# --------------------------------------------------------------------------
# nginx helpers


_boto_lock = threading.Lock()


def s3_boto(port, retries=1):
    import boto3
    from botocore.config import Config as BotoConfig
    # boto3's default session is not thread-safe: a session per client
    with _boto_lock:
        return boto3.session.Session().client(
            "s3", endpoint_url="http://127.0.0.1:%d" % port,
            region_name="us-east-1", aws_access_key_id=AK,
            aws_secret_access_key=SK,
            config=BotoConfig(s3={"addressing_style": "path"},
                              signature_version="s3v4",
                              connect_timeout=10, read_timeout=60,
                              retries={"max_attempts": retries}))


def upload_conf(prefix, module, workers=2):
    c = Conf(prefix, module=module, workers=workers)
    spool = c.spool
    for d in ("tmp", "incoming"):
        (spool / d).mkdir(parents=True, exist_ok=True)
    store = c.prefix / "store"
    for d in ("tus", "s3"):
        (store / d).mkdir(parents=True, exist_ok=True)
    c.location("/files/", "tus on;", "tus_store %s/tus;" % store,
               "tus_spool %s;" % spool, "tus_max_size 1g;",
               "client_max_body_size 0;")
    c.location("/", "ingest_s3 on;", "ingest_s3_store %s/s3;" % store,
               "ingest_s3_spool %s;" % spool,
               "ingest_s3_credentials %s %s %s;" % (AK, SK, ACCOUNT),
               "ingest_s3_buckets %s;" % BUCKET,
               "client_max_body_size 0;")
    c.location("= /metrics", "ingest_metrics;")
    # the S3 sweep every second (scenario c checks what it removes)
    c.http.append("ingest_s3_cleanup_interval 1s;")
    return c


class PacedBody:
    """sends a request head, then its body in steps from a thread;
    `reached` is set once `trigger` bytes of the body have been sent"""

    def __init__(self, conn, method, path, headers, body, trigger,
                 step=128 * KiB, pause=0.003):
        self.conn = conn
        self.body = body
        self.step = step
        self.pause = pause
        self.trigger = trigger
        self.sent = 0
        self.reached = threading.Event()
        self.stop = threading.Event()
        conn.send_head(method, path, headers, body_len=len(body))
        if trigger <= 0:
            self.reached.set()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for i in range(0, len(self.body), self.step):
                if self.stop.is_set():
                    break
                piece = self.body[i:i + self.step]
                self.conn.send(piece)
                self.sent = i + len(piece)
                if self.sent >= self.trigger:
                    self.reached.set()
                if self.pause:
                    time.sleep(self.pause)
        except OSError:
            pass
        self.reached.set()

    def end(self):
        self.stop.set()
        self.thread.join(30)
        self.conn.close()


def kill_worker(srv, pid, timeout=20):
    """kill -9 of one nginx worker; waits for the respawn and the log line;
    returns the regex of the one alert this may cause"""
    master = srv.master_pid
    allowed = re.compile(SIGKILL_ALERT % (master, master, pid))
    srv.allowed.append(allowed)
    os.kill(pid, signal.SIGKILL)

    def respawned():
        died = srv.health_problem()
        if died:
            raise TrialError("after kill -9 of worker %d: %s" % (pid, died))
        pids = srv.worker_pids()
        return pid not in pids and len(pids) == srv.conf.workers

    wait_until(respawned, timeout=timeout, what="the respawn of %d" % pid)
    wait_until(lambda: re.search(r"worker process %d exited on signal 9"
                                 % pid, srv.read_log()),
               timeout=10, what="the exit of %d in the log" % pid)
    return allowed


def log_check(srv, since, allowed):
    """forbidden lines written since the offsets, but the allowed ones"""
    bad = []
    for p, off in zip((srv.error_log, srv.stderr_log), since):
        if not p.exists():
            continue
        with open(p, "rb") as f:
            f.seek(off)
            text = f.read().decode(errors="replace")
        for line in text.splitlines():
            if H.BAD_LOG_RE.search(line) and not any(
                    a.search(line) for a in allowed):
                bad.append(line)
    return bad


def rm_glob(d, pattern):
    for p in Path(d).glob(pattern):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                p.unlink()
            except FileNotFoundError:
                pass


# --------------------------------------------------------------------------
# a: kill -9 in the middle of a tus PATCH


def scenario_a(row, ctx, count):
    srv = NginxServer(upload_conf(ctx.work / "a", ctx.module))
    srv.start()
    store = srv.prefix / "store" / "tus"
    spool = srv.spool / "incoming"
    rnd = random.Random(ctx.seed)

    def trial(i):
        size = rnd.choice([6, 8, 12, 16]) * MiB
        data = big_payload(size, 1000 + i)
        since = srv.log_offsets()
        t = srv.tus("/files/")
        url, uid = t.create_ok(size)
        datafile = store / uid
        start = 0
        if rnd.random() < 0.3:
            # a first chunk by a normal PATCH: the cut one starts later
            start = rnd.choice([1, 2, 3]) * MiB
            r = t.patch(url, 0, data[:start])
            check(r.status_code == 204, "first PATCH: %d" % r.status_code)
        rest = data[start:]
        # where to cut: most inside the body, some right after its head,
        # some after the last byte was sent (before or after the answer)
        u = rnd.random()
        if u < 0.1:
            trigger, mode = 0, "head"
        elif u < 0.2:
            trigger, mode = len(rest), "end"
        else:
            trigger, mode = rnd.randrange(64 * KiB, len(rest) - 64 * KiB), \
                "body"
        conn, pid = srv.connect_worker()
        p = PacedBody(conn, "PATCH", "/files/" + uid,
                      dict(TUS_HDR, **{"Upload-Offset": str(start),
                                       "Content-Type": OCTET}),
                      rest, trigger)
        try:
            check(p.reached.wait(60), "the body never reached the trigger")
            if mode == "end":
                time.sleep(rnd.uniform(0, 0.01))
            allowed = kill_worker(srv, pid)
        finally:
            p.end()
        sent = p.sent           # what the socket took, up to the kill

        h = t.head(url)
        check(h.status_code == 200, "HEAD after the kill: %d"
              % h.status_code)
        off = int(h.headers["Upload-Offset"])
        disk = datafile.stat().st_size
        check(off == disk, "offset %d but %d bytes on disk" % (off, disk))
        check(start <= off <= start + sent,
              "offset %d outside [%d, %d]" % (off, start, start + sent))
        with open(datafile, "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == sha256(data[:off]),
                  "the %d bytes on disk are not a prefix of the source"
                  % off)
        # no orphaned lock: an empty PATCH at the offset is accepted
        r = t.patch(url, off, b"")
        check(r.status_code == 204, "the next PATCH got %d (423: the dead "
              "writer's lock outlived it)" % r.status_code)
        if off < size:
            t.send_all(url, data, start=off, chunk=4 * MiB)
        check(sha256_file(datafile) == sha256(data),
              "the finished upload is not byte-exact")
        job = spool / ("%s.json" % uid)
        try:
            wait_until(job.exists, timeout=10, what="the spool job")
        except AssertionError:
            raise TrialError("upload complete (offset %d of %d after the "
                             "kill) but no spool job" % (off, size))
        check(json.loads(job.read_text())["size"] == size, "job size")
        bad = log_check(srv, since, [allowed])
        check(not bad, "error.log: %s" % bad[:3])
        # tidy: the data, the record and the job
        rm_glob(store, uid + "*")
        job.unlink()
        if off == size:
            return "cut after the last byte, upload complete"
        return "cut at %s, resumed" % ("head" if off == start else mode)

    try:
        run_trials(row, count, ctx.deadline, trial)
    finally:
        srv.stop(check=False)
    bad = log_check(srv, (0, 0), srv.allowed)
    if bad:
        row["failures"].append("error.log of the instance: %s" % bad[:5])


# --------------------------------------------------------------------------
# b: kill -9 in the middle of an S3 UploadPart


def presigned(c, op, **params):
    u = urllib.parse.urlsplit(c.generate_presigned_url(
        op, Params=dict(Bucket=BUCKET, **params), ExpiresIn=3600))
    return u.path + "?" + u.query


def md5(b):
    return hashlib.md5(b).hexdigest()


def scenario_b(row, ctx, count):
    from botocore.exceptions import ClientError
    srv = NginxServer(upload_conf(ctx.work / "b", ctx.module))
    srv.start()
    c = s3_boto(srv.port)
    rnd = random.Random(ctx.seed + 1)
    s3store = srv.prefix / "store" / "s3"

    def trial(i):
        since = srv.log_offsets()
        key = "chaos/b%03d.bin" % i
        p1 = big_payload(5 * MiB, 2000 + i)
        # in place (<= the stride), in a file of its own (> the stride),
        # or replacing a part already there
        variant = ["in-place", "own-file", "replace"][i % 3]
        size2 = (rnd.choice([2, 3, 4, 5]) * MiB if variant != "own-file"
                 else rnd.choice([6, 7, 8]) * MiB)
        p2 = big_payload(size2, 3000 + i)
        uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        e1 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=1, Body=p1)["ETag"]
        old = None
        if variant == "replace":
            old = big_payload(size2, 4000 + i)
            c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                          PartNumber=2, Body=old)
        u = rnd.random()
        if u < 0.1:
            trigger, mode = 0, "head"
        elif u < 0.2:
            trigger, mode = len(p2), "end"
        else:
            trigger, mode = rnd.randrange(64 * KiB, len(p2) - 64 * KiB), \
                "body"
        conn, pid = srv.connect_worker()
        p = PacedBody(conn, "PUT", presigned(c, "upload_part", Key=key,
                                             UploadId=uid, PartNumber=2),
                      {}, p2, trigger)
        try:
            check(p.reached.wait(60), "the body never reached the trigger")
            if mode == "end":
                time.sleep(rnd.uniform(0, 0.01))
            allowed = kill_worker(srv, pid)
        finally:
            p.end()

        parts = {q["PartNumber"]: q for q in c.list_parts(
            Bucket=BUCKET, Key=key, UploadId=uid).get("Parts", [])}
        check(1 in parts and parts[1]["Size"] == len(p1),
              "part 1 changed: %r" % parts.get(1))
        got = parts.get(2)
        if got is None:
            check(old is None, "the part being replaced was lost")
            outcome = "absent"
        elif got["Size"] == len(p2) and got["ETag"].strip('"') == md5(p2):
            outcome = "whole (new)"
        elif old is not None and got["Size"] == len(old) \
                and got["ETag"].strip('"') == md5(old):
            outcome = "whole (earlier)"
        else:
            raise TrialError("part 2 is neither absent nor whole: %r" % got)
        e2 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=2, Body=p2)["ETag"]
        try:
            c.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=uid,
                MultipartUpload={"Parts": [
                    {"PartNumber": 1, "ETag": e1},
                    {"PartNumber": 2, "ETag": e2}]})
        except ClientError as e:
            raise TrialError("Complete after the re-upload: %s" % e)
        body = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        check(sha256(body) == sha256(p1 + p2), "object not byte-exact")
        left = [q.name for q in (s3store / "uploads").iterdir()]
        check(not left, "left in uploads/ after completion: %s" % left[:5])
        c.delete_object(Bucket=BUCKET, Key=key)
        bad = log_check(srv, since, [allowed])
        check(not bad, "error.log: %s" % bad[:3])
        rm_glob(srv.spool / "incoming", "*.json")
        return "%s: %s" % (variant, outcome)

    try:
        run_trials(row, count, ctx.deadline, trial)
    finally:
        srv.stop(check=False)
    bad = log_check(srv, (0, 0), srv.allowed)
    if bad:
        row["failures"].append("error.log of the instance: %s" % bad[:5])


# --------------------------------------------------------------------------
# c: kill -9 during CompleteMultipartUpload


def complete_xml(etags):
    return ("<CompleteMultipartUpload>" + "".join(
        "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (n, e)
        for n, e in etags) + "</CompleteMultipartUpload>").encode()


def s3_state(store, uid):
    """what of an upload and its object is on disk"""
    found = []
    for q in sorted(store.rglob("*")):
        rel = str(q.relative_to(store))
        if uid in rel and q.is_file():
            found.append(re.sub(r"\.[0-9a-f]{32}$", ".<md5>",
                                rel.replace(uid, "<id>")))
    for q in sorted(store.rglob("*.tmp")):
        if uid not in str(q):
            found.append(str(q.relative_to(store)))
    return ", ".join(f for f in found if not re.search(r"/\d+\.i$", f)) + \
        " (+ %d part records)" % sum(1 for f in found
                                     if re.search(r"/\d+\.i$", f))


def scenario_c(row, ctx, count):
    from botocore.exceptions import ClientError
    srv = NginxServer(upload_conf(ctx.work / "c", ctx.module))
    srv.start()
    c = s3_boto(srv.port)
    rnd = random.Random(ctx.seed + 2)
    s3store = srv.prefix / "store" / "s3"
    total = 64 * MiB
    data = big_payload(total, 5000)
    want = sha256(data)

    def layout(i):
        if i % 2 == 0:
            return "rename", [8 * MiB] * 8          # all in place
        # a 5 MiB stride: the larger parts go to files of their own
        return "copy", [5 * MiB] + [8 * MiB] * 7 + [3 * MiB]

    def upload_parts(key, sizes):
        uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        etags, off = [], 0
        for n, s in enumerate(sizes, 1):
            e = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                              PartNumber=n, Body=data[off:off + s])["ETag"]
            etags.append((n, e))
            off += s
        return uid, etags

    # how long a Complete takes here: the kills are spread over that
    took = {}
    for i in range(4):
        mode, sizes = layout(i)
        key = "chaos/calibrate%d.bin" % i
        uid, etags = upload_parts(key, sizes)
        body = complete_xml(etags)
        with srv.connect() as conn:
            conn.send_head("POST", presigned(c, "complete_multipart_upload",
                                             Key=key, UploadId=uid),
                           {"Content-Type": "application/xml"},
                           body_len=len(body))
            t0 = time.monotonic()
            conn.send(body)
            r = conn.read_response("POST")
            took.setdefault(mode, []).append(time.monotonic() - t0)
        if r.status != 200:
            raise TrialError("calibration Complete: %d %r" % (r.status,
                                                              r.body[:200]))
        c.delete_object(Bucket=BUCKET, Key=key)
    took = {m: max(v) for m, v in took.items()}
    row["notes"].append("a Complete takes %s" % ", ".join(
        "%.1f ms (%s)" % (v * 1000, m) for m, v in sorted(took.items())))
    rm_glob(srv.spool / "incoming", "*.json")

    def trial(i):
        since = srv.log_offsets()
        key = "chaos/c%03d.bin" % i
        mode, sizes = layout(i)
        uid, etags = upload_parts(key, sizes)
        body = complete_xml(etags)
        delay = rnd.uniform(0, 1.3 * took[mode])
        conn, pid = srv.connect_worker()
        conn.send_head("POST", presigned(c, "complete_multipart_upload",
                                         Key=key, UploadId=uid),
                       {"Content-Type": "application/xml"},
                       body_len=len(body))
        conn.send(body)
        time.sleep(delay)
        allowed = kill_worker(srv, pid)
        answered = conn.early_response("POST")
        conn.close()
        try:
            return judge(i, key, uid, etags, mode, answered, since, allowed)
        finally:
            # whatever happened, the next trial starts from a clean store
            rm_glob(s3store / "uploads", uid + "*")
            rm_glob(s3store / "objects", uid + "*")
            rm_glob(srv.spool / "incoming", "*.json")
            for q in s3store.rglob("*.tmp"):
                q.unlink()
            for q in (s3store / "buckets").rglob("*"):
                if q.is_file():
                    q.unlink()

    def api(fn):
        """(result, None) or (None, error code)"""
        try:
            return fn(), None
        except ClientError as e:
            return None, e.response["Error"]["Code"]

    def sweep_removes(updir, nparts):
        old = time.time() - 2 * 3600
        os.utime(updir, (old, old))
        deadline = time.monotonic() + 10
        while updir.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if updir.exists():
            raise TrialError("object complete, but uploads/<id>/ (%d "
                             "files) without its record is not removed "
                             "by the sweep" % nparts)

    def judge(i, key, uid, etags, mode, answered, since, allowed):
        state = s3_state(s3store, uid)
        info = (s3store / "uploads" / (uid + ".info")).exists()
        updir = (s3store / "uploads" / uid).exists()
        nparts = len(list((s3store / "uploads" / uid).glob("*"))) \
            if updir else 0
        tmps = [str(q.relative_to(s3store)) for q in s3store.rglob("*.tmp")]
        obj, code = api(lambda: c.get_object(
            Bucket=BUCKET, Key=key)["Body"].read())
        check(code in (None, "NoSuchKey"), "GetObject: %s" % code)
        parts = {"Parts": [{"PartNumber": n, "ETag": e} for n, e in etags]}

        def second():
            return api(lambda: c.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload=parts))

        if answered is not None and answered.status == 200 \
                and b"<Error>" not in answered.body:
            check(obj is not None, "Complete answered 200, no object")
        if obj is not None:
            check(sha256(obj) == want, "the object (%d bytes) is not "
                  "byte-exact" % len(obj))
            if not info and not updir:
                outcome = "object complete"
            elif not info:
                # the kill came after the record was dropped, while the
                # parts were being removed: the sweep removes a part
                # directory without a record once it is an hour old
                # (it may still be in use before); age it, and see
                sweep_removes(s3store / "uploads" / uid, nparts)
                outcome = "object complete, parts left to the sweep"
            else:
                # the kill came while the upload was being removed: a
                # client whose answer was lost sends the Complete again
                _, lcode = api(lambda: c.list_parts(
                    Bucket=BUCKET, Key=key, UploadId=uid))
                _, scode = second()
                if scode is not None:
                    raise TrialError(
                        "object complete, but the upload was left "
                        "half-removed (%s); ListParts: %s, a second "
                        "Complete: %s" % (state, lcode or "200",
                                          scode))
                outcome = "object complete, second Complete ok"
        else:
            check(info, "neither the object nor the upload exists (%s)"
                  % state)
            _, scode = second()
            if scode is not None:
                raise TrialError(
                    "object missing (NoSuchKey), the upload is left and "
                    "a second Complete fails with %s; on disk: %s"
                    % (scode, state))
            obj, code = api(lambda: c.get_object(
                Bucket=BUCKET, Key=key)["Body"].read())
            check(obj is not None and sha256(obj) == want,
                  "object after the second Complete: %s" % (
                      code or "not byte-exact"))
            outcome = "upload intact, second Complete ok"
        check(not list((s3store / "uploads").glob(uid + "*")),
              "upload still there after the Complete")
        if tmps:
            row["notes"].append("trial %d: temporary files left by the "
                                "kill: %s" % (i, tmps[:4]))
        bad = log_check(srv, since, [allowed])
        check(not bad, "error.log: %s" % bad[:3])
        return "%s: %s" % (mode, outcome)

    try:
        run_trials(row, count, ctx.deadline, trial)
    finally:
        srv.stop(check=False)
    bad = log_check(srv, (0, 0), srv.allowed)
    if bad:
        row["failures"].append("error.log of the instance: %s" % bad[:5])


# --------------------------------------------------------------------------
# d: reload and binary upgrade under load


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(on=True):
    """nginx masters orphaned by a binary upgrade become our children"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)
    except OSError:
        pass


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


class DaemonConf(Conf):
    """daemon on: USR2 is ignored by a master whose parent is the one that
    started it (nginx checks getppid()), so a binary upgrade needs it"""

    def render(self):
        return super().render().replace("daemon off;", "daemon on;")


class DaemonNginx:
    def __init__(self, conf):
        self.conf = conf
        self.prefix = conf.prefix
        self.port = conf.port
        self.pidfile = self.prefix / "nginx.pid"
        self.error_log = self.prefix / "error.log"
        self.stderr_log = self.prefix / "stderr.log"

    def start(self):
        path = self.conf.write()
        out = self.prefix / "stderr.log"
        with open(out, "ab") as f:
            r = subprocess.run([H.NGINX, "-p", str(self.prefix), "-c",
                                str(path)], stdin=subprocess.DEVNULL,
                               stdout=f, stderr=f, timeout=60,
                               env=H.sanitizer_env(self.conf.module))
        if r.returncode != 0:
            raise TrialError("nginx start: %s" % out.read_text()[-2000:])
        wait_until(lambda: len(self.workers()) == self.conf.workers,
                   timeout=20, what="nginx workers")

    def master(self):
        try:
            return int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None

    def workers(self, master=None):
        m = master or self.master()
        if m is None:
            return []
        return [p for p in H.children_of(m) if H.proc_alive(p)
                and open("/proc/%d/cmdline" % p, "rb").read()
                .startswith(b"nginx: worker")]

    def reload(self):
        old = set(self.workers())
        os.kill(self.master(), signal.SIGHUP)
        wait_until(lambda: (len(set(self.workers())) == self.conf.workers
                            and not set(self.workers()) & old),
                   timeout=30, what="new workers after the reload")

    def upgrade(self, between=None):
        """USR2, WINCH, QUIT of the old master (docs/operations.md)"""
        old = self.master()
        os.kill(old, signal.SIGUSR2)
        oldbin = self.prefix / "nginx.pid.oldbin"
        wait_until(lambda: oldbin.exists() and self.master() not in
                   (None, old), timeout=30, what="the new master")
        new = self.master()
        wait_until(lambda: len(self.workers(new)) == self.conf.workers,
                   timeout=30, what="the new master's workers")
        if between:
            between()
        os.kill(old, signal.SIGWINCH)
        wait_until(lambda: not self.workers(old), timeout=60,
                   what="the old workers to finish")
        os.kill(old, signal.SIGQUIT)
        wait_until(lambda: (reap(old), not H.proc_alive(old))[1],
                   timeout=30, what="the old master to exit")
        return old, new

    def metrics(self):
        import requests
        r = requests.get("http://127.0.0.1:%d/metrics" % self.port,
                         timeout=10)
        return H.Metrics(r.text)

    def stop(self):
        m = self.master()
        if m is None or not H.proc_alive(m):
            return
        os.kill(m, signal.SIGQUIT)
        try:
            wait_until(lambda: (reap(m), not H.proc_alive(m))[1],
                       timeout=30, what="nginx to stop")
        except AssertionError:
            for p in [m] + H.children_of(m):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            reap(m)


class TusUploader(threading.Thread):
    """a tus client that resumes (HEAD, PATCH from the offset) after any
    connection error or 5xx; paced so that the upload spans the events"""

    def __init__(self, port, data, chunk, pause, deadline):
        super().__init__(daemon=True)
        self.port, self.data, self.chunk = port, data, chunk
        self.pause, self.deadline = pause, deadline
        self.uid = None
        self.errors = []
        self.resumes = 0
        self.ok = False

    def _req(self, conn, method, path, headers, body=b""):
        return conn.request(method, path, headers, body)

    def run(self):
        end = time.monotonic() + self.deadline
        conn = None
        try:
            while self.uid is None:
                try:
                    conn = RawConn(self.port, 30)
                    r = conn.request("POST", "/files/", dict(
                        TUS_HDR, **{"Upload-Length": str(len(self.data))}))
                    if r.status == 201:
                        self.uid = r.headers["Location"].rstrip("/") \
                            .rsplit("/", 1)[1]
                    else:
                        self.errors.append("create %d" % r.status)
                except OSError as e:
                    self.errors.append("create: %r" % e)
                    conn.close()
                    time.sleep(0.1)
            off = 0
            path = "/files/" + self.uid
            while off < len(self.data):
                if time.monotonic() > end:
                    raise TrialError("deadline at offset %d" % off)
                try:
                    piece = self.data[off:off + self.chunk]
                    r = conn.request("PATCH", path, dict(
                        TUS_HDR, **{"Upload-Offset": str(off),
                                    "Content-Type": OCTET}), piece)
                    if r.status == 204:
                        off = int(r.headers["Upload-Offset"])
                        time.sleep(self.pause)
                        continue
                    self.errors.append("PATCH %d" % r.status)
                except (OSError, ValueError) as e:
                    self.errors.append("PATCH: %r" % e)
                # resume: a new connection, HEAD for the offset
                self.resumes += 1
                conn.close()
                time.sleep(0.05)
                while True:
                    if time.monotonic() > end:
                        raise TrialError("deadline while resuming")
                    try:
                        conn = RawConn(self.port, 30)
                        r = conn.request("HEAD", path, TUS_HDR)
                        if r.status == 200:
                            off = int(r.headers["Upload-Offset"])
                            break
                        self.errors.append("HEAD %d" % r.status)
                    except OSError as e:
                        self.errors.append("HEAD: %r" % e)
                    conn.close()
                    time.sleep(0.1)
            self.ok = True
        except Exception as e:              # noqa: BLE001 (reported)
            self.errors.append("gave up: %r" % e)
        finally:
            if conn:
                conn.close()


class S3Uploader(threading.Thread):
    """boto3 multipart; a part (or the Complete) that fails is sent again"""

    def __init__(self, port, key, data, part, pause, deadline):
        super().__init__(daemon=True)
        self.port, self.key, self.data = port, key, data
        self.part, self.pause, self.deadline = part, pause, deadline
        self.errors = []
        self.resumes = 0
        self.ok = False

    def _retry(self, what, fn, end):
        while True:
            try:
                return fn()
            except Exception as e:          # noqa: BLE001 (retried)
                self.errors.append("%s: %s" % (what, str(e)[:120]))
                self.resumes += 1
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)

    def run(self):
        from botocore.exceptions import ClientError
        end = time.monotonic() + self.deadline
        try:
            c = s3_boto(self.port)
            uid = self._retry("create", lambda: c.create_multipart_upload(
                Bucket=BUCKET, Key=self.key)["UploadId"], end)
            etags = []
            for n, i in enumerate(range(0, len(self.data), self.part), 1):
                body = self.data[i:i + self.part]
                e = self._retry("part %d" % n, lambda: c.upload_part(
                    Bucket=BUCKET, Key=self.key, UploadId=uid,
                    PartNumber=n, Body=body)["ETag"], end)
                etags.append({"PartNumber": n, "ETag": e})
                time.sleep(self.pause)

            def complete():
                try:
                    c.complete_multipart_upload(
                        Bucket=BUCKET, Key=self.key, UploadId=uid,
                        MultipartUpload={"Parts": etags})
                except ClientError as e:
                    # a retried Complete whose first try went through
                    if e.response["Error"]["Code"] != "NoSuchUpload":
                        raise
            self._retry("complete", complete, end)
            self.ok = True
        except Exception as e:              # noqa: BLE001 (reported)
            self.errors.append("gave up: %r" % e)


def start_sink():
    """a TCP listener that drains what the SRT module forwards"""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)

    def drain(conn):
        with conn:
            try:
                while conn.recv(1 << 16):
                    pass
            except OSError:
                pass

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=drain, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv


def udp_port():
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()


class Publisher(threading.Thread):
    """an SRT publisher that reconnects when its stream is cut, like an
    encoder: ffmpeg in real time, started again when it exits"""

    def __init__(self, port, name, ts):
        super().__init__(daemon=True)
        self.port, self.name, self.ts = port, name, ts
        self.stop = threading.Event()
        self.sessions = 0
        self.proc = None
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            self.sessions += 1
            self.proc = subprocess.Popen(
                ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                 "-re", "-stream_loop", "-1", "-i", str(self.ts), "-c",
                 "copy", "-f", "mpegts",
                 "srt://127.0.0.1:%d?streamid=%s&latency=120000"
                 % (self.port, urllib.parse.quote("#!::r=%s,m=publish"
                                                  % self.name))],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            _, err = self.proc.communicate()
            if not self.stop.is_set():
                self.errors.append(err.decode(errors="replace")[-200:])
                self.stop.wait(0.5)

    def end(self):
        self.stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.join(10)


def make_ts(path, seconds=10):
    if path.exists():
        return path
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi",
                    "-i", "sine=frequency=440:sample_rate=48000", "-t",
                    str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
                    "-tune", "zerolatency", "-g", "30", "-b:v", "800k",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
                    "-f", "mpegts", str(path)], check=True, timeout=120)
    return path


def explain_alert(prefix, line):
    """an "open socket left" alert with what its connection last did
    (the access log has "$pid $connection request ...")"""
    m = re.search(r"\[alert\] (\d+)#\d+: \*(\d+) open socket", line)
    text = re.sub(r"^\S+ \S+ ", "", line)
    if not m:
        return text
    last = [l for l in (prefix / "access.log").read_text().splitlines()
            if l.startswith("%s %s " % m.groups())]
    return "%s (the connection's requests before: %s)" % (
        text, " | ".join(l.split('"')[1] + " " + l.split('"')[2].split()[0]
                         for l in last[-2:]) or "none logged")


def scenario_d(row, ctx, count):
    have_srt = ctx.srt_module is not None and shutil.which("ffmpeg")
    if not have_srt:
        row["notes"].append("without SRT publishers: %s" % (
            "ngx_srt_module.so not built" if ctx.srt_module is None
            else "ffmpeg missing"))
    become_subreaper()
    ts = make_ts(ctx.work / "feed.ts") if have_srt else None
    sink = start_sink()

    def trial(i):
        prefix = ctx.work / ("d%d" % i)
        conf = DaemonConf(prefix, module=ctx.module, workers=2)
        base = upload_conf(prefix, ctx.module)     # same locations
        conf.locations = base.locations
        conf.stores = base.stores
        srt_port = udp_port()
        if have_srt:
            conf.extra_modules.append(ctx.srt_module)
            conf.main.append(
                "srt {\n    server {\n        listen 127.0.0.1:%d;\n"
                "        latency 120ms;\n        idle_timeout 3s;\n"
                "        forward tcp://127.0.0.1:%d;\n    }\n}"
                % (srt_port, sink.getsockname()[1]))
        srv = DaemonNginx(conf)
        srv.start()
        uploads, pubs = [], []
        try:
            datas = {}
            for k in range(14):
                datas[k] = big_payload(16 * MiB, 6000 + 100 * i + k)
                uploads.append(TusUploader(srv.port, datas[k], 1 * MiB,
                                           0.6, 180))
            for k in range(14, 20):
                datas[k] = big_payload(20 * MiB, 6000 + 100 * i + k)
                uploads.append(S3Uploader(srv.port, "chaos/d%d-%d" % (i, k),
                                          datas[k], 5 * MiB, 2.0, 180))
            if have_srt:
                pubs = [Publisher(srt_port, "chaos%d" % n, ts)
                        for n in range(2)]
                for p in pubs:
                    p.start()
                wait_until(lambda: (srv.metrics().value(
                    "srt_streams_active") or 0) == 2, timeout=20,
                    what="two SRT streams")
            for u in uploads:
                u.start()
            time.sleep(2.5)
            srv.reload()
            log("  trial %d: reloaded" % i)
            time.sleep(2.5)
            old, new = srv.upgrade(between=lambda: time.sleep(1.0))
            log("  trial %d: upgraded, master %d -> %d" % (i, old, new))
            for u in uploads:
                u.join(200)
            problems = []
            for k, u in enumerate(uploads):
                if not u.ok:
                    problems.append("upload %d failed: %s" % (
                        k, u.errors[-3:]))
            if problems:
                raise TrialError("; ".join(problems[:4]))
            # byte-exact: tus data files, S3 objects
            for k, u in enumerate(uploads):
                if isinstance(u, TusUploader):
                    f = prefix / "store" / "tus" / u.uid
                    check(sha256_file(f) == sha256(datas[k]),
                          "tus upload %d not byte-exact" % k)
                else:
                    body = s3_boto(srv.port).get_object(
                        Bucket=BUCKET, Key=u.key)["Body"].read()
                    check(sha256(body) == sha256(datas[k]),
                          "S3 upload %d not byte-exact" % k)
            if have_srt:
                # the publishers reconnected to the new workers
                wait_until(lambda: (srv.metrics().value(
                    "srt_streams_active") or 0) == 2, timeout=30,
                    what="both SRT streams live after the upgrade")
            resumes = sum(u.resumes for u in uploads)
            sessions = sum(p.sessions for p in pubs)
        finally:
            for p in pubs:
                p.end()
            srv.stop()
        bad = log_check(srv, (0, 0), [])
        check(not bad, "error.log: %s" % "; ".join(
            explain_alert(prefix, l) for l in bad[:4]))
        if not ctx.keep:
            shutil.rmtree(prefix, ignore_errors=True)
        row["notes"].append("trial %d: %d resumes of 20 uploads, %d SRT "
                            "sessions for 2 publishers" % (i, resumes,
                                                           sessions))
        return "all byte-exact"

    try:
        run_trials(row, count, ctx.deadline, trial, stop_after_failures=2)
    finally:
        sink.close()
        # orphans of later scenarios (the worker's job processes) must not
        # linger here as zombies: the worker takes a zombie for alive
        become_subreaper(False)


# --------------------------------------------------------------------------
# e, f: the transcode worker


def worker_env(ctx):
    if not ctx.worker_bin:
        return None
    wh = _load_worker_harness()
    wh.BIN = ctx.worker_bin
    if not hasattr(ctx, "clips"):
        (ctx.work / "clips").mkdir(exist_ok=True)
        ctx.clips = wh.Clips(ctx.work / "clips")
    return wh


def job_outcome(w, job_id):
    return [s for s in ("done", "failed")
            if (w.spool / s / (job_id + ".json")).exists()]


def check_job_once(w, job_id, logs):
    where = job_outcome(w, job_id)
    check(where == ["done"], "job %s ended in %s" % (job_id, where))
    # transcoded and published once: "done in", or a reclaimed job whose
    # output the dead process had already published
    n = logs.count('job "%s": done' % job_id)
    m = len(re.findall(r'job "%s": output .* is already complete' % job_id,
                       logs))
    check(n + m == 1, "job %s: %d \"done\" and %d \"already complete\" "
          "lines" % (job_id, n, m))
    out = w.output / job_id
    check((out / "master.m3u8").exists(), "no master.m3u8 for " + job_id)
    for pl in out.glob("*/index.m3u8"):
        check("#EXT-X-ENDLIST" in pl.read_text(),
              "%s not finished" % pl)


def scenario_e(row, ctx, count):
    if not shutil.which("redis-server"):
        row["skipped"] = "redis-server is not installed"
        return
    wh = worker_env(ctx)
    clips = ctx.clips
    rnd = random.Random(ctx.seed + 4)

    def trial(i):
        base = ctx.work / ("e%d" % i)
        rdir = base / "redis"
        rdir.mkdir(parents=True)
        port = H.free_port()

        def redis_start():
            p = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "yes", "--appendfsync",
                 "always", "--dir", str(rdir)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: subprocess.run(
                ["redis-cli", "-p", str(port), "PING"], capture_output=True,
                text=True).stdout.strip() == "PONG", timeout=20,
                what="redis-server")
            return p

        ok = False
        redis = redis_start()
        conf = wh.TEST_CONF.format(workers=1, max_attempts=3) + (
            "queue redis;\nredis_address 127.0.0.1:%d;\n"
            "lease_time 3s;\nheartbeat 500ms;\n" % port)
        w = wh.Worker(base / "w", conf=conf)
        try:
            w.start()
            wait_until(lambda: "redis feeder ready" in w.log(), timeout=30,
                       what="the feeder")
            ids = ["e%d-%d" % (i, k) for k in range(3)]
            for j in ids:
                w.submit(j, clips.get("small"))
            # kill while a job runs, at a random moment of it
            wait_until(lambda: list((w.spool / "claimed").glob(
                "*/*.progress")), timeout=120, what="a job running")
            time.sleep(rnd.uniform(0, 1.5))
            redis.kill()
            redis.wait()
            down = rnd.uniform(0.5, 4)
            time.sleep(down)
            redis = redis_start()
            wait_until(lambda: all(job_outcome(w, j) for j in ids),
                       timeout=240, what="the jobs after the restart")
            logs = w.log()
            for j in ids:
                check_job_once(w, j, logs)
            # nothing pending in the group, nothing dead-lettered
            pend = subprocess.run(
                ["redis-cli", "-p", str(port), "XPENDING", "ingest:jobs",
                 "ingest-workers"], capture_output=True, text=True).stdout
            check(pend.splitlines()[:1] == ["0"],
                  "entries still pending: %r" % pend[:200])
            w.stop()
            check(w.leftovers() == [], "leftovers %s" % w.leftovers()[:5])
            san = sanitizer_reports(w.log())
            check(not san, "sanitizer: %s" % san[:2])
            cut = "lost the claim" in w.log()
            ok = True
            return "redis down %s s, %s" % (
                "0.5-2" if down < 2 else "2-4",
                "a running job lost its claim and was redone" if cut
                else "no job was cut")
        finally:
            if w.proc is not None:
                w.stop(signal.SIGKILL)
            redis.kill()
            redis.wait()
            if not ctx.keep and ok:
                shutil.rmtree(base, ignore_errors=True)

    run_trials(row, count, ctx.deadline, trial, stop_after_failures=2)


SAN_RE = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")


def sanitizer_reports(text):
    return [l for l in text.splitlines() if SAN_RE.search(l)]


def scenario_f(row, ctx, count):
    wh = worker_env(ctx)
    clips = ctx.clips
    rnd = random.Random(ctx.seed + 5)

    def trial(i):
        base = ctx.work / ("f%d" % i)
        w = wh.Worker(base / "w", workers=1)
        whole = i % 2 == 1
        job = "f%d" % i
        ok = False
        try:
            w.start()
            w.submit(job, clips.get("long"))
            wait_until(lambda: list((w.spool / "claimed").glob(
                "*/%s.progress" % job)), timeout=120, what="the job running")
            time.sleep(rnd.uniform(0, 2.0))
            claim = w.claim_of(job)
            if claim is None:
                return "finished before the kill"
            _, pid = claim
            if whole:
                # the daemon and its job process at once, then a new start
                for p in [w.proc.pid] + w.all_children():
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                w.proc.wait()
                w.proc = None
                w.logfile.close()
                wait_until(lambda: not H.proc_alive(pid), timeout=10,
                           what="the job process")
                w.start()
            else:
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: job_outcome(w, job), timeout=300,
                       what="the job after the kill")
            check_job_once(w, job, w.log())
            d = json.loads((w.spool / "done" / (job + ".json")).read_text())
            check(d.get("attempts") == 1, "attempts %r" % d.get("attempts"))
            w.stop()
            check(w.leftovers() == [], "leftovers %s" % w.leftovers()[:5])
            san = sanitizer_reports(w.log())
            check(not san, "sanitizer: %s" % san[:2])
            ok = True
            return "daemon killed, restarted" if whole else \
                "job process killed, respawned"
        finally:
            if w.proc is not None:
                w.stop(signal.SIGKILL)
            if not ctx.keep and ok:
                shutil.rmtree(base, ignore_errors=True)

    run_trials(row, count, ctx.deadline, trial, stop_after_failures=2)


# --------------------------------------------------------------------------


SCENARIOS = {
    "a": ("kill -9 mid tus PATCH", scenario_a, 100),
    "b": ("kill -9 mid S3 UploadPart", scenario_b, 100),
    "c": ("kill -9 during Complete (64 MiB)", scenario_c, 30),
    "d": ("reload + binary upgrade, 20 uploads + 2 SRT", scenario_d, 3),
    "e": ("redis-server killed under the worker", scenario_e, 3),
    "f": ("worker killed mid-job", scenario_f, 6),
}


class Ctx:
    pass


def snapshot(src, dst):
    if not src.exists():
        return None
    shutil.copy2(src, dst)
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="abcdef",
                    help="scenarios to run, e.g. a,b (default all)")
    ap.add_argument("--trials", type=int, default=None,
                    help="trials of every scenario (default: its own)")
    ap.add_argument("--deadline", type=float, default=900,
                    help="seconds per scenario")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    ctx = Ctx()
    ctx.deadline = args.deadline
    ctx.keep = args.keep
    ctx.seed = args.seed if args.seed is not None else int(time.time())
    ctx.work = ROOT / "build" / "chaos" / time.strftime("%Y%m%d-%H%M%S")
    ctx.work.mkdir(parents=True, exist_ok=True)
    mods = ctx.work / "modules"
    mods.mkdir()
    ctx.module = snapshot(Path(H.MODULE), mods / Path(H.MODULE).name)
    if ctx.module is None:
        sys.exit("chaos: %s is not built (make modules)" % H.MODULE)
    ctx.srt_module = snapshot(Path(H.SRT_MODULE),
                              mods / Path(H.SRT_MODULE).name)
    wbin = Path(os.environ.get(
        "INGEST_WORKER_BIN", ROOT / "ffmpeg-worker" / "build" /
        "ingest-worker"))
    ctx.worker_bin = snapshot(wbin, ctx.work / "ingest-worker")
    log("seed %d, work %s" % (ctx.seed, ctx.work))

    res = Results()
    only = [s for s in args.only.replace(",", "") if s in SCENARIOS]
    for name in only:
        title, fn, default = SCENARIOS[name]
        row = res.scenario(name, title)
        if name in "ef" and ctx.worker_bin is None:
            row["skipped"] = "%s is not built (make worker)" % wbin
            continue
        count = args.trials if args.trials is not None else default
        log("scenario %s: %s, %d trials" % (name, title, count))
        t0 = time.monotonic()
        try:
            fn(row, ctx, count)
        except Exception as e:              # noqa: BLE001 (reported)
            row["failures"].append("scenario aborted: %s: %s" % (
                type(e).__name__, e))
            traceback.print_exc()
        row["seconds"] = time.monotonic() - t0
        log("scenario %s: %d/%d passed in %.0f s" % (
            name, row["passes"], row["trials"], row["seconds"]))

    print()
    print(res.table())
    for n in res.order:
        r = res.rows[n]
        for note in r["notes"]:
            print("%s: note: %s" % (n, note))
        groups = {}
        for f in r["failures"]:
            k = re.sub(r"\d+", "N", re.sub(r"[0-9a-f]{32}", "<id>",
                                            f.split(": ", 1)[-1]))[:300]
            groups[k] = groups.get(k, 0) + 1
        for k, v in sorted(groups.items(), key=lambda kv: -kv[1]):
            print("%s: FAILED %d x: %s" % (n, v, k))
        if os.environ.get("CHAOS_VERBOSE"):
            for f in r["failures"]:
                print("%s: FAIL: %s" % (n, f))
    if not args.keep and not res.failed():
        shutil.rmtree(ctx.work, ignore_errors=True)
    else:
        print("chaos: files kept in %s" % ctx.work)
    sys.exit(1 if res.failed() else 0)


if __name__ == "__main__":
    main()
