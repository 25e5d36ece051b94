"""Structured output: parse a model's JSON and validate it against the JSON schema asked for,
because a grammar does not check everything (enums over HTTP, lengths, required)."""

from __future__ import annotations

import json
import math
from typing import Any

from mirix_app.agent.models.types import (
    StructuredOutputError,
)


def parse_structured(raw: str, schema: dict[str, Any]) -> Any:
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("\n") + 1 :] if "\n" in text else text
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start > 0:
        text = text[start:]
    try:
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as e:
        raise StructuredOutputError(f"not valid JSON: {e.msg} at {e.pos}", raw) from None
    except RecursionError:
        raise StructuredOutputError("not valid JSON: nested too deeply", raw) from None
    except ValueError as e:  # a number with thousands of digits
        raise StructuredOutputError(f"not valid JSON: {str(e)[:80]}", raw) from None
    problems = validate(value, schema)
    if problems:
        raise StructuredOutputError("does not fit the schema: " + "; ".join(problems[:5]), raw)
    return value


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, (object,)))


def _storable(text: str) -> bool:
    """Text the memory store can hold: encodable as UTF-8 (no lone surrogate, which a JSON escape
    like \\ud800 or a broken decoder yields) and without NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Problems with `value` against a small JSON-schema subset ([] = valid)."""
    problems: list[str] = []
    if "anyOf" in schema:
        if all(validate(value, s, path) for s in schema["anyOf"]):
            problems.append(f"{path}: matches no alternative")
        return problems
    kind = schema.get("type")
    if kind:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            return [f"{path}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {str(value)[:30]!r} not one of {schema['enum'][:8]}")
    if isinstance(value, str):
        if not _storable(value):
            problems.append(f"{path}: not valid UTF-8 text (a lone surrogate or a NUL)")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{path}: longer than {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{path}: {value} is not a number")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: above {schema['maximum']}")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{path}: more than {schema['maxItems']} items")
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        items = schema.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(value):
                problems.extend(validate(v, items, f"{path}[{i}]"))
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{path}: missing {key}")
        for key, v in value.items():
            if key in props:
                problems.extend(validate(v, props[key], f"{path}.{key}"))
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}: unexpected {key}")
    return problems
