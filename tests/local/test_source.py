"""The notebook source parser: Databricks `.py` / `.sql` source exports and `.ipynb` files into cells."""

from __future__ import annotations

import json
import re
import traceback

import pytest

from dtflw.errors import DtflwError, MalformedCellError, NotANotebookError, NotebookNotFoundError
from dtflw.local.source import (
    NOTEBOOK_EXTENSIONS,
    Cell,
    NotebookSource,
    find_notebook_file,
    parse_notebook,
    parse_text,
    split_sql_statements,
)

# A Python notebook as Databricks exports it (File > Export > Source file): every kind of cell.
EXPORTED_PY = """\
# Databricks notebook source
# DBTITLE 1,Sales report
# MAGIC %md
# MAGIC # Sales report
# MAGIC Reads `orders`, writes `report`.
# MAGIC
# MAGIC - one
# MAGIC - two

# COMMAND ----------

# MAGIC %run ./lib/helpers $env="dev test" $limit=10

# COMMAND ----------

# MAGIC %pip install requests==2.32.3

# COMMAND ----------

import json

rows = [{"region": "north", "amount": 10}, {"region": "south", "amount": 5}]
total = sum(row["amount"] for row in rows)

# COMMAND ----------

# DBTITLE 1,Revenue by region
# MAGIC %sql
# MAGIC SELECT region, sum(amount) AS revenue
# MAGIC FROM orders
# MAGIC GROUP BY region;
# MAGIC
# MAGIC SELECT 'a;b' AS s

# COMMAND ----------

# MAGIC %python
# MAGIC def describe(total):
# MAGIC     return json.dumps({"total": total})
# MAGIC
# MAGIC summary = describe(total)

# COMMAND ----------

# MAGIC %sh
# MAGIC ls -la
# MAGIC echo done

# COMMAND ----------

# MAGIC %fs ls /databricks-datasets

# COMMAND ----------

# MAGIC %scala
# MAGIC val x = 1

# COMMAND ----------

# MAGIC %r
# MAGIC x <- 1

# COMMAND ----------

# MAGIC %md-sandbox
# MAGIC <b>done</b>

# COMMAND ----------

# MAGIC %md ### Inline title
"""

# A SQL notebook as Databricks exports it.
EXPORTED_SQL = """\
-- Databricks notebook source
-- DBTITLE 1,Orders of the year
CREATE OR REPLACE TEMP VIEW orders AS
SELECT * FROM VALUES (1, 'north'), (2, 'south') AS t(id, region);

SELECT count(*) AS n FROM orders

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## Totals

-- COMMAND ----------

-- MAGIC %python
-- MAGIC n = spark.table("orders").count()
-- MAGIC dbutils.notebook.exit(str(n))

-- COMMAND ----------

-- MAGIC %run ../shared/setup $year=2024
"""


def line_of(text: str, line: str) -> int:
    """The 1-based number of the line of `text` that is exactly `line`."""
    return text.split("\n").index(line) + 1


def assert_source_stands_on_file_lines(text: str, cell: Cell, comment: str = "#") -> None:
    """Each line of the cell's source is the text of file line `first_line + i`, without MAGIC prefix or magic."""
    file_lines = text.split("\n")
    for offset, line in enumerate(cell.source.split("\n")):
        file_line = re.sub(rf"^{comment} MAGIC ?", "", file_lines[cell.first_line - 1 + offset])
        if offset == 0:
            file_line = re.sub(r"^%[\w-]+\s+", "", file_line)
        assert file_line == line, f"cell {cell.index}, source line {offset + 1}"


def raised_frame(cell: Cell, path: str, namespace: dict | None = None) -> traceback.FrameSummary:
    """The innermost frame of the exception the cell raises, compiled as the local runtime compiles it."""
    code = compile("\n" * (cell.first_line - 1) + cell.source, path, "exec")
    with pytest.raises(Exception) as info:  # noqa: B017 - any exception: its frame is what we check
        exec(code, {} if namespace is None else namespace)
    return traceback.extract_tb(info.tb)[-1]


