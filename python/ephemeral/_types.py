"""The records the SDK returns: plain dataclasses built from the client crate's answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native
from .errors import UsageError

TagValue = Union[str, int]
"""A tag's value: text (a STRING tag) or an int (a LONG tag, for ``>``/``<`` filters)."""

OUTPUT_MODES = ("plaintext", "shares", "secret")


def tags_from(raw: Sequence[Dict[str, Any]]) -> Dict[str, TagValue]:
    """Tags as a dict; LONG tags become ints."""
    out: Dict[str, TagValue] = {}
    for t in raw:
        v: TagValue = t["value"]
        if t.get("valueType") == "LONG":
            try:
                v = int(t["value"])
            except ValueError:
                pass
        out[t["key"]] = v
    return out


@dataclass(frozen=True)
class SecretInfo:
    """A secret's metadata (never its values): id, owner, creation time, length and tags
    (including the node's ``owner`` and ``creation-date``)."""

    id: str
    owner: str
    created_at_ms: int
    len: int
    tags: Dict[str, TagValue]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "SecretInfo":
        return cls(
            id=d["id"],
            owner=d["owner"],
            created_at_ms=d["created_at_ms"],
            len=d["len"],
            tags=tags_from(d.get("tags", [])),
        )


@dataclass(frozen=True)
class SecretPage:
    """One page of a listing: ``items``, the page ``number`` (from 0) and ``size``, and the
    totals."""

    items: List[SecretInfo]
    number: int
    size: int
    total_items: int
    total_pages: int

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "SecretPage":
        return cls(
            items=[SecretInfo._from(i) for i in d["items"]],
            number=d["number"],
            size=d["size"],
            total_items=d["total_items"],
            total_pages=d["total_pages"],
        )

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> List[str]:
        """The ids of the secrets on this page."""
        return [i.id for i in self.items]


@dataclass(frozen=True)
class FunctionInfo:
    """One version of a deployed function; ``requires`` is the tuples one run consumes."""

    name: str
    version: int
    program_hash: str
    owner: str
    created_at_ms: int
    requires: Dict[str, int]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "FunctionInfo":
        return cls(
            name=d["name"],
            version=d["version"],
            program_hash=d["program_hash"],
            owner=d["owner"],
            created_at_ms=d["created_at_ms"],
            requires=dict(d.get("requires", {})),
        )


@dataclass(frozen=True)
class Progress:
    """How far the preprocessing a game waits for has come (party 0's measure)."""

    needed: int
    made: int
    eta_secs: Optional[float]
    kind: str
    waited_secs: float

    @property
    def fraction(self) -> float:
        """``made / needed``, from 0 to 1."""
        return 1.0 if self.needed == 0 else min(1.0, self.made / self.needed)

    @classmethod
    def _from(cls, d: Optional[Dict[str, Any]]) -> "Optional[Progress]":
        if d is None:
            return None
        return cls(
            needed=d["needed"],
            made=d["made"],
            eta_secs=d.get("eta_secs"),
            kind=d["kind"],
            waited_secs=d["waited_secs"],
        )


@dataclass(frozen=True)
class GameStatus:
    """A game as a party knows it. ``status`` is one of ``registering``,
    ``waiting_for_tuples`` (then ``preprocessing`` says how far it got), ``running``,
    ``succeeded``, ``failed`` (then ``error`` says why)."""

    game_id: str
    status: str
    program_hash: Optional[str]
    started_at_ms: int
    finished_at_ms: Optional[int]
    error: Optional[str]
    preprocessing: Optional[Progress]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "GameStatus":
        return cls(
            game_id=d["game_id"],
            status=d["status"],
            program_hash=d.get("program_hash"),
            started_at_ms=d["started_at_ms"],
            finished_at_ms=d.get("finished_at_ms"),
            error=d.get("error"),
            preprocessing=Progress._from(d.get("preprocessing")),
        )


@dataclass(frozen=True)
class GameStats:
    """One party's statistics of a game run."""

    rounds: int
    bytes_sent: int
    elapsed_ms: float
    join_ms: float
    cache_hit: bool
    triples: int
    bits: int
    squares: int
    inverses: int
    extra: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "GameStats":
        known = {"rounds", "bytes_sent", "elapsed_ms", "join_ms", "cache_hit", "triples",
                 "bits", "squares", "inverses"}
        return cls(
            rounds=d.get("rounds", 0),
            bytes_sent=d.get("bytes_sent", 0),
            elapsed_ms=d.get("elapsed_ms", 0.0),
            join_ms=d.get("join_ms", 0.0),
            cache_hit=d.get("cache_hit", False),
            triples=d.get("triples", 0),
            bits=d.get("bits", 0),
            squares=d.get("squares", 0),
            inverses=d.get("inverses", 0),
            extra={k: v for k, v in d.items() if k not in known},
        )


