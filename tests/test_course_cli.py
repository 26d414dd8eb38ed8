"""course.py as a user meets it: setup is idempotent, lab serves the course, mistakes get clear messages."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def course(*args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "course.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, **kwargs)


def test_second_setup_is_a_fast_no_op():
    t0 = time.time()
    r = course("setup")
    assert r.returncode == 0 and "up to date" in r.stdout, r.stdout + r.stderr
    assert time.time() - t0 < 10, "a second setup should not reinstall anything"


def test_unknown_command_prints_usage():
    r = course("frobnicate")
    assert r.returncode == 2 and "python3 course.py lab" in r.stdout


def test_autograde_without_submissions_says_what_to_do(tmp_path):
    if (ROOT / "submitted").exists():
        return  # an instructor's real submissions are there; do not touch them
    r = course("autograde")
    assert r.returncode != 0 and "submitted/<student>/<assignment>/" in (r.stdout + r.stderr)


def test_release_of_unknown_assignment_is_refused():
    r = course("release", "a99_nothing")
    assert r.returncode != 0 and "no assignment 'a99_nothing'" in (r.stdout + r.stderr)


def test_lab_serves_the_course():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "course-test"
    proc = subprocess.Popen([sys.executable, str(ROOT / "course.py"), "lab", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + 90
        listing = None
        while time.time() < deadline and listing is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/lectures?token={token}"
                listing = json.load(urllib.request.urlopen(url, timeout=2))
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer within 90 s"
        names = {item["name"] for item in listing["content"]}
        assert "01_autoencoders.ipynb" in names, names
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
