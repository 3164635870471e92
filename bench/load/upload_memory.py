#!/usr/bin/env python3
"""Does the server's memory grow with upload size? Starts `quacktracks serve --workers 0`,
signs one user up and PUTs uploads of increasing size through the signed URL (a WAV header,
then zeros, streamed from a generator so the client holds nothing either), reading the serve
process's peak RSS (VmHWM) after each. Measures; never gates.

usage: bench/load/upload_memory.py [--cli build/release/bin/quacktracks] [--sizes-mb 50,500,1500]
"""
import argparse
import http.client
import json
import re
import shutil
import signal
import subprocess
import tempfile


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/release/bin/quacktracks")
    ap.add_argument("--sizes-mb", default="50,500,1500")
    args = ap.parse_args()
    data_dir = tempfile.mkdtemp(prefix="quack-upload-mem-")
    server = subprocess.Popen([args.cli, "serve", "--port", "0", "--data-dir", data_dir, "--workers", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = None
        while port is None:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("serve exited")
            m = re.search(r"http://[^:]+:(\d+)", line)
            if m:
                port = int(m.group(1))
        origin = {"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"}

        def call(method, path, body, cookie=None):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            h = dict(origin)
            if cookie:
                h["Cookie"] = f"qt_session={cookie}"
            c.request(method, path, body=json.dumps(body).encode(), headers=h)
            r = c.getresponse()
            data = r.read()
            sc = r.getheader("Set-Cookie") or ""
            c.close()
            return r.status, data, sc

        st, _, sc = call("POST", "/api/v1/auth/register",
                         {"email": "mem@example.test", "password": "correct horse battery", "name": "Mem"})
        assert st == 201, st
        cookie = re.search(r"qt_session=([^;]+)", sc).group(1)
        print(f"idle after sign-up: peak RSS {vm_hwm_kb(server.pid) / 1024:.1f} MB")
        for mb in [int(x) for x in args.sizes_mb.split(",")]:
            size = mb * 1024 * 1024
            st, data, _ = call("POST", "/api/v1/uploads",
                               {"filename": f"{mb}.wav", "size": size, "content_type": "audio/wav"}, cookie)
            assert st == 201, (st, data)
            slot = json.loads(data)
            header = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVEfmt " + bytes(size - 16)[:0]

            def body(total=size, head=header):
                yield head
                sent = len(head)
                chunk = bytes(1 << 20)
                while sent < total:
                    n = min(len(chunk), total - sent)
                    yield chunk[:n]
                    sent += n

            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            h = dict(slot["headers"])
            h["Content-Length"] = str(size)
            c.request("PUT", slot["url"], body=body(), headers=h, encode_chunked=False)
            r = c.getresponse()
            r.read()
            c.close()
            print(f"after a {mb} MB upload (HTTP {r.status}): server peak RSS {vm_hwm_kb(server.pid) / 1024:.1f} MB")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
