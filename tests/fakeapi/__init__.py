"""A Kubernetes API server for the tests, on 127.0.0.1, speaking the real REST API
well enough for the official ``kubernetes`` client and real kubectl.

See ``docs/testing.md`` for what it serves and ``FakeApiServer`` for the controls.
"""

from .api import DEFAULT_TOKEN, FakeApiServer
from .server import Request, TLSFiles, wait_for

__all__ = ["DEFAULT_TOKEN", "FakeApiServer", "Request", "TLSFiles", "wait_for"]
