"""
The command line and the configuration: -t, -v, -h, bad values,
command-line overrides, and a reload by SIGHUP that replaces the job
processes.
"""

import signal
import subprocess

from harness import BIN, wait_for


def run(*args):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def test_test_flag(tmp_path):
    good = tmp_path / "good.conf"
    good.write_text("workers 2;\nspool /var/spool/x;\n"
                    "profile default { preset fast; rung 480 1M 1500k; }\n")
    r = run("-t", "-c", str(good))
    assert r.returncode == 0
    assert "test is successful" in r.stderr

    bad = tmp_path / "bad.conf"
    bad.write_text("workers 2;\nprofile default {\n  rung 480 2M 1M;\n}\n")
    r = run("-t", "-c", str(bad))
    assert r.returncode == 1
    assert "line 3: invalid rung" in r.stderr
    assert "test failed" in r.stderr

    r = run("-t", "-c", str(tmp_path / "missing.conf"))
    assert r.returncode == 1 and "cannot read" in r.stderr

    # the built-in defaults alone are a valid configuration
    assert run("-t").returncode == 0


def test_flags(tmp_path):
    r = run("-v")
    assert r.returncode == 0 and r.stdout.startswith("ingest-worker/")

    r = run("-h")
    assert r.returncode == 0 and "-p dir" in r.stdout

    assert run("-x").returncode == 1
    assert run("-n", "0", "-t").returncode == 1
    assert run("extra").returncode == 1
    assert run("-t", "-p", "relative").returncode == 1


def test_command_line_overrides(worker, clips, tmp_path):
    # -p, -o and -n win over the file
    w = worker()
    w.write_conf("workers 1;\nspool /nonexistent/spool;\n"
                 "output /nonexistent/out;\n"
                 "profile default { preset ultrafast; }\n")
    w.start("-n", "2")
    wait_for(lambda: len(w.children()) == 2, "two job processes")
    w.submit("ov", clips.get("small"))
    assert w.wait_final("ov") == "done"
    assert (w.output / "ov" / "master.m3u8").exists()
    w.stop()


def test_reload(worker, clips):
    w = worker(workers=1).start()
    old = w.children()
    assert len(old) == 1

    # a broken file keeps the running configuration
    good = w.conf.read_text()
    w.write_conf("workers zero;\n")
    w.send(signal.SIGHUP)
    wait_for(lambda: "configuration not reloaded" in w.log(), "the refusal")
    assert w.children() == old

    # a good one replaces the job processes
    w.write_conf(good.replace("workers 1;", "workers 2;"))
    w.send(signal.SIGHUP)
    wait_for(lambda: len(w.children()) == 2 and
             not set(old) & set(w.children()), "two new job processes")
    assert w.log().count("master: reconfiguring") == 2

    w.submit("after", clips.get("small"))
    assert w.wait_final("after") == "done"
    assert w.stop() == 0


def test_shipped_example_config():
    from harness import WORKER_DIR
    r = run("-t", "-c", str(WORKER_DIR / "ingest-worker.conf"))
    assert r.returncode == 0, r.stderr
