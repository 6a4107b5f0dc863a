"""Login throughput of a real server against the cost of its password hashing.

    .venv/bin/python benchmarks/login.py [--seconds 20] [--concurrency 4] [--database-url postgresql://…]

What it does, in one run:
1. Migrates a database (a fresh SQLite file in a temp dir unless --database-url is given), creates
   one account per load worker in a tenant without captcha and whose counter resets on success
   (cestas by default: 5 failures, reset on success), with the PRODUCTION argon2 parameters (the
   Settings defaults; never lowered here).
2. Starts the real server as `python -m assmat serve` (a subprocess: the load generator does not
   share the server's GIL) with the real tenant_configs.
3. Each load worker (one keep-alive connection) has fetched GET /connexion once for its CSRF cookie
   and token, then POSTs correct credentials in a loop: each 303 → /espace is a login, and each
   creates a server session. The session cookie is never sent back, so every POST is a fresh
   sign-in (not a re-login over a live session). The load comes from Debian's wrk (benchmarks/
   _wrk.py: C and LuaJIT, a fraction of a Python client's CPU, taken from the same cores) when it
   is installed, or with --generator python from one httpx.AsyncClient per worker.
4. Raw argon2-cffi PasswordHasher.verify with the same parameters, in a ThreadPoolExecutor with the
   same concurrency, for the same duration, on the same cores, the server idle meanwhile. The two
   phases alternate in --rounds (4 by default: 5 s of logins, 5 s of verifications, four times):
   a machine whose speed drifts during the run (a shared host's neighbours) then moves both sides
   of the ratio alike. The ratio of each round is printed beside the whole run's.
5. Prints logins/s, verifications/s, their ratio (goal ≥ 0.85), latencies, the CPU time the server
   (and its event loop thread) and the load generator spent per login, the idle CPU, and the
   "CPU-accounted ratio" (CPU per verify ÷ CPU per login: the ceiling when every core is busy).

Other processes on the machine skew the ratio (upwards: the scheduler shares cores per thread,
and the login phase runs more threads): the CPU they used in each phase is printed, and the run is
flagged above 10 % of a core. A local PostgreSQL's backends count as other processes.

With --py-spy FILE (pip install py-spy), the server is sampled during the measured window and the
report adds where its threads spent their time (argon2, SQL, the event loop's own work).

Only correct passwords are sent: the Gers' lockout (3 failures, never reset) would otherwise lock
accounts, and one account per worker keeps the lockout reservation (+1 before verify, −1 after)
below any tenant's threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# httpx2 (what Starlette's TestClient uses) is installed by the test extras; plain httpx is not.
import httpx2 as httpx  # noqa: E402
from argon2 import PasswordHasher, Type  # noqa: E402

import _wrk as wrk  # noqa: E402 (benchmarks/_wrk.py: a helper, not a benchmark)
from assmat.core.security.hashing import HASHING_NICENESS  # noqa: E402
from assmat.core.settings import Settings  # noqa: E402

PASSWORD = "Bench-Login-2026x"  # meets every tenant's policy
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- setup ---------------------------------------------------------------------------------------


def production_settings(var_dir: Path, database_url: str) -> Settings:
    settings = Settings(
        var_dir=var_dir,
        database_url=database_url,
        tenant_configs=REPO / "tenant_configs",
        secret_key=secrets.token_urlsafe(32),
        mail_backend="file",
    )
    defaults = {name: Settings.model_fields[name].default for name in ("argon2_time_cost", "argon2_memory_cost", "argon2_parallelism")}
    actual = {name: getattr(settings, name) for name in defaults}
    if actual != defaults:  # an ASSMAT_ARGON2_* variable in the environment
        raise SystemExit(f"argon2 parameters {actual} differ from the production defaults {defaults}: unset ASSMAT_ARGON2_*")
    return settings


def create_accounts(settings: Settings, slug: str, count: int, run_id: str) -> list[str]:
    """`count` accounts with PASSWORD, through the account flows as staff create them."""
    from sqlalchemy import update

    from assmat.auth import credentials, staff_actions
    from assmat.auth.context import auth_context
    from assmat.core.security.hashing import make_hasher
    from assmat.cli import _registry
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.auth.models import Account
    from assmat.tenants.rows import sync_tenant_rows

    registry = _registry(settings)
    tenant = registry.get(slug)
    if tenant is None:
        raise SystemExit(f"unknown tenant {slug!r}")
    if tenant.config.login.captcha:
        raise SystemExit(f"{slug} asks a captcha at login: choose a tenant without one (cestas, alpes-maritimes)")
    if tenant.config.login.identifier not in ("username", "agrement_number"):
        raise SystemExit(f"{slug} signs in with a {tenant.config.login.identifier}: choose cestas or alpes-maritimes")
    if count >= tenant.config.lockout.max_failures and not tenant.config.lockout.reset_counter_on_success:
        raise SystemExit(f"{slug} never resets its failure counter: use a tenant that does (cestas)")

    async def run() -> list[str]:
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            hasher = make_hasher(settings)
            identifiers = []
            async with sessionmaker() as db:
                ctx = auth_context(db, tenant, hasher, settings)
                for i in range(count):
                    account, _ = await staff_actions.create_account(ctx, f"bench-{run_id}-{i}", email=f"bench{i}@example.org")
                    await credentials.set_password(ctx, account, PASSWORD, None, "benchmark")
                    values: dict[str, object] = {"must_change_password": False}
                    if tenant.terms_version:
                        values["terms_version"] = tenant.terms_version
                    await db.execute(update(Account).where(Account.id == account.id).values(**values))
                    await db.commit()
                    identifiers.append(account.identifier)
            return identifiers
        finally:
            await engine.dispose()

    return asyncio.run(run())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy (every core), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def cpu_seconds(self) -> float:
        """utime + stime of the server process (all its threads), from /proc."""
        return _cpu(Path(f"/proc/{self.process.pid}/stat"))

    def loop_cpu_seconds(self) -> float:
        """utime + stime of the main thread alone: the event loop (argon2 and sqlite3 run in
        worker threads)."""
        return _cpu(Path(f"/proc/{self.process.pid}/task/{self.process.pid}/stat"))

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/task"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(settings: Settings, work: Path, command: list[str] | None = None, log_name: str = "server.log") -> Server:
    """`python -m assmat serve` (or `command`, given `--host` and `--port` after it) on a free
    port, with the settings' environment, its output in `work / log_name`; waits for /healthz."""
    port = free_port()
    env = {
        **os.environ,
        "ASSMAT_VAR_DIR": str(settings.var_dir),
        "ASSMAT_DATABASE_URL": settings.database_url,
        "ASSMAT_TENANT_CONFIGS": str(settings.tenant_configs),
        "ASSMAT_SECRET_KEY": settings.secret_key,
        "ASSMAT_MAIL_BACKEND": "file",
        # One process per server (its CPU is read from its own pid); more cores: more servers
        # (benchmarks/pages.py --replicas), as `assmat serve` would start workers.
        "ASSMAT_WORKERS": "1",
    }
    log = work / log_name
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*(command or [sys.executable, "-m", "assmat", "serve"]), "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped while starting:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok":
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise SystemExit(f"the server did not answer within 30 s:\n{log.read_text()}")


