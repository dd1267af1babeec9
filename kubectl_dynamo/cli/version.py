"""`kubectl dynamo version`."""

import click

from kubectl_dynamo import __version__
from kubectl_dynamo.cli.options import common_options, pass_app
from kubectl_dynamo.render.profiles import DEFAULT_PROFILE, PROFILES


@click.command()
@common_options
@pass_app
def version(app) -> None:
    """Print the plugin version and the operator profiles it supports.

    \b
    Examples:
      kubectl dynamo version
    """
    out = app.stdout
    out.write(f"kubectl-dynamo {__version__}\n")
    out.write("operator profiles (--operator-version):\n")
    for profile in PROFILES.values():
        marker = " (default)" if profile.name == DEFAULT_PROFILE else ""
        out.write(f"  {profile.name}{marker}: {profile.description}, {profile.api_version}\n")
