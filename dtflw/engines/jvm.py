"""The `spark` engine: classic local JVM pyspark."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dtflw.engines import Engine
from dtflw.errors import EngineUnavailableError
from dtflw.storage.cloud import CloudEnvironment


class JvmEngine(Engine):
    """Classic local JVM pyspark (`local[2]`); Delta only with delta-spark installed and its jars reachable.

    pyspark cannot mix classic and Spark Connect sessions in one process (a Connect session switches
    the whole process to Connect mode), so use it in a process of its own.
    """

    name = "spark"

    def add_credentials(self, environment: Mapping[str, str]) -> None:
        """Refuse a storage whose file system needs jars this engine lacks (no Maven here: no hadoop-aws,
        no GCS connector); Azure's settings are ignored, as before."""
        jars = environment.hadoop_jars if isinstance(environment, CloudEnvironment) else None
        if jars:
            raise EngineUnavailableError(
                f"The JVM engine ('spark') cannot reach this storage: it needs {jars} on its class path, which "
                "the pyspark wheel does not ship. Use the default engine (--engine sail), or a remote or "
                "databricks engine that has them."
            )

    def _start(self) -> Any:
        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            SparkSession.builder.master("local[2]")
            .appName("dtflw")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "4")
        )
        for key, value in self.conf.items():
            builder = builder.config(key, value)
        from dtflw.engines import jvm_delta

        session = jvm_delta.start(*jvm_delta.with_delta(builder))  # Delta when delta-spark is installed
        session.sparkContext.setLogLevel("ERROR")
        return session
