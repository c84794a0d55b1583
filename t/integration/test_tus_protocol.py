"""
tus 1.0.0 behaviour of ngx_http_tus_module, row by row of docs/tus.md,
with raw HTTP (python requests and raw sockets).

Every negative test also checks that nothing was written: the store
directory (and the spool) is unchanged, or the data file kept its size and
bytes.
"""

import base64
import email.utils
import hashlib
import json
import os
import re
import socket
import threading
import time
import zlib

import pytest
import requests

from harness import (
    TUS_HDR, TUS_VERSION, OCTET, EXTENSIONS, CHECKSUM_ALGOS, ID_RE,
    IMF_FIXDATE_RE, HTTP_TIMEOUT, KiB, MiB, b64, encode_metadata, payload,
    big_payload, sha256, sha256_file, wait_until, dir_snapshot, ofd_locks_on,
    raw_request)


# --------------------------------------------------------------------------
# helpers


def data_file(nginx, uid, store="files"):
    return nginx.store(store) / uid


def info_file(nginx, uid, store="files"):
    return nginx.store(store) / (uid + ".info")


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def assert_tus_resumable(r):
    h = r.headers
    assert h.get("Tus-Resumable") == TUS_VERSION, dict(h)


def assert_error(r, status):
    """module errors: status, Tus-Resumable, text/plain one-line reason"""
    code = getattr(r, "status_code", None) or r.status
    body = r.content if hasattr(r, "content") else r.body
    assert code == status, (code, body[:300], dict(r.headers))
    assert_tus_resumable(r)
    ctype = r.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "text/plain", ctype
    text = body.decode("utf-8", "replace")
    assert text.strip(), "empty error body"
    assert "\n" not in text.rstrip("\n"), "error body is not one line: %r" % text


class Unchanged:
    """asserts that the store (and spool) did not change across a block"""

    def __init__(self, nginx, store="files", spool=True):
        self.dirs = [nginx.store(store)] + ([nginx.spool] if spool else [])

    def __enter__(self):
        self.before = [dir_snapshot(d) for d in self.dirs]
        return self

    def __exit__(self, exc_type, *a):
        if exc_type is None:
            after = [dir_snapshot(d) for d in self.dirs]
            for d, b, a_ in zip(self.dirs, self.before, after):
                assert a_ == b, "directory %s changed:\n before %r\n after  %r" % (
                    d, b, a_)
        return False


def http_date_to_ts(value):
    assert IMF_FIXDATE_RE.match(value), "not an IMF-fixdate: %r" % value
    return email.utils.parsedate_to_datetime(value).timestamp()


def csv_set(value):
    return {v.strip() for v in (value or "").split(",") if v.strip()}


def csv_set_lower(value):
    return {v.lower() for v in csv_set(value)}


# --------------------------------------------------------------------------
# discovery and version


def test_options_discovery(nginx, tus):
    r = tus.options()
    assert r.status_code == 204, r.status_code
    assert TUS_VERSION in csv_set(r.headers.get("Tus-Version"))
    assert csv_set(r.headers.get("Tus-Extension")) >= EXTENSIONS, \
        r.headers.get("Tus-Extension")
    assert r.headers.get("Tus-Max-Size") == str(1 << 30)
    assert csv_set_lower(r.headers.get("Tus-Checksum-Algorithm")) == \
        CHECKSUM_ALGOS
    # the same with Tus-Resumable sent
    r2 = tus.options(tus=True)
    assert r2.status_code == 204


def test_options_on_upload_url_and_other_locations(nginx, tus):
    url, uid = tus.create_ok(10)
    r = tus.options(url)
    assert r.status_code == 204
    assert TUS_VERSION in csv_set(r.headers.get("Tus-Version"))
    small = nginx.tus("/small/").options()
    assert small.status_code == 204
    assert small.headers.get("Tus-Max-Size") == str(1 << 20)
    # no tus_max_size on /proxied/: no Tus-Max-Size
    prox = nginx.tus("/proxied/").options()
    assert prox.status_code == 204
    assert "Tus-Max-Size" not in prox.headers


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", "2.0.0", ""])
@pytest.mark.parametrize("method", ["POST", "HEAD", "PATCH", "DELETE"])
def test_412_without_valid_tus_resumable(nginx, tus, method, version):
    data = b"0123456789"
    url, uid = tus.create_ok(100)
    r0 = tus.patch(url, 0, data)
    assert r0.status_code == 204
    headers = {}
    if version is not None:
        headers["Tus-Resumable"] = version
    if method == "POST":
        headers["Upload-Length"] = "10"
        target, body = tus.endpoint, None
    elif method == "PATCH":
        headers.update({"Upload-Offset": "10", "Content-Type": OCTET})
        target, body = url, b"abcdef"
    else:
        target, body = url, None
    with Unchanged(nginx):
        r = requests.request(method, target, headers=headers, data=body,
                             timeout=HTTP_TIMEOUT)
    assert r.status_code == 412, (r.status_code, r.text)
    assert TUS_VERSION in csv_set(r.headers.get("Tus-Version"))
    assert_tus_resumable(r)
    if method != "HEAD":
        assert r.headers.get("Content-Type", "").startswith("text/plain")
    assert file_bytes(data_file(nginx, uid)) == data
    assert info_file(nginx, uid).exists()


