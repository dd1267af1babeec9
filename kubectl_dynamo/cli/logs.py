"""`kubectl dynamo logs`."""

from __future__ import annotations

from typing import Optional, Tuple

import click

from kubectl_dynamo.cli.options import cluster_options, common_options, pass_app
from kubectl_dynamo.logs.request import (
    DEFAULT_MAX_LOG_REQUESTS,
    FOLLOW_DEFAULT_TAIL,
    MAIN_CONTAINER,
    OUTPUT_FORMATS,
    SERVICE_TYPES,
    LogsRequest,
    check_since_time,
    parse_duration,
)
from kubectl_dynamo.output.color import use_color


@click.command(context_settings={"max_content_width": 100})
@click.argument("name")
@click.argument("services", nargs=-1, metavar="[SERVICE]...")
@click.option("--type", "types", multiple=True, type=click.Choice(SERVICE_TYPES),
              help="Only services of this component type; 'worker' includes prefill and decode workers. Repeatable.")
@click.option("-f", "--follow", is_flag=True,
              help="Keep streaming: attach to pods that appear or restart, detach from deleted ones, resume dropped streams.")
@click.option("--since", "since", metavar="DURATION", help="Only lines newer than a relative duration such as 30s, 5m or 1h.")
@click.option("--since-time", metavar="TIME", help="Only lines at or after an RFC 3339 time such as 2026-01-02T15:04:05Z.")
@click.option("--tail", type=int, default=None, metavar="N",
              help=f"Lines to show from the end of each container's log; -1 for all.  "
                   f"[default: all; {FOLLOW_DEFAULT_TAIL} with -f unless --since or --since-time is given]")
@click.option("-c", "--container", metavar="NAME",
              help=f"Read this container in every pod that has it.  [default: the pod's kubectl.kubernetes.io/"
                   f"default-container, else '{MAIN_CONTAINER}']")
@click.option("--all-containers", is_flag=True, help="Read every container of each pod, init and ephemeral ones included.")
@click.option("-p", "--previous", is_flag=True, help="Print the log of each container's previous instance (before its last restart).")
@click.option("--timestamps", is_flag=True, help="Show the server's timestamp of each line.")
@click.option("--include", multiple=True, metavar="REGEX", help="Only lines matching this regular expression. Repeatable: a line may match any of them.")
@click.option("--exclude", multiple=True, metavar="REGEX", help="Drop lines matching this regular expression. Repeatable.")
@click.option("--max-log-requests", type=int, default=DEFAULT_MAX_LOG_REQUESTS, show_default=True, metavar="N",
              help="Log streams open at the same time; with -f, streams above it are named and not followed.")
@click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True,
              help="text: lines prefixed with service/pod[/container]; json: one object per line "
                   "with service, pod, container, timestamp and message.")
@cluster_options
@common_options
@pass_app
def logs(
    app,
    name: str,
    services: Tuple[str, ...],
    types: Tuple[str, ...],
    follow: bool,
    since: Optional[str],
    since_time: Optional[str],
    tail: Optional[int],
    container: Optional[str],
    all_containers: bool,
    previous: bool,
    timestamps: bool,
    include: Tuple[str, ...],
    exclude: Tuple[str, ...],
    max_log_requests: int,
    output: str,
    namespace: Optional[str],
) -> int:
    """Print the logs of every pod of a graph as one stream.

    Reads the pods of the DynamoGraphDeployment NAME, or of its SERVICEs only,
    and prefixes each line with service/pod (and /container with
    --all-containers), coloured per service. With -f it follows the graph the
    way stern follows a selector: new pods and restarted containers are picked
    up, dropped streams resume without repeated lines, and pods that are still
    starting are waited for.

    \b
    Examples:
      kubectl dynamo logs llm-agg -n dynamo
      kubectl dynamo logs llm-disagg VllmPrefillWorker -f --since 10m
      kubectl dynamo logs llm-disagg --type worker -f --include 'error|warn'
      kubectl dynamo logs llm-agg -p --all-containers
      kubectl dynamo logs llm-agg -f -o json | jq 'select(.service == "Frontend")'
    """
    from kubectl_dynamo.logs.stream import follow_graph_logs

    request = LogsRequest(
        graph=name,
        services=services,
        types=types,
        follow=follow,
        since_seconds=parse_duration(since) if since is not None else None,
        since_time=check_since_time(since_time) if since_time is not None else None,
        tail=tail,
        container=container,
        all_containers=all_containers,
        previous=previous,
        timestamps=timestamps,
        include=include,
        exclude=exclude,
        max_log_requests=max_log_requests,
        output=output,
    )
    color = use_color(app.color, app.stdout)
    return follow_graph_logs(app.connect, request, app.stdout, app.reporter, color=color)
