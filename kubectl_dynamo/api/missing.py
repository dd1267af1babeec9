"""The not-found error of a named graph, worded once for every command."""

from __future__ import annotations

from kubectl_dynamo.errors import NotFoundError


def graph_not_found(name: str, namespace: str) -> NotFoundError:
    """Return the error for a DynamoGraphDeployment that does not exist, with the command that lists the graphs."""
    return NotFoundError(
        f'dynamographdeployments.nvidia.com "{name}" not found in namespace "{namespace}"',
        status=404,
        reason="NotFound",
        hint=f"List the graphs with `kubectl dynamo get -n {namespace}`, or -A for every namespace.",
    )


def kind_not_served(error: NotFoundError) -> bool:
    """Return whether a 404 means the API server does not serve the kind (its CRD is not installed)."""
    return "does not serve" in str(error)