def test_get_without_tus_resumable_is_allowed(nginx, tus):
    data = payload(1000, 1)
    url, uid = tus.upload(data)
    r = requests.get(url, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    assert r.content == data


def test_every_response_carries_tus_resumable(nginx, tus):
    url, uid = tus.create_ok(20)
    responses = [
        tus.create(20),                                   # 201
        tus.head(url),                                    # 200
        tus.patch(url, 0, b"x" * 5),                      # 204
        tus.patch(url, 0, b"x" * 5),                      # 409
        tus.patch(url, 5, b"x", content_type="text/plain"),  # 415
        tus.create("abc"),                                # 400
        tus.head(tus.url_of("0" * 32)),                   # 404
        tus.get(url),                                     # 409
        requests.post(tus.endpoint, headers={"Upload-Length": "1"},
                      timeout=HTTP_TIMEOUT),              # 412
    ]
    assert [r.status_code for r in responses] == \
        [201, 200, 204, 409, 415, 400, 404, 409, 412]
    for r in responses:
        assert_tus_resumable(r)


def test_error_bodies_are_one_line_text(nginx, tus):
    url, uid = tus.create_ok(20)
    assert_error(tus.patch(url, 3, b"x"), 409)
    assert_error(tus.patch(url, 0, b"x", content_type="text/plain"), 415)
    assert_error(tus.create("abc"), 400)
    assert_error(tus.get(tus.url_of("f" * 32)), 404)
    assert_error(tus.get(url), 409)
    assert_error(nginx.tus("/small/").create(2 << 20), 413)


# --------------------------------------------------------------------------
# creation


def test_create_location_expires_and_files(nginx, tus):
    before = time.time()
    r = tus.create(1234)
    assert r.status_code == 201, r.text
    assert_tus_resumable(r)
    loc = r.headers["Location"]
    m = re.match(r"^http://127\.0\.0\.1:%d/files/([0-9a-f]{32})$" % nginx.port,
                 loc)
    assert m, "Location is not an absolute URL of the upload: %r" % loc
    uid = m.group(1)
    exp = http_date_to_ts(r.headers["Upload-Expires"])
    # tus_expiration 1h after creation (whole seconds)
    assert before + 3600 - 2 <= exp <= time.time() + 3600 + 2, \
        (exp - before)
    # staging files
    assert data_file(nginx, uid).is_file()
    assert data_file(nginx, uid).stat().st_size == 0
    assert info_file(nginx, uid).is_file()
    # HEAD
    h = tus.head(loc)
    assert h.status_code == 200
    assert h.headers["Upload-Offset"] == "0"
    assert h.headers["Upload-Length"] == "1234"
    assert h.headers.get("Cache-Control") == "no-store"
    assert http_date_to_ts(h.headers["Upload-Expires"]) == exp
    assert "Upload-Defer-Length" not in h.headers
    assert "Upload-Concat" not in h.headers
    assert not nginx.job_path(uid).exists()


def test_create_ids_are_distinct(nginx, tus):
    ids = {tus.create_ok(1)[1] for _ in range(24)}
    assert len(ids) == 24
    for uid in ids:
        assert ID_RE.match(uid)


def test_create_zero_length_is_complete(nginx, tus):
    url, uid = tus.create_ok(0)
    h = tus.head(url)
    assert h.status_code == 200
    assert h.headers["Upload-Offset"] == "0"
    assert h.headers["Upload-Length"] == "0"
    assert "Upload-Expires" not in h.headers
    g = tus.get(url)
    assert g.status_code == 200 and g.content == b""
    job = nginx.wait_job(uid)
    assert job["size"] == 0


@pytest.mark.parametrize("base,limit", [("/files/", 1 << 30),
                                        ("/small/", 1 << 20)])
def test_create_max_size(nginx, base, limit):
    store = base.strip("/")
    t = nginx.tus(base)
    with Unchanged(nginx, store):
        r = t.create(limit + 1)
        assert_error(r, 413)
        assert_error(t.create(2 ** 63 - 1), 413)
    url, uid = t.create_ok(limit)          # exactly the limit is fine
    assert t.offset(url) == 0


BAD_NUMBERS = ["-1", "abc", "18446744073709551616", "9223372036854775808",
               "", "+5", "0x10", "1e3", "1.0", "5 5", "99999999999999999999999"]


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_create_bad_upload_length(nginx, tus, value):
    with Unchanged(nginx):
        r = tus.create(value)
        assert_error(r, 400)


@pytest.mark.parametrize("value", ["0", "2", "true", "", "01", "1,1"])
def test_create_bad_defer_length(nginx, tus, value):
    with Unchanged(nginx):
        r = tus.create(headers={"Upload-Defer-Length": value})
        assert_error(r, 400)


def test_create_needs_length_or_defer(nginx, tus):
    with Unchanged(nginx):
        assert_error(tus.create(), 400)
        assert_error(tus.create(100, defer=True), 400)


def test_defer_length(nginx, tus):
    data = payload(300 * KiB, 2)
    url, uid = tus.create_ok(defer=True)
    h = tus.head(url)
    assert h.status_code == 200
    assert h.headers.get("Upload-Defer-Length") == "1"
    assert "Upload-Length" not in h.headers
    assert h.headers["Upload-Offset"] == "0"
    # data without a length
    r = tus.patch(url, 0, data[:100 * KiB])
    assert r.status_code == 204
    assert r.headers["Upload-Offset"] == str(100 * KiB)
    # bad lengths: not a number, below the offset, above tus_max_size
    with Unchanged(nginx):
        assert_error(tus.patch(url, 100 * KiB, b"",
                               headers={"Upload-Length": "abc"}), 400)
        assert_error(tus.patch(url, 100 * KiB, b"",
                               headers={"Upload-Length": "-5"}), 400)
        assert_error(tus.patch(url, 100 * KiB, b"",
                               headers={"Upload-Length": str(100 * KiB - 1)}),
                     400)
        assert_error(tus.patch(url, 100 * KiB, b"x" * 10,
                               headers={"Upload-Length": str((1 << 30) + 1)}),
                     413)
    # set the length with the next chunk
    r = tus.patch(url, 100 * KiB, data[100 * KiB:200 * KiB],
                  headers={"Upload-Length": str(len(data))})
    assert r.status_code == 204, r.text
    h = tus.head(url)
    assert h.headers["Upload-Length"] == str(len(data))
    assert "Upload-Defer-Length" not in h.headers
    # the length cannot change any more
    with Unchanged(nginx):
        assert_error(tus.patch(url, 200 * KiB, b"",
                               headers={"Upload-Length": str(len(data) + 1)}),
                     400)
    r = tus.patch(url, 200 * KiB, data[200 * KiB:])
    assert r.status_code == 204
    assert tus.get(url).content == data
    job = nginx.wait_job(uid)
    assert job["size"] == len(data)


def test_defer_length_set_with_empty_patch(nginx, tus):
    data = payload(5000, 3)
    url, uid = tus.create_ok(defer=True)
    assert tus.patch(url, 0, data).status_code == 204
    r = tus.patch(url, len(data), b"", headers={"Upload-Length": str(len(data))})
    assert r.status_code == 204, r.text
    h = tus.head(url)
    assert h.headers["Upload-Length"] == str(len(data))
    assert h.headers["Upload-Offset"] == str(len(data))
    assert tus.get(url).content == data
    nginx.wait_job(uid)


def test_creation_with_upload_partial_body(nginx, tus):
    data = payload(200 * KiB, 4)
    r = tus.create(len(data), body=data[:70 * KiB])
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(70 * KiB)
    assert "Upload-Expires" in r.headers
    uid = r.headers["Location"].rsplit("/", 1)[1]
    url = tus.url_of(uid)
    assert tus.offset(url) == 70 * KiB
    assert file_bytes(data_file(nginx, uid)) == data[:70 * KiB]
    tus.send_all(url, data, start=70 * KiB)
    assert tus.get(url).content == data


def test_creation_with_upload_whole_body_completes(nginx, tus):
    data = payload(1 * MiB + 17, 5)
    r = tus.create(len(data), body=data, metadata={"filetype": "video/mp4"})
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    uid = r.headers["Location"].rsplit("/", 1)[1]
    job = nginx.wait_job(uid)
    assert job["size"] == len(data)
    assert sha256_file(job["source"]) == sha256(data)


def test_creation_with_upload_chunked_body(nginx, tus):
    data = payload(600 * KiB, 6)

    def gen():
        for i in range(0, 300 * KiB, 50 * KiB):
            yield data[i:i + 50 * KiB]

    r = tus.create(len(data), body=gen())
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(300 * KiB)
    uid = r.headers["Location"].rsplit("/", 1)[1]
    assert file_bytes(data_file(nginx, uid)) == data[:300 * KiB]


def test_creation_with_upload_wrong_content_type(nginx, tus):
    with Unchanged(nginx):
        r = tus.create(100, body=b"x" * 50, content_type="application/json")
        assert_error(r, 415)
    # an empty body with any content type is a plain creation
    r = tus.create(100, body=b"", content_type="application/json")
    assert r.status_code == 201


def test_creation_with_upload_body_past_length(nginx, tus):
    with Unchanged(nginx):
        r = tus.create(10, body=b"x" * 20)
        assert_error(r, 413)


def test_create_on_small_body_past_max_size(nginx):
    t = nginx.tus("/small/")
    with Unchanged(nginx, "small"):
        r = t.create(defer=True, body=b"x" * ((1 << 20) + 1))
        assert r.status_code == 413


# --------------------------------------------------------------------------
# PATCH


def test_patch_in_chunks_completes(nginx, tus):
    data = payload(4 * MiB + 123, 7)
    url, uid = tus.create_ok(len(data), metadata={"filename": "a.bin"})
    off = 0
    for size in (1, 1000, 512 * KiB - 1, 512 * KiB + 1, 2 * MiB):
        piece = data[off:off + size]
        r = tus.patch(url, off, piece)
        assert r.status_code == 204, r.text
        assert_tus_resumable(r)
        off += len(piece)
        assert r.headers["Upload-Offset"] == str(off)
        assert "Upload-Expires" in r.headers
        assert data_file(nginx, uid).stat().st_size == off
    r = tus.patch(url, off, data[off:])
    assert r.status_code == 204
    assert r.headers["Upload-Offset"] == str(len(data))
    h = tus.head(url)
    assert h.headers["Upload-Offset"] == h.headers["Upload-Length"] == \
        str(len(data))
    assert "Upload-Expires" not in h.headers   # completed uploads never expire
    assert sha256_file(data_file(nginx, uid)) == sha256(data)
    assert tus.get(url).content == data


def test_patch_big_single_request(nginx, tus):
    data = big_payload(24 * MiB + 5, 8)
    url, uid = tus.create_ok(len(data))
    r = tus.patch(url, 0, data)
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    assert sha256_file(data_file(nginx, uid)) == sha256(data)
    nginx.wait_job(uid)


def test_patch_chunked_body(nginx, tus):
    data = big_payload(5 * MiB + 77, 9)

    def gen(lo, hi, step=64 * KiB + 3):
        for i in range(lo, hi, step):
            yield data[i:min(i + step, hi)]

    url, uid = tus.create_ok(len(data))
    r = tus.http.patch(url, data=gen(0, 2 * MiB),
                       headers=dict(TUS_HDR, **{"Upload-Offset": "0",
                                                "Content-Type": OCTET}),
                       timeout=HTTP_TIMEOUT)
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == str(2 * MiB)
    r = tus.http.patch(url, data=gen(2 * MiB, len(data)),
                       headers=dict(TUS_HDR, **{
                           "Upload-Offset": str(2 * MiB),
                           "Content-Type": OCTET}),
                       timeout=HTTP_TIMEOUT)
    assert r.status_code == 204, r.text
    assert tus.get(url).content == data


def test_patch_chunked_body_past_length(nginx, tus):
    url, uid = tus.create_ok(100)

    def gen():
        yield b"a" * 60
        yield b"b" * 60

    r = tus.http.patch(url, data=gen(),
                       headers=dict(TUS_HDR, **{"Upload-Offset": "0",
                                                "Content-Type": OCTET}),
                       timeout=HTTP_TIMEOUT)
    assert r.status_code == 413, r.text
    size = data_file(nginx, uid).stat().st_size
    assert size <= 100, size
    assert tus.offset(url) == size
    assert file_bytes(data_file(nginx, uid)) == (b"a" * 60 + b"b" * 40)[:size]


def test_patch_offset_mismatch_409(nginx, tus):
    url, uid = tus.create_ok(100)
    assert tus.patch(url, 0, b"x" * 10).status_code == 204
    with Unchanged(nginx):
        for off in (0, 9, 11, 100, 2 ** 40):
            assert_error(tus.patch(url, off, b"y" * 5), 409)
    assert file_bytes(data_file(nginx, uid)) == b"x" * 10


def test_patch_content_type_415(nginx, tus):
    url, uid = tus.create_ok(100)
    with Unchanged(nginx):
        for ct in ("application/octet-stream", "text/plain",
                   "application/offset+octet-streamx"):
            assert_error(tus.patch(url, 0, b"y" * 5, content_type=ct), 415)
        r = tus.patch(url, 0, b"y" * 5, content_type=None)
        # requests sends no Content-Type for bytes: must be 415
        assert_error(r, 415)


def test_patch_content_type_parameters_and_case(nginx, tus):
    url, uid = tus.create_ok(100)
    r = tus.patch(url, 0, b"a" * 5,
                  content_type="Application/Offset+Octet-Stream; charset=x")
    assert r.status_code == 204


def test_patch_missing_offset_400(nginx, tus):
    url, uid = tus.create_ok(100)
    with Unchanged(nginx):
        r = tus.http.patch(url, data=b"abc",
                           headers=dict(TUS_HDR, **{"Content-Type": OCTET}),
                           timeout=HTTP_TIMEOUT)
        assert_error(r, 400)


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_patch_bad_upload_offset(nginx, tus, value):
    url, uid = tus.create_ok(100)
    assert tus.patch(url, 0, b"z" * 4).status_code == 204
    with Unchanged(nginx):
        assert_error(tus.patch(url, value, b"q" * 8), 400)
    assert file_bytes(data_file(nginx, uid)) == b"z" * 4


def test_patch_past_length_413_nothing_written(nginx, tus):
    url, uid = tus.create_ok(100)
    assert tus.patch(url, 0, b"a" * 40).status_code == 204
    with Unchanged(nginx):
        assert_error(tus.patch(url, 40, b"b" * 61), 413)
    assert tus.patch(url, 40, b"b" * 60).status_code == 204
    with Unchanged(nginx):
        assert_error(tus.patch(url, 100, b"c"), 413)
    assert file_bytes(data_file(nginx, uid)) == b"a" * 40 + b"b" * 60


def test_patch_past_max_size_on_small(nginx):
    t = nginx.tus("/small/")
    url, uid = t.create_ok(defer=True)
    with Unchanged(nginx, "small"):
        assert t.patch(url, 0, b"x" * ((1 << 20) + 1)).status_code == 413
    assert t.patch(url, 0, b"x" * (1 << 20)).status_code == 204


def test_patch_empty_body(nginx, tus):
    url, uid = tus.create_ok(10)
    r = tus.patch(url, 0, b"")
    assert r.status_code == 204
    assert r.headers["Upload-Offset"] == "0"


def test_patch_unknown_upload_404(nginx, tus):
    with Unchanged(nginx):
        assert_error(tus.patch(tus.url_of("1" * 32), 0, b"abc"), 404)


def test_method_override(nginx, tus):
    data = payload(4000, 10)
    url, uid = tus.create_ok(len(data))
    r = tus.http.post(url, data=data[:1000], timeout=HTTP_TIMEOUT,
                      headers=dict(TUS_HDR, **{
                          "X-HTTP-Method-Override": "PATCH",
                          "Upload-Offset": "0", "Content-Type": OCTET}))
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "1000"
    r = tus.http.post(url, timeout=HTTP_TIMEOUT,
                      headers=dict(TUS_HDR, **{
                          "X-HTTP-Method-Override": "HEAD"}))
    assert r.status_code == 200, r.text
    assert r.headers["Upload-Offset"] == "1000"
    assert r.headers["Upload-Length"] == str(len(data))
    assert r.content == b""
    r = tus.http.post(url, timeout=HTTP_TIMEOUT,
                      headers=dict(TUS_HDR, **{
                          "X-HTTP-Method-Override": "DELETE"}))
    assert r.status_code == 204
    assert tus.head(url).status_code == 404
    assert not data_file(nginx, uid).exists()


def test_head_cache_control_and_unknown(nginx, tus):
    url, uid = tus.create_ok(5)
    h = tus.head(url)
    assert h.headers.get("Cache-Control") == "no-store"
    h404 = tus.head(tus.url_of("a" * 32))
    assert h404.status_code == 404
    assert_tus_resumable(h404)


# --------------------------------------------------------------------------
# checksum


def digest(algo, data):
    if algo == "crc32":
        return (zlib.crc32(data) & 0xffffffff).to_bytes(4, "big")
    return hashlib.new(algo, data).digest()


def cksum_header(algo, data):
    return "%s %s" % (algo, base64.b64encode(digest(algo, data)).decode())


@pytest.mark.parametrize("size", [1000, 2 * MiB + 3])
@pytest.mark.parametrize("algo", sorted(CHECKSUM_ALGOS))
def test_checksum_good(nginx, tus, algo, size):
    data = big_payload(2 * size, 11)
    url, uid = tus.create_ok(len(data))
    for off in (0, size):
        piece = data[off:off + size]
        r = tus.patch(url, off, piece,
                      headers={"Upload-Checksum": cksum_header(algo, piece)})
        assert r.status_code == 204, (r.status_code, r.text)
        assert r.headers["Upload-Offset"] == str(off + size)
    assert sha256_file(data_file(nginx, uid)) == sha256(data)


@pytest.mark.parametrize("size", [1000, 3 * MiB + 1])
@pytest.mark.parametrize("algo", sorted(CHECKSUM_ALGOS))
def test_checksum_mismatch_460(nginx, tus, algo, size):
    data = big_payload(size + 500, 12)
    url, uid = tus.create_ok(len(data))
    assert tus.patch(url, 0, data[:500]).status_code == 204
    piece = data[500:]
    wrong = bytearray(digest(algo, piece))
    wrong[0] ^= 0xff
    hdr = "%s %s" % (algo, base64.b64encode(bytes(wrong)).decode())
    r = tus.patch(url, 500, piece, headers={"Upload-Checksum": hdr})
    assert_error(r, 460)
    # the chunk is discarded: offset and file where they were
    assert tus.offset(url) == 500
    assert data_file(nginx, uid).stat().st_size == 500
    assert file_bytes(data_file(nginx, uid)) == data[:500]
    # and the same chunk with the right checksum goes through
    r = tus.patch(url, 500, piece,
                  headers={"Upload-Checksum": cksum_header(algo, piece)})
    assert r.status_code == 204
    assert sha256_file(data_file(nginx, uid)) == sha256(data)


@pytest.mark.parametrize("good", [True, False])
def test_checksum_with_chunked_body(nginx, tus, good):
    data = big_payload(MiB + 999, 26)
    url, uid = tus.create_ok(len(data) + 10)
    assert tus.patch(url, 0, b"0123456789").status_code == 204
    dig = bytearray(digest("sha1", data))
    if not good:
        dig[-1] ^= 1

    def gen():
        for i in range(0, len(data), 100 * KiB):
            yield data[i:i + 100 * KiB]

    r = tus.http.patch(url, data=gen(), timeout=HTTP_TIMEOUT, headers=dict(
        TUS_HDR, **{"Upload-Offset": "10", "Content-Type": OCTET,
                    "Upload-Checksum": "sha1 " + base64.b64encode(
                        bytes(dig)).decode()}))
    if good:
        assert r.status_code == 204, r.text
        assert sha256_file(data_file(nginx, uid)) == sha256(b"0123456789" + data)
    else:
        assert_error(r, 460)
        assert tus.offset(url) == 10
        assert file_bytes(data_file(nginx, uid)) == b"0123456789"


def test_small_write_buffers(nginx):
    """tus_buffer_size 64k: many buffer swaps per PATCH"""
    t = nginx.tus("/smallbuf/")
    data = big_payload(3 * MiB + 4321, 27)
    url, uid = t.create_ok(len(data))
    piece = data[:2 * MiB + 7]
    r = t.patch(url, 0, piece, headers={
        "Upload-Checksum": cksum_header("md5", piece)})
    assert r.status_code == 204, r.text
    t.send_all(url, data, start=len(piece))
    assert sha256_file(data_file(nginx, uid, "smallbuf")) == sha256(data)
    assert nginx.wait_job(uid)["size"] == len(data)


@pytest.mark.parametrize("header", [
    "sha512 " + b64(b"\0" * 64),
    "sha3-256 " + b64(b"\0" * 32),
    "blake2b " + b64(b"\0" * 64),
    "crc64 " + b64(b"\0" * 8),
])
def test_checksum_unknown_algorithm_400(nginx, tus, header):
    url, uid = tus.create_ok(100)
    with Unchanged(nginx):
        assert_error(tus.patch(url, 0, b"x" * 10,
                               headers={"Upload-Checksum": header}), 400)


@pytest.mark.parametrize("header", [
    "sha1",
    "sha1 !!!!not-base64!!!!",
    "sha1 " + b64(b"\0" * 10),          # wrong digest length
    "md5 " + b64(b"\0" * 20),
    "crc32 " + b64(b"\0" * 5),
    "sha256 " + b64(b"\0" * 32)[:-1],   # truncated base64
    "sha1 " + b64(b"\0" * 20) + " extra",
])
def test_checksum_malformed_400(nginx, tus, header):
    url, uid = tus.create_ok(100)
    with Unchanged(nginx):
        assert_error(tus.patch(url, 0, b"x" * 10,
                               headers={"Upload-Checksum": header}), 400)


# --------------------------------------------------------------------------
# termination


def test_delete(nginx, tus):
    data = payload(5000, 13)
    url, uid = tus.create_ok(10000)
    assert tus.patch(url, 0, data).status_code == 204
    r = tus.delete(url)
    assert r.status_code == 204
    assert_tus_resumable(r)
    assert not data_file(nginx, uid).exists()
    assert not info_file(nginx, uid).exists()
    assert tus.head(url).status_code == 404
    assert_error(tus.patch(url, 5000, b"x"), 404)
    assert_error(tus.get(url), 404)
    assert_error(tus.delete(url), 404)
    assert not nginx.job_path(uid).exists()
    # nothing left behind for the id
    assert not [n for n in os.listdir(nginx.store("files")) if uid in n]


def test_delete_unknown_404(nginx, tus):
    with Unchanged(nginx):
        assert_error(tus.delete(tus.url_of("2" * 32)), 404)


# --------------------------------------------------------------------------
# concatenation


def make_partial(tus, data, finish=True):
    url, uid = tus.create_ok(len(data), concat="partial")
    h = tus.head(url)
    assert h.headers.get("Upload-Concat") == "partial"
    if finish:
        tus.send_all(url, data)
    return url, uid


def wait_final_offset(tus, url, timeout=20):
    def done():
        h = tus.head(url)
        assert h.status_code == 200, h.status_code
        return h if "Upload-Offset" in h.headers else None
    return wait_until(done, timeout=timeout, what="final upload assembled")


@pytest.mark.parametrize("form", ["absolute", "path"])
def test_concatenation(nginx, tus, form):
    a = payload(700 * KiB + 1, 14)
    b = payload(300 * KiB + 7, 15)
    ua, ida = make_partial(tus, a)
    ub, idb = make_partial(tus, b)
    if form == "path":
        ua, ub = "/files/" + ida, "/files/" + idb
    r = tus.create(concat="final;%s %s" % (ua, ub),
                   metadata={"filename": "joined.bin",
                             "filetype": "video/mp4"})
    assert r.status_code == 201, r.text
    fid = r.headers["Location"].rsplit("/", 1)[1]
    furl = tus.url_of(fid)
    h = wait_final_offset(tus, furl)
    assert h.headers["Upload-Length"] == str(len(a) + len(b))
    assert h.headers["Upload-Offset"] == str(len(a) + len(b))
    concat = h.headers.get("Upload-Concat", "")
    assert concat.startswith("final;"), concat
    assert ida in concat and idb in concat and concat.index(ida) < concat.index(idb)
    g = tus.get(furl)
    assert g.status_code == 200
    assert g.content == a + b
    assert g.headers["Content-Type"].startswith("video/mp4")
    job = nginx.wait_job(fid)
    assert job["size"] == len(a) + len(b)
    assert sha256_file(job["source"]) == sha256(a + b)
    # partials are not handed to the spool
    assert not nginx.job_path(ida).exists()
    assert not nginx.job_path(idb).exists()
    # PATCH to a final upload
    with Unchanged(nginx):
        assert_error(tus.patch(furl, len(a) + len(b), b"x"), 403)


def test_concatenation_unfinished(nginx, tus):
    a = payload(200 * KiB, 16)
    b = payload(900 * KiB + 3, 17)
    ua, ida = make_partial(tus, a, finish=False)
    ub, idb = make_partial(tus, b, finish=False)
    assert tus.patch(ua, 0, a[:1000]).status_code == 204
    r = tus.create(concat="final;%s %s" % (ua, ub))
    assert r.status_code == 201, r.text
    fid = r.headers["Location"].rsplit("/", 1)[1]
    furl = tus.url_of(fid)
    h = tus.head(furl)
    assert h.status_code == 200
    assert "Upload-Offset" not in h.headers, dict(h.headers)
    assert h.headers.get("Upload-Concat", "").startswith("final;")
    assert not nginx.job_path(fid).exists()
    assert tus.get(furl).status_code == 409
    with Unchanged(nginx):
        assert_error(tus.patch(furl, 0, b"x"), 403)
    # finish the partials, the last one triggers the assembly
    tus.send_all(ua, a, start=1000)
    time.sleep(0.2)
    h = tus.head(furl)
    assert "Upload-Offset" not in h.headers
    tus.send_all(ub, b)
    h = wait_final_offset(tus, furl)
    assert h.headers["Upload-Offset"] == str(len(a) + len(b))
    assert h.headers["Upload-Length"] == str(len(a) + len(b))
    job = nginx.wait_job(fid)
    assert job["size"] == len(a) + len(b)
    assert tus.get(furl).content == a + b
    assert not nginx.job_path(ida).exists()
    assert not nginx.job_path(idb).exists()


def test_concatenation_errors(nginx, tus):
    pa, ida = make_partial(tus, b"abc")
    normal, nid = tus.upload(b"defg")
    unknown = tus.url_of("3" * 32)
    with Unchanged(nginx):
        assert_error(tus.create(concat="final;%s %s" % (pa, unknown)), 400)
        assert_error(tus.create(concat="final;%s %s" % (pa, normal)), 400)
        assert_error(tus.create(3, concat="final;%s" % pa), 400)
        assert_error(tus.create(concat="final;"), 400)
        assert_error(tus.create(concat="final;not-a-url"), 400)
        assert_error(tus.create(concat="final;%s?x=1" % pa), 400)
        assert_error(tus.create(concat="bogus"), 400)


def test_partial_with_metadata_and_defer(nginx, tus):
    # a partial upload may defer its length; a final of it waits
    url, uid = tus.create_ok(defer=True, concat="partial")
    assert tus.patch(url, 0, b"hello ").status_code == 204
    pb, idb = make_partial(tus, b"world")
    r = tus.create(concat="final;%s %s" % (url, pb))
    assert r.status_code == 201, r.text
    fid = r.headers["Location"].rsplit("/", 1)[1]
    furl = tus.url_of(fid)
    assert "Upload-Offset" not in tus.head(furl).headers
    r = tus.patch(url, 6, b"", headers={"Upload-Length": "6"})
    assert r.status_code == 204, r.text
    h = wait_final_offset(tus, furl)
    assert h.headers["Upload-Offset"] == "11"
    assert tus.get(furl).content == b"hello world"
    nginx.wait_job(fid)


# --------------------------------------------------------------------------
# metadata


def test_metadata_round_trip(nginx, tus):
    meta = "filename %s,filetype %s,flag,n %s" % (
        b64("clip.mp4"), b64("video/mp4"), b64(b"\x00\xff bin"))
    url, uid = tus.create_ok(3, metadata=meta)
    h = tus.head(url)
    assert h.headers.get("Upload-Metadata") == meta
    tus.send_all(url, b"abc")
    h = tus.head(url)
    assert h.headers.get("Upload-Metadata") == meta


def test_metadata_empty_header_is_valid(nginx, tus):
    url, uid = tus.create_ok(3, metadata="")
    assert tus.head(url).status_code == 200


def test_metadata_large_but_accepted(nginx, tus):
    meta = encode_metadata({"k%03d" % i: "v" * 40 for i in range(90)})
    assert 5000 < len(meta) < 7000
    url, uid = tus.create_ok(1, metadata=meta)
    assert tus.head(url).headers.get("Upload-Metadata") == meta


@pytest.mark.parametrize("meta", [
    "filename !!!!",
    "filename a===",
    "filename " + b64("a") + "," + "filename " + b64("b"),   # duplicate key
    "a b c",
    ",",
    "filename " + b64("a") + ",,x " + b64("b"),
    "k\x01 " + b64("x"),
])
def test_metadata_bad_400(nginx, tus, meta):
    with Unchanged(nginx):
        assert_error(tus.create(10, metadata=meta), 400)


def test_oversized_header_rejected_by_nginx(nginx, tus):
    meta = "filename " + b64("x" * 15000)      # ~20 KB header line
    assert len(meta) > 19000
    with Unchanged(nginx):
        r = tus.create(10, metadata=meta)
        assert r.status_code in (400, 431, 494), r.status_code


# --------------------------------------------------------------------------
# GET


def test_get_content_type_and_disposition(nginx, tus):
    data = payload(2000, 18)
    url, uid = tus.upload(data, metadata={"filename": "movie.mp4",
                                          "filetype": "video/mp4"})
    g = tus.get(url)
    assert g.status_code == 200
    assert g.content == data
    assert g.headers["Content-Type"].split(";")[0] == "video/mp4"
    assert "movie.mp4" in g.headers.get("Content-Disposition", "")
    assert g.headers.get("Content-Length") == str(len(data))
    url2, _ = tus.upload(data, metadata={"contentType": "audio/ogg"})
    assert tus.get(url2).headers["Content-Type"].split(";")[0] == "audio/ogg"


@pytest.mark.parametrize("filetype", [None, "notatype", "video/mp4 x",
                                      "video/", "/mp4", "video/mp4\r\nX-A: b"])
def test_get_content_type_fallback(nginx, tus, filetype):
    meta = {} if filetype is None else {"filetype": filetype}
    url, uid = tus.upload(b"hello", metadata=meta)
    g = tus.get(url)
    assert g.status_code == 200
    assert g.headers["Content-Type"] == "application/octet-stream"
    assert "X-A" not in g.headers


def test_get_no_header_injection_from_filename(nginx, tus):
    url, uid = tus.upload(b"x", metadata={
        "filename": 'evil"; x=1\r\nX-Injected: yes\r\n\r\n<html>'})
    r = raw_request(nginx.port, "GET", "/files/" + uid, TUS_HDR)
    assert r.status == 200
    assert "X-Injected" not in r.headers
    assert r.body == b"x"


def test_get_repeated_on_keepalive_connections(nginx, tus):
    """several GETs of a completed upload per keep-alive connection"""
    data = big_payload(6 * MiB + 333, 24)
    url, uid = tus.upload(data, chunk=2 * MiB)
    digest_ = sha256(data)
    for i in range(12):
        with nginx.connect() as c:
            for j in range(3):
                r = c.request("GET", "/files/" + uid, TUS_HDR)
                assert r.status == 200, (i, j, r.status)
                assert len(r.body) == len(data), (i, j, len(r.body))
                assert sha256(r.body) == digest_, (i, j)
                time.sleep(0.01 * (i % 4))
    # and HEAD/GET interleaved on one connection
    with nginx.connect() as c:
        for j in range(4):
            assert c.request("HEAD", "/files/" + uid, TUS_HDR).status == 200
            r = c.request("GET", "/files/" + uid, TUS_HDR)
            assert r.status == 200 and len(r.body) == len(data)


def test_get_unfinished_409_and_unknown_404(nginx, tus):
    url, uid = tus.create_ok(10)
    tus.patch(url, 0, b"12345")
    assert_error(tus.get(url), 409)
    assert_error(tus.get(tus.url_of("4" * 32)), 404)


# --------------------------------------------------------------------------
# CORS

CORS_REQ_HEADERS = ["Upload-Offset", "Upload-Length", "Tus-Resumable",
                    "Upload-Metadata", "Upload-Checksum", "Upload-Concat",
                    "Upload-Defer-Length"]
CORS_EXPOSED = ["Location", "Upload-Offset", "Upload-Length", "Tus-Resumable",
                "Tus-Version", "Tus-Extension", "Tus-Max-Size",
                "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat",
                "Upload-Expires"]


def test_cors_preflight(nginx, tus):
    url, uid = tus.create_ok(10)
    for target in (tus.endpoint, url):
        r = requests.options(target, timeout=HTTP_TIMEOUT, headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers":
                "upload-offset,content-type,tus-resumable"})
        assert r.status_code in (200, 204), r.status_code
        assert r.headers.get("Access-Control-Allow-Origin") in \
            ("*", "https://app.example")
        methods = {m.upper() for m in
                   csv_set(r.headers.get("Access-Control-Allow-Methods"))}
        assert methods >= {"POST", "HEAD", "PATCH", "DELETE"}, methods
        allowed = csv_set_lower(r.headers.get("Access-Control-Allow-Headers"))
        assert allowed >= {h.lower() for h in CORS_REQ_HEADERS}, allowed
        assert r.headers.get("Access-Control-Max-Age", "").isdigit()


