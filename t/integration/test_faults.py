"""
Faults (issue 8): a full disk, clients that stall in the middle of a
body, and kill -9 of the worker in the middle of an S3 part.

- Disk full: the stores live on a small tmpfs. A tus PATCH or an S3
  UploadPart that runs out of space gets 507 with a reason, the tus
  offset stays equal to the bytes on disk, nothing half-written is
  listed, and once space returns the same clients finish byte-exact.
- Stalled bodies: client_body_timeout ends them with 408 (the bytes of a
  tus PATCH received before the stall are kept), and the worker serves
  other requests meanwhile.
- kill -9 during an UploadPart: the part is not listed, sending it again
  works, the completed object is byte-exact.

The tmpfs needs root and mount(2); where mounting is impossible the
disk-full tests are skipped with the reason.
"""

import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from harness import (Conf, NginxServer, TUS_HDR, OCTET, MiB, KiB,
                     big_payload, sha256, sha256_file, wait_until)

try:
    import boto3
    from botocore.config import Config as BotoConfig
except ImportError:             # pragma: no cover
    boto3 = None


AK, SK, ACCOUNT = "AKIAFAULTTEST0000001", "fault-secret-0001", "alice"
BUCKET = "media"
TMPFS = 24 * MiB


def boto(srv):
    return boto3.client(
        "s3", endpoint_url="http://127.0.0.1:%d" % srv.port,
        region_name="us-east-1", aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=BotoConfig(s3={"addressing_style": "path"},
                          signature_version="s3v4",
                          retries={"max_attempts": 1}))


def fault_conf(prefix, store_root, body_timeout="60s"):
    c = Conf(prefix)
    spool = c.spool
    for d in ("tmp", "incoming"):
        (spool / d).mkdir(parents=True, exist_ok=True)
    c.location("/files/", "tus on;",
               "tus_store %s/tus;" % store_root,
               "tus_spool %s;" % spool, "tus_max_size 1g;",
               "client_max_body_size 0;",
               "client_body_timeout %s;" % body_timeout)
    c.location("/", "ingest_s3 on;",
               "ingest_s3_store %s/s3;" % store_root,
               "ingest_s3_spool %s;" % spool,
               "ingest_s3_credentials %s %s %s;" % (AK, SK, ACCOUNT),
               "ingest_s3_buckets %s;" % BUCKET,
               "client_max_body_size 0;",
               "client_body_timeout %s;" % body_timeout)
    c.location("= /metrics", "ingest_metrics;")
    return c


@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % TMPFS,
                        "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt, leave):
    """fills the tmpfs but `leave` bytes; returns the filler file"""
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    filler = mnt / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(free - leave, 0))
    return filler


def start(conf):
    srv = NginxServer(conf, allowed_log_patterns=[
        # the store operation that hit ENOSPC is logged at crit, by design
        r"\[crit\] .*\(28: No space left on device\)"])
    srv.start()
    return srv


def test_disk_full_tus_patch_then_resume(tmp_path, tmpfs):
    srv = start(fault_conf(tmp_path / "nginx", tmpfs))
    try:
        tus = srv.tus()
        data = big_payload(12 * MiB, 71)
        url, uid = tus.create_ok(len(data))

        filler = fill(tmpfs, 3 * MiB)
        r = tus.patch(url, 0, data)
        assert r.status_code == 507, (r.status_code, r.text)
        assert "no space" in r.text

        # the offset is what is on disk, and a prefix of the source
        off = tus.offset(url)
        assert 0 < off < len(data)
        stored = (tmpfs / "tus" / uid).read_bytes()
        assert len(stored) == off and stored == data[:off]
        assert re.search(r"\[crit\] .*upload %s: .*\(28: No space left"
                         % uid, srv.read_log())

        filler.unlink()
        tus.send_all(url, data, start=off, chunk=4 * MiB)
        assert sha256_file(tmpfs / "tus" / uid) == sha256(data)
        job = srv.wait_job(uid)
        assert job["size"] == len(data)
    finally:
        srv.stop()
    srv.assert_clean_log()


def test_disk_full_s3_part_then_retry(tmp_path, tmpfs):
    srv = start(fault_conf(tmp_path / "nginx", tmpfs))
    try:
        c = boto(srv)
        key = "full/part.bin"
        p1, p2 = big_payload(6 * MiB, 72), big_payload(6 * MiB, 73)
        uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        e1 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=1, Body=p1)["ETag"]

        filler = fill(tmpfs, 2 * MiB)
        url = c.generate_presigned_url(
            "upload_part", Params={"Bucket": BUCKET, "Key": key,
                                   "UploadId": uid, "PartNumber": 2},
            ExpiresIn=300)
        r = requests.put(url, data=p2, timeout=60)
        assert r.status_code == 507, (r.status_code, r.text)
        assert "<Code>InsufficientStorage</Code>" in r.text

        parts = c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]
        assert [p["PartNumber"] for p in parts] == [1]
        leftovers = [p.name for p in (tmpfs / "s3" / "uploads" / uid).iterdir()
                     if p.name.endswith(".tmp") or p.name.endswith(".w")]
        assert leftovers == []

        filler.unlink()
        e2 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=2, Body=p2)["ETag"]
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        body = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert sha256(body) == sha256(p1 + p2)
    finally:
        srv.stop()
    srv.assert_clean_log()


