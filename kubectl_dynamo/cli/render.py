"""`kubectl dynamo render`: the objects the operator would create, without a cluster."""

from __future__ import annotations

from typing import Optional, Tuple

import click

from kubectl_dynamo.cli.options import common_options, pass_app
from kubectl_dynamo.render.profiles import DEFAULT_PROFILE, PROFILES


@click.command(context_settings={"max_content_width": 100})
@click.option("-f", "--filename", "filenames", multiple=True, required=True, metavar="FILE|DIR|-",
              help="A DGD file, a directory (read recursively) or - for stdin. Repeatable.")
@click.option("-n", "--namespace", default=None,
              help="The namespace of graphs whose file sets none.  [default: default]")
@click.option("-o", "--output", type=click.Choice(["yaml", "json", "name"]), default="yaml", show_default=True,
              help="yaml prints a multi-document stream, json one v1 List, name one kind.group/name per line.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Print only objects of this kind (kind, plural or short name). Repeatable or comma-separated.")
@click.option("--stage", type=click.Choice(["all", "dcd"]), default="all", show_default=True,
              help="dcd stops after the operator's first stage (DCDs, adapters, PVCs, RBAC).")
@click.option("--operator-version", "profile", type=click.Choice(sorted(PROFILES)), default=DEFAULT_PROFILE,
              show_default=True, help="The operator release whose rendering to reproduce.")
@click.option("--operator-config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Helm values of the operator (platform or operator chart) to take settings from.")
@click.option("--grove/--no-grove", default=None,
              help="Whether the cluster serves Grove (grove.io): then graphs become one PodCliqueSet.  [default: no]")
@click.option("--lws/--no-lws", default=None,
              help="Whether the cluster serves LeaderWorkerSet and Volcano, needed for multinode without Grove.  [default: no]")
@click.option("--discovery-backend", type=click.Choice(["kubernetes", "etcd"]), default=None,
              help="The operator's --discovery-backend.  [default: kubernetes]")
@common_options
@pass_app
def render(app, filenames: Tuple[str, ...], namespace: Optional[str], output: str, kinds: Tuple[str, ...], stage: str,
           profile: str, operator_config: Optional[str], grove: Optional[bool], lws: Optional[bool],
           discovery_backend: Optional[str]) -> None:
    """Print the objects the Dynamo operator would create for a graph, offline.

    Reads DynamoGraphDeployments and prints every object the operator would
    create for them: DCDs (or a Grove PodCliqueSet), Deployments or
    LeaderWorkerSets, Services, Ingresses, PVCs, scaling adapters and discovery
    RBAC, sorted by kind and name, with the operator's last-applied hash.
    Other documents in the files are passed over with a note on stderr.

    Operator settings come from the profile's defaults (a platform Helm release
    named dynamo-platform in dynamo-system: no Grove, no LWS, Kubernetes
    discovery, NATS and etcd of that release), then --operator-config, then the
    flags. Exits 2 when a graph is invalid, listing every problem. Input
    without any DynamoGraphDeployment prints nothing and a warning, and exits 0.

    \b
    Examples:
      kubectl dynamo render -f examples/llm-agg.yaml
      kubectl dynamo render -f deploy/ --kind Deployment,Service
      kubectl dynamo render -f graph.yaml --grove -o json
      cat graph.yaml | kubectl dynamo render -f - --stage dcd
    """
    from kubectl_dynamo.output.printers import as_list, to_json, to_yaml_stream
    from kubectl_dynamo.render.api import RenderOptions
    from kubectl_dynamo.render.documents import load_settings, object_name, render_files

    settings = load_settings(profile, operator_config, grove=grove, lws=lws, discovery_backend=discovery_backend)
    options = RenderOptions(profile=profile, namespace=namespace or "default", settings=settings, stage=stage,
                            no_orchestrator_advice="so pass --grove or --lws if the cluster serves them")
    result = render_files(filenames, options, kinds, namespace_flag=namespace)

    for note in result.notes:
        app.reporter.note(note)
    for warning in result.warnings:
        app.reporter.warn(warning)
    if output == "json":
        app.stdout.write(to_json(as_list(result.objects)))
    elif output == "name":
        app.stdout.write("".join(object_name(obj) + "\n" for obj in result.objects))
    else:
        app.stdout.write(to_yaml_stream(result.objects))
