"""The one JSON codec for every message and result that crosses a process or host boundary.

Plain JSON types pass through; ``datetime``, ``date``, ``time``, ``UUID``, ``Decimal``, ``bytes``
and ``set`` are written as small tagged objects and read back as the same type. Nothing is
ever pickled here: a shared Redis must not be able to run code in a worker.

With ``orjson`` installed (``pip install flowrra[speed]``) the messages and results whose
values are plain are written by it (:func:`encode`), several times faster; the standard
library writes the rest, and everything without orjson. Both write the same documents (a
float may be spelled differently, ``1e-7`` or ``1e-07``), read by the standard library.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

try:
    import orjson
except ImportError:  # the optional fast codec is not installed: the standard library only
    orjson = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .task import Task

TAG = "__flowrra__"

_PLAIN = (str, int, float, bool, type(None))


def _encode_special(value: Any) -> dict[str, Any]:
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, UUID):
        return {TAG: "uuid", "v": str(value)}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, bytes | bytearray):
        return {TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    if isinstance(value, set | frozenset):
        return {TAG: "set", "v": list(value)}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _text(decoder: Callable[[str], Any]) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return decoder(value)

    return decode


def _set(value: Any) -> set[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return set(value)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": _text(dt.datetime.fromisoformat),
    "date": _text(dt.date.fromisoformat),
    "time": _text(dt.time.fromisoformat),
    "uuid": _text(UUID),
    "decimal": _text(Decimal),
    "bytes": _text(lambda text: base64.b64decode(text, validate=True)),
    "set": _set,
}


def _decode_special(obj: dict[str, Any]) -> Any:
    tag = obj.get(TAG)
    if tag is None or len(obj) != 2 or "v" not in obj:
        return obj
    decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decoder is None:
        return obj
    try:
        return decoder(obj["v"])
    except (ValueError, TypeError, ArithmeticError) as exc:  # Decimal raises ArithmeticError
        raise ValueError(f"malformed {tag} value {obj['v']!r:.60}: {exc}") from None


_encoder = json.JSONEncoder(default=_encode_special, separators=(",", ":"), ensure_ascii=False)
_decoder = json.JSONDecoder(object_hook=_decode_special)
_plain_decoder = json.JSONDecoder()


def dumps(value: Any) -> str:
    """Encode ``value`` as compact JSON; raise ``TypeError`` for what JSON cannot hold."""
    return _encoder.encode(value)


def encode_plain(document: Callable[..., Any]) -> bytes:
    """The UTF-8 JSON of ``document(native_datetimes=...)``, a message or result whose
    values are all plain (strings, integers, finite floats, booleans, None, lists and
    dicts of them with string keys, and its own datetimes; :func:`is_plain_scalar` tells).
    orjson, when installed, writes it with datetimes as they are (as ISO 8601); the
    standard library gets them as ``isoformat()`` strings."""
    if orjson is not None:
        try:
            return orjson.dumps(document(native_datetimes=True))
        except TypeError:  # an integer beyond 64 bits, a string that is not valid UTF-8
            pass
    return dumps(document(native_datetimes=False)).encode()


def is_plain_scalar(value: Any) -> bool:
    """True for a str, int, bool, None or finite float (a value :func:`encode_plain` takes
    as plain)."""
    kind = type(value)
    return kind in _PLAIN and (kind is not float or math.isfinite(value))


def encode_message(task: Task) -> str | bytes:
    """The JSON of ``task.to_message()`` (its datetimes are already ISO strings), by orjson
    when its arguments and its eta, timeout and retry delay are plain scalars."""
    message = task.to_message()
    if not (
        is_plain_scalar(task.eta)
        and is_plain_scalar(task.timeout)
        and is_plain_scalar(task.retry_delay)
        and all(is_plain_scalar(value) for value in task.args)
        and all(is_plain_scalar(value) for value in task.kwargs.values())
    ):
        return dumps(message)
    return encode_plain(lambda native_datetimes: message)


def loads(data: str | bytes) -> Any:
    """Decode what :func:`dumps` wrote; ``ValueError`` for anything else (not UTF-8, not
    JSON, nested too deeply, a malformed tagged value)."""
    if isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data).decode("utf-8")
    decoder = _decoder if TAG in data else _plain_decoder  # no hook to call for every object
    try:
        return decoder.decode(data)
    except RecursionError:
        raise ValueError("the JSON document is nested too deeply") from None


def _is_plain(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
    for value in args:
        if type(value) not in _PLAIN:
            return False
    return not kwargs or all(type(value) in _PLAIN for value in kwargs.values())


def check_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` naming the first argument that the codec cannot encode."""
    if _is_plain(args, kwargs):
        return
    for position, value in enumerate(args):
        _check_one(f"positional argument {position}", value)
    for name, value in kwargs.items():
        _check_one(f"keyword argument {name!r}", value)


def _check_one(label: str, value: Any) -> None:
    try:
        dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"Task {label} cannot be sent as JSON ({exc}); pass plain data such as ids, "
            "strings, numbers, lists, dicts, datetimes, UUIDs or Decimals."
        ) from None


def transfer_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Validate the arguments and return them as a worker in another process would see them.

    Plain scalars are returned untouched (a round trip would not change them); anything else
    goes through the codec, so an in-process run sees the same values as a Redis one and later
    mutations by the caller do not leak into the task.
    """
    if _is_plain(args, kwargs):
        return args, kwargs
    check_arguments(args, kwargs)
    copied_args, copied_kwargs = loads(dumps([args, kwargs]))
    return tuple(copied_args), copied_kwargs


def check_result(value: Any) -> None:
    """Raise ``TypeError`` when a task's return value cannot be stored as JSON."""
    if type(value) in _PLAIN:
        return
    try:
        dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"the task returned a value that cannot be stored as JSON ({exc}); "
            "return plain data such as ids, strings, numbers, lists or dicts"
        ) from None