def test_cors_expose_headers_on_responses(nginx, tus):
    origin = {"Origin": "https://app.example"}
    r = tus.create(10, headers=origin)
    assert r.status_code == 201
    url = r.headers["Location"]
    for resp in (r, tus.head(url, headers=origin),
                 tus.patch(url, 0, b"x", headers=origin),
                 tus.patch(url, 0, b"x", headers=origin)):  # 409 too
        assert resp.headers.get("Access-Control-Allow-Origin") in \
            ("*", "https://app.example"), (resp.status_code, dict(resp.headers))
        exposed = csv_set_lower(resp.headers.get("Access-Control-Expose-Headers"))
        assert exposed >= {h.lower() for h in CORS_EXPOSED}, exposed


def test_cors_origin_list(nginx):
    t = nginx.tus("/cors-list/")
    r = t.create(5, headers={"Origin": "https://b.example"})
    assert r.status_code == 201
    assert r.headers.get("Access-Control-Allow-Origin") == "https://b.example"
    assert "origin" in csv_set_lower(r.headers.get("Vary"))
    r = t.create(5, headers={"Origin": "https://evil.example"})
    assert r.status_code == 201
    assert "Access-Control-Allow-Origin" not in r.headers
    pre = requests.options(t.endpoint, timeout=HTTP_TIMEOUT, headers={
        "Origin": "https://a.example",
        "Access-Control-Request-Method": "POST"})
    assert pre.headers.get("Access-Control-Allow-Origin") == "https://a.example"


