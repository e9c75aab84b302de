"""Stored values as plain, typed JSON: what the bot writes is all it will ever read back.

Plain JSON (dicts with string keys, lists, strings, numbers, booleans, null) is stored as it is.
The few objects botbuilder-dialogs keeps in dialog state are written as tagged dicts
(`{"$type": "DialogState", ...}`) by an explicit codec each, and only those tags are read back:
no stored text can name a class to build or a function to call. A plain dict that happens to
have a "$type" key is wrapped, so data can never pose as a tag.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from botbuilder.dialogs import DialogInstance, DialogState
from botbuilder.dialogs.prompts import PromptOptions
from botbuilder.schema import Activity

from bot.framework.schema import from_json, to_json

TAG = "$type"
# Dialog state nests a few levels (component → waterfall → prompt); far deeper is not ours.
MAX_DEPTH = 32


class StoredValueError(ValueError):
    """A stored value is not one the bot writes (corrupt, tampered with or from an old version)."""


def dumps(value: Any) -> str:
    """JSON text for `value`; TypeError for anything outside the allow-list."""
    return json.dumps(_encode(value, 0), ensure_ascii=False, allow_nan=False)


def loads(text: str) -> Any:
    """The value `dumps` wrote; StoredValueError for anything else."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise StoredValueError("stored text is not JSON") from exc
    return _decode(data, 0)


def _encode(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise TypeError("value nests too deeply to store")
    kind = type(value)
    if value is None or kind in (str, int, bool):
        return value
    if kind is float:
        if not math.isfinite(value):
            raise TypeError("only finite numbers are stored")
        return value
    if kind is list or kind is tuple:
        return [_encode(item, depth + 1) for item in value]
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise TypeError("stored dicts have string keys")
        items = {key: _encode(item, depth + 1) for key, item in value.items()}
        return {TAG: "dict", "items": items} if TAG in items else items
    for cls, (tag, encode, _) in _CODECS.items():
        if kind is cls:
            return {TAG: tag, **encode(value, depth + 1)}
    raise TypeError(f"{kind.__name__} is not a stored type")


def _decode(data: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise StoredValueError("stored value nests too deeply")
    if isinstance(data, list):
        return [_decode(item, depth + 1) for item in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(TAG)
    if tag is None:
        if any(key.startswith("py/") for key in data):
            # jsonpickle's markers: state an earlier version wrote, which we no longer read.
            raise StoredValueError("a value from an earlier version's format")
        return {key: _decode(item, depth + 1) for key, item in data.items()}
    if tag == "dict" and isinstance(data.get("items"), dict):
        return {key: _decode(item, depth + 1) for key, item in data["items"].items()}
    decode = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decode is None:
        raise StoredValueError(f"unknown stored type {str(tag)[:40]!r}")
    try:
        return decode(data, depth + 1)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoredValueError(f"malformed stored {tag}") from exc


# -- the allow-list: dialog state as botbuilder-dialogs keeps it ------------------------------


def _dialog_state(value: DialogState, depth: int) -> dict[str, Any]:
    return {"stack": [_encode(instance, depth) for instance in value.dialog_stack]}


def _read_dialog_state(data: dict[str, Any], depth: int) -> DialogState:
    stack = [_decode(item, depth) for item in data["stack"]]
    if not all(isinstance(item, DialogInstance) for item in stack):
        raise TypeError("a dialog stack holds dialog instances")
    return DialogState(stack)


def _dialog_instance(value: DialogInstance, depth: int) -> dict[str, Any]:
    return {"id": value.id, "state": _encode(value.state, depth)}


def _read_dialog_instance(data: dict[str, Any], depth: int) -> DialogInstance:
    state = _decode(data["state"], depth)
    if not isinstance(data["id"], str) or not isinstance(state, dict):
        raise TypeError("a dialog instance has an id and a state")
    return DialogInstance(id=data["id"], state=state)


def _prompt_options(value: PromptOptions, depth: int) -> dict[str, Any]:
    if value.choices or value.style is not None:
        raise TypeError("choice prompts are not stored")  # the bot uses text prompts only
    return {
        "prompt": _activity(value.prompt),
        "retry_prompt": _activity(value.retry_prompt),
        "validations": _encode(value.validations, depth),
        "number_of_attempts": value.number_of_attempts,
    }


def _read_prompt_options(data: dict[str, Any], depth: int) -> PromptOptions:
    attempts = data["number_of_attempts"]
    if type(attempts) is not int:
        raise TypeError("number_of_attempts is a whole number")
    return PromptOptions(
        prompt=_read_activity(data["prompt"]),
        retry_prompt=_read_activity(data["retry_prompt"]),
        validations=_decode(data["validations"], depth),
        number_of_attempts=attempts,
    )


def _activity(value: Activity | None) -> dict[str, Any] | None:
    return None if value is None else to_json(value)


def _read_activity(data: Any) -> Activity | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError("an activity is an object")
    activity: Activity = from_json(Activity, data)
    return activity


_Encode = Callable[[Any, int], dict[str, Any]]
_Decode = Callable[[dict[str, Any], int], Any]
_CODECS: dict[type, tuple[str, _Encode, _Decode]] = {
    DialogState: ("DialogState", _dialog_state, _read_dialog_state),
    DialogInstance: ("DialogInstance", _dialog_instance, _read_dialog_instance),
    PromptOptions: ("PromptOptions", _prompt_options, _read_prompt_options),
}
_DECODERS: dict[str, _Decode] = {tag: decode for tag, _, decode in _CODECS.values()}
