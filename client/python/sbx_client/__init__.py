"""sbx_client: a client of sandboxd, the sbx job service (see client.py)."""
from .client import (PROTOCOL_VERSION, Client, SandboxdError, main, make_policy, pb, sandbox_pb2,
                     to_json)
from . import sandboxd_pb2

__all__ = ["Client", "SandboxdError", "make_policy", "to_json", "main", "sandbox_pb2", "sandboxd_pb2",
           "pb", "PROTOCOL_VERSION"]