# -- Python source exports ----------------------------------------------------------------------------------------


def test_exported_python_notebook_is_split_into_its_cells():
    source = parse_text(EXPORTED_PY, "py", "/ws/report.py")

    assert source.path == "/ws/report.py"
    assert source.language == "python"
    assert [(c.index, c.language) for c in source.cells] == [
        (1, "markdown"),
        (2, "run"),
        (3, "pip"),
        (4, "python"),
        (5, "sql"),
        (6, "python"),
        (7, "sh"),
        (8, "fs"),
        (9, "scala"),
        (10, "r"),
        (11, "markdown"),
        (12, "markdown"),
    ]
    cells = source.cells
    assert cells[0] == Cell(
        1,
        "markdown",
        "# Sales report\nReads `orders`, writes `report`.\n\n- one\n- two",
        first_line=4,
        title="Sales report",
    )
    assert cells[1] == Cell(
        2,
        "run",
        './lib/helpers $env="dev test" $limit=10',
        line_of(EXPORTED_PY, '# MAGIC %run ./lib/helpers $env="dev test" $limit=10'),
        run_target="./lib/helpers",
        run_args={"env": "dev test", "limit": "10"},
    )
    assert cells[2].source == "install requests==2.32.3"
    assert cells[3].source.startswith("import json\n\nrows = ")
    assert cells[3].first_line == line_of(EXPORTED_PY, "import json")
    assert cells[4].title == "Revenue by region"
    assert cells[4].source == (
        "SELECT region, sum(amount) AS revenue\nFROM orders\nGROUP BY region;\n\nSELECT 'a;b' AS s"
    )
    assert cells[5].source == (
        'def describe(total):\n    return json.dumps({"total": total})\n\nsummary = describe(total)'
    )
    assert cells[6].source == "ls -la\necho done"
    assert cells[7].source == "ls /databricks-datasets"
    assert cells[8].source == "val x = 1"
    assert cells[9].source == "x <- 1"
    assert cells[10].source == "<b>done</b>"
    assert cells[11].source == "### Inline title"
    assert [c.title for c in cells].count(None) == 10
    assert all(c.run_target is None and c.run_args == {} for c in cells if c.language != "run")
    for cell in cells:
        assert_source_stands_on_file_lines(EXPORTED_PY, cell)


def test_python_cells_of_an_export_run_in_one_namespace():
    source = parse_text(EXPORTED_PY, "py", "report.py")
    namespace: dict = {}
    for cell in source.cells:
        if cell.language == "python":
            exec(compile("\n" * (cell.first_line - 1) + cell.source, "report.py", "exec"), namespace)
    assert namespace["total"] == 15
    assert json.loads(namespace["summary"]) == {"total": 15}


def test_errors_in_python_cells_report_the_line_of_the_file(tmp_path):
    text = (
        "# Databricks notebook source\n"
        "x = 1\n"
        "\n"
        "# COMMAND ----------\n"
        "\n"
        "# MAGIC %md\n"
        "# MAGIC Some text\n"
        "\n"
        "# COMMAND ----------\n"
        "\n"
        "\n"
        "y = 2\n"
        "\n"
        "raise ValueError('plain cell')\n"
        "\n"
        "# COMMAND ----------\n"
        "\n"
        "# MAGIC %python\n"
        "# MAGIC\n"
        "# MAGIC def fail():\n"
        "# MAGIC     raise KeyError('magic cell')\n"
        "# MAGIC\n"
        "# MAGIC fail()\n"
    )
    path = tmp_path / "nb.py"
    path.write_text(text)
    plain, magic = parse_notebook(str(path)).cells[2:]

    frame = raised_frame(plain, str(path))
    assert (frame.filename, frame.lineno) == (str(path), 14)
    assert frame.line == "raise ValueError('plain cell')"

    frame = raised_frame(magic, str(path))
    assert (frame.filename, frame.lineno, frame.name) == (str(path), 21, "fail")
    assert frame.line == "# MAGIC     raise KeyError('magic cell')"


