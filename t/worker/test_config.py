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
    # nginx's words: the reason, then file:line
    assert '[emerg] invalid rung "480 2M 1M" in %s:3' % bad in r.stderr
    assert "test failed" in r.stderr

    r = run("-t", "-c", str(tmp_path / "missing.conf"))
    assert r.returncode == 1 and "cannot read" in r.stderr

    # the built-in defaults alone are a valid configuration
    assert run("-t").returncode == 0


# what libx264 or the AAC encoder would refuse when a job runs: the
# value, and the line that holds it
REFUSED = [
    ("preset fastr;", 'libx264 does not accept preset "fastr"'),
    ("preset veryfast; tune flim;", 'libx264 does not accept tune "flim"'),
    ("tune film,animation,fast;", "libx264 does not accept tune"),
    ("h264_profile extreme;", 'libx264 does not accept h264_profile '
     '"extreme"'),
    ("audio_rate 47000;", "the AAC encoder does not support audio_rate "
     "47000, only 96000, 88200, 64000, 48000, 44100"),
    ("rung 360 8k 10k;", 'invalid rung "360 8k 10k"'),
    ("rung 360 1M 2000M;", 'invalid rung "360 1M 2000M"'),
]


def test_test_flag_opens_the_encoders(tmp_path):
    # a second profile, so the line is not just the first block's
    for i, (setting, reason) in enumerate(REFUSED):
        conf = tmp_path / ("enc%d.conf" % i)
        conf.write_text("workers 1;\n"
                        "profile default { preset fast; }\n"
                        "profile sd {\n"
                        "    segment_duration 2s;\n"
                        "    rung 720 2M 3M;\n"
                        "    %s\n"
                        "}\n" % setting)
        r = run("-t", "-c", str(conf))
        assert r.returncode == 1, (setting, r.stderr)
        assert reason in r.stderr, (setting, r.stderr)
        assert "in %s:6" % conf in r.stderr, (setting, r.stderr)
        assert "test failed" in r.stderr

    # what libx264 accepts passes, whatever the combination
    good = tmp_path / "good.conf"
    good.write_text("profile default {\n"
                    "    preset slower; tune film; h264_profile main;\n"
                    "    rung 240 16k 16k; rung 1080 6M 8M;\n"
                    "    rung 2160 20M 1000M;\n"
                    "    audio_rate 44100; audio_bitrate 64k;\n"
                    "    audio_channels 1;\n"
                    "}\n"
                    "profile live {\n"
                    "    preset ultrafast; tune zerolatency,fastdecode;\n"
                    "    h264_profile baseline; audio_rate 22050;\n"
                    "}\n")
    r = run("-t", "-c", str(good))
    assert r.returncode == 0, r.stderr

    # live transcoding checks its profile's encoders with live latency
    good.write_text(good.read_text() + "live_transcode on;\n"
                    "live_profile live;\n")
    r = run("-t", "-c", str(good))
    assert r.returncode == 0, r.stderr

    bad = tmp_path / "live.conf"
    bad.write_text("live_transcode on;\n\nlive_profile hd;\n")
    r = run("-t", "-c", str(bad))
    assert r.returncode == 1
    assert '"live_profile" names no profile: "hd" in %s:3' % bad \
        in r.stderr


def test_part_duration_points_to_live_part_duration(tmp_path):
    conf = tmp_path / "parts.conf"
    conf.write_text("live_part_duration 250ms;\n"
                    "profile default {\n"
                    "    segment_duration 2s;\n"
                    "    part_duration 333ms;\n"
                    "}\n")
    r = run("-t", "-c", str(conf))
    assert r.returncode == 1
    assert '[emerg] "part_duration" is not a profile directive: LL-HLS ' \
        'parts are set for all live streams by "live_part_duration" (a ' \
        'main directive) in %s:4' % conf in r.stderr

    conf.write_text("live_part_duration 250ms;\n"
                    "profile default { segment_duration 2s; }\n")
    assert run("-t", "-c", str(conf)).returncode == 0


def test_refused_encoder_settings_at_start_and_reload(worker, clips):
    w = worker()
    good = w.conf.read_text()

    # the daemon does not start on what -t refuses
    w.write_conf(good.replace("preset medium;", "preset mediun;"))
    r = subprocess.run([str(BIN), "-f", "-c", str(w.conf), "-p",
                        str(w.spool), "-o", str(w.output)],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert 'libx264 does not accept preset "mediun"' in r.stderr

    # and keeps its configuration when a reload brings one
    w.write_conf(good)
    w.start()
    w.write_conf(good.replace("preset medium;", "preset mediun;"))
    w.send(signal.SIGHUP)
    wait_for(lambda: "configuration not reloaded: libx264 does not "
             "accept preset" in w.log(), "the refusal")
    w.submit("still", clips.get("small"), profile="slow")
    assert w.wait_final("still") == "done"
    assert w.stop() == 0


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
