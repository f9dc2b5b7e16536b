"""Expectations: data-quality checks declared on a notebook's outputs and evaluated right after it
writes them (`spec`: declaring and results, no Spark; `scan`: the one-query evaluation with Spark)."""

from dtflw.expectations.spec import FAIL, WARN, Expectation, ExpectationResult, declare

__all__ = ["FAIL", "WARN", "Expectation", "ExpectationResult", "declare"]