def test_syntax_errors_in_magic_python_cells_report_the_line_of_the_file():
    text = (
        "# Databricks notebook source\n1\n\n# COMMAND ----------\n\n# MAGIC %python\n# MAGIC a = 1\n# MAGIC b = = 2\n"
    )
    cell = parse_text(text, "py", "nb.py").cells[1]
    with pytest.raises(SyntaxError) as info:
        compile("\n" * (cell.first_line - 1) + cell.source, "nb.py", "exec")
    assert info.value.lineno == 8


def test_windows_line_endings_give_the_same_cells_and_lines(tmp_path):
    windows = EXPORTED_PY.replace("\n", "\r\n")
    assert parse_text(windows, "py").cells == parse_text(EXPORTED_PY, "py").cells

    path = tmp_path / "nb.py"
    path.write_bytes(
        b"# Databricks notebook source\r\n# MAGIC %python\r\n# MAGIC a = 1\r\n# MAGIC raise OSError(a)\r\n"
    )
    cell = parse_notebook(str(path)).cells[0]
    assert cell.source == "a = 1\nraise OSError(a)"
    frame = raised_frame(cell, str(path))
    assert (frame.lineno, frame.line) == (4, "# MAGIC raise OSError(a)")


def test_old_mac_line_endings_and_a_byte_order_mark_are_read():
    source = parse_text("\ufeff# Databricks notebook source\rx = 1\r\r# COMMAND ----------\r\ry = 2\r", "py")
    assert [(c.source, c.first_line) for c in source.cells] == [("x = 1", 2), ("y = 2", 6)]


def test_empty_cells_keep_their_place_and_a_trailing_separator_makes_an_empty_last_cell():
    text = (
        "# Databricks notebook source\n"
        "a = 1\n"
        "\n"
        "# COMMAND ----------\n"
        "\n"
        "\n"
        "# COMMAND ----------\n"
        "\n"
        "# MAGIC %sql\n"
        "\n"
        "# COMMAND ----------\n"
        "\n"
        "b = 2\n"
        "\n"
        "# COMMAND ----------\n"
    )
    cells = parse_text(text, "py").cells
    assert [(c.index, c.language, c.source, c.first_line) for c in cells] == [
        (1, "python", "a = 1", 2),
        (2, "python", "", 5),  # the line after its separator
        (3, "sql", "", 10),  # the line after its magic line
        (4, "python", "b = 2", 13),
        (5, "python", "", 16),
    ]
    exec(compile("\n" * (cells[1].first_line - 1) + cells[1].source, "nb.py", "exec"), {})


def test_a_notebook_of_only_its_header_has_one_empty_cell():
    assert parse_text("# Databricks notebook source\n", "py").cells == (Cell(1, "python", "", 2),)


def test_bare_magic_lines_are_empty_lines_and_trailing_spaces_are_kept():
    text = "\n".join(
        [
            "# Databricks notebook source",
            "# MAGIC %md",
            "# MAGIC first line with a hard break  ",
            "# MAGIC",
            "# MAGIC   ",
            "# MAGIC    indented",
            "# MAGIC  ",
        ]
    )
    cell = parse_text(text, "py").cells[0]
    assert cell.source == "first line with a hard break  \n\n  \n   indented"
    assert cell.first_line == 3


