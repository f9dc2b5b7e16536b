"""`dtflw deploy`: export an orchestration notebook or a pipeline file as a Databricks Job or an Asset
Bundle, or run it on Databricks as one multi-task run (and repair that run)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict, Unpack

import click

from dtflw.cli.options import CommandFunction, pairs
from dtflw.errors import DtflwError

if TYPE_CHECKING:
    from databricks.sdk.service.jobs import Run, RunTask

    from dtflw.deploy.export import Compute, JsonObject
    from dtflw.deploy.operations import Operations
    from dtflw.deploy.planned import PlannedExport

FORMATS = ("job", "bundle")


@click.group()
def deploy() -> None:
    """Deploy a flow to Databricks: export it as a multi-task Job or an Asset Bundle, or run it there."""
    from dtflw.extras import require

    try:
        require("deploy", "dtflw deploy", "databricks.sdk", "yaml")
    except DtflwError as e:
        _fail(e)


class FlowOptions(TypedDict):
    """The options `_flow_options` adds, as click passes them to the command."""

    notebook: str
    name: str | None
    existing_cluster_id: str | None
    new_cluster: str | None  # the file of the JSON spec
    tags: tuple[str, ...]
    storage: str | None
    workspace_root: str | None
    user: str | None
    args: tuple[str, ...]
    allow_local_storage: bool


def _flow_options(command: CommandFunction) -> CommandFunction:
    """What `export` and `run` share: the source, how to plan it, and the job's compute and tags (`FlowOptions`)."""
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
            "--storage",
            help="Storage URL of init_flow() in the job: abfss://…, dbfs:/…, /Volumes/… (default $DTFLW_STORAGE, "
            "else dbfs:/FileStore/<user> as on a cluster); becomes the job parameter `storage`.",
        ),
        click.option(
            "--workspace-root",
            type=click.Path(file_okay=False),
            help="Folder mapped to /Users/<user> (default: the parent of the notebook's folder).",
        ),
        click.option("--user", help="Workspace user name (default $DTFLW_USER, else the OS user)."),
        click.option(
            "--arg",
            "args",
            multiple=True,
            metavar="NAME=VALUE",
            help="Argument (widget) of the notebook: the default of its job parameter.",
        ),
        click.option("--allow-local-storage", is_flag=True, hidden=True),  # tests: a local Jobs API stand-in
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _planned(options: FlowOptions) -> tuple[PlannedExport, str, Compute, dict[str, str]]:
    """Plan the notebook for export (running no step, no Spark, no storage I/O): the planned export, the
    job's compute and tags."""
    from dtflw.deploy.export import Compute
    from dtflw.deploy.planned import plan_export
    from dtflw.storage import STORAGE_ENV

    cluster = None
    if options["new_cluster"]:
        with open(options["new_cluster"], encoding="utf-8") as f:
            cluster = json.load(f)
    compute = Compute(options["existing_cluster_id"], cluster)
    with contextlib.redirect_stdout(sys.stderr):  # the notebook's own prints are not the export
        planned = plan_export(
            options["notebook"],
            storage_url=options["storage"] or os.environ.get(STORAGE_ENV),
            arguments=pairs(options["args"], "--arg"),
            user=options["user"],
            workspace_root=options["workspace_root"],
            allow_local_storage=options["allow_local_storage"],
        )
    for line in planned.skipped:
        click.echo(f"  not performed while planning: {line}", err=True)
    name = options["name"] or _source_name(options["notebook"])
    return planned, name, compute, pairs(options["tags"], "--tag")


def _deploy_section(path: str) -> dict[str, Any] | None:
    """The `deploy:` section of a pipeline file (None for a notebook)."""
    from dtflw.pipeline_files import is_pipeline_file
    from dtflw.pipeline_files.loading import load_pipeline

    return load_pipeline(path).data.get("deploy") if is_pipeline_file(path) else None


def _source_name(path: str) -> str:
    from dtflw.pipeline_files import is_pipeline_file
    from dtflw.pipeline_files.loading import load_pipeline

    return load_pipeline(path).name if is_pipeline_file(path) else os.path.splitext(os.path.basename(path))[0]


def _fail(e: DtflwError) -> NoReturn:
    click.echo(f"✖ {type(e).__name__}: {e}", err=True)
    sys.exit(1)


class OperationOptions(TypedDict):
    """The options `_operation_options` adds, as click passes them to the command."""

    cron: str | None
    timezone: str | None
    email_on_failure: tuple[str, ...]
    email_on_success: tuple[str, ...]
    webhook_on_failure: tuple[str, ...]
    max_concurrent_runs: int | None
    run_as: str | None
    max_duration_seconds: int | None
    queue: bool | None
    permission_pairs: tuple[str, ...]
    package: str | None


class ExportOptions(FlowOptions, OperationOptions):
    """The options of `export` and `diff`: the flow's and how its job is operated."""


