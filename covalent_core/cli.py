"""The ``covalent-core`` command: run, inspect, cancel and resume dispatches; config; plugins."""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from covalent_core.errors import CovalentError

console = Console()


def _parse_value(text: str) -> Any:
    """CLI values are JSON when they parse as JSON (numbers, lists, true), else strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _load_lattice(target: str) -> Any:
    from covalent_core.workflow.lattice import Lattice

    path, _, name = target.partition(":")
    if not Path(path).is_file():
        raise CovalentError(f"no such file {path!r}; pass FILE.py or FILE.py:LATTICE_NAME")
    sys.path.insert(0, str(Path(path).resolve().parent))
    # A run name other than __main__ keeps the file's own `if __name__ == "__main__"` block
    # from running, and makes its functions travel by value to worker processes.
    namespace = runpy.run_path(path, run_name="__covalent_cli__")
    lattices = {k: v for k, v in namespace.items() if isinstance(v, Lattice)}
    if name:
        if name not in lattices:
            raise CovalentError(f"{path} has no lattice {name!r}; it has {sorted(lattices)}")
        return lattices[name]
    if len(lattices) != 1:
        raise CovalentError(
            f"{path} defines {len(lattices)} lattices {sorted(lattices)}; name one as FILE:NAME"
        )
    return next(iter(lattices.values()))


def _progress(dispatch_id: str) -> Any:
    from covalent_core.store import get_store
    from covalent_core.store.status import Status

    store = get_store()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[state]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(dispatch_id[:8], total=None, state="")
        while True:
            record = store.get_dispatch(dispatch_id)
            nodes = store.get_nodes(dispatch_id)
            done = sum(1 for n in nodes if Status(n["status"]).is_terminal)
            running = sum(1 for n in nodes if n["status"] == Status.RUNNING.value)
            progress.update(task, total=len(nodes), completed=done,
                            state=f"{record['status']} ({running} running)")
            if Status(record["status"]).is_terminal:
                return record
            time.sleep(0.2)


def _print_result(dispatch_id: str) -> int:
    import covalent_core as ct

    result = ct.get_result(dispatch_id)
    console.print(f"[bold]{result.status}[/bold] {dispatch_id}")
    if result.status == "COMPLETED":
        console.print(repr(result.result))
        return 0
    console.print(f"[red]{result.error}[/red]")
    return 1


def cmd_run(args: argparse.Namespace) -> int:
    import covalent_core as ct

    lattice = _load_lattice(args.target)
    kwargs = dict(kv.split("=", 1) for kv in args.kw)
    dispatch_id = ct.dispatch(lattice)(
        *[_parse_value(a) for a in args.args], **{k: _parse_value(v) for k, v in kwargs.items()}
    )
    console.print(f"dispatch id: {dispatch_id}")
    if args.no_wait:
        return 0
    _progress(dispatch_id)
    return _print_result(dispatch_id)


def _fmt(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def cmd_list(args: argparse.Namespace) -> int:
    from covalent_core.store import get_store

    table = Table("dispatch id", "lattice", "status", "nodes", "started (UTC)", "ended (UTC)")
    for rec in get_store().list_dispatches(limit=args.limit):
        table.add_row(rec["dispatch_id"], rec["name"], rec["status"], str(rec["num_nodes"]),
                      _fmt(rec["started_at"]), _fmt(rec["ended_at"]))
    console.print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import covalent_core as ct

    result = ct.get_result(args.dispatch_id)
    console.print(f"[bold]{result.lattice_name}[/bold] {result.dispatch_id}: {result.status}")
    if result.error:
        console.print(f"[red]error:[/red] {result.error}")
    if result.status == "COMPLETED":
        console.print(f"result: {result.result!r}")
    table = Table("node", "name", "status", "executor", "attempts", "output / error")
    for node in result.get_all_node_results():
        detail = node["error"] or repr(node["output"])
        table.add_row(str(node["node_id"]), node["node_name"], str(node["status"]),
                      node["executor"] or "", str(node["attempts"]), detail[:80])
    console.print(table)
    if args.graph:
        console.print(_graph_tree(result))
    for nid in args.node or []:
        node = result.get_node_result(nid)
        console.rule(f"node {nid} {node['node_name']}")
        console.print(f"stdout:\n{node['stdout']}\nstderr:\n{node['stderr']}")
        if node["traceback"]:
            console.print(node["traceback"])
    return 0


def _graph_tree(result: Any) -> Tree:
    from covalent_core.store import artifacts

    graph = artifacts.read(Path(result.results_dir) / artifacts.GRAPH).to_dict()
    parents: dict[int, list[dict[str, Any]]] = {}
    for edge in graph["edges"]:
        parents.setdefault(edge["target"], []).append(edge)
    statuses = result.node_statuses()
    tree = Tree(f"[bold]{graph['name']}[/bold] (arrows point from inputs to their consumer)")
    for node in graph["nodes"]:
        if node["kind"] == "parameter":
            continue
        branch = tree.add(f"{node['name']}({node['id']}) [{statuses[node['id']]}]")
        for edge in parents.get(node["id"], []):
            src = graph["nodes"][edge["source"]]
            how = edge["type"] if edge["type"] == "wait" else (edge["key"] or edge["position"])
            branch.add(f"<- {src['name']}({src['id']}) as {how}")
    return tree


def cmd_cancel(args: argparse.Namespace) -> int:
    import covalent_core as ct

    console.print(ct.cancel(args.dispatch_id, args.node or None))
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    import covalent_core as ct

    dispatch_id = ct.resume(args.dispatch_id)
    if args.no_wait:
        return 0
    _progress(dispatch_id)
    return _print_result(dispatch_id)


def cmd_config(args: argparse.Namespace) -> int:
    from covalent_core import config

    if args.action == "set":
        value = _parse_value(args.value)
        config.set_config(args.key, value)
        console.print(f"{args.key} = {config.masked(args.key, value)!r} written to "
                      f"{config.config_path()}")
        env = config.ENV_PREFIX + args.key.replace(".", "__").upper()
        if env in os.environ:
            console.print(f"[yellow]note: {env} overrides this value in this environment[/yellow]")
        return 0
    value = config.get_config(args.key) if args.key else config.get_config()
    console.print_json(json.dumps(config.masked(args.key or "", value), default=str))
    return 0


def cmd_executors(args: argparse.Namespace) -> int:
    from covalent_core.executor import registry

    table = Table("name", "class", "importable")
    for name, target in sorted(registry.available().items()):
        try:
            cls = registry.load_class(name)
            table.add_row(name, f"{cls.__module__}.{cls.__qualname__}", "yes")
        except Exception as exc:
            table.add_row(name, target, f"no: {exc}")
    console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="covalent-core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="dispatch a lattice from a Python file and wait for it")
    run.add_argument("target", help="FILE.py or FILE.py:LATTICE_NAME")
    run.add_argument("args", nargs="*", help="positional arguments (JSON where it parses)")
    run.add_argument("--kw", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--no-wait", action="store_true")
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="list recent dispatches")
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="show one dispatch: nodes, outputs, errors, graph")
    show.add_argument("dispatch_id")
    show.add_argument("--graph", action="store_true", help="draw the transport graph")
    show.add_argument("--node", type=int, action="append", help="print a node's streams")
    show.set_defaults(func=cmd_show)

    cancel = sub.add_parser("cancel", help="cancel a dispatch or some of its nodes")
    cancel.add_argument("dispatch_id")
    cancel.add_argument("--node", type=int, action="append")
    cancel.set_defaults(func=cmd_cancel)

    resume = sub.add_parser("resume", help="resume an interrupted or failed dispatch in place")
    resume.add_argument("dispatch_id")
    resume.add_argument("--no-wait", action="store_true")
    resume.set_defaults(func=cmd_resume)

    conf = sub.add_parser("config", help="show or set configuration")
    conf.add_argument("action", choices=["show", "set"])
    conf.add_argument("key", nargs="?")
    conf.add_argument("value", nargs="?")
    conf.set_defaults(func=cmd_config)

    ex = sub.add_parser("executors", help="list installed executor plugins")
    ex.set_defaults(func=cmd_executors)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setting = args.command == "config" and args.action == "set"
    if setting and (args.key is None or args.value is None):
        console.print("[red]usage: covalent-core config set KEY VALUE[/red]")
        return 2
    try:
        return args.func(args)
    except (CovalentError, KeyError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
