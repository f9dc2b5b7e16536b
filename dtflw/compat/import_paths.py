"""The 0.6 import paths (`dtflw.flow`, `dtflw.logger`, …), each the module that now defines its names.

`import dtflw` registers them, so `from dtflw.flow import Flow` and `patch("dtflw.databricks.run_notebook")`
work as in 0.6 with no file per path in the package root.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

PATHS_06 = {
    "arguments": "dtflw.runtime.callee",
    "assertions": "dtflw.core.schema",
    "com": "dtflw.compat.com",
    "databricks": "dtflw.compat.databricks",
    "display": "dtflw.compat.display",
    "flow": "dtflw.compat.flow",
    "flow_context": "dtflw.compat.flow_context",
    "input_table": "dtflw.core.tables",
    "lazy_notebook": "dtflw.core.step",
    "logger": "dtflw.compat.logger",
    "output_table": "dtflw.core.tables",
    "pipeline": "dtflw.compat.pipeline",
    "plugin": "dtflw.compat.plugin",
    "tables_repo": "dtflw.core.registry",
}


def register(package: ModuleType) -> None:
    """Make each 0.6 path of `package` (the `dtflw` package) the module serving it."""
    for name, target in PATHS_06.items():
        module = importlib.import_module(target)
        sys.modules[f"{package.__name__}.{name}"] = module
        setattr(package, name, module)
