"""Ephemeral for Python: secure multiparty computation on your data, as a service.

A thin, typed layer over the Rust client SDK (the ``client`` crate, compiled into
``ephemeral._native``): the input-mask upload, the verification of output deliveries and the
field and fixed-point encodings all run there, with the GIL released while the parties work.

- :class:`Client` (and :class:`AsyncClient`): ``client.secrets``, ``client.functions``,
  ``client.execute``, ``client.tuple_stats``, ``client.health``.
- :mod:`ephemeral.errors`: typed exceptions (:class:`IntegrityError` when a party tampered,
  :class:`PartyError` with ``party``, ``code`` and ``message``, :class:`AuthError`,
  :class:`TimeoutError`, ...).
- :mod:`ephemeral.testing`: a fake cloud (with a tampering party) for your own tests.
"""

from . import errors
from ._async import AsyncClient, AsyncFunctions, AsyncSecrets
from ._client import Client, Functions, Party, Secrets
from ._native import DEFAULT_FRAC_BITS, FIELD_MODULUS, __version__
from ._types import (
    ExecutionResult,
    FunctionInfo,
    GameStats,
    GameStatus,
    Health,
    Progress,
    SecretInfo,
    SecretPage,
    TupleKindStats,
    TupleStats,
)
from .errors import (
    AuthError,
    ConfigError,
    EphemeralError,
    IntegrityError,
    NotFoundError,
    PartyError,
    ProtocolError,
    TimeoutError,
    UnreachableError,
    UsageError,
)

__all__ = [
    "AsyncClient",
    "AsyncFunctions",
    "AsyncSecrets",
    "AuthError",
    "Client",
    "ConfigError",
    "DEFAULT_FRAC_BITS",
    "EphemeralError",
    "ExecutionResult",
    "FIELD_MODULUS",
    "FunctionInfo",
    "Functions",
    "GameStats",
    "GameStatus",
    "Health",
    "IntegrityError",
    "NotFoundError",
    "Party",
    "PartyError",
    "Progress",
    "ProtocolError",
    "SecretInfo",
    "SecretPage",
    "Secrets",
    "TimeoutError",
    "TupleKindStats",
    "TupleStats",
    "UnreachableError",
    "UsageError",
    "__version__",
    "errors",
]
