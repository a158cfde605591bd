"""`gosidecar serve | health | complete`: the command line in the contract.

Every command fails with one line on stderr and a non-zero exit for bad input, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.log_level, args.log_file)
    try:
        return int(args.run(args))
    except UsageError as error:
        print(f"gosidecar: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gosidecar", description="A sidecar language server for gopls.")
    parser.add_argument("--version", action="version", version=f"gosidecar {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-file", help="write logs here instead of stderr")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="LSP server on stdin/stdout in front of gopls")
    serve.add_argument("--trace-file", help="append every LSP message, both ways, to this file")
    serve.set_defaults(run=_run_serve)

    health = commands.add_parser("health", help="start gopls through the sidecar and print the health report")
    health.add_argument("--workspace", required=True, help="a Go workspace folder")
    health.add_argument("--json", action="store_true", help="print the report as JSON")
    health.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for gopls to load")
    health.set_defaults(run=_run_health)

    complete = commands.add_parser("complete", help="one AI completion at FILE:LINE:COL (1-based)")
    complete.add_argument("location", metavar="FILE:LINE:COL")
    complete.add_argument("--json", action="store_true", help="print the result as JSON")
    complete.set_defaults(run=_run_complete)
    return parser


def _configure_logging(level: str, log_file: str | None) -> None:
    # Never stdout: for `serve` it is the LSP stream.
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _run_serve(args: argparse.Namespace) -> int:
    from .serve import serve  # noqa: PLC0415 (keeps `health`/`complete` start-up light)

    return serve(args.trace_file)


def _run_health(args: argparse.Namespace) -> int:
    from .health import format_report, health_command  # noqa: PLC0415

    workspace = Path(args.workspace)
    if not workspace.is_dir():
        raise UsageError(f"--workspace {args.workspace}: not a directory")
    report = health_command(workspace.resolve(), args.timeout)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if report.get("ok") else 1


def _run_complete(args: argparse.Namespace) -> int:
    from .completion.cli import run_complete_cli  # noqa: PLC0415 (loads the model stack)
    from .settings import Settings  # noqa: PLC0415

    return run_complete_cli(args.location, args.json, Settings().ai)
