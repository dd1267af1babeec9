"""`kubectl dynamo get`."""

from __future__ import annotations

from typing import Optional, Tuple

import click

from kubectl_dynamo.cli.options import cluster_options, common_options, output_option, pass_app
from kubectl_dynamo.api.missing import graph_not_found
from kubectl_dynamo.errors import ExitCode
from kubectl_dynamo.output.color import use_color


@click.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("-A", "--all-namespaces", is_flag=True, help="List the graphs in all namespaces.")
@click.option("-l", "--selector", metavar="SELECTOR", help="Only the graphs whose labels match this label selector, e.g. team=llm or 'tier in (a,b)'.")
@click.option("--no-headers", is_flag=True, help="Leave out the header line of the table.")
@click.option("-w", "--watch", is_flag=True, help="After the list, print a row again whenever a graph's state changes.")
@click.option("--sort-by", type=click.Choice(["name", "age"]), default="name", show_default=True,
              help="Row order: by namespace and name, or oldest first.")
@output_option("wide", "json", "yaml", "name")
@cluster_options
@common_options
@pass_app
def get(app, names: Tuple[str, ...], all_namespaces: bool, selector: Optional[str], no_headers: bool, watch: bool,
        sort_by: str, output: Optional[str], namespace: Optional[str]) -> int:
    """List graphs with their readiness, replicas and Flux sync state.

    STATE is computed from each graph's live children (Ready, Progressing,
    Degraded, Failed or Unknown), not only from the operator's status;
    SERVICES and REPLICAS count what is ready. FLUX is the sync state of the
    Kustomization that applies the graph, or - when Flux does not manage it.
    -o wide adds the operator's own state, its Ready reason and the
    orchestrator (Deployment, LeaderWorkerSet or Grove).

    \b
    Examples:
      kubectl dynamo get
      kubectl dynamo get -A
      kubectl dynamo get llm-agg llm-disagg -n dynamo -o wide
      kubectl dynamo get -l team=inference -o json
      kubectl dynamo get -w
    """
    from kubectl_dynamo.output import status_text as printer
    from kubectl_dynamo.status import service
    from kubectl_dynamo.status.model import current_time

    cluster = app.connect()
    color = use_color(app.color, app.stdout)
    result = service.get_graphs(cluster, names=names, all_namespaces=all_namespaces, selector=selector, sort_by=sort_by)

    not_found = [graph_not_found(missing, cluster.namespace) for missing in result.missing]
    # Like kubectl, one line per missing name; the last one ends the command with exit 4.
    for error in not_found[:-1]:
        app.reporter.error(str(error))
    graphs = result.graphs
    if not graphs and not result.missing:
        where = "any namespace" if all_namespaces else f"{cluster.namespace} namespace"
        app.reporter.note(f"No resources found in {where}.")

    single = len(names) == 1
    if graphs or not names or output not in ("json", "yaml"):
        app.stdout.write(printer.get_output(graphs, output=output, now=current_time(), single=single,
                                            all_namespaces=all_namespaces, no_headers=no_headers, color=color))
    app.stdout.flush()

    if watch:
        from kubectl_dynamo.status.get_watch import watch_rows

        for graph in watch_rows(cluster, graphs, names=names, all_namespaces=all_namespaces, selector=selector):
            app.stdout.write(printer.get_output([graph], output=output, now=current_time(), single=True,
                                                all_namespaces=all_namespaces, no_headers=True, color=color))
            app.stdout.flush()

    if not_found:
        raise not_found[-1]
    return ExitCode.OK
