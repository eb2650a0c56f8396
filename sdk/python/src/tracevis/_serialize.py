"""Turning arbitrary Python values into JSON object text, at hook time.

Producers mutate their state in place, so every value is encoded to JSON
*text* the moment it is recorded; the background worker only splices the
text into request bodies. The fast path is the C JSON encoder with a
``default`` hook (pydantic models, dataclasses, sets, dates, ...); anything
it cannot take (cycles, NaN, non-string keys, absurd nesting) goes through a
slower sanitising walk instead. Nothing here raises.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import marshal
import re
import uuid
from decimal import Decimal
from pathlib import PurePath
from typing import Any

#: Largest JSON text kept for one value (bytes; the output is ASCII).
MAX_VALUE_BYTES = 1_000_000
#: Deepest nesting kept for one value. The server rejects bodies nested deeper
#: than 128 levels, and a value sits about 4 levels into a request body.
MAX_DEPTH = 100
#: Longest repr() kept for an object JSON cannot represent.
MAX_REPR = 10_000

_encoder = json.JSONEncoder(
    ensure_ascii=True, allow_nan=False, check_circular=True, separators=(",", ":")
)


def _is_pydantic(obj: Any) -> bool:
    t = type(obj)
    return hasattr(t, "model_dump") and hasattr(t, "model_fields")


def _shallow_dataclass(obj: Any) -> dict:
    return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}


def _repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception as e:  # a broken __repr__ must not break recording
        text = f"<{type(obj).__name__} (repr failed: {type(e).__name__})>"
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR] + "...[truncated]"
    return text


def _default(obj: Any) -> Any:
    """The encoder's hook for values it does not know."""
    try:
        return _convert(obj)
    except Exception:
        return _repr(obj)


def _convert(obj: Any) -> Any:
    if _is_pydantic(obj):
        try:
            return obj.model_dump(mode="json")
        except Exception:
            return _repr(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _shallow_dataclass(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, _dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (uuid.UUID, Decimal, PurePath)):
        return str(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj[:MAX_REPR]).decode("utf-8", "replace")
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars
        try:
            return obj.tolist()
        except Exception:
            pass
    if hasattr(obj, "_asdict") and callable(obj._asdict):  # namedtuple-likes
        try:
            return dict(obj._asdict())
        except Exception:
            pass
    return _repr(obj)


# No circular check (it costs ~10%): a cycle ends in RecursionError, and the
# slow path below handles it.
_fast = json.JSONEncoder(
    ensure_ascii=True,
    allow_nan=False,
    check_circular=False,
    separators=(",", ":"),
    default=_default,
)


def _sanitize(obj: Any, depth: int, seen: set) -> Any:
    """The slow path: a plain-JSON copy with cycles, NaN, odd keys and depth handled."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return repr(obj)
        return obj
    if depth >= MAX_DEPTH:
        return "[max depth]"
    oid = id(obj)
    if oid in seen:
        return "[circular]"
    if isinstance(obj, dict):
        seen.add(oid)
        try:
            return {
                (k if isinstance(k, str) else str(k)): _sanitize(v, depth + 1, seen)
                for k, v in list(obj.items())
            }
        finally:
            seen.discard(oid)
    if isinstance(obj, list):
        seen.add(oid)
        try:
            return [_sanitize(v, depth + 1, seen) for v in list(obj)]
        finally:
            seen.discard(oid)
    try:
        converted = _default(obj)
    except Exception:
        converted = _repr(obj)
    if isinstance(converted, str):
        return converted
    seen.add(oid)
    try:
        return _sanitize(converted, depth, seen)
    finally:
        seen.discard(oid)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _too_deep(text: str) -> bool:
    # Cheap bound first: fewer brackets than the limit means shallow enough.
    if text.count("{") + text.count("[") < MAX_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for ch in brackets:
        if ch == "{" or ch == "[":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _to_object(value: Any) -> Any:
    """The value as something that encodes to a JSON object."""
    if isinstance(value, dict):
        return value
    if _is_pydantic(value):
        try:
            dumped = value.model_dump(mode="json")
        except Exception:
            return {"value": _repr(value)}
        return dumped if isinstance(dumped, dict) else {"value": dumped}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _shallow_dataclass(value)
    return {"value": value}


def _truncate(text: str) -> str:
    keep = MAX_VALUE_BYTES // 2
    return _encoder.encode(
        {
            "_tracevis_truncated": True,
            "original_bytes": len(text),
            "preview": text[:keep],
        }
    )


def to_json_object(value: Any) -> str:
    """JSON text of an object for ``value`` (non-objects wrapped as ``{"value": ...}``).

    Capped at about :data:`MAX_VALUE_BYTES`; never raises.
    """
    try:
        obj = _to_object(value)
        try:
            text = _fast.encode(obj)
            if _too_deep(text):
                raise ValueError("too deep")
        except (TypeError, ValueError, RecursionError, OverflowError):
            text = _encoder.encode(_sanitize(obj, 0, set()))
        if len(text) > MAX_VALUE_BYTES:
            text = _truncate(text)
        return text
    except Exception as e:  # last resort: never raise into user code
        try:
            return _encoder.encode({"value": _repr(value), "_tracevis_error": type(e).__name__})
        except Exception:
            return '{"_tracevis_error":"unserializable"}'


def to_json(value: Any) -> str:
    """JSON text for any value (not wrapped), same rules as :func:`to_json_object`."""
    try:
        return _fast.encode(value)
    except Exception:
        try:
            return _encoder.encode(_sanitize(value, 0, set()))
        except Exception:
            return "null"


def capture(value: Any) -> bytes | str:
    """An immutable copy of ``value`` as it is now, as cheaply as possible.

    Plain data (dicts, lists, str, numbers, ... of exact built-in types) is
    copied with ``marshal`` (several times faster than JSON encoding); the
    worker thread turns it into JSON later with :func:`materialize`. Anything
    else is encoded to JSON text right away. Never raises.
    """
    try:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return marshal.dumps(_shallow_dataclass(value))
        if _is_pydantic(value):
            dumped = value.model_dump(mode="json")
            return marshal.dumps(dumped if isinstance(dumped, dict) else {"value": dumped})
        return marshal.dumps(value)
    except Exception:
        return to_json_object(value)


def materialize(captured: bytes | str) -> str:
    """JSON object text for what :func:`capture` returned."""
    if isinstance(captured, str):
        return captured
    try:
        return to_json_object(marshal.loads(captured))
    except Exception:
        return '{"_tracevis_error":"unreadable capture"}'
