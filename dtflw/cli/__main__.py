"""`python -m dtflw.cli`: the `dtflw` command."""

from dtflw.cli import main

main()
