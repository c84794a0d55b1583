"""
Crash safety: the worker process that receives a big PATCH is killed with
SIGKILL in the middle of the body. After the master respawns it, the
upload's offset equals the bytes durably in the data file, those bytes
are a prefix of the source, the dead writer's lock is gone, and a real
client resumes to a byte-exact file.

The only [alert] allowed here is nginx's own "worker process N exited on
signal 9" for the pid this test killed.
"""

import base64
import hashlib
import os
import re
import signal
import threading

import pytest
from tusclient import client as tus_client

from harness import (NginxServer, standard_conf, TUS_HDR, OCTET, MiB, KiB,
                     big_payload, sha256, sha256_file, wait_until)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    srv = NginxServer(standard_conf(tmp_path_factory.mktemp("nginx-kill9")))
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_log()


class PacedPatch:
    """sends a PATCH body at a moderate pace from a thread"""

    def __init__(self, nginx, path, offset, body, headers=None,
                 step=256 * KiB, pause=0.01):
        self.conn, self.pid = nginx.connect_worker()
        h = dict(TUS_HDR, **{"Upload-Offset": str(offset),
                             "Content-Type": OCTET})
        h.update(headers or {})
        self.conn.send_head("PATCH", path, h, body_len=len(body))
        self.body = body
        self.step = step
        self.pause = pause
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for i in range(0, len(self.body), self.step):
                if self.stop.wait(self.pause):
                    return
                self.conn.send(self.body[i:i + self.step])
                self.sent = i + len(self.body[i:i + self.step])
        except OSError:
            pass

    def end(self):
        self.stop.set()
        self.thread.join(30)
        self.conn.close()


def kill_worker(nginx, pid):
    assert pid in nginx.worker_pids(), (pid, nginx.worker_pids())
    master = nginx.master_pid
    # exactly nginx's own alert for this pid is expected
    nginx.allowed.append(re.compile(
        r"\[alert\] %d#%d: worker process %d exited on signal 9$"
        % (master, master, pid)))
    os.kill(pid, signal.SIGKILL)

    def respawned():
        died = nginx.health_problem()
        assert died is None, "after kill -9 of worker %d: %s" % (pid, died)
        pids = nginx.worker_pids()
        return pid not in pids and len(pids) == nginx.conf.workers

    wait_until(respawned, timeout=20, what="the master to respawn the worker")
    wait_until(lambda: re.search(r"worker process %d exited on signal 9" % pid,
                                 nginx.read_log()),
               timeout=10, what="the exit of the killed worker in the log")


def head(tus, url):
    r = tus.head(url)
    assert r.status_code == 200, (r.status_code, r.text)
    return r


def test_kill9_mid_patch_then_resume(nginx, tmp_path):
    total = 96 * MiB
    data = big_payload(total, 31)
    src = tmp_path / "source.bin"
    src.write_bytes(data)
    t = nginx.tus("/files/")
    url, uid = t.create_ok(total, metadata={"filename": "big.bin"})
    datafile = nginx.store("files") / uid
    m0 = nginx.metrics()

    p = PacedPatch(nginx, "/files/" + uid, 0, data)
    try:
        wait_until(lambda: (p.conn.assert_no_early_response("PATCH")
                            or datafile.stat().st_size >= 16 * MiB),
                   timeout=60, what="16 MiB on disk")
        assert p.sent < total, "the body was sent before the kill"
        kill_worker(nginx, p.pid)
    finally:
        p.end()

    h = head(t, url)
    off = int(h.headers["Upload-Offset"])
    size = datafile.stat().st_size
    assert off == size, (off, size)
    assert 16 * MiB <= off < total
    with open(datafile, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha256(data[:off]), \
            "the bytes on disk are not a prefix of the source"
    # the dead writer's lock did not outlive it
    r = t.patch(url, off, b"")
    assert r.status_code == 204, (r.status_code, r.text)
    # counters survive the respawn
    m1 = nginx.metrics()
    assert m1.get("ingest_uploads_created_total", protocol="tus") >= \
        m0.get("ingest_uploads_created_total", protocol="tus")

    up = tus_client.TusClient(t.endpoint).uploader(
        file_path=str(src), url=url, chunk_size=8 * MiB)
    assert up.offset == off
    up.upload()
    assert sha256_file(datafile) == sha256(data)
    job = nginx.wait_job(uid)
    assert job["size"] == total
    assert sha256_file(job["source"]) == sha256(data)
    m2 = nginx.metrics()
    assert m2.get("ingest_uploads_completed_total", protocol="tus") == \
        m0.get("ingest_uploads_completed_total", protocol="tus") + 1


def test_kill9_mid_checksummed_patch_cuts_back(nginx, tmp_path):
    total = 64 * MiB
    first = 8 * MiB
    data = big_payload(total, 32)
    src = tmp_path / "source.bin"
    src.write_bytes(data)
    t = nginx.tus("/files/")
    url, uid = t.create_ok(total)
    datafile = nginx.store("files") / uid
    assert t.patch(url, 0, data[:first]).status_code == 204

    chunk = data[first:]
    digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
    p = PacedPatch(nginx, "/files/" + uid, first, chunk,
                   headers={"Upload-Checksum": "sha256 " + digest})
    try:
        wait_until(lambda: (p.conn.assert_no_early_response("PATCH")
                            or datafile.stat().st_size >= first + 8 * MiB),
                   timeout=60, what="part of the checksummed chunk on disk")
        assert p.sent < len(chunk)
        kill_worker(nginx, p.pid)
    finally:
        p.end()

    # the checksum was never checked: the next request (this HEAD) cuts
    # the data file back to where the checksummed PATCH started
    h = head(t, url)
    assert int(h.headers["Upload-Offset"]) == first, dict(h.headers)
    late = []
    size = datafile.stat().st_size
    if size != first:
        late.append("after the HEAD the data file has %d bytes, not %d"
                    % (size, first))
    with open(datafile, "rb") as f:
        assert f.read(first) == data[:first]

    up = tus_client.TusClient(t.endpoint).uploader(
        file_path=str(src), url=url, chunk_size=8 * MiB,
        upload_checksum=True)
    assert up.offset == first
    up.upload()
    assert sha256_file(datafile) == sha256(data)
    assert nginx.wait_job(uid)["size"] == total
    assert not late, late


def test_kill9_idle_workers_keep_serving(nginx):
    t = nginx.tus("/files/")
    url, uid = t.create_ok(10)
    assert t.patch(url, 0, b"01234").status_code == 204
    for pid in list(nginx.worker_pids()):
        kill_worker(nginx, pid)
    assert head(t, url).headers["Upload-Offset"] == "5"
    assert t.patch(url, 5, b"56789").status_code == 204
    assert t.get(url).content == b"0123456789"
    assert nginx.metrics().get("ingest_uploads_created_total",
                               protocol="tus") >= 1
