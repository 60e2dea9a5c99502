"""The synchronous client: :class:`Client`, with its :class:`Secrets` and :class:`Functions`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _native
from ._data import flatten_values, to_array
from ._types import (
    ExecutionResult,
    FunctionInfo,
    GameStatus,
    Health,
    SecretInfo,
    SecretPage,
    TagValue,
    TupleStats,
    tags_from,
)
from .errors import UsageError

SecretRef = Union[str, "os.PathLike[str]", Any]
"""A secret: its id as a string (or a ``uuid.UUID``)."""

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*(@[0-9]+)?$")


@dataclass(frozen=True)
class Party:
    """One party of a virtual cloud: its API URL, bearer token and (for ``https://`` with a
    certificate of its own) the PEM file to trust for it."""

    url: str
    token: Optional[str] = None
    ca_cert: Optional[str] = None


PartySpec = Union[str, Party, Mapping[str, Any]]


def _party(p: PartySpec) -> Tuple[str, Optional[str], Optional[str]]:
    if isinstance(p, str):
        return (p, None, None)
    if isinstance(p, Party):
        return (p.url, p.token, None if p.ca_cert is None else os.fspath(p.ca_cert))
    if isinstance(p, Mapping):
        unknown = set(p) - {"url", "token", "ca_cert", "id"}
        if unknown or "url" not in p:
            raise UsageError(
                f"a party is a URL, a Party or a mapping with url, token and ca_cert; got keys {sorted(p)}"
            )
        ca = p.get("ca_cert")
        return (p["url"], p.get("token"), None if ca is None else os.fspath(ca))
    raise UsageError(f"a party is a URL, a Party or a mapping, not {type(p).__name__}")


def _tags(tags: Optional[Mapping[str, TagValue]]) -> List[Tuple[str, str, bool]]:
    out = []
    for k, v in (tags or {}).items():
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise UsageError(
                f"tag {k!r}: a tag's value is a str (text) or an int (a number for > and < "
                f"filters), not {type(v).__name__}"
            )
        out.append((str(k), str(v), isinstance(v, int)))
    return out


def _id(s: SecretRef) -> str:
    return str(s)


def _filter(filter: Union[None, str, Mapping[str, TagValue]]) -> Optional[str]:
    """A listing filter in the node's form: ``"k:v,n>3,n<9"``; a mapping means equality."""
    if filter is None or isinstance(filter, str):
        return filter or None
    clauses = []
    for k, v in filter.items():
        if isinstance(v, tuple) and len(v) == 2 and v[0] in ("<", ">", "="):
            op = ":" if v[0] == "=" else v[0]
            clauses.append(f"{k}{op}{v[1]}")
        else:
            clauses.append(f"{k}:{v}")
    return ",".join(clauses) or None


