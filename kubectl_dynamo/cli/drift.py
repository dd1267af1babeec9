"""`kubectl dynamo drift`."""

from __future__ import annotations

from typing import Optional, Tuple

import click

from kubectl_dynamo.cli.options import cluster_options, common_options, output_option, pass_app


@click.command(context_settings={"max_content_width": 100})
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("-A", "--all-namespaces", is_flag=True, help="Check the graphs in all namespaces.")
@click.option("-l", "--selector", metavar="SELECTOR",
              help="Only the graphs whose labels match this label selector, e.g. team=llm or 'tier in (a,b)'.")
@click.option("--source", "source_dir", metavar="DIR", type=click.Path(),
              help="A local clone of the GitRepository: the applied commit is read with git, and the branch "
                   "head shows the pending changes.")
@click.option("--from-cluster", is_flag=True,
              help="Read the source-controller artifact through the API server's service proxy instead of a clone "
                   "(needs get on services/proxy; the artifact is the source's newest revision).")
@click.option("--ignore", "ignores", multiple=True, metavar="PATH",
              help="Leave out a field and its sub-fields, as a JSON pointer (/spec/services/Worker/replicas) or a "
                   "dotted path (spec.services.*.replicas). Repeatable.")
@click.option("--server-dry-run", is_flag=True,
              help="Compare with a server-side apply dry run of the Git graph as kustomize-controller, as flux diff "
                   "does: API defaults and webhooks count too (needs patch on dynamographdeployments).")
@output_option("json", "yaml")
@cluster_options
@common_options
@pass_app
def drift(app, names: Tuple[str, ...], all_namespaces: bool, selector: Optional[str], source_dir: Optional[str], from_cluster: bool,
          ignores: Tuple[str, ...], server_dry_run: bool, output: Optional[str], namespace: Optional[str]) -> int:
    """Compare a Flux-managed graph with its Git source.

    Shows per graph whether Flux applied the newest revision (Synced, Pending,
    Failing, Suspended, SourceNotReady, NotManaged). It lists the live fields that
    differ from Git, the field manager that set each one and when Flux sets it
    back, and the objects Flux will prune. With --source it also shows what the
    branch head will change in the graph and in the objects the operator renders.

    Only fields present in Git are compared, because Flux's server-side apply owns
    exactly those. Fields that other managers add are not drift, except fields of
    kubectl managers, which Flux removes. The Kustomization's spec.ignore rules apply.
    Exit status: 0 synced without drift, 1 drift or pending changes, above 1 an error.
    NotManaged graphs are listed but do not change the exit status.

    \b
    Examples:
      # Is the graph what Git says? Read Git from a local clone
      kubectl dynamo drift llm-agg -n dynamo --source ~/src/fleet
      # Every graph in every namespace, Git read from the cluster
      kubectl dynamo drift -A --from-cluster
      # Sync state only, as JSON
      kubectl dynamo drift -n dynamo -o json
      # Leave out replicas an autoscaler owns
      kubectl dynamo drift llm-agg --source . --ignore 'spec.services.*.replicas'
    """
    from kubectl_dynamo.flux.drift import DriftRequest, detect_drift

    request = DriftRequest(
        names=names, namespace=namespace, all_namespaces=all_namespaces, selector=selector, source_dir=source_dir,
        from_cluster=from_cluster, ignore=ignores, server_dry_run=server_dry_run,
    )
    request.validate()
    report = detect_drift(app.connect(), request)
    return _print(app, report, output)


def _print(app, report, output: Optional[str]) -> int:
    from kubectl_dynamo.output.color import use_color
    from kubectl_dynamo.output.printers import to_json, to_yaml

    if output == "json":
        app.stdout.write(to_json(report.to_dict()))
    elif output == "yaml":
        app.stdout.write(to_yaml(report.to_dict()))
    else:
        from kubectl_dynamo.flux.report import format_report

        app.stdout.write(format_report(report, color=use_color(app.color, app.stdout)))
    for error in report.errors:
        app.reporter.error(str(error))
        if error.hint:
            app.reporter.note(error.hint)
    return report.exit_code
