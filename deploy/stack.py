"""The portal as it runs in production, on this machine: N uvicorn replicas on one PostgreSQL database
behind nginx, for demos and for the tests (tests/test_browser_failover.py).

    scripts/stack.sh start [--replicas 2] [--port 8080]   # prints the address
    scripts/stack.sh status
    scripts/stack.sh stop
    python -m deploy.stack render --listen 80 --replica 10.0.0.11:8501 --replica 10.0.0.12:8501 \\
        --proxy-bind 10.0.0.5 > /etc/nginx/conf.d/mujiu.conf      # production: nginx's part only

`start` needs DATABASE_URL (postgresql+psycopg://...) and a database at the latest migration
(scripts/stack.sh migrates first). Every port is a free one unless given, so parallel test workers
never clash. The replicas listen on 127.0.0.1; nginx connects to them from PROXY_BIND (127.0.0.2, also
loopback), the only address whose X-Forwarded-For they believe (PUBLIC_TRUSTED_PROXIES): a local
client that talks to a replica directly is counted under its own address, whatever it writes.
Process ids go into pid files in the stack's directory; `stop` ends exactly those processes, after
checking that each still is the replica or the nginx this stack started (never by name).

Design notes (stickiness, trusted proxy, the redacted log): deploy/nginx/portal.conf.template and
docs/operations.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "nginx"
PROXY_BIND = "127.0.0.2"  # loopback too: nginx's own source address towards the replicas
NAMES = "abcdefghijklmnopqrstuvwxyz"
DEFAULT_DIR = ROOT / "data" / "stack"
START_TIMEOUT = 90.0  # two replicas importing Streamlit at once on a busy 2-core machine


class StackError(RuntimeError):
    pass


def nginx_path() -> str | None:
    """NGINX, else nginx on PATH, else Debian's /usr/sbin/nginx (not on a normal user's PATH)."""
    if os.environ.get("NGINX"):
        return shutil.which(os.environ["NGINX"])
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the configuration
_UNSAFE = re.compile(r"[;{}\"'\n\r\\]")


def render(template: str, values: dict[str, str]) -> str:
    """A template of deploy/nginx/ with its {{NAME}} placeholders filled in. A value that could end a
    directive early (;, braces, quotes, a newline) and a placeholder left unfilled are refused."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    for key, value in values.items():
        if key not in ("SERVERS", "PUBLIC_SERVERS") and _UNSAFE.search(value):  # built from checked host:port
            raise StackError(f"{key}: {value!r} cannot go into nginx's configuration")
        text = text.replace("{{" + key + "}}", value)
    if left := sorted(set(re.findall(r"\{\{\w+\}\}", text))):
        raise StackError("unfilled placeholders: " + ", ".join(left))
    return text


def portal_conf(listen: str, replicas: list[str], proxy_bind: str = PROXY_BIND,
                access_log: str = "/var/log/nginx/mujiu-access.log", error_log: str = "/var/log/nginx/error.log",
                fail_timeout: int = 10, public: list[str] = ()) -> str:
    """nginx's http-context part for the replicas `host:port` (deploy/nginx/portal.conf.template);
    `public`: processes that serve the public pages alone (the replicas become their backup)."""
    if not replicas:
        raise StackError("at least one replica")
    for r in [*replicas, *public]:
        if _UNSAFE.search(r) or not re.fullmatch(r"[\w.\-\[\]:]+:\d+", r):
            raise StackError(f"replica {r!r}: write host:port")
    servers = "\n".join(f"    server {r} max_fails=1 fail_timeout={fail_timeout}s;" for r in replicas)
    public_servers = "\n".join([*(f"    server {r} max_fails=1 fail_timeout={fail_timeout}s;" for r in public),
                                *(f"    server {r} backup;" for r in replicas)]) if public else servers
    return render("portal.conf.template", {"LISTEN": listen, "SERVERS": servers, "PROXY_BIND": proxy_bind,
                                           "ACCESS_LOG": access_log, "ERROR_LOG": error_log,
                                           "PUBLIC_SERVERS": public_servers})


