"""`python -m dtflw.cli`: the `dtflw` command."""

from dtflw.cli import run_as_program

run_as_program()