def test_no_cors_without_directive(nginx):
    t = nginx.tus("/small/")
    r = t.create(5, headers={"Origin": "https://app.example"})
    assert r.status_code == 201
    assert "Access-Control-Allow-Origin" not in r.headers


# --------------------------------------------------------------------------
# Location


def test_location_ignores_forwarded_headers_by_default(nginx, tus):
    r = tus.create(5, headers={"X-Forwarded-Proto": "https",
                               "X-Forwarded-Host": "evil.example",
                               "Forwarded": "proto=https;host=evil.example"})
    assert r.status_code == 201
    assert r.headers["Location"].startswith(
        "http://127.0.0.1:%d/files/" % nginx.port), r.headers["Location"]


def test_location_behind_proxy(nginx):
    t = nginx.tus("/proxied/")
    r = t.create(5, headers={"X-Forwarded-Proto": "https",
                             "X-Forwarded-Host": "up.example.com"})
    assert r.status_code == 201
    m = re.match(r"^https://up\.example\.com/proxied/([0-9a-f]{32})$",
                 r.headers["Location"])
    assert m, r.headers["Location"]
    # the upload is reachable under our own address
    assert t.head(t.url_of(m.group(1))).status_code == 200
    r = t.create(5, headers={"Forwarded": "for=1.2.3.4;proto=https;host=fw.example.com"})
    assert r.status_code == 201
    assert re.match(r"^https://fw\.example\.com/proxied/[0-9a-f]{32}$",
                    r.headers["Location"]), r.headers["Location"]
    # without forwarding headers: our own address
    r = t.create(5)
    assert r.headers["Location"].startswith(
        "http://127.0.0.1:%d/proxied/" % nginx.port), r.headers["Location"]