# ------------------------------------------------------------------ processes
def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Process:
    """A process this stack started: the Popen handle while the starting Python process lives (the
    tests), else the pid from its pid file (the CLI's stop/status). `marker` is a string its command
    line must contain before it is signalled, so a reused pid is never somebody else's process."""

    def __init__(self, pid: int, marker: str, proc: subprocess.Popen | None = None):
        self.pid, self.marker, self.proc = pid, marker, proc

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z" and self.marker in _cmdline(self.pid)

    def send(self, sig: int) -> None:
        if self.alive() and self.marker in _cmdline(self.pid):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return True
            time.sleep(0.05)
        return not self.alive()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        self.send(sig)
        if not self.wait(timeout):
            self.send(signal.SIGKILL)
            self.wait(5)


def _get(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Replica:
    name: str
    port: int
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def marker(self) -> str:
        return f"--port {self.port} "


class Stack:
    """N replicas and nginx in `directory` (created; its files are the stack's state)."""

    def __init__(self, directory: Path | str = DEFAULT_DIR, database_url: str | None = None, replicas: int = 2,
                 port: int | None = None, log_level: str = "warning", fail_timeout: int = 10, public: int = 0):
        self.dir = Path(directory).resolve()
        self.database_url = database_url or os.environ.get("DATABASE_URL", "")
        self.port = port
        self.log_level, self.fail_timeout = log_level, fail_timeout
        if not 1 <= replicas <= len(NAMES):
            raise StackError(f"1 to {len(NAMES)} replicas")
        self.replicas = [Replica(NAMES[i], 0) for i in range(replicas)]
        if not 0 <= public <= 9:
            raise StackError("0 to 9 public-page processes")
        # the same portal, reached by nginx only for /c/ and /k/ (portal.conf.template, portal_public)
        self.public = [Replica(f"public{i + 1}", 0) for i in range(public)]
        self.nginx: Process | None = None

    # ---------------------------------------------------------------- addresses and files
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.dir / "access.log"

    @property
    def error_log(self) -> Path:
        return self.dir / "nginx-error.log"

    @property
    def portals(self) -> list[Replica]:
        """Every portal process: the replicas, then the public pages' own processes."""
        return [*self.replicas, *self.public]

    def replica(self, name: str) -> Replica:
        return next(r for r in self.portals if r.name == name)

    def _state_file(self) -> Path:
        return self.dir / "stack.json"

    def _save(self) -> None:
        state = {"url": self.url, "port": self.port, "database": _hide_password(self.database_url),
                 "replicas": [{"name": r.name, "port": r.port, "pid": r.process.pid if r.process else None}
                              for r in self.replicas],
                 "public": [{"name": r.name, "port": r.port, "pid": r.process.pid if r.process else None}
                            for r in self.public],
                 "nginx": self.nginx.pid if self.nginx else None}
        self._state_file().write_text(json.dumps(state, indent=2))
        for r in self.portals:
            if r.process:
                (self.dir / f"replica-{r.name}.pid").write_text(f"{r.process.pid}\n")

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_DIR) -> Stack:
        """The stack a `start` left in `directory` (for status and stop)."""
        path = Path(directory).resolve() / "stack.json"
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StackError(f"no stack in {path.parent}") from exc
        stack = cls(directory, "", len(state["replicas"]), state["port"], public=len(state.get("public", [])))
        for r, saved in zip(stack.portals, [*state["replicas"], *state.get("public", [])]):
            r.port = saved["port"]
            r.process = Process(saved["pid"], r.marker) if saved.get("pid") else None
        if state.get("nginx"):
            stack.nginx = Process(state["nginx"], str(stack.dir / "nginx.conf"))
        return stack

    # ---------------------------------------------------------------- start
    def start(self) -> Stack:
        if not self.database_url.startswith("postgresql"):
            raise StackError("DATABASE_URL must name a PostgreSQL database (postgresql+psycopg://...): "
                             "the replicas share it, and every login and counter lives there")
        nginx = nginx_path()
        if nginx is None:
            raise StackError("nginx is not installed (apt-get install nginx)")
        self.dir.mkdir(parents=True, exist_ok=True)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        if self._state_file().exists() and any(p.alive() for p in Stack.load(self.dir)._processes()):
            raise StackError(f"a stack is already running in {self.dir} (scripts/stack.sh stop)")
        fixed_port = self.port is not None
        self.port = self.port or free_port()
        try:
            for r in self.portals:
                self._spawn(r)
            for r in self.portals:
                self._wait_ready(r)
            for attempt in range(3):
                if self._start_nginx(nginx):
                    break
                if fixed_port or attempt == 2:
                    raise StackError("nginx did not start:\n" + _tail(self.error_log))
                self.port = free_port()  # somebody took the free port in between: another one
        except BaseException:
            self.stop()
            raise
        self._save()
        return self

    def _replica_env(self, r: Replica) -> dict[str, str]:
        env = dict(os.environ, DATABASE_URL=self.database_url, PORTAL_REPLICA=r.name,
                   PUBLIC_TRUSTED_PROXIES=PROXY_BIND, PYTHONUNBUFFERED="1")
        env.setdefault("PUBLIC_BASE_URL", self.url)  # dispute-code QR codes point at nginx, not a replica
        return env

    def _spawn(self, r: Replica) -> None:
        """Start one replica as scripts/start.sh starts the portal; --proxy-headers with the trusted
        address from PUBLIC_TRUSTED_PROXIES (serve.py ignores --forwarded-allow-ips on purpose)."""
        r.port = r.port or free_port()
        with open(self.dir / f"replica-{r.name}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "serve:app", "--host", "127.0.0.1", "--port", str(r.port), "--loop",
                 "uvloop", "--http", "httptools", "--no-access-log", "--proxy-headers", "--log-level", self.log_level],
                cwd=ROOT, env=self._replica_env(r), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)  # outlives `scripts/stack.sh start`; not hit by the terminal's Ctrl+C
        r.process = Process(proc.pid, r.marker, proc)
        (self.dir / f"replica-{r.name}.pid").write_text(f"{proc.pid}\n")

    def _wait_ready(self, r: Replica, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not r.process.alive():
                raise StackError(f"replica {r.name} exited:\n" + _tail(self.dir / f"replica-{r.name}.log"))
            if _get(r.url + "/readyz") == 200:
                return
            time.sleep(0.2)
        raise StackError(f"replica {r.name} not ready after {timeout:.0f} s (/readyz):\n"
                         + _tail(self.dir / f"replica-{r.name}.log"))

    def write_config(self) -> Path:
        conf = self.dir / "nginx.conf"
        (self.dir / "portal.conf").write_text(portal_conf(
            f"127.0.0.1:{self.port}", [r.address for r in self.replicas], PROXY_BIND, str(self.access_log),
            str(self.error_log), self.fail_timeout, [r.address for r in self.public]))
        conf.write_text(render("stack.conf.template", {"DIR": str(self.dir), "ERROR_LOG": str(self.error_log)}))
        return conf

    def _start_nginx(self, nginx: str) -> bool:
        conf = self.write_config()
        with open(self.dir / "nginx.out", "ab") as out:
            proc = subprocess.Popen([nginx, "-e", str(self.error_log), "-p", str(self.dir), "-c", str(conf)],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.nginx = Process(proc.pid, str(conf), proc)  # in the foreground: its pid is nginx.pid's
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not self.nginx.alive():
                self.nginx = None
                return False
            if _get(self.url + "/healthz") == 200:
                return True
            time.sleep(0.1)
        self.nginx.stop()  # running but not answering on its port: not ours to leave behind
        self.nginx = None
        return False

    # ---------------------------------------------------------------- one replica
    def stop_replica(self, name: str, kill: bool = False) -> None:
        """Stop one replica: SIGTERM (a restart or deploy), or SIGKILL with kill=True (a crash)."""
        r = self.replica(name)
        if r.process:
            r.process.stop(signal.SIGKILL if kill else signal.SIGTERM)

    def start_replica(self, name: str) -> None:
        """Start a stopped replica again on its port (nginx's configuration stays as it is)."""
        r = self.replica(name)
        if r.process and r.process.alive():
            return
        self._spawn(r)
        self._wait_ready(r)
        self._save()

    # ---------------------------------------------------------------- stop and status
    def _processes(self) -> list[Process]:
        return [p for p in [self.nginx, *(r.process for r in self.portals)] if p is not None]

    def stop(self) -> None:
        """nginx first (no new requests reach a stopping replica), then the replicas."""
        if self.nginx:
            self.nginx.stop(signal.SIGTERM)  # not SIGQUIT: a graceful stop waits for every open websocket
        for r in self.portals:
            if r.process:
                r.process.send(signal.SIGTERM)
        for r in self.portals:
            if r.process:
                r.process.stop()
        for path in [self.dir / f"replica-{r.name}.pid" for r in self.portals]:
            path.unlink(missing_ok=True)
        self._state_file().unlink(missing_ok=True)

    def status(self) -> list[tuple[str, str, str]]:
        """(what, address, state) per process: running and answering, or why not."""
        rows = []
        for r in self.portals:
            alive = r.process is not None and r.process.alive()
            code = _get(r.url + "/readyz") if alive else None
            rows.append((f"replica {r.name}", r.url, "ready" if code == 200 else
                         (f"running, /readyz {code}" if alive else "stopped")))
        alive = self.nginx is not None and self.nginx.alive()
        code = _get(self.url + "/healthz") if alive else None
        rows.append(("nginx", self.url, "answering" if code == 200 else (f"running, /healthz {code}" if alive else "stopped")))
        return rows


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stack.sh", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start N replicas (DATABASE_URL) and nginx in front")
    start.add_argument("--replicas", type=int, default=2)
    start.add_argument("--port", type=int, help="nginx's port on 127.0.0.1 (default: a free one)")
    start.add_argument("--public", type=int, default=0,
                       help="processes for the public pages /c/ and /k/ alone (the replicas are their backup)")
    for p in (start, sub.add_parser("stop"), sub.add_parser("status")):
        p.add_argument("--dir", default=os.environ.get("STACK_DIR", str(DEFAULT_DIR)))
    rend = sub.add_parser("render", help="print nginx's part of the configuration (production)")
    rend.add_argument("--listen", default="80")
    rend.add_argument("--replica", action="append", required=True, help="host:port, once per replica")
    rend.add_argument("--proxy-bind", default=PROXY_BIND,
                      help="nginx's source address; the replicas' PUBLIC_TRUSTED_PROXIES")
    rend.add_argument("--access-log", default="/var/log/nginx/mujiu-access.log")
    rend.add_argument("--error-log", default="/var/log/nginx/error.log")
    rend.add_argument("--public", action="append", default=[],
                      help="host:port of a process for the public pages alone, once each (optional)")
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            sys.stdout.write(portal_conf(args.listen, args.replica, args.proxy_bind, args.access_log, args.error_log,
                                         public=args.public))
        elif args.command == "start":
            stack = Stack(args.dir, replicas=args.replicas, port=args.port, public=args.public).start()
            for what, url, state in stack.status():
                print(f"  {what:<10} {url:<24} {state}")
            print(f"==> 门户已启动（{len(stack.replicas)} 个副本，nginx 在前）：{stack.url}")
            print(f"    访问日志 {stack.access_log}；停止：scripts/stack.sh stop")
        elif args.command == "status":
            stack = Stack.load(args.dir)
            rows = stack.status()
            for what, url, state in rows:
                print(f"  {what:<10} {url:<24} {state}")
            return 0 if all(state in ("ready", "answering") for _, _, state in rows) else 3
        elif args.command == "stop":
            Stack.load(args.dir).stop()
            print("==> 已停止")
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
