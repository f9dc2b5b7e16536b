"""Delta Lake on the classic JVM engine, when delta-spark is installed.

delta-spark's wheel holds no jar: `configure_spark_with_delta_pip` makes Spark resolve
`io.delta:delta-spark_<scala>` through Ivy (Maven Central, or the repositories of `spark.jars.ivySettings`)
when the JVM starts. Where they cannot be resolved the JVM exits before Spark starts; that becomes an
`EngineUnavailableError` that names the way out, instead of a JVM stack trace.
"""

from __future__ import annotations

from typing import Any

from dtflw.errors import EngineUnavailableError

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def with_delta(builder: Any) -> tuple[Any, str | None]:
    """`builder` configured for Delta if delta-spark is installed, and what Ivy must resolve for it (or None)."""
    try:
        from delta import configure_spark_with_delta_pip
    except ImportError:
        return builder, None
    for key, value in DELTA_CONF.items():
        builder = builder.config(key, value)
    from importlib.metadata import version

    return configure_spark_with_delta_pip(builder), f"the jars of delta-spark {version('delta-spark')} (io.delta)"


def start(builder: Any, package: str | None) -> Any:
    """`builder.getOrCreate()`; with Delta's `package` to resolve, a JVM that cannot start is named."""
    try:
        return builder.getOrCreate()
    except Exception as e:
        if package is None:
            raise
        raise EngineUnavailableError(
            f"--engine spark could not start: delta-spark is installed, so Spark must resolve {package} through "
            f"Ivy/Maven, and the JVM exited before Spark started ({type(e).__name__}; the Ivy log above says which "
            "repository failed). Use --engine sail (Delta without a JVM or Maven), make the package reachable "
            "(spark.jars.ivySettings naming a mirror), or uninstall delta-spark to run classic Spark without Delta."
        ) from None
