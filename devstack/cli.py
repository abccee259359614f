"""`python -m devstack`: run the platform's services as local processes (no Docker, no cloud)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from devstack import process
from devstack.config import ConfigError
from devstack.platform import Platform
from devstack.service import ServiceError
from devstack.services import SERVICES, UnknownServiceError, expand, processes

EPILOG = (
    """\
examples:
  python -m devstack up                      start everything (installs on first use, then cached)
  python -m devstack up kafka registry       start only these (and what they depend on)
  python -m devstack outputs                 the substrate's endpoints and keys (the devstack stack reads them)
  make up                                    the processes, then the devstack stack's topics, subjects, S3 sink
                                             and Airflow settings on the real Pulumi engine
  python -m devstack logs connect -n 100     last 100 log lines of Kafka Connect
  python -m devstack down                    stop everything devstack started (their data stays on disk)
  python -m devstack reset moto --yes        stop moto and delete its buckets and tables (no question asked)

services: """
    + ", ".join(SERVICES)
    + """
environment: DEVSTACK_HOME (state folder, default .devstack), DEVSTACK_INSTALL (the install cache, default
$DEVSTACK_HOME/install), DEVSTACK_PORT_<SERVICE> (e.g. DEVSTACK_PORT_KAFKA)
"""
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devstack",
        description="The platform's substrate as local processes: Kafka, Connect, schema registry, FerretDB "
        "(MongoDB), moto (S3/DynamoDB), a GCS and a Firestore emulator, Airflow 3. The `devstack` Pulumi stack "
        "creates the topics, subjects, S3 sink connector and Airflow settings on it (`make up`).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("install", "download/build services into the cache without starting them"),
        (
            "up",
            "start services (idempotent: running ones are reused), create the emulated account's buckets and "
            "tables, write the outputs file",
        ),
        ("down", "stop services devstack started (by PID file), children included"),
    ):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("services", nargs="*", metavar="SERVICE", help="default: all")
        if name == "install":
            sp.add_argument(
                "--skip",
                action="append",
                default=[],
                metavar="SERVICE",
                help="leave this one out (repeatable): `make setup` installs airflow's package while the rest build",
            )
    rp = sub.add_parser(
        "reset",
        help="stop services and DELETE the data they keep (asks first; --yes skips the question); `make up` after",
    )
    rp.add_argument("services", nargs="*", metavar="SERVICE", help="default: all")
    rp.add_argument("--yes", action="store_true", help="delete without asking")
    sub.add_parser("status", help="which services run, their PIDs and ports")
    lp = sub.add_parser("logs", help="print a service's log")
    lp.add_argument("service", metavar="SERVICE")
    lp.add_argument("-n", "--lines", type=int, default=50)
    op = sub.add_parser("outputs", help="print the substrate's outputs JSON (what the devstack stack reads)")
    op.add_argument("--file", help="write to this file instead of stdout")
    return p


def _report(msg: str) -> None:
    # one write per line: services install and start from several threads, and print() writes the end apart
    sys.stderr.write(f"[devstack {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def _size(size_bytes: int) -> str:
    if size_bytes < 1024:
        return f"{size_bytes} B"
    size = size_bytes / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _reset(platform: Platform, names: list[str] | None, yes: bool) -> int:
    held = [entry for entry in platform.data_held(names) if entry.paths]
    if not held:
        _report("no data to delete")
        return 0
    for entry in held:
        print(f"{entry.service:10} {_size(entry.size_bytes):>10}  {', '.join(str(p) for p in entry.paths)}")
    if not yes:
        if not sys.stdin.isatty():
            _report("error: reset deletes the data above; run it in a terminal to confirm, or pass --yes")
            return 2
        answer = input(f"delete the data of {', '.join(e.service for e in held)}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            _report("nothing deleted")
            return 1
    platform.reset(names, _report)  # None: every service, and the warehouse, which is no service's
    _report("done: `make up` starts the platform again, empty, and declares the stack's objects on it")
    return 0


def _install_names(names: list[str], skip: list[str]) -> list[str] | None:
    """The services `install` works on: those named (default: all) less the skipped ones and their members."""
    if not skip:
        return names or None
    skipped = set(expand(skip))
    return [n for n in expand(names or processes()) if n not in skipped]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        platform = Platform()
        if args.command == "install":
            names = _install_names(args.services, args.skip)
            if names != []:  # everything named was skipped: not "all"
                platform.install(names, _report)
        elif args.command == "up":
            t0 = time.monotonic()
            platform.up(args.services or None, _report)
            _report(f"up in {time.monotonic() - t0:.1f}s; `python -m devstack outputs` prints the endpoints")
        elif args.command == "down":
            stopped = platform.down(args.services or None, _report)
            if not stopped:
                _report("nothing was running")
        elif args.command == "reset":
            return _reset(platform, args.services or None, args.yes)
        elif args.command == "status":
            for st in platform.status():
                state = f"running (pid {st.pid})" if st.running else "stopped"
                inst = "" if st.installed else "  [not installed]"
                print(f"{st.name:10} {state:22} {st.ports:32} {st.description}{inst}")
        elif args.command == "logs":
            svc = platform.services([args.service], with_deps=False)[0]
            print(process.tail(svc.log_file, args.lines))
        elif args.command == "outputs":
            from devstack.outputs import build_outputs

            text = json.dumps(build_outputs(platform.cfg), indent=2)
            if args.file:
                with open(args.file, "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            else:
                print(text)
        sys.stdout.flush()  # inside the try: a closed pipe is BrokenPipeError here, not at the interpreter's exit
    except (ServiceError, ConfigError, UnknownServiceError) as exc:
        _report(f"error: {exc}")
        return 1
    except BrokenPipeError:  # the reader went away (`outputs | head`): a quiet exit, as `cat` does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush goes nowhere instead of failing
        return 0
    except KeyboardInterrupt:
        return 130
    return 0