def test_location_fixed_base(nginx):
    t = nginx.tus("/fixedbase/")
    r = t.create(5, headers={"X-Forwarded-Host": "x.example"})
    assert r.status_code == 201
    m = re.match(r"^https://cdn\.example\.com/up/([0-9a-f]{32})$",
                 r.headers["Location"])
    assert m, r.headers["Location"]
    assert t.head(t.url_of(m.group(1))).status_code == 200


def test_location_base_with_variables_and_relative(nginx):
    t = nginx.tus("/varbase/")
    r = t.create(5, headers={"Host": "v.example"})
    assert r.status_code == 201
    assert re.match(r"^https://v\.example/vb/[0-9a-f]{32}$",
                    r.headers["Location"]), r.headers["Location"]
    t = nginx.tus("/relbase/")
    r = t.create(5)
    assert r.status_code == 201
    assert re.match(r"^/relbase/[0-9a-f]{32}$", r.headers["Location"]), \
        r.headers["Location"]


def test_regex_location_with_base_uri(nginx):
    t = nginx.tus("/rx/")
    r = t.create(3)
    assert r.status_code == 201, r.text
    assert re.match(r"^http://127\.0\.0\.1:%d/rx/[0-9a-f]{32}$" % nginx.port,
                    r.headers["Location"]), r.headers["Location"]
    url = r.headers["Location"]
    assert t.patch(url, 0, b"abc").status_code == 204
    assert t.get(url).content == b"abc"


