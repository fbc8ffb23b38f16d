"""The ``kg`` command: the edge where errors become one line and an exit code."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kg import settings
from kg.cli_options import console, err_console, open_from_options, store_options
from kg.errors import KgError


class KgGroup(click.Group):
    """Turns kg's errors into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KgError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        except Exception as exc:  # an unexpected failure still gets one line, not a traceback
            if ctx.obj and ctx.obj.get("debug"):
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}"
                " (run with --debug for the traceback)",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)


@click.group(cls=KgGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Show progress logs.")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """kg: a knowledge graph of public detection rules over MITRE ATT&CK."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@store_options
@click.option(
    "--source-dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    envvar="KG_SOURCE_DIR",
    help="A folder laid out like the pinned corpora (attack/, sigma/, elastic/, splunk/, events/). "
    "Without it kg downloads each pinned source into its cache.",
)
@click.option(
    "--attack",
    "attack_path",
    type=click.Path(path_type=Path),
    help="ATT&CK STIX bundle (.json or .json.gz).",
)
@click.option("--sigma", "sigma_path", type=click.Path(path_type=Path), help="SigmaHQ checkout.")
@click.option(
    "--elastic",
    "elastic_path",
    type=click.Path(path_type=Path),
    help="elastic/detection-rules checkout.",
)
@click.option(
    "--splunk",
    "splunk_path",
    type=click.Path(path_type=Path),
    help="splunk/security_content checkout.",
)
@click.option("--events", "events_path", type=click.Path(path_type=Path), help="OSSEM-DD checkout.")
@click.option(
    "--only",
    multiple=True,
    help="Load only these sources (attack, sigma, elastic, splunk, ossem-dd).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    help="Where to write the JSON load report.",
)
@click.option("--force", is_flag=True, help="Rebuild even when no source changed.")
@click.option("--no-cache", is_flag=True, help="Parse every file again.")
@click.option("--workers", type=int, default=0, help="Parser processes (default: one per core).")
def build(
    neo4j_uri: str | None,
    user: str,
    password: str | None,
    db_path: Path | None,
    source_dir: Path | None,
    attack_path: Path | None,
    sigma_path: Path | None,
    elastic_path: Path | None,
    splunk_path: Path | None,
    events_path: Path | None,
    only: tuple[str, ...],
    report_path: Path | None,
    force: bool,
    no_cache: bool,
    workers: int,
) -> None:
    """Load ATT&CK and every rule source into the graph, and print the load report."""
    from kg.build import BuildOptions, report_json
    from kg.build import build as run_build

    paths = {
        name: path
        for name, path in (
            ("attack", attack_path),
            ("sigma", sigma_path),
            ("elastic", elastic_path),
            ("splunk", splunk_path),
            ("ossem-dd", events_path),
        )
        if path is not None
    }
    store = open_from_options(neo4j_uri, user, password, db_path, read_only=False)
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"parsing {stage}", total=total)
            progress.update(tasks[stage], completed=done)

        options = BuildOptions(
            source_dir=source_dir,
            paths=paths,
            only=only,
            workers=workers,
            use_cache=not no_cache,
            force=force,
            progress=on_progress,
        )
        try:
            result = run_build(store, options)
        finally:
            store.close()
    if result.up_to_date:
        console.print(
            "graph is up to date: no source changed since the last build (--force rebuilds)"
        )
        return
    data = report_json(result)
    target = report_path or _default_report_path(neo4j_uri, db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    _print_report(data)
    console.print(f"load report: {target}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _default_report_path(neo4j_uri: str | None, db_path: Path | None) -> Path:
    if neo4j_uri:
        return settings.data_dir() / "load-report-neo4j.json"
    return (db_path or settings.embedded_path()).parent / "load-report.json"


def _print_report(data: dict[str, Any]) -> None:
    table = Table(title="load report", title_justify="left")
    for col in ("source", "files seen", "loaded", "skipped", "failed", "rules", "with tree"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for src in data["sources"]:
        table.add_row(
            src["source"],
            str(src["files_seen"]),
            str(src["files_loaded"]),
            str(len(src["skipped"])),
            str(len(src["failed"])),
            str(src["rules_loaded"]),
            str(src["rules_with_condition_tree"]),
        )
    console.print(table)
    for src in data["sources"]:
        for item in src["failed"][:5]:
            # some loaders start the reason with the path already
            reason = item["reason"].removeprefix(f"{item['path']}: ")
            where = f"{item['path']}:{item['line']}" if item["line"] else item["path"]
            console.print(f"  [red]failed[/] {src['source']}/{where}: {reason}", highlight=False)
        if len(src["failed"]) > 5:
            console.print(
                f"  ... {len(src['failed']) - 5} more failed in {src['source']}"
                " (see the JSON report)"
            )
    unknown = data["unknown_techniques"]
    if unknown:
        console.print(
            f"{len(unknown)} technique ids are unknown to ATT&CK {data['attack_version']}: "
            + ", ".join(list(unknown)[:12])
            + (" ..." if len(unknown) > 12 else ""),
            highlight=False,
        )
    if data["attack_errors"]:
        console.print(f"{len(data['attack_errors'])} ATT&CK objects could not be read:")
        for line in data["attack_errors"][:5]:
            console.print(f"  {line}", highlight=False)
    console.print(
        "took " + ", ".join(f"{k} {v:.2f}s" for k, v in data["timings_s"].items()), highlight=False
    )


@main.command()
@store_options
@click.argument("name_or_file")
@click.option(
    "--param", "-p", "params", multiple=True, help="key=value; repeat. JSON values are parsed."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def query(
    neo4j_uri: str | None,
    user: str,
    password: str | None,
    db_path: Path | None,
    name_or_file: str,
    params: tuple[str, ...],
    fmt: str,
) -> None:
    """Run a canned query by NAME (see `kg queries`) or a .cypher FILE, with --param key=value."""
    from kg import cypher

    text = cypher.resolve(name_or_file)
    values = dict(_parse_param(p) for p in params)
    store = open_from_options(neo4j_uri, user, password, db_path, read_only=True)
    try:
        rows = store.run(text, values)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    _print_rows(rows)


def _parse_param(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise click.BadParameter(f"{item!r} is not key=value", param_hint="--param")
    key, raw = item.split("=", 1)
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _print_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("(no rows)")
        return
    table = Table()
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    console.print(table)
    console.print(f"{len(rows)} rows")


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@main.command()
def queries() -> None:
    """List the canned queries with their parameters."""
    from kg import cypher

    table = Table()
    table.add_column("name")
    table.add_column("params")
    table.add_column("a row is")
    for name in cypher.names():
        q = cypher.load(name)
        table.add_row(name, q.params_text, q.row_text)
    console.print(table)


@main.command()
@store_options
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def info(
    neo4j_uri: str | None, user: str, password: str | None, db_path: Path | None, fmt: str
) -> None:
    """What is in the graph: counts by label, sources and versions, event coverage."""
    from kg import cypher

    store = open_from_options(neo4j_uri, user, password, db_path, read_only=True)
    try:
        sections = {
            name: store.run(cypher.load(name).text)
            for name in ("info_counts", "info_sources", "info_rules", "info_fields", "info_events")
        }
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(sections, indent=2, ensure_ascii=False))
        return
    for name, rows in sections.items():
        console.rule(name.replace("info_", ""))
        _print_rows(rows)


def _register_commands() -> None:
    """Commands that live in their own modules: the card, gaps and export; viz."""
    from kg import cli_card, cli_viz

    for command in (*cli_card.COMMANDS, *cli_viz.COMMANDS):
        main.add_command(command)


_register_commands()
