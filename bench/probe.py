#!/usr/bin/env python3
"""bench/probe.py: latency probes the benchmark scripts run beside their load.

  probe.py ttfb HOST PORT PATH TRIES
      TRIES sequential requests of PATH (a running live channel), each on a
      fresh connection: the time from connect() to the first byte of the body.
      Prints "ttfb_p50_ms=.. ttfb_p95_ms=.. ttfb_max_ms=.. tries=N failed=K".
  probe.py gap HOST PORT PATH SECONDS
      One live viewer of PATH for SECONDS: the longest time between two reads
      that returned data, after the first body byte. Prints
      "gap_max_ms=.. gap_p99_ms=.. bytes=.. reads=..". Exit status 1 when the
      stream ended or never started.

Percentiles are nearest-rank. Standard library only.
"""
import math
import socket
import sys
import time


def request(host, port, path):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: xtreamd-probe\r\n\r\n".encode())
    return s


def read_head(s):
    """Reads up to the end of the response head; returns (status, body bytes already read)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise OSError("connection closed before the response head")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)] if xs else 0.0


def ttfb(host, port, path, tries):
    times, failed = [], 0
    for _ in range(int(tries)):
        t0 = time.monotonic()
        try:
            s = request(host, port, path)
            status, rest = read_head(s)
            if status != 200:
                raise OSError(f"HTTP {status}")
            while not rest:
                rest = s.recv(65536)
                if not rest:
                    raise OSError("no body")
            times.append((time.monotonic() - t0) * 1000)
            s.close()
        except OSError as e:
            print(f"probe: ttfb try failed: {e}", file=sys.stderr)
            failed += 1
    print(f"ttfb_p50_ms={pct(times, 50):.2f} ttfb_p95_ms={pct(times, 95):.2f} "
          f"ttfb_max_ms={max(times, default=0):.2f} tries={len(times)} failed={failed}")
    return 0 if times and not failed else 1


def gap(host, port, path, seconds):
    s = request(host, port, path)
    status, rest = read_head(s)
    if status != 200:
        print(f"probe: HTTP {status}", file=sys.stderr)
        return 1
    total, reads, gaps = len(rest), 0, []
    end = time.monotonic() + float(seconds)
    last = time.monotonic() if rest else None
    s.settimeout(5)
    while time.monotonic() < end:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            print("probe: no data for 5 s", file=sys.stderr)
            return 1
        if not d:
            print("probe: the stream ended", file=sys.stderr)
            return 1
        now = time.monotonic()
        if last is not None:
            gaps.append((now - last) * 1000)
        last = now
        total += len(d)
        reads += 1
    s.close()
    print(f"gap_max_ms={max(gaps, default=0):.1f} gap_p99_ms={pct(gaps, 99):.1f} bytes={total} reads={reads}")
    return 0 if gaps else 1


if __name__ == "__main__":
    cmds = {"ttfb": ttfb, "gap": gap}
    if len(sys.argv) != 6 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