# --------------------------------------------------------------------------
# hostile ids


def bad_id_paths(uid):
    return [
        "/files/../../etc/passwd",
        "/files/..%2F..%2Fetc%2Fpasswd",
        "/files/%2e%2e/%2e%2e/etc/passwd",
        "/files/..%2f..%2f" + uid,
        "/files/" + uid.upper(),
        "/files/" + "ABCDEF0123456789ABCDEF0123456789",
        "/files/" + uid[:31],
        "/files/" + uid + "0",
        "/files/" + uid[:31] + "g",
        "/files/" + uid + ".info",
        "/files/" + uid + "/",
        "/files/" + uid + "/x",
        "/files/" + uid + "%00",
        "/files/" + uid + "%20",
        "/files//" + uid[:16],
        "/files/.info",
    ]


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
def test_hostile_ids_404_nothing_written(nginx, tus, method):
    data = b"0123456789"
    url, uid = tus.create_ok(20)
    assert tus.patch(url, 0, data).status_code == 204
    snap_info = file_bytes(info_file(nginx, uid))
    for path in bad_id_paths(uid):
        headers = dict(TUS_HDR)
        body = b""
        if method == "PATCH":
            headers.update({"Upload-Offset": "10", "Content-Type": OCTET})
            body = b"X" * 10
        with Unchanged(nginx):
            r = raw_request(nginx.port, method, path, headers, body)
        assert r.status in (400, 404), (path, r.status, r.body[:200])
    assert file_bytes(data_file(nginx, uid)) == data
    assert file_bytes(info_file(nginx, uid)) == snap_info
    assert tus.head(url).headers["Upload-Offset"] == "10"


