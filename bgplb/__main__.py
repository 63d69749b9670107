"""`python -m bgplb` runs the command-line interface."""

from bgplb.cli import main

main()
