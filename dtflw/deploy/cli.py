"""`dtflw deploy`: export an orchestration notebook or a pipeline file as a Databricks Job or an Asset
Bundle, or run it on Databricks as one multi-task run (and repair that run)."""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click

from dtflw.errors import DtflwError

FORMATS = ("job", "bundle")


@click.group()
def deploy():
    """Deploy a flow to Databricks: export it as a multi-task Job or an Asset Bundle, or run it there."""
    from dtflw.extras import require

    try:
        require("deploy", "dtflw deploy", "databricks.sdk", "yaml")
    except DtflwError as e:
        _fail(e)


def _flow_options(command):
    """What `export` and `run` share: the source, how to plan it, and the job's compute and tags."""
    options = [
        click.argument("notebook", metavar="SOURCE", type=click.Path(dir_okay=False)),
        click.option("--name", help="Job name (default: a pipeline file's `name`, else the file's name)."),
        click.option("--existing-cluster-id", help="Run every task on this cluster (default: serverless)."),
        click.option(
            "--new-cluster",
            type=click.Path(dir_okay=False, exists=True),
            help="JSON new_cluster spec of a job cluster the tasks share.",
        ),
        click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Job tag (step tags are added too)."),
        click.option(
            "--storage", help="Default storage URL of init_flow() (default $DTFLW_STORAGE, else ./.dtflw/storage)."
        ),
        click.option(
            "--workspace-root",
            type=click.Path(file_okay=False),
            help="Folder mapped to /Users/<user> (default: the parent of the notebook's folder).",
        ),
        click.option("--user", help="Workspace user name (default $DTFLW_USER, else the OS user)."),
        click.option("--dbfs-root", type=click.Path(file_okay=False), help="Local folder standing in for dbfs:/."),
        click.option("--arg", "args", multiple=True, metavar="NAME=VALUE", help="Argument (widget) of the notebook."),
        click.option(
            "--secrets-file", type=click.Path(dir_okay=False), help="JSON {scope: {key: value}} for dbutils.secrets."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _planned(options: dict):
    """Plan the notebook (running no step): its tasks, the job's compute and tags, the local workspace."""
    from dtflw.cli import _pairs, _workspace
    from dtflw.deploy.export import Compute
    from dtflw.deploy.tasks import planned_tasks

    cluster = None
    if options["new_cluster"]:
        with open(options["new_cluster"], encoding="utf-8") as f:
            cluster = json.load(f)
    compute = Compute(options["existing_cluster_id"], cluster)
    plan_options = {**options, "engine": "sail", "conf": (), "remote_url": None, "lazy": False}
    plan_options.update(select=None, exclude=None, profile=None, cluster_id=None, serverless=False)
    engine, workspace, notebook = _workspace(plan_options)
    with engine, contextlib.redirect_stdout(sys.stderr):  # the notebook's own prints are not the export
        tasks = planned_tasks(workspace, notebook, _pairs(options["args"], "--arg"))
    name = options["name"] or _source_name(options["notebook"])
    return tasks, name, compute, _pairs(options["tags"], "--tag"), workspace


def _source_name(path: str) -> str:
    from dtflw.pipeline_files import is_pipeline_file
    from dtflw.pipeline_files.loading import load_pipeline

    return load_pipeline(path).name if is_pipeline_file(path) else os.path.splitext(os.path.basename(path))[0]


def _fail(e: DtflwError):
    click.echo(f"✖ {type(e).__name__}: {e}", err=True)
    sys.exit(1)


@deploy.command("export")
@_flow_options
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS), help="Job settings JSON or a bundle.")
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write to (job: stdout without --out).")
@click.option("--host", help="Workspace URL of the bundle's targets.")
def export(fmt, out, host, **options):
    """Export the steps of an orchestration notebook or a pipeline file, SOURCE (planned as `dtflw plan`
    does, running none), as Jobs API 2.2 job settings (`--format job`) or an Asset Bundle (`--format
    bundle --out DIR`)."""
    from dtflw.deploy.bundle import bundle_files, write_bundle
    from dtflw.deploy.export import job_settings, to_json

    if fmt == "bundle" and not out:
        raise click.UsageError("--format bundle needs --out DIR.")
    try:
        tasks, name, compute, tags, workspace = _planned(options)
        if fmt == "job":
            text = to_json(job_settings(tasks, name, compute, tags))
            if not out:
                click.echo(text, nl=False)
                return
            os.makedirs(out, exist_ok=True)
            path = os.path.join(out, f"{name}.job.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            written = [path]
        else:
            written = write_bundle(bundle_files(tasks, name, out, workspace.root, compute, tags, host), out)
    except DtflwError as e:
        _fail(e)
    click.echo(f"{len(tasks)} task(s) exported: " + ", ".join(written), err=True)


@deploy.command("run")
@_flow_options
@click.option("--profile", help="Databricks config profile (default: unified auth — env vars, ~/.databrickscfg).")
@click.option("--repair", is_flag=True, help="Re-run only the failed tasks (and those after them) of the last run.")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between first looks at the run.")
def run(profile, repair, poll, **options):
    """Run the steps of an orchestration notebook or a pipeline file, SOURCE, on Databricks as one
    multi-task one-time run, showing each task's progress; with --repair, re-run what failed in the last
    run of this job."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import DatabricksError
    from rich.console import Console

    from dtflw.deploy.export import job_settings
    from dtflw.deploy.job_run import (
        LAST_RUNS,
        follow,
        last_run,
        raise_failures,
        remember_run,
        repair_failed,
        submit_flow,
    )
    from dtflw.deploy.run_lineage import close_job_run

    console = Console(stderr=True)
    known_runs = os.path.abspath(LAST_RUNS)  # here, whatever folder a notebook later runs in
    try:
        tasks, name, compute, tags, _ = _planned(options)
        client = WorkspaceClient(profile=profile) if profile else WorkspaceClient()
        host = client.config.host
        if repair:
            previous, settings = last_run(name, host, known_runs)
            run_id = repair_failed(client, previous, settings)
            verb = "Repairing" if run_id == previous else "Re-submitted the failed tasks of"
            console.print(f"{verb} run {previous}" + ("" if run_id == previous else f" as run {run_id}"))
        else:
            settings = job_settings(tasks, name, compute, tags)
            run_id = submit_flow(client, settings)
            console.print(f"Submitted {len(tasks)} task(s) of '{name}' as run {run_id}", highlight=False)
        remember_run(name, host, run_id, settings, known_runs)
        ended = follow(client, run_id, on_change=lambda task: _show(console, task), poll=(poll, max(poll, 10.0)))
        console.print(f"Run {run_id} ended: {ended.state.result_state.value} — {ended.run_page_url}", highlight=False)
        close_job_run(client, ended)  # the tasks' lineage records get their terminal states
        raise_failures(client, ended)
    except DtflwError as e:
        _fail(e)
    except (DatabricksError, ValueError) as e:  # refused by the API, or no credentials found
        click.echo(f"✖ Databricks: {type(e).__name__}: {e}", err=True)
        sys.exit(1)


def _show(console, task) -> None:
    """One line per task state change: ▶ running, ✔ done, ✖ failed/timedout/canceled, ↷ skipped (why)."""
    from dtflw.deploy.jobs_runner import NOT_RUN, SUCCEEDED

    state = task.state
    life = state.life_cycle_state.value
    result = state.result_state.value if state.result_state else None
    note = ""
    if life == "SKIPPED" or result in NOT_RUN:
        mark, note = "↷ skipped", f" ({(result or life).lower()})"
    elif result in SUCCEEDED:
        mark = "✔ done"
    elif result:
        mark = f"✖ {result.lower()}"
    else:
        mark = "▶ running" if life == "RUNNING" else f"… {life.lower()}"
    console.print(f"{mark:<11}{task.task_key}{note}", highlight=False)


@deploy.command("close")
@click.argument("run_id", type=int)
@click.option("--profile", help="Databricks config profile (default: unified auth — env vars, ~/.databrickscfg).")
def close(run_id, profile):
    """Record the end of the ended job run RUN_ID in its lineage: each task's terminal state and the
    run's result (what `dtflw deploy run` does itself; for a job run nothing followed, e.g. a scheduled
    one). Closing again changes nothing."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import DatabricksError

    from dtflw.deploy.jobs_runner import TERMINAL, call_retrying
    from dtflw.deploy.run_lineage import close_job_run

    try:
        client = WorkspaceClient(profile=profile) if profile else WorkspaceClient()
        run = call_retrying(client.jobs.get_run, run_id)
        life = run.state.life_cycle_state.value if run.state and run.state.life_cycle_state else "UNKNOWN"
        if life not in TERMINAL:
            click.echo(f"✖ Run {run_id} has not ended ({life}); close it once it has.", err=True)
            sys.exit(1)
        written = close_job_run(client, run)
    except (DatabricksError, ValueError) as e:
        click.echo(f"✖ Databricks: {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    click.echo(f"Run {run_id}: {written} lineage record(s) written.", err=True)
