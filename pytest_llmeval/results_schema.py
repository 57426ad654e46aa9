"""The shipped ``report_schema.json`` and the check every run document passes through.

``conforms`` answers the common case (a valid document) in a few milliseconds; only a broken
document pays jsonschema for its messages. ``results.RunResult.from_json`` and
``TestResult.from_json`` check what they read here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any


def validate(document: Mapping[str, Any]) -> list[str]:
    """Every way the document breaks the shipped JSON Schema, as ``$.path: message``.

    A document that conforms is answered by ``conforms`` (a few ms for 500 tests); only a
    broken one pays jsonschema (~0.4 s for 500 tests) for its messages.
    """
    return _violations(dict(document), ())


def validate_test(test: Mapping[str, Any]) -> list[str]:
    """Every way one test entry breaks the schema's ``tests`` items (the xdist payload)."""
    return _violations(dict(test), ("properties", "tests", "items"))


def _violations(value: dict[str, Any], where: tuple[str, ...]) -> list[str]:
    schema = _schema()
    for key in where:
        schema = schema[key]
    if conforms(value, schema):
        return []
    errors = _validator(where).iter_errors(value)
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {e.message}" for e in ordered]


@functools.cache
def _schema() -> dict[str, Any]:
    import json
    from importlib import resources

    text = resources.files("pytest_llmeval").joinpath("report_schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


#: The JSON Schema keywords ``conforms`` interprets; the shipped schema uses only these (a test
#: checks), and any other keyword makes ``conforms`` defer to jsonschema.
CONFORMS_KEYWORDS = frozenset(
    {
        "$id",
        "$schema",
        "title",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minimum",
        "maximum",
        "minLength",
    }
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def conforms(value: Any, schema: Any) -> bool:
    """Whether ``value`` meets ``schema``, for the subset of JSON Schema the run schema uses.

    ``False`` also when the schema uses a keyword outside that subset: the caller then asks
    jsonschema, which is exact but about a hundred times slower on a large run.
    """
    if schema is True:
        return True
    if not isinstance(schema, dict) or not CONFORMS_KEYWORDS.issuperset(schema):
        return False
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES.get(name, lambda v: False)(value) for name in names):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "const" in schema and value != schema["const"]:
        return False
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        return False
    if isinstance(value, list) and "items" in schema:
        return all(conforms(item, schema["items"]) for item in value)
    if isinstance(value, dict):
        if any(name not in value for name in schema.get("required", ())):
            return False
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                if not conforms(item, properties[name]):
                    return False
            elif extra is False or (extra is not True and not conforms(item, extra)):
                return False
    return True


@functools.cache
def _validator(where: tuple[str, ...]) -> Any:
    """Compiled once per process: every broken history file a run reads is explained with it."""
    from jsonschema import validators

    root = _schema()
    cls = validators.validator_for(root)
    cls.check_schema(root)
    schema = root
    for key in where:
        schema = schema[key]
    return cls(schema)