class Secrets:
    """Secrets of the cloud: ``client.secrets``. Values are secret-shared into every party by
    the input-mask protocol and read back by verified output delivery (a tampering party
    raises :class:`~ephemeral.errors.IntegrityError`)."""

    def __init__(self, client: "Client") -> None:
        self._c = client

    def create(
        self,
        values: Any,
        *,
        tags: Optional[Mapping[str, TagValue]] = None,
        fixed: Optional[bool] = None,
        f: Optional[int] = None,
        k: Optional[int] = None,
    ) -> str:
        """Stores ``values`` (a number, a list or a 1-D numpy array) as a new secret and
        returns its id.

        Integers must fit in 64 bits (signed). Floats are stored as fixed-point numbers in the
        dialect's ``sfix`` encoding (round(x·2^f), f = 16 by default): ``fixed=None`` picks
        that when any value is a float; ``fixed=True`` forces it, ``fixed=False`` refuses
        floats. ``f`` and ``k`` override the client's precision (use the program's
        ``sfix.set_precision(f, k)``). ``tags`` maps keys to str or int values.
        """
        flat, is_float = flatten_values(values)
        if not flat:
            raise UsageError("a secret needs at least one value")
        use_fixed = is_float if fixed is None else fixed
        if is_float and fixed is False:
            raise UsageError(
                "the values include floats but fixed=False; pass fixed=True (or leave it out) "
                "to store them as fixed-point numbers"
            )
        n = self._c._native
        if use_fixed:
            ff, kk = self._c._precision(f, k)
            return n.create_fixed([float(v) for v in flat], ff, kk, _tags(tags))
        return n.create_ints(flat, _tags(tags))

    def get(
        self,
        secret: SecretRef,
        *,
        fixed: bool = False,
        f: Optional[int] = None,
        k: Optional[int] = None,
        array: bool = False,
    ) -> Any:
        """A secret's values, verified: a list of ints (exact, any size), or of floats with
        ``fixed=True``; a numpy array with ``array=True`` (int64 or float64)."""
        n = self._c._native
        if fixed:
            ff, kk = self._c._precision(f, k)
            values: List[Any] = n.get_fixed(_id(secret), ff, kk)
        else:
            values = n.get_ints(_id(secret))
        return to_array(values, fixed) if array else values

    def list(
        self,
        filter: Union[None, str, Mapping[str, Any]] = None,
        *,
        page: Optional[int] = None,
        size: Optional[int] = None,
    ) -> SecretPage:
        """One page of the secrets you may see (all of them without ``page``/``size``).

        ``filter`` is the node's syntax, comma-joined clauses that must all hold
        (``"name:a,n>3,n<9"``), or a mapping: ``{"name": "a"}`` for equality,
        ``{"n": (">", 3)}`` to compare numbers. ``page`` counts from 0; ``size`` defaults
        to 20 when ``page`` is given.
        """
        paging = None
        if page is not None or size is not None:
            paging = (page or 0, size or 20)
        raw = self._c._native.list_secrets(_filter(filter), paging)
        return SecretPage._from(json.loads(raw))

    def iterate(
        self, filter: Union[None, str, Mapping[str, Any]] = None, *, page_size: int = 100
    ) -> Iterator[SecretInfo]:
        """Every secret matching ``filter``, page by page."""
        number = 0
        while True:
            p = self.list(filter, page=number, size=page_size)
            yield from p.items
            number += 1
            if number >= p.total_pages:
                return

    def info(self, secret: SecretRef) -> SecretInfo:
        """A secret's metadata (from party 0)."""
        return SecretInfo._from(json.loads(self._c._native.secret_info(_id(secret))))

    def delete(self, secret: SecretRef) -> None:
        """Deletes a secret on every party."""
        self._c._native.delete_secret(_id(secret))

    def tags(self, secret: SecretRef) -> Dict[str, TagValue]:
        """A secret's tags (the node's ``owner`` and ``creation-date`` first)."""
        return tags_from(json.loads(self._c._native.get_tags(_id(secret))))

    def set_tag(self, secret: SecretRef, key: str, value: TagValue) -> None:
        """Sets (creates or replaces) a tag on every party."""
        self._c._native.set_tag(_id(secret), _tags({key: value})[0])

    def add_tag(self, secret: SecretRef, key: str, value: TagValue) -> None:
        """Adds a tag on every party; a party refuses it if the key exists."""
        self._c._native.add_tag(_id(secret), _tags({key: value})[0])

    def replace_tags(self, secret: SecretRef, tags: Mapping[str, TagValue]) -> None:
        """Replaces all of a secret's own tags on every party."""
        self._c._native.replace_tags(_id(secret), _tags(tags))

    def delete_tag(self, secret: SecretRef, key: str) -> None:
        """Deletes a tag on every party."""
        self._c._native.delete_tag(_id(secret), key)


class Functions:
    """Deployed functions: ``client.functions``."""

    def __init__(self, client: "Client") -> None:
        self._c = client

    def deploy(self, name: str, code: str, args: Sequence[str] = ()) -> FunctionInfo:
        """Deploys ``code`` as function ``name`` on every party (a new version, or the latest
        if unchanged); every party must compile it to the same program hash."""
        raw = self._c._native.deploy(name, code, [str(a) for a in args])
        return FunctionInfo._from(json.loads(raw))

    def list(self, name: Optional[str] = None) -> List[FunctionInfo]:
        """Every deployed function's versions, or those of ``name``."""
        return [FunctionInfo._from(d) for d in json.loads(self._c._native.list_functions(name))]

    def delete(self, name: str) -> None:
        """Deletes a function (every version) on every party."""
        self._c._native.delete_function(name)


