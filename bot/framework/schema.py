"""Bot Framework models to and from JSON exactly as msrest does it, without its per-call cost.

msrest re-discovers the model classes and validates on every call: a quarter of a millisecond
to write a meeting card, a tenth to read an incoming activity. The schema here is the models' own
`_attribute_map` (botframework's models have no polymorphism, flattening or read-only fields).
Tests compare both directions with msrest over generated activities.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from enum import Enum
from functools import cache
from itertools import accumulate
from typing import Any

import botbuilder.schema
from azure.core.exceptions import DeserializationError  # what msrest raises
from msrest.serialization import Deserializer, Model, Serializer

# Nesting an activity may have. Teams' own are about ten deep with an Adaptive Card inside;
# 64 leaves room for any real card, and keeps every recursive reader (ours, msrest's,
# botbuilder's deepcopy) far below Python's recursion limit of 1000. 500 levels in channelData
# were enough for a RecursionError; 100,000 `[` crash the json module itself.
MAX_JSON_DEPTH = 64


class InvalidJson(ValueError):
    """A request body this bot will not read as JSON; the message says why in one line."""


def read_json(raw: bytes) -> Any:
    """Strict JSON from UTF-8 bytes: nesting at most MAX_JSON_DEPTH, finite numbers (no NaN or
    Infinity), and no lone surrogates, so whatever is read can be logged, stored and sent on."""
    if _too_deep(raw):
        raise InvalidJson(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("The request body is not UTF-8.") from None
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except ValueError:
        # Also what int() raises past 4,300 digits (CPython's limit on integer parsing).
        raise InvalidJson("The request body is not valid JSON.") from None
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(value):
        # "\ud800" alone decodes to a str that can never be encoded again: the turn failed
        # later, where its text was logged, stored or sent.
        raise InvalidJson("The JSON has a \\u escape for half a character (a lone surrogate).")
    return value


# A JSON string, escapes included; one that never ends runs to the end of the body. Possessive,
# and matching from every quote it starts at, so the scan stays linear on any input.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def _too_deep(raw: bytes) -> bool:
    """Whether brackets outside strings nest beyond MAX_JSON_DEPTH: one pass, no recursion."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False  # too few brackets to nest that deep: the usual case, and the cheapest
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as inf, which no JSON encoder will write back
        raise ValueError("number out of range")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN and Infinity by default


# Escapes of UTF-16 surrogates (a pair is one emoji, as json.dumps's ASCII output writes it).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_json(model: Model) -> dict[str, Any]:
    """What msrest's `model.serialize()` gives for a Bot Framework model."""
    return {
        desc["key"]: _typed(value, desc["type"])
        for attr, desc in model._attribute_map.items()
        if (value := getattr(model, attr, None)) is not None
    }


def _typed(value: Any, kind: str) -> Any:
    if kind == "str":
        return value.value if isinstance(value, Enum) else str(value)
    if kind in _BASIC:
        return _BASIC[kind](value)
    if kind == "iso-8601":
        return _iso(value)
    if kind == "bytearray":
        return Serializer.serialize_bytearray(value)  # type: ignore[no-untyped-call]
    if kind == "object":
        return _object(value)
    if kind.startswith("[") and kind.endswith("]"):
        return [None if item is None else _typed(item, kind[1:-1]) for item in value]
    if kind.startswith("{") and kind.endswith("}"):
        return {
            str(key): None if item is None else _typed(item, kind[1:-1])
            for key, item in value.items()
        }
    return to_json(value)  # a model


_BASIC: dict[str, type] = {"int": int, "float": float, "bool": bool}


def _object(value: Any) -> Any:
    """An untyped value (card content, channelData): JSON as it is, models within serialised."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Model):
        return to_json(value)
    if isinstance(value, dict):
        return {str(key): _object(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_object(item) for item in value]
    if isinstance(value, datetime):
        return _iso(value)
    return str(value)


def _iso(value: datetime) -> str:
    return str(Serializer.serialize_iso(value))  # type: ignore[no-untyped-call]


def from_json(cls: type[Any], data: Any) -> Any:
    """What msrest's `cls.deserialize(data)` gives; DeserializationError for wrong types."""
    if not isinstance(data, dict):
        raise DeserializationError(f"Unable to deserialize to object: {cls.__name__}")
    model = cls(
        **{
            attr: _read(data.get(desc["key"]), desc["type"])
            for attr, desc in cls._attribute_map.items()
        }
    )
    # Keys the schema doesn't name are kept aside, as msrest does (Teams' entities live there).
    if extra := data.keys() - _known_keys(cls.__name__):
        model.additional_properties = {key: data[key] for key in extra}
    return model


def without_null_entries(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with nulls left out of its lists of models ("membersAdded": [null, {…}]).

    A null there says nothing, and every reader of those lists, botbuilder's own handlers
    too, reads attributes off each entry: msrest keeps it, and the turn failed.
    """
    fields = _model_lists(cls.__name__)
    return {
        key: [item for item in value if item is not None]
        if key in fields and isinstance(value, list)
        else value
        for key, value in data.items()
    }


@cache
def _model_lists(name: str) -> frozenset[str]:
    return frozenset(
        desc["key"]
        for desc in _models()[name]._attribute_map.values()
        if desc["type"][0] == "[" and desc["type"][1:-1] not in _SIMPLE
    )


@cache
def _known_keys(name: str) -> frozenset[str]:
    return frozenset(desc["key"] for desc in _models()[name]._attribute_map.values())


@cache
def _models() -> dict[str, type[Model]]:
    """Model classes by the names attribute maps use for them (botbuilder's schema)."""
    return {
        name: kind
        for name, kind in vars(botbuilder.schema).items()
        if isinstance(kind, type) and issubclass(kind, Model)
    }


def _read(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind in _SIMPLE or kind[0] in "[{":
        try:
            return _read_simple(value, kind)
        except DeserializationError:
            raise
        except (ValueError, TypeError, AttributeError) as exc:
            raise DeserializationError(f"Unable to deserialize response data as {kind}") from exc
    return from_json(_models()[kind], value)


_SIMPLE = frozenset({"str", "bool", "int", "float", "iso-8601", "object"})


def _read_simple(value: Any, kind: str) -> Any:
    if kind == "str":
        return value if type(value) is str else str(value)
    if kind == "bool":
        return _read_bool(value)
    if kind in _BASIC:
        return _BASIC[kind](value)
    if kind == "iso-8601":
        return value if isinstance(value, datetime) else _parse_iso(value)
    if kind == "object":
        return _read_object(value)
    if kind[0] == "[":
        if not isinstance(value, list | set):
            raise TypeError(f"Cannot deserialize as {kind} a {type(value)}")
        return [_read(item, kind[1:-1]) for item in value]
    return {key: _read(item, kind[1:-1]) for key, item in value.items()}


def _read_bool(value: Any) -> bool:
    if value in (True, False, 1, 0):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise TypeError(f"Invalid boolean value: {value}")


def _read_object(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if type(value) is dict:
        return {key: _read_object(item) for key, item in value.items()}
    if type(value) is list:
        return [_read_object(item) for item in value]
    raise TypeError(f"Cannot deserialize generic object with type: {type(value)}")


def _parse_iso(value: Any) -> datetime:
    parsed: datetime = Deserializer.deserialize_iso(value)  # type: ignore[no-untyped-call]
    return parsed
