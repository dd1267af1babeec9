"""Resolve the connection like kubectl: which kubeconfig files, which context, which
namespace, or the in-cluster service account when there is no kubeconfig at all.

The credentials themselves (tokens, token files, client certificates, exec
plugins, auth providers) are loaded by the official client's ``KubeConfigLoader``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

import yaml

from kubectl_dynamo.cluster.protocol import ConnectionOptions
from kubectl_dynamo.errors import ClusterError, InputError

# The mount point of a pod's service account (the path client-go reads).
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass
class ResolvedConfig:
    """A ready ``kubernetes.client.Configuration`` and what kubectl would print about it."""

    configuration: Any
    namespace: str
    context_name: str  # "" for in-cluster configuration
    host: str
    sources: List[str]  # the kubeconfig files read, in order


def kubeconfig_paths(options: ConnectionOptions, environ=os.environ) -> List[str]:
    """Return the kubeconfig files to merge, in kubectl's order of precedence.

    ``--kubeconfig`` names exactly one file, which must exist. Otherwise every
    existing file of ``KUBECONFIG`` (``os.pathsep``-separated) is merged. Otherwise
    ``~/.kube/config`` is used when it exists. An empty list means none.
    """
    if options.kubeconfig:
        path = os.path.expanduser(options.kubeconfig)
        if not os.path.isfile(path):
            raise ClusterError(
                f"kubeconfig file {options.kubeconfig} not found",
                hint="Pass an existing file to --kubeconfig, or leave it out to use $KUBECONFIG or ~/.kube/config.",
            )
        return [path]
    listed = environ.get("KUBECONFIG", "")
    if listed:
        return [p for p in (os.path.expanduser(part) for part in listed.split(os.pathsep) if part) if os.path.isfile(p)]
    default = os.path.expanduser("~/.kube/config")
    return [default] if os.path.isfile(default) else []


def _first_current_context(paths: List[str]) -> Optional[str]:
    # kubectl takes current-context from the first file that sets it; the client's
    # merger takes it from the last one, so it is computed here.
    for path in paths:
        try:
            with open(path) as stream:
                data = yaml.safe_load(stream) or {}
        except OSError as exc:
            raise InputError(f"failed to read kubeconfig {path}: {exc.strerror}", hint="Check --kubeconfig and KUBECONFIG.") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise InputError(
                f"invalid kubeconfig {path}: {problem}{where}", hint="Fix the file's YAML, or point --kubeconfig at another file."
            ) from None
        if not isinstance(data, dict):
            raise InputError(f"invalid kubeconfig {path}: expected a mapping with clusters, contexts and users")
        if isinstance(data, dict) and data.get("current-context"):
            return data["current-context"]
    return None


def resolve(options: ConnectionOptions, modules: Any, environ=os.environ) -> ResolvedConfig:
    """Build a client Configuration for ``options`` (see ``kubeconfig_paths``)."""
    paths = kubeconfig_paths(options, environ)
    if not paths:
        if environ.get("KUBERNETES_SERVICE_HOST") and environ.get("KUBERNETES_SERVICE_PORT"):
            return _in_cluster(options, modules, environ)
        raise ClusterError(
            "no kubeconfig found and not running in a pod",
            hint="Set KUBECONFIG or pass --kubeconfig (kubectl config view shows what kubectl uses).",
        )
    context = options.context or _first_current_context(paths)
    if not context:
        raise ClusterError(
            f"no current context is set in {', '.join(paths)}",
            hint="Pass --context NAME or run: kubectl config use-context NAME",
        )
    try:
        merger = modules.KubeConfigMerger(os.pathsep.join(paths))
        merged = merger.config
        names = [c["name"] for c in (merged.value.get("contexts") or []) if isinstance(c, dict) or hasattr(c, "value")]
        if context not in names:
            known = ", ".join(names) or "none"
            raise ClusterError(
                f'context "{context}" not found in kubeconfig {", ".join(paths)} (contexts: {known})',
                hint="Pass an existing --context, or check KUBECONFIG.",
            )
        loader = modules.KubeConfigLoader(config_dict=merged, active_context=context, config_base_path=None)
        configuration = modules.Configuration()
        with _CredentialErrors() as failures:
            loader.load_and_set(configuration)
        if failures.messages:
            raise ClusterError(
                f'cannot get credentials for context "{context}": {failures.messages[0]}',
                hint="Check the user's exec plugin or auth provider in your kubeconfig, and log in again if needed.",
            )
        context_entry = loader.current_context.get("context") or {}
        context_namespace = context_entry.get("namespace")
        cluster_entry = _named(merged.value.get("clusters"), context_entry.get("cluster"))
        configuration.proxy = proxy_for(configuration.host, cluster_entry.get("proxy-url"), environ)
        configuration.no_proxy = None  # proxy_for already applied NO_PROXY
    except ClusterError:
        raise
    except (modules.ConfigException, KeyError, TypeError, ValueError, OSError) as exc:
        raise ClusterError(
            f'invalid kubeconfig for context "{context}": {exc}', hint=f"Check {', '.join(paths)} with: kubectl config view"
        ) from None
    namespace = options.namespace or context_namespace or "default"
    return ResolvedConfig(configuration, namespace, context, configuration.host, paths)


def _named(entries: Any, name: Optional[str]) -> Dict[str, Any]:
    for entry in entries or []:
        if entry["name"] == name:
            value = entry["cluster"]
            return value.value if hasattr(value, "value") else dict(value)
    return {}


def proxy_for(host: str, proxy_url: Optional[str], environ=os.environ) -> Optional[str]:
    """Return the proxy to reach ``host`` through, as client-go chooses it.

    The cluster's ``proxy-url`` wins. Otherwise HTTPS_PROXY (https hosts) or HTTP_PROXY
    (http hosts), in either case, unless NO_PROXY lists the host. Loopback hosts are
    never proxied from the environment (Go's ProxyFromEnvironment).
    """
    if proxy_url:
        return proxy_url
    parts = urlsplit(host)
    hostname = (parts.hostname or "").lower()
    if hostname == "localhost" or _is_loopback(hostname):
        return None
    names = ("HTTPS_PROXY", "https_proxy") if parts.scheme == "https" else ("HTTP_PROXY", "http_proxy")
    proxy = next((environ[name] for name in names if environ.get(name)), None)
    if not proxy:
        return None
    no_proxy = environ.get("NO_PROXY") or environ.get("no_proxy") or ""
    if _bypassed(hostname, parts.port, no_proxy):
        return None
    return proxy


def _is_loopback(hostname: str) -> bool:
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _bypassed(hostname: str, port: Optional[int], no_proxy: str) -> bool:
    for entry in (e.strip().lower() for e in no_proxy.split(",") if e.strip()):
        if entry == "*":
            return True
        entry_host, _, entry_port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and port is not None and str(port) != entry_port:
            continue
        if "/" in entry_host:
            try:
                if ipaddress.ip_address(hostname) in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
            continue
        suffix = entry_host.lstrip(".")
        if hostname == suffix or hostname.endswith("." + suffix):
            return True
    return False


class _CredentialErrors(logging.Handler):
    """Collect what the client's kubeconfig loader logs at ERROR level.

    The loader logs a failing exec plugin instead of raising, and then sends no
    credentials. Collecting the message turns it into an error instead of a bare 401.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))

    def __enter__(self) -> "_CredentialErrors":
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        logging.getLogger().removeHandler(self)


def _in_cluster(options: ConnectionOptions, modules: Any, environ) -> ResolvedConfig:
    token_file = SERVICE_ACCOUNT_DIR / "token"
    ca_file = SERVICE_ACCOUNT_DIR / "ca.crt"
    configuration = modules.Configuration()
    try:
        loader = modules.InClusterConfigLoader(token_filename=str(token_file), cert_filename=str(ca_file), environ=environ)
        loader.load_and_set(configuration)
    except (modules.ConfigException, OSError) as exc:
        raise ClusterError(
            f"in-cluster configuration failed: {exc}",
            hint="Outside a pod, set KUBECONFIG or pass --kubeconfig.",
        ) from None
    configuration.proxy = proxy_for(configuration.host, None, environ)
    configuration.no_proxy = None
    namespace = options.namespace
    if not namespace:
        try:
            namespace = (SERVICE_ACCOUNT_DIR / "namespace").read_text().strip()
        except OSError:
            namespace = ""
    return ResolvedConfig(configuration, namespace or "default", "", configuration.host, [])
