"""The `dtflw` command: run an orchestration notebook locally."""

from __future__ import annotations

import os
import sys

import click

from dtflw.errors import DtflwError

ENGINE_CHOICES = ("sail", "spark", "remote")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE.", param_hint=option)
        pairs[key] = value
    return pairs


def default_storage_url(storage: str | None) -> str:
    """`--storage`, else `$DTFLW_STORAGE`, else the `.dtflw/storage` folder here."""
    return storage or os.environ.get("DTFLW_STORAGE") or "file://" + os.path.abspath(".dtflw/storage")


@click.group()
@click.version_option(package_name="dtflw")
def main():
    """dtflw: chain Databricks notebooks into dataflow pipelines, on Databricks or locally."""


@main.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "--engine", type=click.Choice(ENGINE_CHOICES), default="sail", show_default=True, help="Local Spark engine."
)
@click.option("--remote-url", help="sc:// URL for --engine remote (default $SPARK_REMOTE).")
@click.option("--storage", help="Default storage URL for init_flow() (default $DTFLW_STORAGE, else ./.dtflw/storage).")
@click.option("--dbfs-root", type=click.Path(file_okay=False), help="Local folder standing in for dbfs:/.")
@click.option(
    "--workspace-root",
    type=click.Path(file_okay=False),
    help="Folder mapped to /Users/<user> (default: the notebook's folder's parent).",
)
@click.option("--user", help="Workspace user name (default $DTFLW_USER, else the OS user).")
@click.option("--conf", multiple=True, metavar="KEY=VALUE", help="Spark configuration.")
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE", help="Argument (widget) of the notebook.")
@click.option("--secrets-file", type=click.Path(dir_okay=False), help="JSON {scope: {key: value}} for dbutils.secrets.")
@click.option("--lazy", is_flag=True, help="Skip notebooks whose outputs are up to date.")
def run(notebook, engine, remote_url, storage, dbfs_root, workspace_root, user, conf, args, secrets_file, lazy):
    """Run an orchestration NOTEBOOK (a Databricks source .py/.sql or .ipynb) with the local runtime."""
    from rich.console import Console

    from dtflw.engines import create_engine
    from dtflw.local.workspace import LocalWorkspace
    from dtflw.progress import ProgressPrinter

    console = Console(stderr=True)
    printer = ProgressPrinter(console)
    notebook = os.path.abspath(notebook)
    root = workspace_root or os.path.dirname(os.path.dirname(notebook))
    try:
        with create_engine(engine, _pairs(conf, "--conf"), remote_url) as spark_engine:
            workspace = LocalWorkspace(
                root,
                spark_engine,
                user=user,
                storage_url=default_storage_url(storage),
                dbfs_folder=dbfs_root,
                secrets_file=secrets_file,
                listeners=[printer],
                lazy=lazy,
            )
            result = workspace.run_file(notebook, _pairs(args, "--arg"))
    except DtflwError as e:
        console.print(printer.summary())
        console.print(f"[red]✖ {type(e).__name__}:[/] {e}", highlight=False)
        sys.exit(1)
    console.print(printer.summary())
    if result is not None:
        click.echo(result)


if __name__ == "__main__":
    main()
