"""
S3 API configuration: conf-examples/s3-api.conf passes `nginx -t` (its
paths moved under the test's directory), and broken S3 configurations
fail with an [emerg] naming the directive. nginx -t never starts
workers, so their [emerg] lines do not count against the suite.
"""

import re
import subprocess

import pytest

from harness import Conf, MODULE, NGINX, REPO, nginx_t, sanitizer_env


def test_s3_example_config_passes_nginx_t(tmp_path):
    text = (REPO / "conf-examples" / "s3-api.conf").read_text()

    creds = tmp_path / "s3-credentials.conf"
    creds.write_text("ingest_s3_credentials AKIAEXAMPLEKEY01 "
                     "example-secret-0001 alice;\n")

    text = text.replace("/usr/lib/nginx/modules/ngx_http_ingest_module.so",
                        str(MODULE))
    text = text.replace("/etc/nginx/s3-credentials.conf", str(creds))
    text = text.replace("/var/lib/nginx-ingest", str(tmp_path / "lib"))
    text = text.replace("/var/spool/nginx-ingest", str(tmp_path / "spool"))
    text = text.replace("/var/log/nginx", str(tmp_path))
    text = text.replace("/run/nginx.pid", str(tmp_path / "nginx.pid"))
    assert not re.search(r"(?m)^[^#]*\s/(var|run)/", text), text

    conf = tmp_path / "nginx.conf"
    conf.write_text(text)

    r = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],
                       capture_output=True, text=True, timeout=60,
                       env=sanitizer_env(MODULE))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "test is successful" in out
    assert "[emerg]" not in out and "[alert]" not in out, out


CRED = "ingest_s3_credentials AKIDEXAMPLE secret-0001;"

BROKEN = {
    "s3-without-store": (["ingest_s3 on;", CRED], "ingest_s3_store"),
    "s3-without-credentials": (["ingest_s3 on;", "ingest_s3_store {store};"],
                               "ingest_s3_credentials"),
    "s3-relative-store": (["ingest_s3 on;", "ingest_s3_store rel/dir;",
                           CRED], "absolute"),
    "s3-short-secret": (["ingest_s3 on;", "ingest_s3_store {store};",
                         "ingest_s3_credentials AKID short;"],
                        "ingest_s3_credentials"),
    "s3-duplicate-key": (["ingest_s3 on;", "ingest_s3_store {store};",
                          CRED, CRED], "duplicate access key"),
    "s3-bad-bucket": (["ingest_s3 on;", "ingest_s3_store {store};", CRED,
                       "ingest_s3_buckets Bad_Bucket;"], "Bad_Bucket"),
    "s3-bad-cors": (["ingest_s3 on;", "ingest_s3_store {store};", CRED,
                     "ingest_s3_cors_origin example.com;"], "example.com"),
    "s3-object-size-zero": (["ingest_s3 on;", "ingest_s3_store {store};",
                             CRED, "ingest_s3_max_object_size 0;"],
                            "ingest_s3_max_object_size"),
    "s3-with-tus": (["tus on;", "tus_store {store};", "ingest_s3 on;",
                     "ingest_s3_store {store}2;", CRED], "tus"),
    "tus-after-s3": (["ingest_s3 on;", "ingest_s3_store {store}2;", CRED,
                      "tus on;", "tus_store {store};"], "ingest_s3"),
    "s3-cleanup-in-location": (["ingest_s3 on;", "ingest_s3_store {store};",
                                CRED, "ingest_s3_cleanup_interval 1s;"],
                               "ingest_s3_cleanup_interval"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_s3_config_fails_nginx_t(tmp_path, case):
    directives, keyword = BROKEN[case]
    store = tmp_path / "store"
    c = Conf(tmp_path)
    c.location("/s3/", *[d.replace("{store}", str(store))
                         for d in directives])
    rc, out = nginx_t(c)
    assert rc != 0, "nginx -t accepted:\n%s\n%s" % (c.render(), out)
    emerg = [l for l in out.splitlines() if "[emerg]" in l]
    assert emerg, out
    assert any(keyword in l for l in emerg), out
    assert not store.exists()
