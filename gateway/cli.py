"""`powergw` command line: one parser, subcommands contributed by each part of powergw.

Each command module the parts declare (gateway.app.COMMAND_MODULES) has `register(subparsers)`,
which adds its subcommands with `set_defaults(func=handler)`; a handler takes the parsed args and
returns an exit code.
Command modules import their heavy libraries inside the handlers, so `powergw --help` is quick
and the daemon never loads what it does not use.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import select
import sys

from . import PowerGwError, __version__
from .app import COMMAND_MODULES

DESCRIPTION = "Edge-first home energy gateway: ESP32 nodes in, exact energy accounts, bills and alerts out."
# Commands that run for long and whose progress a user wants to see without -v.
CHATTY = ("run", "demo", "ui", "sync", "simulate", "cloud")


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES, prog: str = "powergw") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"powergw {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def not_utf8(argv: list[str]) -> str | None:
    """Which argument is not UTF-8 text, in words, or None. Python hands bytes it cannot decode over
    as lone surrogates, which SQLite cannot store: refused here, before any command runs."""
    for i, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            after = f" (after {argv[i - 1]})" if i and argv[i - 1].startswith("-") else ""
            return f"argument {ascii(arg)}{after} is not UTF-8 text; set the terminal to UTF-8 and type it again"
    return None


def main(argv: list[str] | None = None, *, modules: tuple[str, ...] = COMMAND_MODULES, prog: str = "powergw") -> int:
    """Parse, set up logging, run the handler; a PowerGwError is one line and exit code 2."""
    parser = build_parser(modules, prog)
    bad = not_utf8(sys.argv[1:] if argv is None else argv)
    if bad is not None:
        parser.error(bad)
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    if args.command in CHATTY:
        level = min(level, logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose < 2:
        # APScheduler logs every run of every job at INFO ("Running job …", "executed successfully"):
        # a line every few seconds on the demo's terminal and in the journal. Its warnings still show.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, not at exit, so a reader that went away is seen below
        return code
    except PowerGwError as err:
        print(f"{prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        if not _stdout_gone():
            raise
        # `powergw nodes | head`: the reader has what it wanted; what was recorded stays recorded.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        # A file or device the user named that is missing or unreadable: the file and the reason
        # are the message (-vv shows where).
        if args.verbose >= 2:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"{prog} {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _stdout_gone() -> bool:
    """True when stdout is a pipe or socket whose reader has closed it (the BrokenPipeError is ours to swallow)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError):
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