def test_titles():
    text = "\n".join(
        [
            "# Databricks notebook source",
            "# DBTITLE 1,Load orders, customers and products",
            "x = 1",
            "",
            "# COMMAND ----------",
            "",
            "# DBTITLE 0,Hidden title",
            "",
            "# MAGIC %sql",
            "# MAGIC SELECT 1",
            "",
            "# COMMAND ----------",
            "",
            "# DBTITLE 1,",
            "y = 2",
            "",
            "# COMMAND ----------",
            "",
            "# DBTITLE 1,Only a title",
            "",
        ]
    )
    cells = parse_text(text, "py").cells
    assert [(c.title, c.language, c.source, c.first_line) for c in cells] == [
        ("Load orders, customers and products", "python", "x = 1", 3),
        ("Hidden title", "sql", "SELECT 1", 10),
        (None, "python", "y = 2", 15),
        ("Only a title", "python", "", 18),
    ]


@pytest.mark.parametrize(
    ("command", "target", "arguments"),
    [
        ("%run ./lib/helpers", "./lib/helpers", {}),
        ("%run ../x", "../x", {}),
        ("%run /Workspace/Shared/setup $a=1", "/Workspace/Shared/setup", {"a": "1"}),
        ("%run ./h $lang=\"en gb\" $empty= $q='it is'", "./h", {"lang": "en gb", "empty": "", "q": "it is"}),
        ('%run "./my notebooks/setup" $path=/mnt/raw/2024', "./my notebooks/setup", {"path": "/mnt/raw/2024"}),
        ("%run ./h $expr=a=b", "./h", {"expr": "a=b"}),
        ("%run   ./h   $x=1  ", "./h", {"x": "1"}),
    ],
)
def test_run_commands(command, target, arguments):
    text = f"# Databricks notebook source\n# MAGIC {command}\n# MAGIC\n"
    cell = parse_text(text, "py").cells[0]
    assert (cell.language, cell.run_target, cell.run_args, cell.first_line) == ("run", target, arguments, 2)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["# MAGIC %run"], "`%run` names no notebook"),
        (["# MAGIC %run ./h limit=1"], "argument 'limit=1' is not of the form $name=value"),
        (["# MAGIC %run ./h $=1"], "argument '$=1' is not of the form $name=value"),
        (["# MAGIC %run ./h $flag"], "argument '$flag' is not of the form $name=value"),
        (['# MAGIC %run ./h $a="unclosed'], 'cannot read `%run ./h $a="unclosed`'),
        (["# MAGIC %run ./h", "# MAGIC print(1)"], "`%run` must be alone in its cell"),
    ],
)
def test_malformed_run_commands_name_the_file_line_and_cell(lines, message):
    text = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n" + "\n".join(lines) + "\n"
    with pytest.raises(MalformedCellError, match=re.escape(message)) as info:
        parse_text(text, "py", "/ws/jobs/main.py")
    assert "/ws/jobs/main.py:6 (cell 2)" in str(info.value)
    assert "%run ./path/to/notebook $name=value" in str(info.value) or "new cell" in str(info.value)
    assert isinstance(info.value, DtflwError)


def test_magic_commands_with_their_content_on_the_following_lines():
    text = "\n".join(
        [
            "# Databricks notebook source",
            "# MAGIC %fs",
            "# MAGIC ls /mnt",
            "",
            "# COMMAND ----------",
            "",
            "# MAGIC %pip",
            "# MAGIC install pandas<3",
            "",
            "# COMMAND ----------",
            "",
            "# MAGIC %sql   ",
            "# MAGIC",
            "# MAGIC select 1",
        ]
    )
    cells = parse_text(text, "py").cells
    assert [(c.language, c.source, c.first_line) for c in cells] == [
        ("fs", "ls /mnt", 3),
        ("pip", "install pandas<3", 8),
        ("sql", "select 1", 14),
    ]


def test_unknown_magics_and_magic_cells_without_a_magic_command_keep_the_notebook_language():
    text = "\n".join(
        [
            "# Databricks notebook source",
            "# MAGIC %matplotlib inline",
            "",
            "# COMMAND ----------",
            "",
            "# MAGIC print('no magic command')",
            "",
            "# COMMAND ----------",
            "",
            "# MAGIC %sqlite",
            "",
            "# COMMAND ----------",
            "",
            "# MAGICAL = 1",
        ]
    )
    cells = parse_text(text, "py").cells
    assert [(c.language, c.source) for c in cells] == [
        ("python", "%matplotlib inline"),
        ("python", "print('no magic command')"),
        ("python", "%sqlite"),
        ("python", "# MAGICAL = 1"),
    ]


