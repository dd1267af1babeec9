"""Option decorators shared by the commands, declared once like kubectl's global flags."""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Callable

import click

from kubectl_dynamo.api.times import NANOSECONDS_PER_SECOND, parse_go_duration
from kubectl_dynamo.cli.context import AppContext
from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.output.color import COLOR_CHOICES


def _app(ctx: click.Context) -> AppContext:
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj


def pass_app(f: Callable) -> Callable:
    """Pass the invocation's AppContext as the first argument."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(_app(click.get_current_context()), *args, **kwargs)

    return wrapper


def _set_debug(ctx: click.Context, _param, value: bool) -> None:
    if value:
        _app(ctx).debug = True


def _set_color(ctx: click.Context, _param, value: str) -> None:
    if value is not None:
        _app(ctx).color = value


def _set_verbosity(ctx: click.Context, _param, value: int) -> None:
    if value:
        _app(ctx).verbosity = max(_app(ctx).verbosity, value)


def common_options(f: Callable) -> Callable:
    """Add --debug, -v and --color, accepted on the group and on every command."""
    f = click.option(
        "--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
        help="Show the full traceback when a command fails.",
    )(f)
    f = click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=_set_verbosity,
        help="Print debug messages on stderr; repeat for more.",
    )(f)
    f = click.option(
        "--color", type=click.Choice(COLOR_CHOICES), default=None, expose_value=False, callback=_set_color,
        help="Colour the output: auto (a terminal, unless NO_COLOR is set), always or never.  [default: auto]",
    )(f)
    return f


def _set_connection(field_name: str):
    def callback(ctx: click.Context, _param, value):
        if value is not None:
            app = _app(ctx)
            app.connection = dataclasses.replace(app.connection, **{field_name: value})
        return value

    return callback


def cluster_options(f: Callable) -> Callable:
    """Add kubectl's connection flags: --kubeconfig, --context, -n, --request-timeout.

    The namespace is also passed to the command as ``namespace`` (None when not
    given), because commands that read files need it before connecting.
    """
    f = click.option(
        "--request-timeout", type=float, default=None, expose_value=False,
        callback=_set_connection("request_timeout"), metavar="SECONDS",
        help="Give up on a single API request after this many seconds; 0 waits forever.  [default: 0]",
    )(f)
    f = click.option(
        "--context", "context_name", default=None, expose_value=False, callback=_set_connection("context"),
        help="The kubeconfig context to use.  [default: the current context]",
    )(f)
    f = click.option(
        "--kubeconfig", default=None, expose_value=False, callback=_set_connection("kubeconfig"),
        type=click.Path(dir_okay=False), help="Path to the kubeconfig file.  [default: $KUBECONFIG, else ~/.kube/config]",
    )(f)
    f = click.option(
        "-n", "--namespace", default=None, callback=_set_connection("namespace"),
        help="The namespace.  [default: the context's namespace, else 'default']",
    )(f)
    return f


def output_option(*choices: str, default: str = "") -> Callable:
    """Add -o/--output with the given formats; the empty default means the table."""

    def decorator(f: Callable) -> Callable:
        return click.option(
            "-o", "--output", type=click.Choice(choices), default=default or None,
            help="Output format: " + "|".join(choices) + ".",
        )(f)

    return decorator


def parse_timeout(text: str) -> float:
    """Parse ``--timeout`` into seconds: a plain number of seconds or a Go duration (``90s``, ``10m``, ``1h30m``)."""
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        nanoseconds = parse_go_duration(value)
    except ValueError:
        nanoseconds = -1
    if nanoseconds < 0:
        raise UsageError(f"invalid --timeout value {text!r}: expected seconds or a duration",
                         hint="Use a duration such as 90s, 10m or 1h30m.")
    return nanoseconds / NANOSECONDS_PER_SECOND
