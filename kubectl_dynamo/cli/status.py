"""`kubectl dynamo status`."""

from __future__ import annotations

from typing import Optional

import click

from kubectl_dynamo.cli.options import cluster_options, common_options, output_option, parse_timeout, pass_app
from kubectl_dynamo.errors import ExitCode, UsageError
from kubectl_dynamo.output.color import use_color


@click.command()
@click.argument("name")
@click.option("--tree", is_flag=True, help="Show graph -> component deployments -> workloads -> pods instead of the service table.")
@click.option("--events", "show_events", is_flag=True, help="Also list the Warning events of the graph and its children, newest last.")
@click.option("-w", "--watch", is_flag=True, help="Redraw whenever the graph or one of its children changes (Ctrl-C to stop).")
@click.option("--wait", is_flag=True, help="Wait until every service is ready, then exit 0. Exit 1 on timeout or when a service fails for good.")
@click.option("--timeout", default="10m", show_default=True, metavar="DURATION",
              help="How long --wait waits: seconds, or a duration such as 90s, 10m or 1h.")
@output_option("json", "yaml")
@cluster_options
@common_options
@pass_app
def status(app, name: str, tree: bool, show_events: bool, watch: bool, wait: bool, timeout: str,
           output: Optional[str], namespace: Optional[str]) -> int:
    """Show every service of one graph, and why it is not ready.

    Reads the DynamoGraphDeployment NAME and its live children (component
    deployments, Deployments or LeaderWorkerSets, Grove PodCliques and
    PodCliqueScalingGroups, pods) through the operator's labels. A service is
    ready only when its workload's status describes the current spec and its
    updated, ready and desired replicas agree. The operator's own state is
    shown beside that verdict.

    Exit status: 0 when the graph is Ready, 1 when it is not (or --wait timed
    out or a service failed for good), 4 when the graph does not exist.

    \b
    Examples:
      kubectl dynamo status llm-agg -n dynamo
      kubectl dynamo status llm-agg --tree
      kubectl dynamo status llm-agg --events
      kubectl dynamo status llm-agg --wait --timeout 15m
      kubectl dynamo status llm-agg -o yaml
    """
    from kubectl_dynamo.output import status_text as printer
    from kubectl_dynamo.status import service
    from kubectl_dynamo.status.model import current_time

    if watch and wait:
        raise UsageError("--watch and --wait cannot be used together", hint="Use --wait to block until ready, or -w to follow changes.")
    seconds = parse_timeout(timeout)
    color = use_color(app.color, app.stdout)
    cluster = app.connect()

    def render(graph) -> str:
        return printer.status_output(graph, output=output, now=current_time(), tree=tree, events=show_events, color=color)

    if wait:
        from kubectl_dynamo.status.wait import wait_for_graph

        graph = wait_for_graph(cluster, cluster.namespace, name, timeout=seconds, on_progress=app.reporter.note)
        if output or tree or show_events:  # the wait's own snapshot has no events or tree
            graph = service.graph_status(cluster, name, events=show_events, tree=tree)
        app.stdout.write(render(graph))
        return ExitCode.OK

    if watch:
        graph = None
        redraw = not output and getattr(app.stdout, "isatty", lambda: False)()
        for index, graph in enumerate(service.watch_graph(cluster, name)):
            app.stdout.write(printer.watch_frame(render(graph), first=index == 0, redraw=redraw, separate=not output))
            app.stdout.flush()
        return ExitCode.OK if graph is not None and graph.is_ready else ExitCode.DIFFERS

    graph = service.graph_status(cluster, name, events=show_events, tree=tree)
    app.stdout.write(render(graph))
    return ExitCode.OK if graph.is_ready else ExitCode.DIFFERS
