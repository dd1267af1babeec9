"""The command line: click adapters over the pure core, and the one place that maps
exceptions to exit codes.

Commands are imported only when they run (``LazyGroup``), so `render` never pays
for the modules that live commands need.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import List, Optional

import click

from kubectl_dynamo import __version__
from kubectl_dynamo.cli.context import AppContext
from kubectl_dynamo.cli.options import common_options
from kubectl_dynamo.errors import DynamoError, ExitCode

# Command name -> "module:attribute", in the order `--help` lists them.
COMMANDS = {
    "render": "kubectl_dynamo.cli.render:render",
    "get": "kubectl_dynamo.cli.get:get",
    "status": "kubectl_dynamo.cli.status:status",
    "diff": "kubectl_dynamo.cli.diff:diff",
    "scale": "kubectl_dynamo.cli.scale:scale",
    "logs": "kubectl_dynamo.cli.logs:logs",
    "drift": "kubectl_dynamo.cli.drift:drift",
    "version": "kubectl_dynamo.cli.version:version",
}


class _StdoutClosed(Exception):
    """A BrokenPipeError carried past click, whose ``main`` turns EPIPE into exit code 1."""


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is used."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _StdoutClosed() from exc

    def list_commands(self, ctx: click.Context) -> List[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing the commands would import every module; the summaries are kept here instead.
        rows = [(name, COMMAND_SUMMARIES[name]) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


COMMAND_SUMMARIES = {
    "render": "Print the objects the Dynamo operator would create for a graph, offline.",
    "get": "List graphs with their readiness, replicas and Flux sync state.",
    "status": "Show every service of one graph, and why it is not ready.",
    "diff": "Show what applying a graph file would change, down to pods.",
    "scale": "Change a service's replicas where the count is owned.",
    "logs": "Print the logs of every pod of a graph as one stream.",
    "drift": "Compare a Flux-managed graph with its Git source.",
    "version": "Print the plugin version and the operator profiles it supports.",
}


def program_name(argv0: str) -> str:
    """Return the name help text uses: `kubectl dynamo` when kubectl started us."""
    base = os.path.basename(argv0)
    if base.startswith("kubectl-dynamo") or base == "__main__.py":
        return "kubectl dynamo"
    return base


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@common_options
@click.version_option(__version__, "--version", message="kubectl-dynamo %(version)s")
def cli() -> None:
    """Inspect, render, diff, scale and follow NVIDIA Dynamo inference graphs
    (DynamoGraphDeployments) on Kubernetes, with Flux GitOps in mind.

    \b
    Examples:
      kubectl dynamo render -f examples/llm-agg.yaml
      kubectl dynamo get -A
      kubectl dynamo status llm-agg -n dynamo
    """


def main(argv: Optional[List[str]] = None, *, app: Optional[AppContext] = None) -> None:
    """Run the command line and exit with the product's exit code."""
    sys.exit(run(argv, app=app))


def run(argv: Optional[List[str]] = None, *, app: Optional[AppContext] = None) -> int:
    """Run the command line and return the exit code instead of exiting."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        args = ["--help"]  # like kubectl: help on stdout and exit 0, not a usage error
    app = app or AppContext()
    # --debug must take effect even when parsing fails before its callback runs.
    before_separator = args[: args.index("--")] if "--" in args else args
    app.debug = app.debug or "--debug" in before_separator
    try:
        result = cli.main(args, prog_name=program_name(sys.argv[0]), obj=app, standalone_mode=False)
        return int(result or 0)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        # click has already ended the line on stderr.
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show(file=app.stderr)
        return ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code
    except DynamoError as exc:
        if app.debug:
            _print_traceback(app)
        app.reporter.error(str(exc))
        if exc.hint:
            app.reporter.note(exc.hint)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return _interrupted(app)
    except (BrokenPipeError, _StdoutClosed):
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    except Exception as exc:  # a bug: keep the traceback behind --debug
        if app.debug:
            _print_traceback(app)
        app.reporter.error(f"internal error: {type(exc).__name__}: {exc}")
        if not app.debug:
            app.reporter.note("Run the command again with --debug to see the traceback.")
        return ExitCode.INTERNAL


def _print_traceback(app: AppContext) -> None:
    import traceback  # only under --debug: importing it costs about 6 ms at every start

    traceback.print_exc(file=app.stderr)


def _interrupted(app: AppContext) -> int:
    app.stderr.write("\n")
    return ExitCode.INTERRUPTED


def _silence_stdout() -> None:
    # Python would print a second BrokenPipeError when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
