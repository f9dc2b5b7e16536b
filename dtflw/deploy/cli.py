"""`dtflw deploy`: export an orchestration notebook as a Databricks Job or an Asset Bundle."""

from __future__ import annotations

import json
import os
import sys

import click

from dtflw.errors import DtflwError

FORMATS = ("job", "bundle")


@click.group()
def deploy():
    """Deploy a flow to Databricks: export it as a multi-task Job or an Asset Bundle."""


@deploy.command("export")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS), help="Job settings JSON or a bundle.")
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write to (job: stdout without --out).")
@click.option("--name", help="Job name (default: the notebook's file name).")
@click.option("--existing-cluster-id", help="Run every task on this cluster (default: serverless).")
@click.option(
    "--new-cluster", type=click.Path(dir_okay=False, exists=True), help="JSON new_cluster spec of a shared job cluster."
)
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Job tag (step tags are added too).")
@click.option("--host", help="Workspace URL of the bundle's targets.")
@click.option("--storage", help="Default storage URL of init_flow() (default $DTFLW_STORAGE, else ./.dtflw/storage).")
@click.option(
    "--workspace-root",
    type=click.Path(file_okay=False),
    help="Folder mapped to /Users/<user> (default: the parent of the notebook's folder).",
)
@click.option("--user", help="Workspace user name (default $DTFLW_USER, else the OS user).")
@click.option("--dbfs-root", type=click.Path(file_okay=False), help="Local folder standing in for dbfs:/.")
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE", help="Argument (widget) of the notebook.")
@click.option("--secrets-file", type=click.Path(dir_okay=False), help="JSON {scope: {key: value}} for dbutils.secrets.")
def export(fmt, out, name, existing_cluster_id, new_cluster, tags, host, **options):
    """Export the steps of an orchestration NOTEBOOK (planned as `dtflw plan` does, running none) as
    Jobs API 2.2 job settings (`--format job`) or an Asset Bundle (`--format bundle --out DIR`)."""
    from dtflw.cli import _pairs, _workspace
    from dtflw.deploy.bundle import bundle_files, write_bundle
    from dtflw.deploy.export import Compute, job_settings, to_json
    from dtflw.deploy.tasks import planned_tasks

    if fmt == "bundle" and not out:
        raise click.UsageError("--format bundle needs --out DIR.")
    cluster = None
    if new_cluster:
        with open(new_cluster, encoding="utf-8") as f:
            cluster = json.load(f)
    options.update(engine="sail", conf=(), remote_url=None, lazy=False, select=None, exclude=None)
    name = name or os.path.splitext(os.path.basename(options["notebook"]))[0]
    try:
        compute = Compute(existing_cluster_id, cluster)
        engine, workspace, notebook = _workspace(options)
        with engine:
            tasks = planned_tasks(workspace, notebook, _pairs(options["args"], "--arg"))
        job_tags = _pairs(tags, "--tag")
        if fmt == "job":
            text = to_json(job_settings(tasks, name, compute, job_tags))
            if not out:
                click.echo(text, nl=False)
                return
            os.makedirs(out, exist_ok=True)
            path = os.path.join(out, f"{name}.job.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            written = [path]
        else:
            files = bundle_files(tasks, name, out, workspace.root, compute, job_tags, host)
            written = write_bundle(files, out)
    except DtflwError as e:
        click.echo(f"✖ {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    click.echo(f"{len(tasks)} task(s) exported: " + ", ".join(written), err=True)