# -- load ----------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    logins: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    latency_text: str | None = None  # wrk's percentiles, where it made the load


async def login_worker(port: int, host: str, identifier: str, warmup_end: float, end: float, result: LoadResult) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"host": host}, limits=limits, timeout=60, follow_redirects=False
    ) as client:
        page = await client.get("/connexion")
        match = CSRF.search(page.text)
        if page.status_code != 200 or match is None or "csrf" not in client.cookies:
            raise RuntimeError(f"GET /connexion: {page.status_code}, no CSRF token or cookie")
        form = {"identifiant": identifier, "mot_de_passe": PASSWORD, "csrf_token": match.group(1)}
        while (started := time.perf_counter()) < end:
            response = await client.post("/connexion", data=form)
            elapsed = time.perf_counter() - started
            client.cookies.delete("session")  # the next POST is a fresh sign-in
            ok = response.status_code == 303 and response.headers.get("location") == "/espace"
            if started < warmup_end:
                continue
            if ok:
                result.logins += 1
                result.latencies.append(elapsed)
            else:
                key = f"{response.status_code} {response.headers.get('location', '')}".strip()
                result.errors[key] = result.errors.get(key, 0) + 1


def start_py_spy(server: Server, seconds: float, output: Path) -> subprocess.Popen:
    """py-spy sampling the server's threads for `seconds` into `output` (raw format)."""
    return subprocess.Popen(
        [shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
         str(server.process.pid), "--duration", str(int(seconds)), "--rate", "200", "--format", "raw",
         "--nolineno", "--threads", "--nonblocking", "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def run_load(
    server: Server, host: str, identifiers: list[str], warmup: float, seconds: float, py_spy: Path | None = None
) -> tuple[LoadResult, dict[str, float]]:
    """The result, and over the measured window: wall seconds, CPU seconds of the server, of its
    event loop thread and of the load generator."""
    result = LoadResult()
    marks: dict[str, float] = {}
    profiler: list[subprocess.Popen] = []

    async def main() -> None:
        start = time.perf_counter()
        warmup_end, end = start + warmup, start + warmup + seconds

        async def mark_window() -> None:
            await asyncio.sleep(max(0.0, warmup_end - time.perf_counter()))
            marks["machine0"] = machine_busy_seconds()
            marks["server0"], marks["loop0"], marks["self0"] = server.cpu_seconds(), server.loop_cpu_seconds(), time.process_time()
            if py_spy is not None:
                profiler.append(start_py_spy(server, seconds, py_spy))
            await asyncio.sleep(max(0.0, end - time.perf_counter()))
            marks["server1"], marks["loop1"], marks["self1"] = server.cpu_seconds(), server.loop_cpu_seconds(), time.process_time()
            marks["machine1"] = machine_busy_seconds()

        await asyncio.gather(mark_window(), *(login_worker(server.port, host, i, warmup_end, end, result) for i in identifiers))
        marks["wall"] = time.perf_counter() - warmup_end

    asyncio.run(main())
    for process in profiler:
        process.wait(timeout=60)
    # Requests that started before the end finish after it: count the window to the last one.
    return result, {
        "wall": marks["wall"],
        "server": marks["server1"] - marks["server0"],
        "loop": marks["loop1"] - marks["loop0"],
        "client": marks["self1"] - marks["self0"],
        "machine": marks["machine1"] - marks["machine0"],
    }


# The wrk load (benchmarks/_wrk.py): each connection POSTs its account's form with its CSRF cookie.
LOGIN_LUA = """
local forms = {%s}
function init(args)
  ok, bad = 0, 0
  local form = forms[index]
  login = wrk.format("POST", "/connexion", {["Host"] = %s, ["Content-Type"] = "application/x-www-form-urlencoded",
                                            ["Cookie"] = form.cookie}, form.body)
end
function request()
  return login
end
function response(status, headers, body)
  if status == 303 and (headers["location"] or headers["Location"]) == "/espace" then ok = ok + 1 else bad = bad + 1 end
end
"""


def login_forms(port: int, host: str, identifiers: list[str]) -> list[str]:
    """Each account's form as Lua tables: its CSRF cookie and token from GET /connexion."""
    from urllib.parse import urlencode

    forms = []
    for identifier in identifiers:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"host": host}) as client:
            page = client.get("/connexion")
            match = CSRF.search(page.text)
            if page.status_code != 200 or match is None or "csrf" not in client.cookies:
                raise SystemExit(f"GET /connexion: {page.status_code}, no CSRF token or cookie")
            cookie = f"csrf={client.cookies['csrf']}"
        body = urlencode({"identifiant": identifier, "mot_de_passe": PASSWORD, "csrf_token": match.group(1)})
        forms.append(f"{{body = {wrk.lua_string(body)}, cookie = {wrk.lua_string(cookie)}}}")
    return forms