def test_plain_magic_lines_without_the_magic_prefix_are_understood():
    text = "# Databricks notebook source\n%sql\nSELECT 1\n\n# COMMAND ----------\n\n%run ./setup $a=1\n"
    cells = parse_text(text, "py").cells
    assert [(c.language, c.source, c.first_line, c.run_target) for c in cells] == [
        ("sql", "SELECT 1", 3, None),
        ("run", "./setup $a=1", 7, "./setup"),
    ]


def test_lines_without_the_magic_prefix_inside_a_magic_cell_are_kept():
    text = "# Databricks notebook source\n# MAGIC %sql\n# MAGIC SELECT *\nFROM t\n# MAGIC WHERE x > 1\n"
    cell = parse_text(text, "py").cells[0]
    assert (cell.source, cell.first_line) == ("SELECT *\nFROM t\nWHERE x > 1", 3)


def test_separator_lines_must_be_exact():
    text = "# Databricks notebook source\na = 1\n# COMMAND ---\nb = 2\n  # COMMAND ----------\nc = 3\n"
    assert len(parse_text(text, "py").cells) == 1
    text = "# Databricks notebook source\na = 1\n# COMMAND ----------   \nb = 2\n"
    assert [c.source for c in parse_text(text, "py").cells] == ["a = 1", "b = 2"]


def test_a_python_file_without_the_header_is_one_verbatim_python_cell():
    text = "import os\n\n# COMMAND ----------\n\n# MAGIC %sql\nprint(os.sep)\n"
    assert parse_text(text, "py", "helpers.py") == NotebookSource("helpers.py", "python", (Cell(1, "python", text, 1),))
    namespace: dict = {}
    exec(compile(text, "helpers.py", "exec"), namespace)
    assert "os" in namespace


def test_an_empty_python_file_is_one_empty_cell():
    assert parse_text("", "py").cells == (Cell(1, "python", "", 1),)


def test_cells_are_immutable_and_hashable():
    cells = parse_text(EXPORTED_PY, "py").cells
    assert len(set(cells)) == len(cells)
    with pytest.raises(AttributeError):
        cells[0].source = "changed"


# -- SQL source exports -------------------------------------------------------------------------------------------


def test_exported_sql_notebook():
    source = parse_text(EXPORTED_SQL, "sql", "/ws/orders.sql")
    assert source.language == "sql"
    cells = source.cells
    assert [(c.index, c.language, c.title) for c in cells] == [
        (1, "sql", "Orders of the year"),
        (2, "markdown", None),
        (3, "python", None),
        (4, "run", None),
    ]
    assert split_sql_statements(cells[0].source) == [
        "CREATE OR REPLACE TEMP VIEW orders AS\nSELECT * FROM VALUES (1, 'north'), (2, 'south') AS t(id, region)",
        "SELECT count(*) AS n FROM orders",
    ]
    assert cells[1].source == "## Totals"
    assert cells[2].source == 'n = spark.table("orders").count()\ndbutils.notebook.exit(str(n))'
    assert (cells[3].run_target, cells[3].run_args) == ("../shared/setup", {"year": "2024"})
    for cell in cells:
        assert_source_stands_on_file_lines(EXPORTED_SQL, cell, comment="--")


def test_errors_in_python_cells_of_sql_notebooks_report_the_line_of_the_file(tmp_path):
    path = tmp_path / "q.sql"
    path.write_text(EXPORTED_SQL)
    cell = parse_notebook(str(path)).cells[2]
    frame = raised_frame(cell, str(path), {})
    assert frame.lineno == line_of(EXPORTED_SQL, '-- MAGIC n = spark.table("orders").count()')
    assert frame.line == '-- MAGIC n = spark.table("orders").count()'