_MODE_OF_TYPE = {"PLAINTEXT": "plaintext", "SECRETSHARE": "shares", "AMPHORASECRET": "secret"}


@dataclass(frozen=True)
class ExecutionResult:
    """What a game gave back, put together from every party's answer (by the client crate:
    plaintext values that all parties agree on, shares recombined and verified, or the ids of
    stored output secrets).

    ``values`` are the outputs (ints, or floats when the game ran with ``fixed=True``);
    ``secret_ids`` the stored outputs (``output="secret"``); ``printed`` what the program
    printed; ``stats`` every party's run statistics.
    """

    game_id: str
    program_hash: str
    output: str
    printed: str
    stats: List[GameStats]
    raw: List[str]
    fixed: Optional[tuple] = None

    @classmethod
    def _from(cls, d: Dict[str, Any], fixed: Optional[tuple]) -> "ExecutionResult":
        outputs = d["outputs"]
        return cls(
            game_id=d["game_id"],
            program_hash=d["program_hash"],
            output=_MODE_OF_TYPE.get(outputs["type"], outputs["type"]),
            printed=d.get("printed", ""),
            stats=[GameStats._from(s) for s in d.get("stats", [])],
            raw=[str(v) for v in outputs["values"]],
            fixed=fixed,
        )

    @property
    def ints(self) -> List[int]:
        """The outputs as exact integers (for fixed-point outputs, their sfix representation)."""
        if self.output == "secret":
            raise UsageError(
                "the outputs were stored as secrets; read them with "
                "client.secrets.get(result.secret_id)"
            )
        return [int(v) for v in self.raw]

    @property
    def values(self) -> List[Any]:
        """The outputs: ints, or floats when the game ran with ``fixed=True``."""
        ints = self.ints
        if self.fixed is None:
            return ints
        f, k = self.fixed
        return list(_native.decode_fixed(ints, f, k))

    @property
    def secret_ids(self) -> List[str]:
        """The ids of the stored output secrets (``output="secret"``)."""
        if self.output != "secret":
            raise UsageError(
                f"the outputs came back as {self.output}, not as stored secrets; "
                "run with output=\"secret\" to store them"
            )
        return list(self.raw)

    @property
    def secret_id(self) -> str:
        """The id of the single stored output secret (``output="secret"``)."""
        ids = self.secret_ids
        if len(ids) != 1:
            raise UsageError(f"the game stored {len(ids)} secrets; use secret_ids")
        return ids[0]

    def array(self) -> Any:
        """The outputs as a numpy array (int64, or float64 with ``fixed=True``)."""
        from ._data import to_array

        return to_array(self.values, self.fixed is not None)


@dataclass(frozen=True)
class TupleKindStats:
    """One tuple kind's pool on one party."""

    kind: str
    available: int
    inactive: int
    consumed: int
    consumption_rate: float
    threshold: int
    generated: int
    generation_rate: float

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "TupleKindStats":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class TupleStats:
    """One party's tuple pools and the generator that fills them (``halt`` is set when
    generation stopped after a failed check)."""

    party: int
    generator: str
    kinds: List[TupleKindStats]
    jobs_completed: int
    tuples_generated: int
    halt: Optional[Dict[str, Any]]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "TupleStats":
        return cls(
            party=d["party"],
            generator=d["generator"],
            kinds=[TupleKindStats._from(k) for k in d["kinds"]],
            jobs_completed=d["jobs_completed"],
            tuples_generated=d["tuples_generated"],
            halt=d.get("halt"),
        )

    def available(self, kind: str) -> int:
        """Tuples of ``kind`` (``triple``, ``bit``, ...) ready on this party (0 if none)."""
        return sum(k.available for k in self.kinds if k.kind == kind)


@dataclass(frozen=True)
class Health:
    """One party's health: its id, status, version, generator, links to its peers."""

    party: int
    parties: int
    status: str
    version: str
    generator: str
    peers: Dict[int, bool]
    running_games: int
    generation_halt: Optional[Dict[str, Any]]

    @property
    def ok(self) -> bool:
        """The node is up and connected to every peer."""
        return self.status == "ok" and all(self.peers.values())

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "Health":
        return cls(
            party=d["party"],
            parties=d["parties"],
            status=d["status"],
            version=d["version"],
            generator=d["generator"],
            peers={p["party"]: p["connected"] for p in d.get("peers", [])},
            running_games=d.get("running_games", 0),
            generation_halt=d.get("generation_halt"),
        )
