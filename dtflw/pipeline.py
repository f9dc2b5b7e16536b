"""dtflw 0.6 import path `dtflw.pipeline`: re-exports NotebookRun, PipelineState from `dtflw.compat.pipeline`."""

from dtflw.compat.pipeline import NotebookRun, PipelineState

__all__ = ["NotebookRun", "PipelineState"]