def test_a_sql_file_without_the_header_is_one_sql_cell():
    text = "SELECT 1;\n-- COMMAND ----------\nSELECT 2\n"
    source = parse_text(text, "sql", "q.sql")
    assert source.cells == (Cell(1, "sql", text, 1),)
    assert split_sql_statements(source.cells[0].source) == ["SELECT 1", "-- COMMAND ----------\nSELECT 2"]


# -- SQL statements -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "statements"),
    [
        ("", []),
        ("  \n ; ;\n", []),
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1;", ["SELECT 1"]),
        ("SELECT 1;\nSELECT 2;\n", ["SELECT 1", "SELECT 2"]),
        ("SELECT 'a;b', \"c;d\", `e;f` FROM t", ["SELECT 'a;b', \"c;d\", `e;f` FROM t"]),
        ("SELECT 'it\\'s; fine'; SELECT 2", ["SELECT 'it\\'s; fine'", "SELECT 2"]),
        ("SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", "SELECT 2"]),
        ('SELECT "say \\"x;y\\""; SELECT 2', ['SELECT "say \\"x;y\\""', "SELECT 2"]),
        ("SELECT `a\\`; SELECT 2", ["SELECT `a\\`", "SELECT 2"]),
        ("SELECT 1 -- first; not a split\n; SELECT 2", ["SELECT 1 -- first; not a split", "SELECT 2"]),
        ("SELECT '--;' AS x; SELECT 2", ["SELECT '--;' AS x", "SELECT 2"]),
        ("SELECT /* a; b */ 1; SELECT 2", ["SELECT /* a; b */ 1", "SELECT 2"]),
        (
            "SELECT /* outer /* inner; */ still; */ 1; SELECT 2",
            ["SELECT /* outer /* inner; */ still; */ 1", "SELECT 2"],
        ),
        ("SELECT 1;\n-- only a comment;\n/* and another; */", ["SELECT 1"]),
        ("-- a leading comment\nSELECT 1;", ["-- a leading comment\nSELECT 1"]),
        ("SELECT 1 -- no newline at the end", ["SELECT 1 -- no newline at the end"]),
        ("SELECT 'unclosed; quote", ["SELECT 'unclosed; quote"]),
        ("SELECT 1 /* unclosed; comment", ["SELECT 1 /* unclosed; comment"]),
        ("SELECT '", ["SELECT '"]),
    ],
)
def test_split_sql_statements(text, statements):
    assert split_sql_statements(text) == statements


# -- .ipynb -------------------------------------------------------------------------------------------------------


def databricks_ipynb(cells: list[dict], language: str = "python") -> str:
    """An .ipynb as Databricks exports it (File > Export > IPython Notebook)."""
    return json.dumps(
        {
            "cells": cells,
            "metadata": {
                "application/vnd.databricks.v1+notebook": {
                    "dashboards": [],
                    "language": language,
                    "notebookMetadata": {"pythonIndentUnit": 4},
                    "notebookName": "report",
                    "widgets": {},
                },
                "language_info": {"name": language},
            },
            "nbformat": 4,
            "nbformat_minor": 0,
        },
        indent=1,
    )


def code(source, title: str = "") -> dict:
    return {
        "cell_type": "code",
        "execution_count": 0,
        "metadata": {
            "application/vnd.databricks.v1+cell": {
                "inputWidgets": {},
                "nuid": "a710da59-48e2-4e3f-8b2d-cd11cddde4f1",
                "showTitle": bool(title),
                "title": title,
            }
        },
        "outputs": [],
        "source": source,
    }


