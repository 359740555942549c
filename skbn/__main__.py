"""Command line: ``python -m skbn demo``."""

import argparse

from ._demo import run_demo


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m skbn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo",
        help=(
            "standardize, min-max normalize, flag outliers, whiten and robustly "
            "scale bundled data"
        ),
    )
    parser.parse_args(argv)
    run_demo()


if __name__ == "__main__":
    main()
