"""`kubectl dynamo diff`."""

from __future__ import annotations

import os
from typing import Optional, Tuple

import click

from kubectl_dynamo.cli.options import cluster_options, common_options, output_option, pass_app
from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.render.profiles import DEFAULT_PROFILE, PROFILES


@click.command(context_settings={"max_content_width": 100})
@click.argument("name", required=False)
@click.option("-f", "--filename", "files", multiple=True, metavar="FILE|DIR|-",
              help="A file, a directory (read recursively) or - for stdin, holding the graphs to compare. Repeatable.")
@click.option("--from", "from_ref", metavar="FILE|GIT_REV",
              help="Compare offline with this version instead of the cluster: a file or directory, or a git "
                   "revision whose copy of the -f paths is read with `git show` (e.g. HEAD~1, origin/main).")
@click.option("--ignore", "ignores", multiple=True, metavar="[KIND:]POINTER",
              help="Leave out a field, as a JSON pointer, optionally for one kind only: Deployment:/spec/replicas. "
                   "A segment may be *, a list index, or the name of an item (/spec/template/spec/containers/main/image). Repeatable.")
@click.option("-l", "--selector", metavar="SELECTOR",
              help="Only the graphs in the -f files whose labels match this label selector, e.g. team=llm or 'tier in (a,b)'.")
@click.option("--operator-version", "profile", type=click.Choice(sorted(PROFILES)), default=DEFAULT_PROFILE,
              show_default=True, help="The operator release whose rendering to reproduce.")
@output_option("json", "yaml")
@cluster_options
@common_options
@pass_app
def diff(app, name: Optional[str], files: Tuple[str, ...], from_ref: Optional[str], ignores: Tuple[str, ...],
         selector: Optional[str], profile: str, output: Optional[str], namespace: Optional[str]) -> int:
    """Show what applying a graph file would change, down to pods.

    With -f, each DynamoGraphDeployment in the files is compared with the live one,
    then the children the operator would render from it (DCDs, Deployments,
    Services, PVCs ...) with the live children. With NAME, the children rendered
    from the live graph are compared with the live children: edits made behind
    the operator's back. With --from, two versions are compared offline.

    Server defaults, bookkeeping fields, list order and equivalent quantities
    are not differences; Secret values are masked. KUBECTL_EXTERNAL_DIFF is
    honoured as by kubectl diff. Exit status: 0 no differences, 1 differences,
    above 1 an error.

    \b
    Examples:
      # What will merging this pull request change in the cluster?
      kubectl dynamo diff -f deploy/llm/graph.yaml
      # Has anyone edited the children of a running graph?
      kubectl dynamo diff llm-agg -n dynamo
      # Review a change offline, against the previous commit
      kubectl dynamo diff --from HEAD~1 -f deploy/llm/graph.yaml
      # Leave out replicas an autoscaler owns, and print the changes as JSON
      kubectl dynamo diff -f graph.yaml --ignore Deployment:/spec/replicas -o json
    """
    from kubectl_dynamo.diff.compare import IgnoreRule
    from kubectl_dynamo.diff.engine import DiffRequest, run_diff

    if name and files:
        raise UsageError("pass either NAME or -f FILE, not both", hint="NAME compares a live graph with its own rendering; -f compares files with the cluster.")
    if not name and not files:
        raise UsageError("nothing to compare: pass -f FILE, or the NAME of a live graph", hint="See `kubectl dynamo diff --help`.")
    if from_ref is not None and not files:
        raise UsageError("--from needs -f FILE: the version to compare it with")
    if selector and not files:
        raise UsageError("-l/--selector filters the graphs in -f files; with NAME there is one graph already")
    request = DiffRequest(
        name=name, files=files, from_ref=from_ref, ignores=[IgnoreRule.parse(text) for text in ignores],
        profile=profile, namespace=namespace, selector=selector,
    )
    report = run_diff(request, app.connect)
    return _print(app, report, output)


def _print(app, report, output: Optional[str]) -> int:
    from kubectl_dynamo.output.color import use_color
    from kubectl_dynamo.output.diff_text import format_error_lines, format_json, format_no_differences, format_text, format_yaml

    for line in report.warnings:
        app.reporter.warn(line)
    for line in report.notes:
        app.reporter.note(line)

    external = os.environ.get("KUBECTL_EXTERNAL_DIFF")
    exit_code = report.exit_code()
    if output == "json":
        app.stdout.write(format_json(report))
    elif output == "yaml":
        app.stdout.write(format_yaml(report))
    elif external:
        from kubectl_dynamo.diff.external import ENV_VARIABLE, run_external

        result = run_external(report, external)
        for argument in result.dropped_arguments:
            app.reporter.warn(f"{ENV_VARIABLE}: dropped argument {argument!r}: only letters, digits, - and = are passed, as in kubectl")
        app.stdout.write(result.stdout)
        app.stderr.write(result.stderr)
        if not report.errors:
            exit_code = result.exit_code
    else:
        app.stdout.write(format_text(report, color=use_color(app.color, app.stdout)))
        if not report.differs and not report.errors:
            # kubectl diff prints nothing on stdout when nothing differs, so the count goes to stderr.
            app.reporter.note(format_no_differences(report))
    app.stdout.flush()

    # Errors come last, as in kubectl diff, so they are not scrolled away by the diff.
    for line in format_error_lines(report):
        app.reporter.error(line)
    return exit_code