def test_ipynb_exported_by_databricks():
    text = databricks_ipynb(
        [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Report\n", "\n", "Totals per region."]},
            code(["rows = [1, 2, 3]\n", "total = sum(rows)"], title="Load"),
            code(["%sql\n", "SELECT region, count(*) AS n\n", "FROM orders\n", "GROUP BY region"]),
            code(['%run ./lib/helpers $env="dev test"']),
            code("%md\n## Inline markdown"),
            code([]),
        ]
    )
    source = parse_text(text, "ipynb", "report.ipynb")
    assert source == NotebookSource(
        "report.ipynb",
        "python",
        (
            Cell(1, "markdown", "# Report\n\nTotals per region.", 1),
            Cell(2, "python", "rows = [1, 2, 3]\ntotal = sum(rows)", 1, title="Load"),
            Cell(3, "sql", "SELECT region, count(*) AS n\nFROM orders\nGROUP BY region", 2),
            Cell(
                4, "run", './lib/helpers $env="dev test"', 1, run_target="./lib/helpers", run_args={"env": "dev test"}
            ),
            Cell(5, "markdown", "## Inline markdown", 2),
            Cell(6, "python", "", 1),
        ),
    )


def test_errors_in_ipynb_python_cells_report_the_line_in_the_cell():
    text = databricks_ipynb([code(["%python\n", "x = 1\n", "raise RuntimeError(x)\n"])], language="sql")
    source = parse_text(text, "ipynb", "nb.ipynb")
    assert source.language == "sql"
    cell = source.cells[0]
    assert (cell.language, cell.first_line) == ("python", 2)
    assert raised_frame(cell, "nb.ipynb").lineno == 3


def test_ipynb_sql_notebook_cells_default_to_sql():
    text = databricks_ipynb([code("SELECT 1;\r\nSELECT 2"), code("%python\nprint(1)")], language="sql")
    cells = parse_text(text, "ipynb").cells
    assert [(c.language, c.source) for c in cells] == [("sql", "SELECT 1;\nSELECT 2"), ("python", "print(1)")]


@pytest.mark.parametrize(
    ("metadata", "language"),
    [
        ({}, "python"),
        ({"language_info": {"name": "python", "version": "3.11.7"}}, "python"),
        ({"language_info": {"name": "SQL"}}, "sql"),
        ({"kernelspec": {"language": "R", "name": "ir"}}, "r"),
        ({"application/vnd.databricks.v1+notebook": {"language": "scala"}, "language_info": {"name": "x"}}, "scala"),
    ],
)
def test_ipynb_language(metadata, language):
    text = json.dumps({"cells": [{"cell_type": "code", "source": "1"}], "metadata": metadata, "nbformat": 4})
    source = parse_text(text, "ipynb")
    assert source.language == language
    assert source.cells[0].language == language


def test_ipynb_raw_cells_are_skipped_but_keep_their_place():
    text = json.dumps(
        {
            "cells": [
                {"cell_type": "raw", "metadata": {}, "source": ["not run"]},
                {"cell_type": "markdown", "metadata": {}, "source": []},
                {"cell_type": "code", "metadata": {}, "source": ["\n", "\n", "x = 1\n", "\n"], "outputs": []},
            ],
            "metadata": {},
            "nbformat": 4,
        }
    )
    cells = parse_text(text, "ipynb").cells
    assert cells == (Cell(2, "markdown", "", 1), Cell(3, "python", "x = 1", 3))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[]", "needs a top-level 'cells' list"),
        ('{"worksheets": []}', "needs a top-level 'cells' list"),
        ('{"cells": ["x = 1"]}', "cell 1 is not a code or markdown cell"),
        ('{"cells": [{"cell_type": "heading", "source": "x"}]}', "cell 1 is not a code or markdown cell"),
        ('{"cells": [{"cell_type": "code", "source": 42}]}', "the source of cell 1 is not text"),
        ('{"cells": [], "metadata": {"language_info": {"name": "julia"}}}', "is a julia notebook"),
    ],
)
def test_malformed_ipynb(text, message):
    with pytest.raises(NotANotebookError, match=re.escape(message)) as info:
        parse_text(text, "ipynb", "/ws/bad.ipynb")
    assert "/ws/bad.ipynb" in str(info.value)


