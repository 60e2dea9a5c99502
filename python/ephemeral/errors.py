"""The exceptions of the Ephemeral SDK.

Every error the SDK raises is an :class:`EphemeralError`; its message says what went wrong and
what to do. The subclasses tell the cases apart:

- :class:`IntegrityError`: a party tampered (or is faulty): the parties' shares did not verify,
  or their answers disagreed, or a party reported a failed MAC check. The result was discarded.
- :class:`PartyError`: a party answered with an error: ``party``, ``code`` (the node's error
  code, such as ``"compile_error"``) and ``node_message``. :class:`AuthError` and
  :class:`NotFoundError` are the common cases.
- :class:`TimeoutError`: a deadline passed (also a built-in :class:`TimeoutError`).
- :class:`UnreachableError`: a party could not be reached (also a :class:`ConnectionError`).
- :class:`ConfigError`, :class:`UsageError` (also a :class:`ValueError`) and
  :class:`ProtocolError` (a malformed answer).
"""

from __future__ import annotations

import builtins
from typing import Optional

__all__ = [
    "EphemeralError",
    "ConfigError",
    "UsageError",
    "PartyError",
    "AuthError",
    "NotFoundError",
    "TimeoutError",
    "UnreachableError",
    "IntegrityError",
    "ProtocolError",
]


class EphemeralError(Exception):
    """Base class of every error of the SDK.

    Attributes: ``message`` (the full text), ``party`` (the party to blame, when one is
    known), ``code`` (the node's error code when a party answered with one), ``node_message``
    (that party's own message), ``url`` (the party's URL for connection errors), ``path``
    (the cloud file for configuration errors), ``retry_after`` (seconds, when the node said
    when to retry).
    """

    def __init__(
        self,
        message: str,
        *,
        party: Optional[int] = None,
        code: Optional[str] = None,
        node_message: Optional[str] = None,
        url: Optional[str] = None,
        path: Optional[str] = None,
        retry_after: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.party = party
        self.code = code
        self.node_message = node_message
        self.url = url
        self.path = path
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class ConfigError(EphemeralError):
    """The cloud file is missing, unreadable or wrong (``path`` names it)."""


class UsageError(EphemeralError, ValueError):
    """The arguments cannot be used (a value out of range, an unknown output mode, ...)."""


class PartyError(EphemeralError):
    """A party answered with an error: ``party``, ``code`` and ``node_message`` say which."""


class AuthError(PartyError):
    """A party refused the bearer token (``unauthorized``) or the operation (``forbidden``)."""


class NotFoundError(PartyError):
    """No such secret, function, game or tag."""


class TimeoutError(EphemeralError, builtins.TimeoutError):  # noqa: A001 - deliberate
    """A deadline passed: a party did not answer within the client's timeout, or answered
    that one of its own deadlines passed (``code == "timeout"``)."""


class UnreachableError(EphemeralError, builtins.ConnectionError):
    """A party could not be reached or the connection broke (``party``, ``url``)."""


class IntegrityError(EphemeralError):
    """A party tampered with the data or is faulty: the result was discarded.

    Raised when the parties' output-delivery shares do not verify (w = s·r, u = v·r), when the
    parties give answers that must agree but do not, or when a party reports a failed
    protocol check (``code == "integrity_violation"``).
    """


class ProtocolError(EphemeralError):
    """A party's answer could not be used (malformed encoding, wrong lengths)."""
