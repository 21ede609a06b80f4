"""gRPC chassis: server bootstrap, interceptors, channels, per-call principal."""

from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.grpc.context import current_principal

__all__ = ["ServiceApp", "ServiceContext", "current_principal"]
