"""The package version, in one place (the package root and the lineage producer read it)."""

__version__ = "1.0.0"
