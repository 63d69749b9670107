"""An in-repo Kubernetes API-server double (aiohttp, real HTTP) for the Kubernetes adapters' tests."""

from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import ApiFailureError

__all__ = ["ApiFailureError", "ApiServerDouble"]
