"""The ``ragflow-integrations`` program: options, sub-commands, and errors as exit codes."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from .. import __version__
from ..errors import mask_secret
from . import ask, listing, search, sync
from .codes import EXIT_CODES_HELP, ExitCode, describe, exit_code_for
from .context import CommandContext

__all__ = ["build_parser", "main"]

PROG = "ragflow-integrations"


def _connection_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Options every command takes, before or after its name (a sub-command's copy does not
    override what was given before the name)."""

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group("connection")
    group.add_argument(
        "--base-url",
        default=default(None),
        metavar="URL",
        help="RAGFlow server, e.g. http://localhost:9380 (default: $RAGFLOW_BASE_URL)",
    )
    group.add_argument(
        "--api-key",
        default=default(None),
        metavar="KEY",
        help="API key (default: $RAGFLOW_API_KEY, which keeps it out of the process list)",
    )
    group.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=default(None),
        help="progress bars on stderr (default: when stderr is a terminal)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="log each request and show tracebacks (the API key is masked)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Sync a folder into a RAGFlow dataset, search it, ask a chat assistant. The server "
            "and key come from RAGFLOW_BASE_URL and RAGFLOW_API_KEY (or --base-url/--api-key)."
        ),
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _connection_options(parser, defaults=True)
    common = argparse.ArgumentParser(add_help=False)
    _connection_options(common, defaults=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sync.add_parser(commands, common)
    search.add_parser(commands, common)
    ask.add_parser(commands, common)
    listing.add_parsers(commands, common)
    return parser


class _MaskKey(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _mask(record.getMessage(), self.secret)
        record.args = None
        return True


def _debug_logging(err: TextIO, secret: str) -> logging.Handler:
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
    handler.addFilter(_MaskKey(secret))
    for name in ("ragflow_integrations", "urllib3"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    return handler


def _undo_debug_logging(handler: logging.Handler) -> None:
    for name in ("ragflow_integrations", "urllib3"):
        logging.getLogger(name).removeHandler(handler)


def _mask(text: str, secret: str) -> str:
    """The key masked where a key can appear, without garbling words (see ``mask_secret``)."""
    return mask_secret(text, secret) if secret else text


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command; returns the exit code (see :class:`~.codes.ExitCode`)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    for stream in (out, err):
        if isinstance(stream, io.TextIOWrapper):  # a name that is not UTF-8 must not crash us
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (already printed)
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else ExitCode.USAGE
    show_progress = args.progress
    if show_progress is None:
        show_progress = err.isatty() and not getattr(args, "json", False)
    ctx = CommandContext(args, out, err, show_progress=show_progress)
    handler = _debug_logging(err, ctx.api_key) if args.debug else None
    try:
        return int(args.run(ctx))
    except KeyboardInterrupt:
        err.write(f"\n{PROG}: interrupted (a sync can be run again: it picks up where it was)\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `... | head`: the reader left; nothing more to say
        _silence_stdout(out)
        return ExitCode.OK
    except Exception as exc:
        if args.debug:
            err.write(_mask(traceback.format_exc(), ctx.api_key))
        err.write(f"{PROG}: error: {_mask(describe(exc, ctx.base_url), ctx.api_key)}\n")
        return exit_code_for(exc)
    finally:
        ctx.close()
        if handler is not None:
            _undo_debug_logging(handler)


def _silence_stdout(out: TextIO) -> None:
    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
