"""`python -m dreamtalk.server serve|worker|keys ...` (the same subcommands the main CLI adds)."""

from __future__ import annotations

import argparse
import sys

from .cli import add_subcommands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dreamtalk.server", description=__doc__)
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
