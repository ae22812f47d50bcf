"""Entry point of the ``avaloc`` console script."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import avaloc
from avaloc import cli as cli_package
from avaloc.errors import InputError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USER_ERROR = 2

_NOT_VERBS = {"main", "common"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2, like InputError."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def _verb_modules() -> list[str]:
    return [
        info.name
        for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name)
        if not info.name.startswith("_") and info.name not in _NOT_VERBS
    ]


def _requested_verb(argv: Sequence[str]) -> str | None:
    """The module of the verb in ``argv`` (``plot-log`` -> ``plot_log``), if it names one."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None:
        return None
    module = first.replace("-", "_")
    return module if module in _verb_modules() else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every verb, or with just the verb module ``only``.

    Verb modules may import heavy stages (torch, torchvision); building the parser for the one
    verb being run keeps ``avaloc evaluate`` or ``avaloc info`` from paying for all of them.
    """
    parser = _Parser(
        prog="avaloc",
        description="Spatio-temporal action localization in the AVA format: detect persons, "
        "classify their actions with SlowFast, evaluate frame-mAP.",
    )
    parser.add_argument("--version", action="version", version=f"avaloc {avaloc.__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name in _verb_modules():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"avaloc.cli.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = _requested_verb(argv)
    if verb is None and "--version" in argv:
        verb = ""  # no verb module is needed to print the version
    parser = build_parser(verb)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_OK if args.verb is None else EXIT_USER_ERROR
    try:
        code = args.func(args)
    except InputError as exc:
        print(f"avaloc {args.verb}: error: {exc.message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"avaloc {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return EXIT_OK if code is None else int(code)


if __name__ == "__main__":
    sys.exit(main())
