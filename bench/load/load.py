#!/usr/bin/env python3
"""Load benchmark of `quacktracks serve`: N users each register, upload a WAV through the signed
URL, and master it; meanwhile GET /api/v1/jobs/{id} is timed. Reports the time until every job
is done, the server's peak RSS (VmHWM of the serve process, which runs the workers too) and
API latency percentiles. Measures; never gates.

usage: bench/load/load.py [--users 50] [--wav /tmp/three.wav] [--workers 2]
                          [--cli build/release/bin/quacktracks]
                          [--database sqlite|postgres] [--database-url postgresql://...]

--database postgres runs the server on PostgreSQL (QUACK_DATABASE_URL): on --database-url, or on
a throwaway cluster started (and removed) with tests/env/pg.sh. Afterwards the jobs table there
is counted, so a server that ignored the URL and ran on SQLite is reported as an error.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def request(port, method, path, body=None, headers=None, cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    h = {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}"}
    if cookie:
        h["Cookie"] = f"qt_session={cookie}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    res = conn.getresponse()
    data = res.read()
    set_cookie = res.getheader("Set-Cookie") or ""
    conn.close()
    return res.status, data, set_cookie


def percentile(values, p):
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--wav", default="/tmp/three.wav")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cli", default="build/release/bin/quacktracks")
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()

    if not os.path.exists(args.wav):
        subprocess.run(["sox", "/tmp/quack-corpus/long/long.wav", "-b", "24", args.wav, "trim", "0", "180"], check=True)
    wav = open(args.wav, "rb").read()
    data_dir = tempfile.mkdtemp(prefix="quack-load-")
    env = dict(os.environ)
    pg_state = None
    database_url = args.database_url
    if args.database == "postgres":
        if not database_url:
            pg_state = tempfile.mkdtemp(prefix="quack-load-pg-")
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "env", "pg.sh")
            database_url = subprocess.run(["bash", script, "start", pg_state], check=True,
                                          capture_output=True, text=True).stdout.strip()
        env["QUACK_DATABASE_URL"] = database_url
    server = subprocess.Popen(
        [args.cli, "serve", "--port", "0", "--data-dir", data_dir, "--workers", str(args.workers),
         "--web-root", os.path.join(data_dir, "none")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = server.stdout.readline()
    port = int(re.search(r":(\d+)/", line).group(1))

    job_ids = []
    lock = threading.Lock()
    errors = []
    t0 = time.monotonic()

    def user(i):
        try:
            st, body, sc = request(port, "POST", "/api/v1/auth/register",
                                   {"email": f"user{i}@load.test", "password": "correct horse battery", "name": f"U{i}"})
            assert st == 201, (st, body)
            cookie = re.match(r"qt_session=([^;]*)", sc).group(1)
            st, body, _ = request(port, "POST", "/api/v1/uploads",
                                  {"filename": "three.wav", "size": len(wav), "content_type": "audio/wav"}, cookie=cookie)
            assert st == 201, (st, body)
            up = json.loads(body)
            st, body, _ = request(port, "PUT", up["url"], body=wav, headers=up["headers"])
            assert st == 200, (st, body)
            st, body, _ = request(port, "POST", "/api/v1/jobs", {"upload_id": up["upload_id"], "preset": "streaming"},
                                  cookie=cookie)
            assert st == 202, (st, body)
            with lock:
                job_ids.append((json.loads(body)["job"]["id"], cookie))
        except Exception as e:  # noqa: BLE001 - report every failure
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
    for t in threads:
        t.start()

    latencies_ms = []
    done = {}
    submitted_at = None
    # Poll every job's status while uploads and mastering run: these GETs are the latency sample.
    while True:
        with lock:
            jobs = list(job_ids)
        if submitted_at is None and len(jobs) + len(errors) == args.users:
            submitted_at = time.monotonic() - t0
        for job_id, cookie in jobs:
            if job_id in done:
                continue
            s = time.monotonic()
            st, body, _ = request(port, "GET", f"/api/v1/jobs/{job_id}", cookie=cookie)
            latencies_ms.append((time.monotonic() - s) * 1000.0)
            status = json.loads(body)["job"]["status"] if st == 200 else f"http {st}"
            if status in ("done", "failed"):
                done[job_id] = (status, time.monotonic() - t0)
        if len(done) + len(errors) >= args.users:
            break
        if time.monotonic() - t0 > 3600:
            errors.append("timeout")
            break
        time.sleep(0.2)
    total = time.monotonic() - t0
    for t in threads:
        t.join()

    rss_kb = 0
    with open(f"/proc/{server.pid}/status") as f:
        for l in f:
            if l.startswith("VmHWM:"):
                rss_kb = int(l.split()[1])
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    shutil.rmtree(data_dir, ignore_errors=True)
    pg_jobs = None
    if args.database == "postgres":
        out = subprocess.run(["psql", database_url, "-Atc", "SELECT count(*) FROM jobs"],
                             capture_output=True, text=True)
        pg_jobs = int(out.stdout.strip()) if out.returncode == 0 else None
        if pg_jobs is None or pg_jobs < args.users:
            errors.append(f"the server did not run on PostgreSQL (jobs there: {pg_jobs})")
        if pg_state:
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "env", "pg.sh")
            subprocess.run(["bash", script, "stop", pg_state], check=False)
            shutil.rmtree(pg_state, ignore_errors=True)

    failed = [j for j, (s, _) in done.items() if s != "done"]
    audio_s = 180.0 * args.users
    print(json.dumps({
        "database": args.database, "postgres_jobs_rows": pg_jobs,
        "users": args.users, "workers": args.workers, "input_bytes_each": len(wav),
        "all_submitted_s": round(submitted_at or 0.0, 1),
        "all_done_s": round(total, 1),
        "audio_seconds_per_wall_second": round(audio_s / total, 1),
        "jobs_done": len(done) - len(failed), "jobs_failed": len(failed), "client_errors": errors[:5],
        "server_peak_rss_mb": round(rss_kb / 1024.0, 1),
        "get_job_latency_ms": {"n": len(latencies_ms),
                               "p50": round(percentile(latencies_ms, 50), 1),
                               "p95": round(percentile(latencies_ms, 95), 1),
                               "p99": round(percentile(latencies_ms, 99), 1),
                               "max": round(max(latencies_ms), 1)},
    }, indent=2))
    return 0 if not errors and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
