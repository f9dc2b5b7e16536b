"""dtflw.testing: test your notebooks with pytest — one notebook with given inputs, or a whole flow.

    def test_silver(dtflw):
        result = dtflw.run_notebook("notebooks/silver/build_sales", args={"year": 2024},
                                    inputs={"Orders": orders_df, ...}, outputs={"SalesOrderItems": "delta"})
        assert_table_equal(result.table("SalesOrderItems"), expected_rows)

The fixtures come from the `dtflw` pytest plugin, registered when dtflw is installed.
"""

from __future__ import annotations

from dtflw.testing.assertions import assert_approx_table_equal, assert_table_equal
from dtflw.testing.harness import FlowResult, NotebookResult, NotebookTester

__all__ = ["FlowResult", "NotebookResult", "NotebookTester", "assert_approx_table_equal", "assert_table_equal"]