def run_load_wrk(
    server: Server, host: str, identifiers: list[str], warmup: float, seconds: float, work: Path,
    py_spy: Path | None = None,
) -> tuple[LoadResult, dict[str, float]]:
    """As run_load, the load from wrk: its CPU is the load generator's."""
    lua = LOGIN_LUA % (", ".join(login_forms(server.port, host, identifiers)), wrk.lua_string(host))
    if warmup > 0:
        wrk.run(server.port, lua, len(identifiers), warmup, work, "login-warmup")
    machine0, server0, loop0 = machine_busy_seconds(), server.cpu_seconds(), server.loop_cpu_seconds()
    started = time.perf_counter()
    profiler = start_py_spy(server, seconds, py_spy) if py_spy is not None else None
    measured = wrk.run(server.port, lua, len(identifiers), seconds, work, "login")
    wall = time.perf_counter() - started
    server1, loop1, machine1 = server.cpu_seconds(), server.loop_cpu_seconds(), machine_busy_seconds()
    if profiler is not None:
        profiler.wait(timeout=60)
    errors = {key: count for key, count in (("unexpected answer", measured.bad), ("socket error", measured.socket_errors))
              if count}
    result = LoadResult(logins=measured.ok, errors=errors, latency_text=measured.latency_text())
    return result, {"wall": wall, "server": server1 - server0, "loop": loop1 - loop0, "client": measured.cpu_seconds,
                    "machine": machine1 - machine0}