def _operation_options(command: CommandFunction) -> CommandFunction:
    """How the job is operated (`dtflw.deploy.operations`, `OperationOptions`): options win over a pipeline
    file's `deploy:`."""
    options = [
        click.option("--schedule", "cron", metavar="CRON", help="Quartz cron schedule, e.g. '0 0 6 * * ?'."),
        click.option("--timezone", help="Time zone of the schedule (default UTC)."),
        click.option("--email-on-failure", multiple=True, metavar="ADDRESS", help="Email when a run fails."),
        click.option("--email-on-success", multiple=True, metavar="ADDRESS", help="Email when a run succeeds."),
        click.option("--webhook-on-failure", multiple=True, metavar="ID", help="Notification destination on failure."),
        click.option("--max-concurrent-runs", type=int, help="Runs of the job at a time (default 1)."),
        click.option("--run-as", metavar="PRINCIPAL", help="User name (with @) or service principal application id."),
        click.option("--max-duration", "max_duration_seconds", type=int, metavar="SECONDS", help="Health rule."),
        click.option("--queue/--no-queue", default=None, help="Queue runs when concurrency limits are reached."),
        click.option(
            "--permission",
            "permission_pairs",
            multiple=True,
            metavar="LEVEL=KIND:NAME",
            help="Job permission, e.g. CAN_MANAGE_RUN=group:analysts (KIND: user, group, sp).",
        ),
        click.option(
            "--package",
            default=None,
            help="pip requirement of dtflw that tasks on a cluster install (default: dtflw==<this version>; '' for none).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _planned_settings(
    options: ExportOptions,
) -> tuple[JsonObject, PlannedExport, str, Compute, dict[str, str], Operations, str]:
    """Plan the source for export and build its job settings: (settings, planned export, name, compute, tags,
    operations, package)."""
    from dtflw.deploy.export import job_settings
    from dtflw.deploy.operations import Operations
    from dtflw.version import __version__

    permissions: dict[str, list[str]] = {}
    for pair in options["permission_pairs"]:
        level, _, principal = pair.partition("=")
        permissions.setdefault(level, []).append(principal)
    operations = Operations.of(
        _deploy_section(options["notebook"]),
        permissions=permissions,
        cron=options["cron"],
        timezone=options["timezone"],
        email_on_failure=options["email_on_failure"],
        email_on_success=options["email_on_success"],
        webhook_on_failure=options["webhook_on_failure"],
        max_concurrent_runs=options["max_concurrent_runs"],
        run_as=options["run_as"],
        max_duration_seconds=options["max_duration_seconds"],
        queue=options["queue"],
    )
    planned, name, compute, tags = _planned(options)
    package = f"dtflw=={__version__}" if options["package"] is None else options["package"]
    settings = job_settings(
        planned.tasks, name, compute, tags, parameters=planned.parameters, operations=operations, package=package
    )
    return settings, planned, name, compute, tags, operations, package


@deploy.command("export")
@_flow_options
@_operation_options
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS), help="Job settings JSON or a bundle.")
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write to (job: stdout without --out).")
@click.option("--host", help="Workspace URL of the bundle's targets.")
@click.option("--target", help="Bundle target the --var values are for (default: the variables' defaults).")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Bundle variable (a job parameter).")
def export(
    fmt: str,
    out: str | None,
    host: str | None,
    target: str | None,
    variables: tuple[str, ...],
    **options: Unpack[ExportOptions],
) -> None:
    """Export the steps of an orchestration notebook or a pipeline file, SOURCE, as Jobs API 2.2 job settings
    (`--format job`) or an Asset Bundle (`--format bundle --out DIR`). Planning runs no step, starts no
    Spark and reads or writes no storage."""
    from dtflw.deploy.bundle import bundle_files, write_bundle
    from dtflw.deploy.export import to_json

    if fmt == "bundle" and not out:
        raise click.UsageError("--format bundle needs --out DIR.")
    if fmt == "job" and (target or variables):
        raise click.UsageError("--target and --var are for --format bundle.")
    try:
        settings, planned, name, compute, tags, operations, package = _planned_settings(options)
        if fmt == "job":
            text = to_json(settings)
            if not out:
                click.echo(text, nl=False)
                return
            os.makedirs(out, exist_ok=True)
            path = os.path.join(out, f"{name}.job.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            written = [path]
        else:
            assert out  # --format bundle needs --out: checked above
            files = bundle_files(
                planned.tasks,
                name,
                out,
                planned.notebooks_root,
                compute,
                tags,
                host,
                planned.parameters,
                operations,
                package=package,
                target=target,
                variables=pairs(variables, "--var"),
            )
            written = write_bundle(files, out)
    except DtflwError as e:
        _fail(e)
    click.echo(f"{len(planned.tasks)} task(s) exported: " + ", ".join(written), err=True)


@deploy.command("diff")
@_flow_options
@_operation_options
@click.option("--profile", help="Databricks config profile (default: unified auth — env vars, ~/.databrickscfg).")
@click.option("--job-id", type=int, help="The job to compare with (default: the one job of the same name).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when deploying would change the job (as `git diff`).")
def diff(profile: str | None, job_id: int | None, exit_code: bool, **options: Unpack[ExportOptions]) -> None:
    """Show what deploying SOURCE would change in the workspace's existing job: a unified diff of its settings
    now and the planned ones (nothing is changed)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors.base import DatabricksError

    from dtflw.deploy.diff import find_job, settings_diff

    try:
        settings, planned, name, *_ = _planned_settings(options)
        client = WorkspaceClient(profile=profile) if profile else WorkspaceClient()
        job = find_job(client, name, job_id)
    except DtflwError as e:
        _fail(e)
    except (DatabricksError, ValueError) as e:
        click.echo(f"✖ Databricks: {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    if job is None:
        click.echo(f"No job named {name!r} in {client.config.host}: deploying creates it ({len(planned.tasks)} tasks).")
        sys.exit(1 if exit_code else 0)
    assert job.settings is not None  # jobs/get sends the job's settings
    lines = settings_diff(job.settings.as_dict(), settings, f"job {job.job_id}")
    click.echo("\n".join(lines) if lines else f"Job {job.job_id} ({name!r}) is up to date: deploying changes nothing.")
    sys.exit(1 if exit_code and lines else 0)


@deploy.command("run")
@_flow_options
@click.option("--profile", help="Databricks config profile (default: unified auth — env vars, ~/.databrickscfg).")
@click.option("--repair", is_flag=True, help="Re-run only the failed tasks (and those after them) of the last run.")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between first looks at the run.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Job parameter for this run.")
def run(
    profile: str | None, repair: bool, poll: float, params: tuple[str, ...], **options: Unpack[FlowOptions]
) -> None:
    """Run the steps of an orchestration notebook or a pipeline file, SOURCE, on Databricks as one
    multi-task one-time run, showing each task's progress; with --repair, re-run what failed in the last
    run of this job."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors.base import DatabricksError

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
    from dtflw.deploy.parameters import resolve
    from dtflw.deploy.run_lineage import close_job_run
    from dtflw.version import __version__

    known_runs = os.path.abspath(LAST_RUNS)  # here, whatever folder a notebook later runs in
    try:
        planned, name, compute, tags = _planned(options)
        tasks = resolve(planned.tasks, planned.parameters, pairs(params, "--param"))
        client = WorkspaceClient(profile=profile) if profile else WorkspaceClient()
        host = client.config.host
        if repair:
            previous, settings = last_run(name, host, known_runs)
            run_id = repair_failed(client, previous, settings)
            verb = "Repairing" if run_id == previous else "Re-submitted the failed tasks of"
            click.echo(f"{verb} run {previous}" + ("" if run_id == previous else f" as run {run_id}"), err=True)
        else:
            settings = job_settings(tasks, name, compute, tags, package=f"dtflw=={__version__}")
            run_id = submit_flow(client, settings)
            click.echo(f"Submitted {len(tasks)} task(s) of '{name}' as run {run_id}", err=True)
        remember_run(name, host, run_id, settings, known_runs)
        ended = follow(client, run_id, on_change=_show, poll=(poll, max(poll, 10.0)))
        click.echo(f"Run {run_id} ended: {_ended_as(ended)} — {ended.run_page_url}", err=True)
        close_job_run(client, ended)  # the tasks' lineage records get their terminal states
        raise_failures(client, ended)
    except DtflwError as e:
        _fail(e)
    except (DatabricksError, ValueError) as e:  # refused by the API, or no credentials found
        click.echo(f"✖ Databricks: {type(e).__name__}: {e}", err=True)
        sys.exit(1)


def _show(task: RunTask) -> None:
    """One line per task state change: ▶ running, ✔ done, ✖ failed/timedout/canceled, ↷ skipped (why)."""
    from dtflw.deploy.jobs_runner import NOT_RUN, SUCCEEDED

    state = task.state
    if state is None or state.life_cycle_state is None:  # not told yet (a pending task): nothing to show
        return
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
    click.echo(f"{mark:<11}{task.task_key}{note}", err=True)


def _ended_as(run: Run) -> str:
    """How an ended run ended: its result state, else (the API leaves out what it does not know) its life cycle
    state."""
    state = run.state
    known = state.result_state or state.life_cycle_state if state else None
    return known.value if known else "UNKNOWN"


@deploy.command("close")
@click.argument("run_id", type=int)
@click.option("--profile", help="Databricks config profile (default: unified auth — env vars, ~/.databrickscfg).")
def close(run_id: int, profile: str | None) -> None:
    """Record the end of the ended job run RUN_ID in its lineage: each task's terminal state and the
    run's result (what `dtflw deploy run` does itself; for a job run nothing followed, e.g. a scheduled
    one). Closing again changes nothing."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors.base import DatabricksError

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