# --------------------------------------------------------------------------
# locks


class SlowPatch:
    """a PATCH whose body is sent by hand over a raw keep-alive socket"""

    def __init__(self, nginx, path, offset, total, worker=None,
                 not_worker=None, headers=None):
        self.conn, self.pid = nginx.connect_worker(pid=worker,
                                                   not_pid=not_worker)
        h = dict(TUS_HDR, **{"Upload-Offset": str(offset),
                             "Content-Type": OCTET})
        h.update(headers or {})
        self.conn.send_head("PATCH", path, h, body_len=total)

    def send(self, data):
        self.conn.send(data)
        self.conn.assert_no_early_response("slow PATCH")

    def finish(self, data=b""):
        if data:
            self.conn.send(data)
        return self.conn.read_response("PATCH")

    def close(self):
        self.conn.close()


def wait_lock_visible(path, timeout=5):
    try:
        wait_until(lambda: ofd_locks_on(path), timeout=timeout,
                   what="a lock on %s" % path)
    except AssertionError:
        pass   # not an assertion of this test: the 423 below is


@pytest.mark.parametrize("where", ["same-worker", "other-worker"])
def test_concurrent_patch_423(nginx, tus, where):
    data = payload(2 * MiB, 19)
    url, uid = tus.create_ok(len(data))
    path = "/files/" + uid
    slow = SlowPatch(nginx, path, 0, len(data))
    try:
        slow.send(data[:1000])
        wait_lock_visible(data_file(nginx, uid))
        slow.conn.assert_no_early_response("slow PATCH")
        if where == "same-worker":
            c2, pid2 = nginx.connect_worker(pid=slow.pid)
        else:
            c2, pid2 = nginx.connect_worker(not_pid=slow.pid)
        with c2:
            on_disk = data_file(nginx, uid).stat().st_size
            r = c2.request("PATCH", path, dict(TUS_HDR, **{
                "Upload-Offset": str(on_disk), "Content-Type": OCTET}),
                b"Y" * 100)
            assert r.status == 423, (r.status, r.body)
            assert r.headers.get("Tus-Resumable") == TUS_VERSION
            # a DELETE is a writer too
            r = c2.request("DELETE", path, TUS_HDR)
            assert r.status == 423, (r.status, r.body)
            # HEAD is not a writer
            r = c2.request("HEAD", path, TUS_HDR)
            assert r.status == 200
            assert int(r.headers["Upload-Offset"]) <= 1000
        # the 423s came back while the first PATCH was still open
        assert slow.conn.response_pending()
        resp = slow.finish(data[1000:])
        assert resp.status == 204, (resp.status, resp.body)
        assert resp.headers["Upload-Offset"] == str(len(data))
    finally:
        slow.close()
    assert sha256_file(data_file(nginx, uid)) == sha256(data)
    assert tus.get(url).content == data


def test_lock_released_after_patch(nginx, tus):
    url, uid = tus.create_ok(30)
    for i in range(3):
        c, pid = nginx.connect_worker()
        with c:
            r = c.request("PATCH", "/files/" + uid, dict(TUS_HDR, **{
                "Upload-Offset": str(i * 10), "Content-Type": OCTET}),
                b"%d" % i * 10)
            assert r.status == 204
    assert not ofd_locks_on(data_file(nginx, uid))
    assert tus.delete(url).status_code == 204


# --------------------------------------------------------------------------
# client disconnects in the middle of a PATCH


def wait_writable(tus, url, offset, timeout=20):
    """the upload accepts a writer again (the first one is gone)"""
    def probe():
        r = tus.patch(url, offset, b"")
        if r.status_code == 423:
            return None
        assert r.status_code == 204, (r.status_code, r.text)
        return True
    wait_until(probe, timeout=timeout, what="the upload to be unlocked")


def settled_offset(nginx, tus, url, uid, timeout=20):
    """offset once the interrupted PATCH has been wound up"""
    def stable():
        o1 = tus.offset(url)
        if ofd_locks_on(data_file(nginx, uid)):
            return None
        time.sleep(0.1)
        o2 = tus.offset(url)
        return (o2,) if o1 == o2 else None
    return wait_until(stable, timeout=timeout, what="offset to settle")[0]


def test_disconnect_abrupt_keeps_received_bytes(nginx, tus):
    total = 10 * MiB
    data = big_payload(total, 20)
    url, uid = tus.create_ok(total)
    slow = SlowPatch(nginx, "/files/" + uid, 0, total)
    slow.send(data[:3 * MiB])
    slow.close()
    off = settled_offset(nginx, tus, url, uid)
    size = data_file(nginx, uid).stat().st_size
    assert off == size
    assert 0 < off <= 3 * MiB, off
    with open(data_file(nginx, uid), "rb") as f:
        assert f.read() == data[:off]
    wait_writable(tus, url, off)
    tus.send_all(url, data, start=off, chunk=4 * MiB)
    assert sha256_file(data_file(nginx, uid)) == sha256(data)
    assert tus.get(url).content == data
    nginx.wait_job(uid)


def test_disconnect_half_close_keeps_every_byte(nginx, tus):
    total = 10 * MiB
    sent = 3 * MiB + 12345           # not a multiple of any buffer size
    data = big_payload(total, 21)
    url, uid = tus.create_ok(total)
    slow = SlowPatch(nginx, "/files/" + uid, 0, total)
    slow.send(data[:sent])
    slow.conn.sock.shutdown(socket.SHUT_WR)
    # nginx read everything up to our FIN; wait for it to close its side
    slow.conn.sock.settimeout(30)
    try:
        while slow.conn.sock.recv(65536):
            pass
    except OSError:
        pass
    slow.close()
    off = settled_offset(nginx, tus, url, uid)
    assert off == data_file(nginx, uid).stat().st_size
    assert off == sent, "received %d bytes, kept %d" % (sent, off)
    with open(data_file(nginx, uid), "rb") as f:
        assert f.read() == data[:sent]
    wait_writable(tus, url, off)
    tus.send_all(url, data, start=off, chunk=4 * MiB)
    assert sha256_file(data_file(nginx, uid)) == sha256(data)


