"""Import the few modules of the ``kubernetes`` client that the cluster layer uses,
without the package's ``__init__`` files.

``import kubernetes`` (any submodule) runs ``kubernetes/__init__.py``, which imports
every generated API class and model: about 0.28 s on a 2-core machine with client
36.0.3, measured with ``python -X importtime``. The cluster layer needs only
``client.configuration``, ``client.rest`` and ``config`` (kubeconfig, in-cluster and
exec-plugin loading): about 0.14 s. When no code has imported ``kubernetes`` yet,
this module registers lightweight stand-ins for the ``kubernetes`` and
``kubernetes.client`` packages. Any attribute they lack (``client.CoreV1Api``...)
makes them run their real ``__init__`` on first use, so other code that imports
the client later still gets the complete package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any, NamedTuple

_lock = threading.Lock()
_loaded = None


class ClientModules(NamedTuple):
    Configuration: Any
    RESTClientObject: Any
    KubeConfigMerger: Any
    KubeConfigLoader: Any
    InClusterConfigLoader: Any
    ConfigException: Any
    urllib3: Any


class _DeferredPackage(types.ModuleType):
    """A package whose ``__init__`` runs when an attribute it lacks is first read."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self.__dict__.get("_kubectl_dynamo_loaded"):
            raise AttributeError(name)
        self.__dict__["_kubectl_dynamo_loaded"] = True
        code = self.__spec__.loader.get_code(self.__name__)
        exec(code, self.__dict__)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def _deferred(name: str, spec: Any) -> _DeferredPackage:
    module = _DeferredPackage(name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations or [])
    module.__package__ = name
    return module


class _ApiClientProxy:
    """Stands in for ``kubernetes.client.ApiClient`` until the real one is needed.

    ``kubernetes.config.kube_config`` imports the name at module level but calls it
    only in ``new_client_from_config``, which the cluster layer never uses.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        real = importlib.import_module("kubernetes.client.api_client").ApiClient
        return real(*args, **kwargs)


def _register_deferred_packages() -> None:
    root_spec = importlib.util.find_spec("kubernetes")
    if root_spec is None:
        raise ImportError("the kubernetes client is not installed: pip install 'kubernetes>=29,<37'")
    client_dir = root_spec.submodule_search_locations[0] + "/client"
    client_spec = importlib.util.spec_from_file_location(
        "kubernetes.client", client_dir + "/__init__.py", submodule_search_locations=[client_dir]
    )
    root, client = _deferred("kubernetes", root_spec), _deferred("kubernetes.client", client_spec)
    sys.modules["kubernetes"] = root
    sys.modules["kubernetes.client"] = client
    root.client = client
    configuration = importlib.import_module("kubernetes.client.configuration")
    client.Configuration = configuration.Configuration
    client.ApiClient = _ApiClientProxy


def load() -> ClientModules:
    """Import and return the client pieces the cluster layer uses (once per process)."""
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        if "kubernetes" not in sys.modules:
            _register_deferred_packages()
        configuration = importlib.import_module("kubernetes.client.configuration")
        rest = importlib.import_module("kubernetes.client.rest")
        kube_config = importlib.import_module("kubernetes.config.kube_config")
        incluster = importlib.import_module("kubernetes.config.incluster_config")
        exceptions = importlib.import_module("kubernetes.config.config_exception")
        import urllib3

        _loaded = ClientModules(
            configuration.Configuration,
            rest.RESTClientObject,
            kube_config.KubeConfigMerger,
            kube_config.KubeConfigLoader,
            incluster.InClusterConfigLoader,
            exceptions.ConfigException,
            urllib3,
        )
        return _loaded

