"""
Jobs that cannot succeed end in failed/<id>.json with the reason in
failed/<id>.error; jobs that fail for a passing reason are retried with
a backoff and fail after max_attempts.
"""

import json


def run_failing(worker, submit, job_id, **kw):
    w = worker(**kw).start()
    submit(w)
    assert w.wait_final(job_id) == "failed", w.log()
    w.stop()
    assert not (w.output / job_id).exists()
    assert w.leftovers() == []
    return w


def test_not_a_video(worker, clips):
    w = run_failing(worker, lambda w: w.submit("txt", clips.get("text")),
                    "txt")
    assert "not an audio or video file" in w.error("txt")

    # the job itself is kept, as nginx wrote it
    job = json.loads((w.spool / "failed" / "txt.json").read_text())
    assert job["id"] == "txt" and "attempts" not in job

    # failed at once: no retry for a file that is not media
    assert w.log().count('job "txt": claimed') == 1


def test_missing_source(worker, tmp_path):
    w = run_failing(worker, lambda w: w.submit("gone", tmp_path / "nope"),
                    "gone")
    assert "not found" in w.error("gone")


def test_unknown_profile(worker, clips):
    w = run_failing(worker, lambda w: w.submit("prof", clips.get("small"),
                                               profile="nosuch"), "prof")
    assert w.error("prof") == 'unknown profile "nosuch"\n'


def test_invalid_json(worker):
    w = run_failing(worker, lambda w: w.submit("bad", None,
                                               raw='{"version":1,'),
                    "bad")
    assert "invalid JSON" in w.error("bad")


def test_id_must_match_file_name(worker, clips):
    def submit(w):
        job = w.job("other", clips.get("small"))
        w.submit("named", None, raw=json.dumps(job))

    w = run_failing(worker, submit, "named")
    assert "does not match" in w.error("named")


def test_unsupported_version(worker, clips):
    def submit(w):
        job = w.job("v2", clips.get("small"))
        job["version"] = 2
        w.submit("v2", None, raw=json.dumps(job))

    w = run_failing(worker, submit, "v2")
    assert "version" in w.error("v2")


def test_transient_failure_retries_then_fails(worker, tmp_path):
    # a directory as the source: opening it fails with EISDIR, which is
    # not a verdict on the upload, so the job is retried
    src = tmp_path / "adir"
    src.mkdir()

    w = run_failing(worker, lambda w: w.submit("retry", src), "retry",
                    max_attempts=3)

    err = w.error("retry")
    assert err.startswith("gave up after 3 attempts: cannot open the source")

    log = w.log()
    assert log.count('job "retry": claimed') == 3
    assert 'job "retry": attempt 1 failed' in log
    assert 'job "retry": attempt 2 failed' in log

    # the attempts are recorded in the job that went back to incoming/
    job = json.loads((w.spool / "failed" / "retry.json").read_text())
    assert job["attempts"] == 2
    assert "Is a directory" in job["last_error"]


def test_retry_waits_for_retry_at(worker, clips):
    # a job whose retry time is far ahead is left alone; others run
    w = worker().start()
    w.submit("later", clips.get("small"), retry_at=(2 ** 62), attempts=1)
    w.submit("now", clips.get("small"))
    assert w.wait_final("now") == "done"
    assert w.state("later") == "incoming"
    assert 'job "later"' not in w.log()
    w.stop()