ROUND_WARMUP = 1.0  # seconds before each phase of the later rounds (wrk counts whole seconds)


@dataclass
class LoginTotals:
    """The login phases of the rounds, summed: the run's figures are these sums."""

    result: LoadResult = field(default_factory=LoadResult)
    window: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("wall", "server", "loop", "client", "machine"), 0.0))

    def add(self, result: LoadResult, window: dict[str, float]) -> None:
        self.result.logins += result.logins
        for key, count in result.errors.items():
            self.result.errors[key] = self.result.errors.get(key, 0) + count
        self.result.latencies.extend(result.latencies)
        if result.latency_text is not None:  # wrk's percentiles cannot be merged: the last round's
            self.result.latency_text = f"{result.latency_text} (the last round)"
        for key in self.window:
            self.window[key] += window[key]


@dataclass
class VerifyTotals:
    """The raw verification phases of the rounds, summed (run_argon2's figures)."""

    count: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    own_cpu: float = 0.0
    others: float = 0.0

    def add(self, count: int, wall: float, latencies: list[float], own_cpu: float, others: float) -> None:
        self.count += count
        self.wall += wall
        self.latencies.extend(latencies)
        self.own_cpu += own_cpu
        self.others += others


# -- raw argon2 ----------------------------------------------------------------------------------


