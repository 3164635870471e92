#!/usr/bin/env python3
"""Load benchmark of the service: N users each register, upload a WAV through the signed URL,
and master it; meanwhile GET /api/v1/jobs/{id} is timed. Reports the time until every job is
done, API latency percentiles, peak memory (VmHWM) of the server and of every worker process,
and the workers' CPU time per mastered minute. Measures; never gates.

usage: bench/load/load.py [--users 50] [--wav /tmp/three.wav] [--workers 2]
                          [--cli build/release/bin/quacktracks]
                          [--setup embedded|scaled] [--kill-every SECONDS] [--lease-seconds S]
                          [--database sqlite|postgres] [--database-url postgresql://...]

--setup embedded (default): one `quacktracks serve` with --workers in-process workers, on
SQLite and local disk (or PostgreSQL with --database postgres).
--setup scaled: a throwaway PostgreSQL cluster (tests/env/pg.sh) and S3 server (s3rver,
tests/env/s3.sh), `serve --workers 0`, and --workers separate `quacktracks worker` processes
with their own scratch dirs: uploads and downloads go to the bucket, never through the server.
--kill-every S (scaled only): every S seconds one worker, chosen at random, gets SIGKILL and is
started again. A trigger logs every job status change in the database, so the report says how
many jobs reached `done` more than once; `quacktracks admin orphans` lists objects that no row
needs at the end, before and after one more sweep.
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
import urllib.parse


HERE = os.path.dirname(os.path.abspath(__file__))
ENV_SCRIPTS = os.path.join(HERE, "..", "..", "tests", "env")


def request(port, method, path, body=None, headers=None, cookie=None):
    """One request on a new connection. `path` may be an absolute URL (a presigned bucket URL)."""
    host = "127.0.0.1"
    if path.startswith("http://"):
        u = urllib.parse.urlsplit(path)
        host, port = u.hostname, u.port
        path = u.path + ("?" + u.query if u.query else "")
    conn = http.client.HTTPConnection(host, port, timeout=600)
    h = {"Host": f"{host}:{port}", "Origin": f"http://{host}:{port}"}
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
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def proc_figures(pid):
    """(peak RSS in kB, CPU seconds) of a live process."""
    rss_kb = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    rss_kb = int(line.split()[1])
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return rss_kb, 0.0
    return rss_kb, cpu


def psql(url, sql):
    out = subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


TRANSITIONS_SQL = """
CREATE TABLE IF NOT EXISTS bench_transitions (job_id TEXT, old_status TEXT, new_status TEXT);
CREATE OR REPLACE FUNCTION bench_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  INSERT INTO bench_transitions VALUES (NEW.id, OLD.status, NEW.status); RETURN NULL; END $$;
DROP TRIGGER IF EXISTS bench_log ON jobs;
CREATE TRIGGER bench_log AFTER UPDATE ON jobs FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION bench_log();
"""


class Workers:
    """`quacktracks worker` processes, each with its own scratch dir; figures kept across kills."""

    def __init__(self, cli, env, state, n):
        self.cli, self.env, self.state = cli, env, state
        self.procs = [None] * n
        self.peak_rss_kb = [0] * n
        self.cpu_s = 0.0
        self.kills = 0
        self.kills_mid_job = 0
        for i in range(n):
            self.start(i)

    def start(self, i):
        env = dict(self.env)
        env["QUACK_DATA_DIR"] = os.path.join(self.state, f"worker-{i}")
        self.procs[i] = subprocess.Popen([self.cli, "worker"], env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)

    def account(self, i):
        rss, cpu = proc_figures(self.procs[i].pid)
        self.peak_rss_kb[i] = max(self.peak_rss_kb[i], rss)
        return cpu

    def kill(self, i, database_url):
        p = self.procs[i]
        holding = psql(database_url, "SELECT count(*) FROM jobs WHERE status = 'processing' "
                                     f"AND leased_by LIKE '%-{p.pid}-%'")
        self.cpu_s += self.account(i)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.kills += 1
        self.kills_mid_job += 1 if holding not in ("", "0") else 0
        self.start(i)

    def stop(self):
        for i, p in enumerate(self.procs):
            self.cpu_s += self.account(i)
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait(timeout=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--wav", default="/tmp/three.wav")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cli", default="build/release/bin/quacktracks")
    ap.add_argument("--setup", choices=["embedded", "scaled"], default="embedded")
    ap.add_argument("--kill-every", type=float, default=0.0)
    ap.add_argument("--lease-seconds", type=int, default=0,
                    help="job lease (default: the service's 60 s; a killed worker's job waits this long)")
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    if args.kill_every and args.setup != "scaled":
        ap.error("--kill-every needs --setup scaled")
    if args.setup == "scaled":
        args.database = "postgres"

    if not os.path.exists(args.wav):
        subprocess.run(["sox", "/tmp/quack-corpus/long/long.wav", "-b", "24", args.wav, "trim", "0", "180"], check=True)
    wav = open(args.wav, "rb").read()
    state = tempfile.mkdtemp(prefix="quack-load-")
    env = dict(os.environ)
    # Every simulated user signs up from 127.0.0.1: lift the per-address sign-up limit (10 an
    # hour by default), which would otherwise refuse all but the first ten.
    env["QUACK_REGISTRATIONS_PER_HOUR"] = str(max(10, args.users * 2))
    if args.lease_seconds:
        env["QUACK_LEASE_SECONDS"] = str(args.lease_seconds)
    pg_state = s3_state = None
    database_url = args.database_url
    if args.database == "postgres" and not database_url:
        pg_state = os.path.join(state, "pg")
        os.makedirs(pg_state)
        database_url = subprocess.run(["bash", os.path.join(ENV_SCRIPTS, "pg.sh"), "start", pg_state], check=True,
                                      capture_output=True, text=True).stdout.strip().splitlines()[-1]
    if database_url:
        env["QUACK_DATABASE_URL"] = database_url
    if args.setup == "scaled":
        s3_state = os.path.join(state, "s3")
        os.makedirs(s3_state)
        endpoint = subprocess.run(["bash", os.path.join(ENV_SCRIPTS, "s3.sh"), "start", s3_state, "quacktracks"],
                                  check=True, capture_output=True, text=True).stdout.strip().splitlines()[0]
        env.update({"QUACK_S3_ENDPOINT": endpoint, "QUACK_S3_BUCKET": "quacktracks", "QUACK_S3_REGION": "auto",
                    "QUACK_S3_PATH_STYLE": "true", "QUACK_S3_ACCESS_KEY_ID": "S3RVER",
                    "QUACK_S3_SECRET_ACCESS_KEY": "S3RVER"})

    in_process = args.workers if args.setup == "embedded" else 0
    server = subprocess.Popen(
        [args.cli, "serve", "--port", "0", "--data-dir", os.path.join(state, "api"), "--workers", str(in_process),
         "--web-root", os.path.join(state, "none")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = server.stdout.readline()
    port = int(re.search(r":(\d+)/", line).group(1))
    if database_url:
        psql(database_url, TRANSITIONS_SQL)  # the server has migrated the schema by now
    workers = Workers(args.cli, env, state, args.workers) if args.setup == "scaled" else None

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
    next_kill = t0 + args.kill_every if args.kill_every else None
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
        if next_kill and time.monotonic() >= next_kill:
            workers.kill(random.randrange(args.workers), database_url)
            next_kill += args.kill_every
        if time.monotonic() - t0 > 3600:
            errors.append("timeout")
            break
        time.sleep(0.2)
    total = time.monotonic() - t0
    for t in threads:
        t.join()

    result = {"setup": args.setup, "database": args.database, "users": args.users, "workers": args.workers,
              "input_bytes_each": len(wav), "kill_every_s": args.kill_every or None}
    if workers:
        workers.stop()
        result["worker_peak_rss_mb"] = [round(k / 1024.0, 1) for k in workers.peak_rss_kb]
        result["worker_kills"] = {"total": workers.kills, "while_holding_a_job": workers.kills_mid_job}
    server_rss_kb, server_cpu = proc_figures(server.pid)
    worker_cpu = workers.cpu_s if workers else server_cpu  # embedded: the server's workers
    if database_url:
        counts = psql(database_url, "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM (SELECT job_id FROM "
                                    "bench_transitions WHERE new_status = 'done' GROUP BY job_id HAVING count(*) > 1) d), "
                                    "(SELECT count(*) FROM bench_transitions WHERE old_status = 'processing' AND "
                                    "new_status = 'queued'), (SELECT count(*) FROM retention_events WHERE "
                                    "reason = 'orphaned_object')").split("|")
        result["jobs_rows_in_postgres"] = int(counts[0])
        result["jobs_done_more_than_once"] = int(counts[1])
        result["attempts_lost_to_kills"] = int(counts[2])
        result["orphans_deleted_by_sweeps_during_run"] = int(counts[3])
        if int(counts[0]) < args.users:
            errors.append(f"the server did not run on PostgreSQL (jobs there: {counts[0]})")
    if args.setup == "scaled":
        def orphans():
            out = subprocess.run([args.cli, "admin", "orphans", "--data-dir", os.path.join(state, "api")], env=env,
                                 capture_output=True, text=True)
            return out.stdout.split() if out.returncode == 0 else [f"error: {out.stderr.strip()}"]
        result["orphaned_objects_at_end"] = orphans()
        subprocess.run([args.cli, "admin", "sweep", "--data-dir", os.path.join(state, "api")], env=env,
                       capture_output=True, check=False)
        result["orphaned_objects_after_one_sweep"] = orphans()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    if s3_state:
        subprocess.run(["bash", os.path.join(ENV_SCRIPTS, "s3.sh"), "stop", s3_state], check=False)
    if pg_state:
        subprocess.run(["bash", os.path.join(ENV_SCRIPTS, "pg.sh"), "stop", pg_state], check=False)
    shutil.rmtree(state, ignore_errors=True)

    failed = [j for j, (s, _) in done.items() if s != "done"]
    audio_min = 3.0 * args.users
    result.update({
        "all_submitted_s": round(submitted_at or 0.0, 1),
        "all_done_s": round(total, 1),
        "audio_seconds_per_wall_second": round(audio_min * 60.0 / total, 1),
        "worker_cpu_s_per_mastered_minute": round(worker_cpu / audio_min, 3),
        "jobs_done": len(done) - len(failed), "jobs_failed": len(failed), "client_errors": errors[:5],
        "server_peak_rss_mb": round(server_rss_kb / 1024.0, 1),
        "server_cpu_s": round(server_cpu, 1),
        "get_job_latency_ms": {"n": len(latencies_ms),
                               "p50": round(percentile(latencies_ms, 50), 1),
                               "p95": round(percentile(latencies_ms, 95), 1),
                               "p99": round(percentile(latencies_ms, 99), 1),
                               "max": round(max(latencies_ms or [0.0]), 1)},
    })
    print(json.dumps(result, indent=2))
    bad = errors or failed or result.get("jobs_done_more_than_once") or \
        any(not k.startswith("error") for k in result.get("orphaned_objects_after_one_sweep", [])) or False
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
