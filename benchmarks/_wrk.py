"""Load from Debian's `wrk` (C and LuaJIT, `apt-get install wrk`): the benchmarks' lighter load
generator. A Python client costs the machine 1.5 to 2.5 ms of CPU per request, taken from the
cores the server shares with it; wrk costs a small fraction of that, so more of the machine
measures the server. Its own CPU is still read (from its rusage) and printed.

A benchmark gives the Lua that makes each connection's requests and judges each answer:
`init(args)` builds the thread's requests (each thread has one connection and its `index`,
1-based, set here), `request()` returns the next one, and `response(status, headers, body)`
adds 1 to the thread's `ok` or `bad`. This module adds `setup` and `done`, which reports the
counts and wrk's latency percentiles as one JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPORT = r"""
local threads = {}
local created = 0
function setup(thread)
  created = created + 1
  thread:set("index", created)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("ok") or 0)
    bad = bad + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-REPORT {"ok": %d, "bad": %d, "requests": %d, "duration_us": %.0f, "p50_us": %.0f, "p90_us": %.0f, ' ..
    '"p95_us": %.0f, "p99_us": %.0f, "max_us": %.0f, "socket_errors": %d}\n',
    ok, bad, summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout))
end
"""


def command() -> str | None:
    return shutil.which("wrk")


def lua_string(text: str) -> str:
    """A Lua string literal of the text's UTF-8 bytes (LuaJIT's strings are bytes: a name with an
    accent is found in a page as its bytes)."""
    return '"' + "".join(chr(byte) if 32 <= byte < 127 and chr(byte) not in '"\\' else f"\\{byte:03d}"
                         for byte in text.encode()) + '"'


@dataclass
class WrkRun:
    ok: int
    bad: int
    seconds: float  # wrk's own measured duration
    cpu_seconds: float  # wrk's CPU (user + system), from its rusage
    socket_errors: int
    percentiles_ms: dict[str, float]

    def latency_text(self) -> str:
        p = self.percentiles_ms
        return f"p50 {p['p50']:.1f} ms, p90 {p['p90']:.1f} ms, p99 {p['p99']:.1f} ms, max {p['max']:.1f} ms"


class Running:
    """A wrk process under way (several run side by side, one per server replica)."""

    def __init__(self, port: int, lua: str, connections: int, seconds: float, work: Path, name: str):
        binary = command()
        if binary is None:
            raise SystemExit("wrk is not installed (apt-get install wrk), or pass --generator python")
        script = work / f"{name}.lua"
        script.write_text(lua + REPORT)
        self.process = subprocess.Popen(
            [binary, "-t", str(connections), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "60s",
             "-s", str(script), f"http://127.0.0.1:{port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def wait(self) -> WrkRun:
        output = self.process.stdout.read() if self.process.stdout else ""
        _pid, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        line = next((line for line in output.splitlines() if line.startswith("WRK-REPORT ")), None)
        if self.process.returncode != 0 or line is None:
            raise SystemExit(f"wrk failed ({self.process.returncode}):\n{output}")
        report = json.loads(line.removeprefix("WRK-REPORT "))
        return WrkRun(
            ok=report["ok"], bad=report["bad"], seconds=report["duration_us"] / 1e6,
            cpu_seconds=usage.ru_utime + usage.ru_stime, socket_errors=report["socket_errors"],
            percentiles_ms={key.removesuffix("_us"): report[key] / 1000 for key in
                            ("p50_us", "p90_us", "p95_us", "p99_us", "max_us")},
        )


def run(port: int, lua: str, connections: int, seconds: float, work: Path, name: str = "load") -> WrkRun:
    """`connections` connections (one per wrk thread) for `seconds` against 127.0.0.1:port."""
    return Running(port, lua, connections, seconds, work, name).wait()
