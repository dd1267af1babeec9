"""`kubectl dynamo scale`."""

from __future__ import annotations

from typing import Optional, Tuple

import click

from kubectl_dynamo.cli.options import cluster_options, common_options, output_option, parse_timeout, pass_app
from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.scale.live import Events
from kubectl_dynamo.scale.request import ScaleRequest, parse_targets
from kubectl_dynamo.scale.run import scale as scale_graph
from kubectl_dynamo.output.printers import to_json, to_yaml
from kubectl_dynamo.scale.view import report_dict, report_lines, report_names


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name")
@click.argument("assignments", nargs=-1, metavar="[SERVICE=REPLICAS]...")
@click.option("--service", "service", default=None, metavar="SERVICE", help="The service to scale (with --replicas).")
@click.option("--replicas", default=None, metavar="N", help="The new replica count of --service, an integer from 0 to 2147483647.")
@click.option("--current-replicas", type=int, default=None, metavar="N",
              help="Precondition: write only if every named service has N replicas now, like kubectl scale.")
@click.option("--force", is_flag=True, help="Allow scaling a multinode service to 0.")
@click.option("--dry-run", type=click.Choice(["none", "client", "server"]), is_flag=False, flag_value="client", default="none",
              help="client: print the requests without sending them; server: send them with dryRun=All.  [default: none; bare --dry-run: client]")
@click.option("--wait", is_flag=True, help="Wait until the services report the new count of updated and ready replicas.")
@click.option("--timeout", default="5m", metavar="DURATION", help="How long --wait waits: seconds, or a duration such as 90s, 10m or 1h.  [default: 5m]")
@click.option("--git-file", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Change the replicas in this file of your Git checkout instead of the cluster (GitOps).")
@click.option("--commit", is_flag=True, help="With --git-file: commit the change with git, naming graph, services and counts.")
@click.option("--also-live", is_flag=True, help="With --git-file: write the cluster as well.")
@click.option("--ignore-overlays", is_flag=True,
              help="With --git-file: edit the file even when a kustomization that includes it sets another count.")
@output_option("json", "yaml", "name")
@cluster_options
@common_options
@pass_app
def scale(app, name: str, assignments: Tuple[str, ...], service: Optional[str], replicas: Optional[str],
          current_replicas: Optional[int], force: bool, dry_run: str, wait: bool, timeout: str,
          git_file: Optional[str], commit: bool, also_live: bool, ignore_overlays: bool, output: Optional[str], namespace: Optional[str]) -> None:
    """Change a service's replicas where the count is owned.

    Writes the scaling adapter's /scale subresource when the operator gave the
    service an adapter, else the graph's spec.services.<SERVICE>.replicas (one JSON
    patch for all services, guarded by the resourceVersion read). Warns when Flux
    will set the count back from Git, and offers the GitOps path (--git-file).
    Service names match case-insensitively.

    \b
    Examples:
      kubectl dynamo scale llm-agg VllmWorker=3
      kubectl dynamo scale llm-agg --service vllmworker --replicas 3 --wait
      kubectl dynamo scale disagg prefill=2 decode=4 --current-replicas 1
      kubectl dynamo scale llm-agg VllmWorker=3 --dry-run
      kubectl dynamo scale llm-agg VllmWorker=3 --git-file deploy/llm-agg.yaml --commit
    """
    if current_replicas is not None and current_replicas < 0:
        raise UsageError(f"invalid --current-replicas {current_replicas}: expected an integer >= 0")
    request = ScaleRequest(
        name=name,
        namespace=namespace,
        targets=parse_targets(assignments, service, replicas),
        current_replicas=current_replicas,
        force=force,
        dry_run=None if dry_run == "none" else dry_run,
        wait=wait,
        timeout=parse_timeout(timeout),
        git_file=git_file,
        commit=commit,
        also_live=also_live,
        ignore_overlays=ignore_overlays,
    )
    reporter = app.reporter
    events = Events(warn=reporter.warn, note=reporter.note, debug=reporter.debug, progress=reporter.note)
    report = scale_graph(request, connect=app.connect, events=events)
    if output == "json":
        app.stdout.write(to_json(report_dict(report)))
    elif output == "yaml":
        app.stdout.write(to_yaml(report_dict(report)))
    elif output == "name":
        app.stdout.writelines(name + "\n" for name in report_names(report))
    else:
        app.stdout.writelines(line + "\n" for line in report_lines(report))
    app.stdout.flush()
    if report.wait_error is not None:
        raise report.wait_error
