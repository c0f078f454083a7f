"""Property-based tests of the codec (hypothesis): what it writes it reads back as the same
value, and whatever bytes it is given it either decodes or raises ``ValueError``, never
anything else and never a wrong value for a malformed tagged object."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowrra.serialization import TAG, dumps, encode_plain, loads
from flowrra.task import TaskResult, TaskStatus

keys = st.text(max_size=20).filter(lambda key: not key.startswith(TAG))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.dates(),
    st.times(),
    st.uuids(),
    st.decimals(allow_nan=False),
    st.binary(max_size=64),
)
values = st.recursive(
    st.one_of(scalars, st.frozensets(st.one_of(st.integers(), st.text(max_size=8)), max_size=5)),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=30,
)


def normal(value: Any) -> Any:
    """What a round trip gives back: a set for a frozenset, and an aware datetime with its
    UTC offset rather than its zone (the same instant; JSON carries no zone names)."""
    if isinstance(value, frozenset):
        return set(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return dt.datetime.fromisoformat(value.isoformat())
    if isinstance(value, list):
        return [normal(item) for item in value]
    if isinstance(value, dict):
        return {key: normal(item) for key, item in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@given(values)
def test_every_value_it_writes_reads_back_the_same(value: Any) -> None:
    assert loads(dumps(value)) == normal(value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_decode_or_raise_value_error(data: bytes) -> None:
    try:
        value = loads(data)
    except ValueError:
        return
    assert isinstance(dumps(value), str)  # what decodes is a value the codec can carry


tags = st.sampled_from(["datetime", "date", "time", "uuid", "decimal", "bytes", "set", "nope"])
junk = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.floats(),
)


@settings(max_examples=400, deadline=None)
@given(tags, junk)
def test_a_tagged_object_decodes_to_its_type_or_raises_value_error(tag: str, v: Any) -> None:
    text = json.dumps({TAG: tag, "v": v})
    try:
        value = loads(text)
    except ValueError:
        return
    expected = {
        "datetime": dt.datetime,
        "date": dt.date,
        "time": dt.time,
        "uuid": uuid.UUID,
        "decimal": Decimal,
        "bytes": bytes,
        "set": set,
        "nope": dict,
    }[tag]
    assert isinstance(value, expected)


@pytest.mark.parametrize("text", ["!!!", "abc", "a===", "QQ=x"])
def test_bytes_that_are_not_base64_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="bytes"):
        loads(json.dumps({TAG: "bytes", "v": text}))


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_nesting_too_deep_is_a_value_error(depth: int) -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        loads("[" * depth + "]" * depth)


# what is_plain_scalar lets through to encode_plain: no NaN or infinity, which JSON cannot hold
# (the standard library writes them as the non-standard NaN/Infinity, orjson as null)
plain_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)


# the fixture only chooses the codec; nothing in it changes between examples
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(plain_scalars, max_size=4), plain_scalars, st.datetimes(timezones=st.just(dt.UTC)))
def test_a_plain_result_is_written_as_to_dict_by_either_codec(
    codec: str, args: list[Any], value: Any, when: dt.datetime
) -> None:
    result = TaskResult("id", TaskStatus.SUCCESS, "job", value, submitted_at=when)
    result.args, result.started_at, result.finished_at = tuple(args), when, when
    written = encode_plain(result.to_document)
    assert written == dumps(result.to_dict).encode() or codec == "orjson"
    assert loads(written) == normal(result.to_dict)