def test_client_body_timeout_keeps_received_bytes(nginx_factory):
    """docs/tus.md: when client_body_timeout fires in the middle of a
    PATCH the bytes received so far are written and kept"""
    srv = nginx_factory(configure=lambda c: c.http.append(
        "client_body_timeout 1s;"))
    t = srv.tus("/files/")
    data = big_payload(2 * MiB, 28)
    sent = 700 * KiB + 3
    url, uid = t.create_ok(len(data))
    slow = SlowPatch(srv, "/files/" + uid, 0, len(data))
    try:
        slow.send(data[:sent])
        # hold the connection open until nginx gives up on the body
        slow.conn.sock.settimeout(30)
        try:
            while slow.conn.sock.recv(65536):
                pass
        except OSError:
            pass
    finally:
        slow.close()
    off = settled_offset(srv, t, url, uid)
    assert off == (srv.store("files") / uid).stat().st_size
    assert off == sent, "received %d bytes, kept %d" % (sent, off)
    wait_writable(t, url, off)
    t.send_all(url, data, start=off)
    assert sha256_file(srv.store("files") / uid) == sha256(data)


def test_disconnect_during_checksummed_patch_discards_chunk(nginx, tus):
    total = 6 * MiB
    data = big_payload(total, 22)
    url, uid = tus.create_ok(total)
    assert tus.patch(url, 0, data[:MiB]).status_code == 204
    chunk = data[MiB:]
    slow = SlowPatch(nginx, "/files/" + uid, MiB, len(chunk), headers={
        "Upload-Checksum": cksum_header("sha256", chunk)})
    slow.send(chunk[:2 * MiB])
    slow.close()
    # all or nothing: the partial chunk is not kept
    off = settled_offset(nginx, tus, url, uid)
    assert off == MiB
    assert data_file(nginx, uid).stat().st_size == MiB
    wait_writable(tus, url, off)
    tus.send_all(url, data, start=MiB)
    assert sha256_file(data_file(nginx, uid)) == sha256(data)


# --------------------------------------------------------------------------
# spool jobs


def test_spool_job(nginx, tus):
    data = payload(777 * KiB, 23)
    meta = {"filename": "holiday.mp4", "filetype": "video/mp4",
            "title": 'say "hi"\\ \n\ttab', "blob": b"\xff\xfe\x00ok"}
    before = int(time.time())
    url, uid = tus.upload(data, chunk=256 * KiB, metadata=meta)
    job = nginx.wait_job(uid)
    raw = nginx.job_path(uid).read_text()
    assert json.loads(raw) == job
    assert set(job) >= {"version", "id", "kind", "protocol", "source", "size",
                        "content_type", "metadata", "owner", "profile",
                        "created", "webhook"}, sorted(job)
    assert job["version"] == 1
    assert job["id"] == uid
    assert job["kind"] == "upload"
    assert job["protocol"] == "tus"
    assert os.path.isabs(job["source"])
    assert os.path.realpath(job["source"]) == \
        os.path.realpath(data_file(nginx, uid))
    assert sha256_file(job["source"]) == sha256(data)
    assert job["size"] == len(data)
    assert job["content_type"] == "video/mp4"
    md = job["metadata"]
    assert md["filename"] == "holiday.mp4"
    assert md["filetype"] == "video/mp4"
    assert md["title"] == 'say "hi"\\ \n\ttab'
    # bytes that are not UTF-8 are replaced by U+FFFD
    assert md["blob"].endswith("ok") and "\ufffd" in md["blob"]
    assert job["owner"] is None
    assert job["profile"] == "default"
    assert job["webhook"] is None
    assert isinstance(job["created"], int)
    assert before - 5 <= job["created"] <= time.time() + 5
    assert os.listdir(nginx.spool / "tmp") == []


def test_spool_job_profile_webhook_and_no_metadata(nginx):
    t = nginx.tus("/hooked/")
    url, uid = t.upload(b"0123456789")
    job = nginx.wait_job(uid)
    assert job["profile"] == "hd720"
    assert job["webhook"] == "http://127.0.0.1:9/hook?x=1"
    assert job["content_type"] == "application/octet-stream"
    assert job["metadata"] in ({}, None)
    assert job["source"].startswith(str(nginx.store("hooked")))
    assert os.listdir(nginx.spool / "tmp") == []


def test_no_spool_job_without_tus_spool(nginx):
    t = nginx.tus("/nospool/")
    before = dir_snapshot(nginx.spool)
    url, uid = t.upload(b"no job for me")
    assert t.get(url).content == b"no job for me"
    time.sleep(0.2)
    assert dir_snapshot(nginx.spool) == before


def test_no_spool_job_before_completion(nginx, tus):
    url, uid = tus.create_ok(100)
    tus.patch(url, 0, b"x" * 99)
    time.sleep(0.2)
    assert not nginx.job_path(uid).exists()
    tus.patch(url, 99, b"x")
    nginx.wait_job(uid)


# --------------------------------------------------------------------------
# many uploads at once


def test_parallel_uploads(nginx):
    results = {}
    errors = []

    def one(i):
        try:
            t = nginx.tus("/files/", session=requests.Session())
            data = big_payload(2 * MiB + i * 1000, 100 + i)
            url, uid = t.upload(data, chunk=512 * KiB + i)
            results[i] = (uid, sha256(data))
        except Exception as e:    # noqa: BLE001 - reported below
            errors.append("%d: %r" % (i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    assert len(results) == 8
    for uid, digest_ in results.values():
        assert sha256_file(data_file(nginx, uid)) == digest_
        assert nginx.wait_job(uid)["size"] > 0


# --------------------------------------------------------------------------
# expiration


def test_expired_uploads_are_cleaned_completed_kept(nginx):
    t = nginx.tus("/expiring/")
    # both created by a single request each: no timing assumption
    r = t.create(1000, body=b"u" * 100)
    assert r.status_code == 201, r.text
    exp = http_date_to_ts(r.headers["Upload-Expires"])
    assert exp <= time.time() + 3 + 1
    unfinished = r.headers["Location"].rsplit("/", 1)[1]
    r = t.create(5, body=b"done!")
    assert r.status_code == 201
    done = r.headers["Location"].rsplit("/", 1)[1]
    ud = data_file(nginx, unfinished, "expiring")
    ui = info_file(nginx, unfinished, "expiring")
    assert ud.exists() and ui.exists()
    wait_until(lambda: not ud.exists() and not ui.exists(), timeout=30,
               interval=0.2, what="the cleaner to remove the expired upload")
    h = t.head(t.url_of(unfinished))
    assert h.status_code in (404, 410)
    assert not [n for n in os.listdir(nginx.store("expiring"))
                if unfinished in n]
    assert not nginx.job_path(unfinished).exists()
    # the completed one survives
    h = t.head(t.url_of(done))
    assert h.status_code == 200
    assert h.headers["Upload-Offset"] == "5"
    assert t.get(t.url_of(done)).content == b"done!"
    assert nginx.wait_job(done)["size"] == 5


def test_expired_upload_410(nginx_factory):
    srv = nginx_factory(cleanup_interval="1h")
    t = srv.tus("/expiring/")
    r = t.create(1000, body=b"e" * 10)
    assert r.status_code == 201
    url = t.url_of(r.headers["Location"].rsplit("/", 1)[1])
    wait_until(lambda: t.head(url).status_code != 200, timeout=20,
               interval=0.2, what="expiry")
    h = t.head(url)
    assert h.status_code == 410
    assert_tus_resumable(h)
    assert_error(t.patch(url, 10, b"x"), 410)
    assert_error(t.get(url), 410)
    assert_error(t.delete(url), 410)