# -- files --------------------------------------------------------------------------------------------------------


def test_parse_notebook_reads_each_kind_of_file(tmp_path):
    (tmp_path / "a.py").write_text(EXPORTED_PY)
    (tmp_path / "b.sql").write_text(EXPORTED_SQL)
    (tmp_path / "c.ipynb").write_text(databricks_ipynb([code("x = 1")]))
    (tmp_path / "d.PY").write_text("# Databricks notebook source\nx = 1\n")

    assert parse_notebook(str(tmp_path / "a.py")) == parse_text(EXPORTED_PY, "py", str(tmp_path / "a.py"))
    assert parse_notebook(str(tmp_path / "b.sql")).cells == parse_text(EXPORTED_SQL, "sql").cells
    assert parse_notebook(str(tmp_path / "c.ipynb")).cells == (Cell(1, "python", "x = 1", 1),)
    assert parse_notebook(str(tmp_path / "d.PY")).cells == (Cell(1, "python", "x = 1", 2),)


def test_parse_notebook_reads_a_byte_order_mark(tmp_path):
    path = tmp_path / "nb.py"
    path.write_bytes("# Databricks notebook source\nname = 'Zoë'\n".encode("utf-8-sig"))
    assert parse_notebook(str(path)).cells == (Cell(1, "python", "name = 'Zoë'", 2),)


def test_parse_notebook_rejects_files_that_are_not_notebooks(tmp_path):
    data = tmp_path / "orders.csv"
    data.write_text("id,amount\n1,10\n")
    with pytest.raises(NotANotebookError, match=r"orders\.csv' is not a notebook: notebooks are \.py, \.sql, \.ipynb"):
        parse_notebook(str(data))

    binary = tmp_path / "model.py"
    binary.write_bytes(b"# Databricks notebook source\n\xff\xfe\x00")
    with pytest.raises(NotANotebookError, match=r"model\.py' is not a notebook: it is not a UTF-8 text file"):
        parse_notebook(str(binary))

    folder = tmp_path / "folder.py"
    folder.mkdir()
    with pytest.raises(NotANotebookError, match=r"folder\.py' is not a notebook"):
        parse_notebook(str(folder))


def test_parse_notebook_of_a_missing_file(tmp_path):
    with pytest.raises(NotebookNotFoundError, match=r"missing\.py' does not exist"):
        parse_notebook(str(tmp_path / "missing.py"))


def test_parse_text_of_an_unknown_kind():
    with pytest.raises(NotANotebookError, match=r"Cannot parse 'nb\.scala' as a notebook of kind 'scala'"):
        parse_text("// Databricks notebook source\n", "scala", "nb.scala")


def test_find_notebook_file(tmp_path):
    base = tmp_path / "jobs" / "main"
    base.parent.mkdir()
    assert find_notebook_file(str(base)) is None

    (tmp_path / "jobs" / "main.ipynb").write_text("{}")
    assert find_notebook_file(str(base)) == str(base) + ".ipynb"
    (tmp_path / "jobs" / "main.sql").write_text("SELECT 1")
    assert find_notebook_file(str(base)) == str(base) + ".sql"
    (tmp_path / "jobs" / "main.py").write_text("x = 1")
    assert find_notebook_file(str(base)) == str(base) + ".py"
    assert find_notebook_file(str(base) + ".sql") == str(base) + ".sql"

    base.mkdir()  # a folder named like the notebook is no notebook
    assert find_notebook_file(str(base)) == str(base) + ".py"

    (tmp_path / "data.csv").write_text("a\n1\n")
    assert find_notebook_file(str(tmp_path / "data.csv")) is None
    (tmp_path / "data.csv.py").write_text("x = 1")
    assert find_notebook_file(str(tmp_path / "data.csv")) == str(tmp_path / "data.csv.py")
    assert NOTEBOOK_EXTENSIONS == (".py", ".sql", ".ipynb")
