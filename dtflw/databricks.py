"""dtflw 0.6 import path `dtflw.databricks`: the module `dtflw.compat.databricks` itself, so code that
patches its helpers (`get_dbutils`, `run_notebook`, …) patches the ones dtflw calls."""

import sys

from dtflw.compat import databricks

sys.modules[__name__] = databricks