ProgressCallback = Callable[[GameStatus], Any]


def _public_input(x: Union[None, str, Sequence[Any]]) -> Optional[str]:
    if x is None or isinstance(x, str):
        return x
    flat, _ = flatten_values(x)
    return " ".join(str(v) for v in flat)


class Client:
    """A client of every party of one virtual cloud.

    >>> import ephemeral as eph
    >>> with eph.Client.from_cloud_file() as c:               # doctest: +SKIP
    ...     a = c.secrets.create([42], tags={"name": "a"})
    ...     b = c.secrets.create([17], tags={"name": "b"})
    ...     c.execute(open("seed.mpc").read(), inputs=[a, b]).values
    [59]

    ``parties`` are URLs, :class:`Party` records or mappings (url, token, ca_cert), party i at
    index i. ``timeout`` is the per-request timeout in seconds (games may take minutes:
    default 600). ``f`` and ``k`` are the fixed-point precision (``sfix``: f = 16, k = 31 by
    default; k defaults to 2f − 1 as in ``sfix.set_precision``).

    Every call releases the GIL while the parties work; one client may be shared by threads.
    """

    def __init__(
        self,
        parties: Sequence[PartySpec],
        *,
        timeout: Optional[float] = None,
        f: int = _native.DEFAULT_FRAC_BITS,
        k: Optional[int] = None,
        _native_client: Any = None,
    ) -> None:
        if _native_client is None:
            if isinstance(parties, (str, bytes)):
                raise UsageError("parties is a list: one URL (or Party) per party")
            _native_client = _native.NativeClient(
                [_party(p) for p in parties], _timeout(timeout)
            )
        self._native = _native_client
        _native.encode_fixed([], f, k)  # checks the precision now
        self.f = f
        self.k = k
        self.secrets = Secrets(self)
        self.functions = Functions(self)

    @classmethod
    def from_cloud_file(
        cls,
        path: Union[None, str, "os.PathLike[str]"] = None,
        *,
        timeout: Optional[float] = None,
        f: int = _native.DEFAULT_FRAC_BITS,
        k: Optional[int] = None,
    ) -> "Client":
        """A client of the cloud file ``path``, else ``$EPHEMERAL_CLOUD``, else
        ``~/.config/ephemeral/cloud.toml`` (``ephemeral dev`` writes one)."""
        native = _native.NativeClient.from_cloud_file(
            None if path is None else os.fspath(path), _timeout(timeout)
        )
        return cls([], timeout=timeout, f=f, k=k, _native_client=native)

    # ---- plumbing ------------------------------------------------------------------------

    def _precision(self, f: Optional[int], k: Optional[int]) -> Tuple[int, Optional[int]]:
        if f is None:
            return (self.f, self.k if k is None else k)
        return (f, k)

    @property
    def parties(self) -> int:
        """Number of parties."""
        return int(self._native.parties)

    @property
    def urls(self) -> List[str]:
        """The parties' API URLs, in party order."""
        return list(self._native.urls)

    def close(self) -> None:
        """Releases the client (connections close when it is garbage-collected)."""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ephemeral.Client({self.parties} parties: {', '.join(self.urls)})"

    # ---- games ---------------------------------------------------------------------------

    def execute(
        self,
        program: Optional[str] = None,
        inputs: Sequence[SecretRef] = (),
        output: str = "plaintext",
        *,
        code: Optional[str] = None,
        function: Optional[str] = None,
        args: Sequence[Any] = (),
        game_id: Optional[str] = None,
        public_input: Union[None, str, Sequence[Any]] = None,
        private_inputs: Union[None, Mapping[int, Any], Sequence[Any]] = None,
        tags: Optional[Mapping[str, TagValue]] = None,
        fixed: bool = False,
        f: Optional[int] = None,
        k: Optional[int] = None,
        on_progress: Optional[ProgressCallback] = None,
        progress_interval: float = 0.5,
    ) -> ExecutionResult:
        """Runs a program on every party as one game.

        ``program`` is either the source of a program (``.mpc`` text) or the name of a
        deployed function (``"sum"``, ``"sum@2"``); ``code=``/``function=`` say which
        explicitly. ``inputs`` are secret ids, read by the program in order from its client
        socket. ``output`` is how results come back: ``"plaintext"`` (opened; every party
        must agree), ``"shares"`` (recombined and verified here) or ``"secret"`` (stored as
        new secrets, tagged with ``tags``; see ``result.secret_id``).

        ``args`` are the compile-time arguments (``program.args``); ``game_id`` names the
        game (default: a fresh UUID); ``public_input`` is text (or numbers) every party reads;
        ``private_inputs`` maps a party to its own input (text or numbers). With
        ``fixed=True`` the outputs are decoded as ``sfix`` numbers.

        ``on_progress(status)`` is called every ``progress_interval`` seconds while the game
        runs, with party 0's :class:`~ephemeral.GameStatus` (its ``preprocessing`` says how
        many tuples a waiting game has and lacks). An exception it raises stops waiting and is
        raised here (the game itself goes on at the parties).
        """
        if code is not None and function is not None:
            raise UsageError("give code or function, not both")
        if program is not None:
            if code is not None or function is not None:
                raise UsageError("give the program positionally or as code=/function=, not both")
            if hasattr(program, "__fspath__"):
                with open(program, encoding="utf-8") as fh:  # type: ignore[arg-type]
                    code = fh.read()
            elif _FUNCTION_NAME.match(program.strip()):
                function = program.strip()
            else:
                code = program
        if code is None and function is None:
            raise UsageError("execute needs a program: its code, or a deployed function's name")
        mode = output.lower() if isinstance(output, str) else output
        if tags and _native_output(mode) != "secret":
            raise UsageError('tags name stored outputs; use them with output="secret"')
        private = _private_inputs(private_inputs, self.parties)
        callback = None
        if on_progress is not None:
            user = on_progress

            def callback(text: str) -> None:
                user(GameStatus._from(json.loads(text)))

        raw = self._native.execute(
            code,
            function,
            [str(a) for a in args],
            [_id(i) for i in inputs],
            output,
            _tags(tags),
            game_id,
            _public_input(public_input),
            private,
            callback,
            float(progress_interval),
        )
        return ExecutionResult._from(
            json.loads(raw), self._precision(f, k) if fixed else None
        )

    def game_status(self, game_id: str) -> List[GameStatus]:
        """A game's status on every party, in party order."""
        return [GameStatus._from(d) for d in json.loads(self._native.game_status(game_id))]

    # ---- operations ----------------------------------------------------------------------

    def tuple_stats(self) -> List[TupleStats]:
        """Every party's tuple pools, in party order."""
        return [TupleStats._from(d) for d in json.loads(self._native.tuple_stats())]

    def health(self) -> List[Health]:
        """Every party's health, in party order."""
        return [Health._from(d) for d in json.loads(self._native.health())]


def _native_output(mode: str) -> str:
    m = mode.upper().replace("-", "").replace("_", "")
    if m in ("SECRET", "AMPHORASECRET", "STORED"):
        return "secret"
    return mode


def _timeout(t: Optional[float]) -> Optional[int]:
    if t is None:
        return None
    if t <= 0:
        raise UsageError(f"timeout must be positive, not {t}")
    return max(1, int(round(t)))


def _private_inputs(
    x: Union[None, Mapping[int, Any], Sequence[Any]], n: int
) -> List[Optional[str]]:
    if x is None:
        return []
    items = x.items() if isinstance(x, Mapping) else enumerate(x)
    out: List[Optional[str]] = [None] * n
    for party, v in items:
        if not isinstance(party, int) or not 0 <= party < n:
            raise UsageError(f"private input for party {party!r}: the parties are 0..{n - 1}")
        out[party] = None if v is None else _public_input(v)
    return out