def stall(srv, method, path, headers, total, first):
    """sends the head and the first bytes of a body, then nothing;
    returns (response, seconds until it came)"""
    conn = srv.connect()
    conn.send_head(method, path, headers, body_len=total)
    conn.send(first)
    t0 = time.monotonic()
    try:
        r = conn.read_response(method)
    except ConnectionError:
        r = None            # nginx closes on client_body_timeout
    conn.close()
    return r, time.monotonic() - t0


def test_stalled_bodies_time_out_and_others_are_served(tmp_path):
    store = tmp_path / "stores"
    srv = NginxServer(fault_conf(tmp_path / "nginx", store,
                                 body_timeout="2s"))
    srv.start()
    try:
        tus = srv.tus()
        data = big_payload(2 * MiB, 74)
        url, uid = tus.create_ok(len(data))
        path = urllib.parse.urlsplit(url).path

        results = {}

        def tus_stall():
            results["tus"] = stall(srv, "PATCH", path,
                                   dict(TUS_HDR, **{"Upload-Offset": "0",
                                                    "Content-Type": OCTET}),
                                   len(data), data[:300 * KiB])

        c = boto(srv)
        key = "stall/obj.bin"
        s3url = urllib.parse.urlsplit(c.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": key},
            ExpiresIn=300))

        def s3_stall():
            results["s3"] = stall(srv, "PUT", s3url.path + "?" + s3url.query,
                                  {}, 1 * MiB, b"x" * 1000)

        threads = [threading.Thread(target=tus_stall),
                   threading.Thread(target=s3_stall)]
        for t in threads:
            t.start()

        # meanwhile both workers answer other requests at once
        for _ in range(10):
            t0 = time.monotonic()
            r = requests.get(srv.url("/metrics"), timeout=5)
            assert r.status_code == 200
            assert time.monotonic() - t0 < 1.0
            time.sleep(0.1)

        for t in threads:
            t.join(30)

        r, took = results["tus"]
        assert r is None or r.status == 408, r.status
        assert took >= 1.5, took
        # what arrived before the stall is kept: the client resumes there
        off = tus.offset(url)
        assert off == 300 * KiB, off
        tus.send_all(url, data, start=off)
        assert sha256_file(store / "tus" / uid) == sha256(data)

        r, took = results["s3"]
        # S3 answers a stalled body with 400 RequestTimeout
        assert r is not None and r.status == 400, r
        assert b"<Code>RequestTimeout</Code>" in r.body, r.body
        assert took >= 1.5, took
        # nothing of the stalled object exists
        with pytest.raises(Exception):
            c.head_object(Bucket=BUCKET, Key=key)
        objects = list((store / "s3" / "objects").iterdir())
        assert objects == [], objects
        log = srv.read_log()
        assert re.search(r"\[info\] .*tus: upload %s interrupted at offset "
                         r"%d, %d bytes of this part kept"
                         % (uid, 300 * KiB, 300 * KiB), log)
        assert re.search(r"\[info\] .*s3: PUT /media/stall/obj.bin rejected "
                         r"with 400 RequestTimeout", log)
    finally:
        srv.stop()
    srv.assert_clean_log()


def test_kill9_mid_upload_part_then_retry(tmp_path):
    store = tmp_path / "stores"
    srv = NginxServer(fault_conf(tmp_path / "nginx", store))
    srv.start()
    try:
        c = boto(srv)
        key = "kill9/obj.bin"
        p1, p2 = big_payload(8 * MiB, 75), big_payload(8 * MiB, 76)
        uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        e1 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=1, Body=p1)["ETag"]

        url = urllib.parse.urlsplit(c.generate_presigned_url(
            "upload_part", Params={"Bucket": BUCKET, "Key": key,
                                   "UploadId": uid, "PartNumber": 2},
            ExpiresIn=300))
        conn, pid = srv.connect_worker()
        conn.send_head("PUT", url.path + "?" + url.query, {},
                       body_len=len(p2))
        conn.send(p2[:3 * MiB])
        time.sleep(0.3)

        master = srv.master_pid
        srv.allowed.append(re.compile(
            r"\[alert\] %d#%d: worker process %d exited on signal 9$"
            % (master, master, pid)))
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: pid not in srv.worker_pids()
                   and len(srv.worker_pids()) == srv.conf.workers,
                   timeout=20, what="the respawn of the killed worker")
        conn.close()

        parts = c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]
        assert [p["PartNumber"] for p in parts] == [1]

        e2 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=2, Body=p2)["ETag"]
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        body = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert sha256(body) == sha256(p1 + p2)
    finally:
        srv.stop()
    srv.assert_clean_log()