def run_argon2(
    settings: Settings, concurrency: int, warmup: float, seconds: float
) -> tuple[int, float, list[float], float, float]:
    """(verifications, wall seconds, latencies, CPU seconds this process used, CPU seconds other
    processes used) over the measured window."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism, type=Type.ID,
    )
    stored = hasher.hash(PASSWORD)
    counts = [0] * concurrency
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    start = time.perf_counter()
    warmup_end, end = start + warmup, start + warmup + seconds

    marks: dict[str, float] = {}

    def worker(index: int) -> None:
        if index == 0:
            threading.Timer(max(0.0, warmup_end - time.perf_counter()), lambda: marks.update(
                machine0=machine_busy_seconds(), self0=time.process_time())).start()
            threading.Timer(max(0.0, end - time.perf_counter()), lambda: marks.update(
                machine1=machine_busy_seconds(), self1=time.process_time())).start()
        while (started := time.perf_counter()) < end:
            hasher.verify(stored, PASSWORD)
            if started >= warmup_end:
                counts[index] += 1
                latencies[index].append(time.perf_counter() - started)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    wall = time.perf_counter() - warmup_end
    while "self1" not in marks:
        time.sleep(0.01)
    own = marks["self1"] - marks["self0"]
    others = (marks["machine1"] - marks["machine0"]) - own
    return sum(counts), wall, [x for per in latencies for x in per], own, others


def single_verify_ms(settings: Settings, rounds: int = 20) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one verify, alone."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism, type=Type.ID,
    )
    stored = hasher.hash(PASSWORD)
    timings, cpu = [], []
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), time.thread_time()
        hasher.verify(stored, PASSWORD)
        timings.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - cpu_started)
    return statistics.median(timings) * 1000, statistics.median(cpu) * 1000


# -- profile -------------------------------------------------------------------------------------

# First match wins, checked from the innermost frame outwards.
CATEGORIES = [
    ("argon2 verify/hash", ("argon2",)),
    ("SQLite (sqlite3 in aiosqlite's thread)", ("aiosqlite/core.py",)),
    ("PostgreSQL driver (psycopg)", ("psycopg",)),
    ("template rendering (Jinja2)", ("jinja2",)),
    ("SQLAlchemy (ORM, Core, engine)", ("sqlalchemy",)),
    ("HTTP parsing (uvicorn, h11, httptools)", ("uvicorn/protocols", "h11", "httptools")),
    ("Starlette (routing, middleware, forms)", ("starlette", "multipart")),
    ("asyncio / anyio plumbing", ("asyncio/", "anyio/", "concurrent/futures", "threading.py", "queue.py")),
    ("assmat code", ("assmat/",)),
]


def summarize_profile(path: Path, seconds: float) -> list[str]:
    """Busy samples (py-spy leaves idle threads out) by thread and by category."""
    if not path.exists() or path.stat().st_size == 0:
        return [f"  (no samples: is py-spy installed and allowed to ptrace? {path})"]
    by_category: dict[str, int] = {}
    by_thread: dict[str, int] = {}
    own_frames: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread, frames = frames[0], frames[1:]
        total += count
        kind = "event loop thread" if "MainThread" in thread else "worker threads"
        by_thread[kind] = by_thread.get(kind, 0) + count
        category = "other"
        if frames and frames[-1].startswith("Runner.run ("):
            # uvloop is C: its own work (epoll, callbacks, wake-ups from threads) shows as its caller.
            category = "event loop internals (uvloop, C)"
            frames = []
        for frame in reversed(frames):
            found = next((name for name, needles in CATEGORIES if any(n in frame for n in needles)), None)
            if found:
                category = found
                break
        key = f"{kind}: {category}"
        by_category[key] = by_category.get(key, 0) + count
        if kind == "event loop thread" and frames:
            own_frames[frames[-1]] = own_frames.get(frames[-1], 0) + count
    rate = 200
    lines = [f"  {total} busy samples at {rate}/s over {seconds:g} s ≈ {total / rate:.1f} thread-seconds busy "
             f"(≈ {total / rate / seconds:.2f} threads busy on average)"]
    for kind, count in sorted(by_thread.items(), key=lambda item: -item[1]):
        lines.append(f"  {kind}: {count / rate:.1f} s ({count / total * 100:.0f}%)")
    for key, count in sorted(by_category.items(), key=lambda item: -item[1])[:14]:
        lines.append(f"    {count / total * 100:5.1f}%  {key}")
    lines.append("  event loop thread, innermost frames:")
    for frame, count in sorted(own_frames.items(), key=lambda item: -item[1])[:8]:
        lines.append(f"    {count / total * 100:5.1f}%  {frame}")
    return lines


# -- report --------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return f"p50 {at(0.50):.1f} ms, p90 {at(0.90):.1f} ms, p99 {at(0.99):.1f} ms, max {ordered[-1] * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration of each side, logins and verifications (default 20)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help=f"unmeasured warm-up before the first round's phases (default 2; {ROUND_WARMUP:g} s before later ones)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="logins and verifications alternate this many times, --seconds split between them (default 4)")
    parser.add_argument("--concurrency", type=int, default=4, help="load workers = argon2 threads (default 4)")
    parser.add_argument("--tenant", default="cestas", help="tenant slug (default cestas: no captcha, counter reset on success)")
    parser.add_argument("--database-url", help="postgresql://… (migrated here); default: a fresh SQLite file in a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="sample the server with py-spy (raw format) into FILE")
    parser.add_argument("--generator", choices=("wrk", "python"), default="wrk" if wrk.command() else "python",
                        help="the load generator: Debian's wrk (the default where installed) or httpx in this process")
    args = parser.parse_args(argv)
    if args.generator == "wrk" and not (args.seconds / args.rounds).is_integer():
        parser.error("with wrk, --seconds ÷ --rounds must be a whole number of seconds")

    work = Path(tempfile.mkdtemp(prefix="assmat-bench-"))
    database_url = args.database_url or f"sqlite:///{work / 'assmat.db'}"
    settings = production_settings(work / "var", database_url)
    backend = database_url.split(":", 1)[0]
    cores = os.cpu_count() or 1
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print(f"assmat login benchmark — tenant {args.tenant}, database {backend}, {cores} CPUs ({affinity} usable)")
    print(f"argon2id parameters (Settings defaults): time_cost={settings.argon2_time_cost}, "
          f"memory_cost={settings.argon2_memory_cost} KiB, parallelism={settings.argon2_parallelism}")
    print(f"concurrency: {args.concurrency} load workers / {args.concurrency} argon2 threads; server hashing bound: "
          f"{cores} threads (os.cpu_count()) at nice +{HASHING_NICENESS}; duration {args.seconds:g} s of each, in {args.rounds} rounds, + {args.warmup:g} s warm-up")
    print(f"load generator: {'wrk (benchmarks/_wrk.py)' if args.generator == 'wrk' else 'httpx in this process'}")

    server: Server | None = None
    try:
        from assmat.core.db.migrate import upgrade

        upgrade(database_url)
        run_id = secrets.token_hex(3)
        started = time.perf_counter()
        identifiers = create_accounts(settings, args.tenant, args.concurrency, run_id)
        print(f"setup: migrated, {len(identifiers)} accounts created in {time.perf_counter() - started:.1f} s")

        server = start_server(settings, work)
        host = f"{args.tenant}.{settings.base_domain}"
        phase = args.seconds / args.rounds
        logins = LoginTotals()
        raw = VerifyTotals()
        rounds: list[str] = []
        for index in range(args.rounds):
            # The first round warms up fully; later ones only refill the connections and threads.
            warmup = args.warmup if index == 0 else min(args.warmup, ROUND_WARMUP)
            py_spy = args.py_spy if index == 0 else None
            if args.generator == "wrk":
                result, window = run_load_wrk(server, host, identifiers, warmup, phase, work, py_spy)
            else:
                result, window = run_load(server, host, identifiers, warmup, phase, py_spy)
            logins.add(result, window)
            count, verify_wall, *rest = run_argon2(settings, args.concurrency, warmup, phase)
            raw.add(count, verify_wall, *rest)
            rounds.append(f"{(result.logins / window['wall']) / (count / verify_wall):.2f}")
        result, window = logins.result, logins.window
        wall, server_cpu, loop_cpu, client_cpu = window["wall"], window["server"], window["loop"], window["client"]
        load_others = window["machine"] - server_cpu - client_cpu
        threads = server.threads()
        server.stop()
        if result.errors:
            print(f"!! unexpected answers: {result.errors} (server log: {server.log})")
            args.keep = True

        one, one_cpu = single_verify_ms(settings)
        verifications, argon2_wall, argon2_latencies, argon2_cpu, argon2_others = (
            raw.count, raw.wall, raw.latencies, raw.own_cpu, raw.others)

        logins_per_s = result.logins / wall
        verify_per_s = verifications / argon2_wall
        ratio = logins_per_s / verify_per_s if verify_per_s else 0.0
        print()
        print(f"HTTP logins (POST /connexion → 303 /espace, new server session each)")
        print(f"  logins:             {result.logins} in {wall:.2f} s = {logins_per_s:.1f} logins/s")
        print(f"  latency:            {result.latency_text or percentiles(result.latencies)}")
        per_login = 1000 / max(result.logins, 1)
        print(f"  server CPU:         {server_cpu:.2f} s = {server_cpu / wall * 100:.0f}% of one core, "
              f"{server_cpu * per_login:.1f} ms per login ({threads} threads)")
        print(f"    event loop thread: {loop_cpu:.2f} s = {loop_cpu / wall * 100:.0f}% of one core, {loop_cpu * per_login:.1f} ms per login")
        print(f"    other threads (argon2, sqlite3): {(server_cpu - loop_cpu) * per_login:.1f} ms per login; beyond one "
              f"argon2 verify ({one_cpu:.1f} ms CPU alone): {server_cpu * per_login - one_cpu:.1f} ms per login")
        print(f"  load generator CPU: {client_cpu:.2f} s = {client_cpu / wall * 100:.0f}% of one core, "
              f"{client_cpu * per_login:.1f} ms per login")
        print(f"  other processes:    {max(load_others, 0) / wall * 100:.0f}% of one core (machine-wide busy time not ours); "
              f"idle: {max(0.0, cores - window['machine'] / wall) * 100:.0f}% of one core")
        print(f"raw argon2 (PasswordHasher.verify, {args.concurrency} threads)")
        print(f"  one verify alone:   {one:.1f} ms wall, {one_cpu:.1f} ms CPU (median of 20)")
        print(f"  verifications:      {verifications} in {argon2_wall:.2f} s = {verify_per_s:.1f} verifications/s")
        print(f"  latency:            {percentiles(argon2_latencies)}")
        verify_cost = argon2_cpu / max(verifications, 1)
        print(f"  CPU:                {argon2_cpu:.2f} s = {argon2_cpu / argon2_wall * 100:.0f}% of one core, "
              f"{verify_cost * 1000:.1f} ms per verify")
        print(f"  other processes:    {max(argon2_others, 0) / argon2_wall * 100:.0f}% of one core (machine-wide busy time not ours)")
        if args.py_spy is not None:
            print(f"server profile (py-spy, {args.py_spy}; sampling costs some throughput)")
            print("\n".join(summarize_profile(args.py_spy, phase)))
        print()
        verdict = "OK" if ratio >= 0.85 else "BELOW GOAL"
        login_cost = (server_cpu + client_cpu) / max(result.logins, 1)
        skewed = max(load_others / wall, argon2_others / argon2_wall) > 0.10
        if skewed:
            print("!! other processes used the CPUs during the run: the figures are skewed, run again on a quiet machine")
        print(f"CPU cost: a login (server + load generator) {login_cost * 1000:.1f} ms, a verify {verify_cost * 1000:.1f} ms "
              f"→ CPU-accounted ratio {verify_cost / login_cost:.2f} (the ceiling when every core is busy; hardly moved by "
              f"other processes); without the load generator's share {verify_cost / (server_cpu / max(result.logins, 1)):.2f}")
        print(f"each round's ratio ({args.rounds} rounds of {phase:g} s of logins, then {phase:g} s of verifications): "
              f"{', '.join(rounds)}")
        print(f"RATIO logins/s ÷ verifications/s = {logins_per_s:.1f} / {verify_per_s:.1f} = {ratio:.2f}  "
              f"(goal ≥ 0.85: {verdict})")
        return 0 if not result.errors else 1
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
