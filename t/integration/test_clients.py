"""
Real clients against the module: tus-js-client 4 (Node, t/js/tus_upload.mjs)
and tuspy (Debian's python3-tuspy). Each upload is checked byte for byte in
the store, through GET, and in its spool job.
"""

import json
import shutil
import subprocess

import pytest
from tusclient import client as tus_client

from harness import REPO, MiB, big_payload, sha256, sha256_file

JS_DIR = REPO / "t" / "js"
SCRIPT = JS_DIR / "tus_upload.mjs"
NODE = shutil.which("node") or "/usr/bin/node"


def run_node(*args, timeout=120, expect_rc=0):
    if not (JS_DIR / "node_modules" / "tus-js-client").is_dir():
        pytest.fail("t/js/node_modules is missing: run `npm ci` in t/js "
                    "(scripts/run-integration.sh does)", pytrace=False)
    p = subprocess.run([NODE, str(SCRIPT)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=str(JS_DIR))
    events = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            events.append(json.loads(line))
    assert p.returncode == expect_rc, (p.returncode, p.stdout[-3000:],
                                       p.stderr[-3000:])
    return events


def last(events, kind):
    found = [e for e in events if e["event"] == kind]
    assert found, "no %r event in %r" % (kind, events[-10:])
    return found[-1]


def id_of(url):
    return url.rstrip("/").rsplit("/", 1)[1]


def check_stored(nginx, tus, url, data, metadata=None):
    uid = id_of(url)
    stored = nginx.store("files") / uid
    assert sha256_file(stored) == sha256(data)
    g = tus.get(url)
    assert g.status_code == 200
    assert sha256(g.content) == sha256(data)
    job = nginx.wait_job(uid)
    assert job["size"] == len(data)
    assert sha256_file(job["source"]) == sha256(data)
    if metadata:
        for k, v in metadata.items():
            assert job["metadata"].get(k) == v, job["metadata"]
    return uid, job


@pytest.fixture
def source(tmp_path):
    def make(size, seed):
        data = big_payload(size, seed)
        p = tmp_path / ("src-%d-%d.bin" % (size, seed))
        p.write_bytes(data)
        return p, data
    return make


def test_tus_js_client_upload(nginx, tus, source):
    path, data = source(6 * MiB + 333, 41)
    events = run_node("--endpoint", tus.endpoint, "--file", path,
                      "--chunk-size", MiB, "--meta", "filename=clip.mp4",
                      "--meta", "filetype=video/mp4")
    url = last(events, "success")["url"]
    assert url == last(events, "created")["url"]
    uid, job = check_stored(nginx, tus, url, data,
                            {"filename": "clip.mp4", "filetype": "video/mp4"})
    assert job["content_type"] == "video/mp4"
    assert tus.get(url).headers["Content-Type"].startswith("video/mp4")


def test_tus_js_client_abort_and_resume_from_storage(nginx, tus, source,
                                                     tmp_path):
    path, data = source(8 * MiB + 5, 42)
    storage = tmp_path / "tus-urls.json"
    first = run_node("--endpoint", tus.endpoint, "--file", path,
                     "--chunk-size", MiB, "--abort-after", 3 * MiB,
                     "--storage", storage, "--meta", "filename=a.bin")
    ab = last(first, "aborted")
    url = ab["url"]
    assert url == last(first, "created")["url"]
    assert not [e for e in first if e["event"] == "success"]
    off = tus.offset(url)
    assert 0 < off < len(data), off
    assert not nginx.job_path(id_of(url)).exists()

    second = run_node("--endpoint", tus.endpoint, "--file", path,
                      "--chunk-size", MiB, "--storage", storage,
                      "--meta", "filename=a.bin")
    assert last(second, "resume")["url"] == url
    assert not [e for e in second if e["event"] == "created"
                and e["url"] != url]
    assert last(second, "success")["url"] == url
    check_stored(nginx, tus, url, data, {"filename": "a.bin"})


def test_tus_js_client_resume_with_upload_url(nginx, tus, source):
    path, data = source(5 * MiB + 77, 43)
    first = run_node("--endpoint", tus.endpoint, "--file", path,
                     "--chunk-size", MiB, "--abort-after", 2 * MiB)
    url = last(first, "aborted")["url"]
    assert 0 < tus.offset(url) < len(data)
    second = run_node("--endpoint", tus.endpoint, "--file", path,
                      "--chunk-size", MiB, "--upload-url", url)
    assert last(second, "success")["url"] == url
    check_stored(nginx, tus, url, data)


def test_tus_js_client_parallel_uploads(nginx, tus, source):
    path, data = source(7 * MiB + 1234, 44)
    events = run_node("--endpoint", tus.endpoint, "--file", path,
                      "--chunk-size", MiB, "--parallel", 3,
                      "--meta", "filename=par.mp4", "--meta",
                      "filetype=video/mp4")
    url = last(events, "success")["url"]
    fid = id_of(url)
    h = tus.head(url)
    assert h.status_code == 200
    concat = h.headers.get("Upload-Concat", "")
    assert concat.startswith("final;"), concat
    partial_ids = [id_of(u) for u in concat[len("final;"):].split()]
    assert len(partial_ids) == 3
    assert h.headers["Upload-Offset"] == str(len(data))
    check_stored(nginx, tus, url, data, {"filename": "par.mp4"})
    for pid in partial_ids:
        assert pid != fid
        assert not nginx.job_path(pid).exists()


def test_tus_js_client_parallel_abort_and_resume(nginx, tus, source, tmp_path):
    path, data = source(9 * MiB + 10, 45)
    storage = tmp_path / "tus-urls.json"
    first = run_node("--endpoint", tus.endpoint, "--file", path,
                     "--chunk-size", MiB, "--parallel", 3,
                     "--abort-after", 4 * MiB, "--storage", storage)
    last(first, "aborted")
    second = run_node("--endpoint", tus.endpoint, "--file", path,
                      "--chunk-size", MiB, "--parallel", 3,
                      "--storage", storage)
    resumed = last(second, "resume")
    assert resumed["parallelUploadUrls"] and \
        len(resumed["parallelUploadUrls"]) == 3
    url = last(second, "success")["url"]
    check_stored(nginx, tus, url, data)


def test_tuspy_upload_with_metadata(nginx, tus, source):
    path, data = source(5 * MiB + 3, 46)
    c = tus_client.TusClient(tus.endpoint)
    up = c.uploader(file_path=str(path), chunk_size=MiB,
                    metadata={"filename": "py.mov", "filetype": "video/quicktime",
                              "title": "Ünïcode ✓"})
    up.upload()
    assert up.offset == len(data)
    uid, job = check_stored(nginx, tus, up.url, data,
                            {"filename": "py.mov", "title": "Ünïcode ✓"})
    assert job["content_type"] == "video/quicktime"


def test_tuspy_upload_with_checksums(nginx, tus, source):
    path, data = source(3 * MiB + 99, 47)
    c = tus_client.TusClient(tus.endpoint)
    up = c.uploader(file_path=str(path), chunk_size=MiB, upload_checksum=True)
    up.upload()
    check_stored(nginx, tus, up.url, data)


def test_tuspy_resume_after_partial_upload(nginx, tus, source):
    path, data = source(4 * MiB + 1, 48)
    c = tus_client.TusClient(tus.endpoint)
    up = c.uploader(file_path=str(path), chunk_size=MiB)
    up.upload(stop_at=2 * MiB)
    url = up.url
    assert tus.offset(url) == 2 * MiB
    up2 = c.uploader(file_path=str(path), url=url, chunk_size=MiB)
    assert up2.offset == 2 * MiB
    up2.upload()
    check_stored(nginx, tus, url, data)