def break_spool(srv):
    """incoming/ replaced by a file: every job write fails (ENOTDIR)"""
    inc = srv.spool / "incoming"
    inc.rmdir()
    inc.write_bytes(b"")
    return inc


def fix_spool(inc):
    inc.unlink()
    inc.mkdir()


def record_state(path):
    for line in path.read_text().splitlines():
        if line.startswith("state "):
            return line.split()[1]
    raise AssertionError("no state in %s" % path)


SPOOL_FAILED = r"\[crit\] .*tus: upload %s has all of its bytes but its " \
               r"spool job failed: .*stays open"


@pytest.mark.parametrize("repair", ["head", "sweep"])
def test_tus_job_not_written_is_written_later(tmp_path, repair):
    """
    The job goes before the record: when it cannot be written (or nginx
    dies between the two) the upload stays open with all of its bytes,
    and a HEAD or the expiry sweep completes it once the spool works.
    """
    store = tmp_path / "stores"
    conf = fault_conf(tmp_path / "nginx", store)
    conf.http.append("tus_cleanup_interval %s;"
                     % ("1s" if repair == "sweep" else "1h"))
    srv = NginxServer(conf)
    srv.start()
    try:
        tus = srv.tus()
        data = big_payload(3 * MiB, 91)
        url, uid = tus.create_ok(len(data))
        info = store / "tus" / (uid + ".info")

        inc = break_spool(srv)
        srv.allowed.append(re.compile(SPOOL_FAILED % uid))

        r = tus.patch(url, 0, data)
        assert r.status_code == 204, (r.status_code, r.text)
        assert int(r.headers["Upload-Offset"]) == len(data)
        assert re.search(SPOOL_FAILED % uid, srv.read_log())
        assert record_state(info) == "open"

        if repair == "head":
            # still broken: HEAD answers, the upload stays open, no job
            assert tus.offset(url) == len(data)
            assert record_state(info) == "open"

        fix_spool(inc)

        if repair == "head":
            assert tus.offset(url) == len(data)

        job = srv.wait_job(uid)
        assert job["size"] == len(data) and job["protocol"] == "tus"
        wait_until(lambda: record_state(info) == "complete",
                   what="the record marked complete")
        assert re.search(r"\[notice\] .*tus: (upload %s had all of its "
                         r"bytes .*completed now, job written|completed 1 "
                         r"uploads that had all of their bytes)" % uid
                         if repair == "head" else
                         r"\[notice\] .*tus: completed 1 uploads that had "
                         r"all of their bytes", srv.read_log())

        # complete now: the job is not written a second time
        srv.job_path(uid).unlink()
        assert tus.offset(url) == len(data)
        time.sleep(1.5 if repair == "sweep" else 0)
        assert not srv.job_path(uid).exists()
        assert sha256_file(store / "tus" / uid) == sha256(data)
    finally:
        srv.stop()
    srv.assert_clean_log()


def test_tus_open_upload_that_fails_sniffing_is_quarantined(tmp_path):
    """
    An upload left open with all of its bytes is completed only if it
    passes the sniffing its cut writer would have done: in a location
    with `tus_sniff quarantine` a HEAD quarantines non-video content
    instead of handing it to the spool. (The open state is made here
    through a location sharing the store without sniffing, whose job
    could not be written.)
    """
    store = tmp_path / "stores"
    quarantine = tmp_path / "quarantine"
    quarantine.mkdir()
    conf = fault_conf(tmp_path / "nginx", store)
    conf.http.append("tus_cleanup_interval 1h;")
    conf.location("/q/", "tus on;", "tus_store %s/tus;" % store,
                  "tus_spool %s;" % conf.spool, "tus_max_size 1g;",
                  "tus_sniff quarantine;",
                  "tus_quarantine %s;" % quarantine,
                  "client_max_body_size 0;")
    srv = NginxServer(conf)
    srv.start()
    try:
        tus = srv.tus()
        data = b"not a video at all\n" * 5000
        url, uid = tus.create_ok(len(data))

        inc = break_spool(srv)
        srv.allowed.append(re.compile(SPOOL_FAILED % uid))
        r = tus.patch(url, 0, data)
        assert r.status_code == 204, (r.status_code, r.text)
        assert record_state(store / "tus" / (uid + ".info")) == "open"
        fix_spool(inc)

        r = srv.tus("/q/").head(srv.url("/q/" + uid))
        assert r.status_code == 404, r.status_code
        assert (quarantine / uid).read_bytes() == data
        assert record_state(quarantine / (uid + ".info")) == "quarantined"
        assert not (store / "tus" / uid).exists()
        assert not srv.job_path(uid).exists()
        assert re.search(r"\[notice\] .*tus: upload %s had all of its bytes "
                         r".*fails sniffing: quarantined now" % uid,
                         srv.read_log())
    finally:
        srv.stop()
    srv.assert_clean_log()
