"""The ``lrmakeup`` command line. Only this layer turns lrmakeup's errors into messages and exit codes.

Exit codes: 0 success, 2 bad usage or input (one line on stderr), 1 unexpected failure (one line; ``--debug``
shows the traceback). Library warnings (:class:`LRMakeupWarning`) are printed as ``lrmakeup: warning:`` lines.

The command modules import only what their parsers need (no torch): each command checks its arguments and
paths first and imports the heavy parts inside ``run``, so ``--help`` and bad arguments answer at once.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from ..errors import InputError, LRMakeupError, LRMakeupWarning
from . import demo, evaluate, export_onnx, import_psgan, iqa, make_benchmark, prepare, serve, train, transfer

COMMANDS = (transfer, demo, import_psgan, prepare, train, make_benchmark, evaluate, iqa, export_onnx, serve)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lrmakeup", description="Makeup transfer on low-resolution (64x64) faces.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            warnings.simplefilter("default", LRMakeupWarning)
            args = build_parser().parse_args(argv)
            return int(args.run(args) or 0)
    except InputError as exc:
        _fail(exc, debug)
        return 2
    except KeyboardInterrupt:
        print("lrmakeup: interrupted", file=sys.stderr)
        return 130
    except (LRMakeupError, Exception) as exc:  # noqa: BLE001 - the CLI boundary: no tracebacks for users
        if debug:
            traceback.print_exc()
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"lrmakeup: internal error: {message} (run with --debug for details)", file=sys.stderr)
        return 1


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our warnings as one line; anybody else's (a library's deprecation) the usual way."""
    if issubclass(category, LRMakeupWarning):
        print(f"lrmakeup: warning: {' '.join(str(message).split())}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _fail(exc: Exception, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"lrmakeup: error: {message}", file=sys.stderr)


def entry() -> None:
    sys.exit(main())
