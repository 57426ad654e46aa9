"""The shipped ``report_schema.json`` and the check every run document passes through.

``conforms`` answers the common case (a valid document) in a few milliseconds, with the schema
compiled once into one function per node; only a broken document pays jsonschema for its
messages. ``results.RunResult.from_json`` and
``TestResult.from_json`` check what they read here.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any


def validate(document: Mapping[str, Any]) -> list[str]:
    """Every way the document breaks the shipped JSON Schema, as ``$.path: message``.

    A document that conforms is answered by ``conforms`` (a few ms for 500 tests); only a
    broken one pays jsonschema (~0.4 s for 500 tests) for its messages. A document that
    conforms is then checked for verdicts that contradict themselves (``verdict_checks.py``).
    """
    from pytest_llmeval.verdict_checks import contradictions

    return _violations(dict(document), ()) or contradictions(document["tests"], "$.tests")


def validate_test(test: Mapping[str, Any]) -> list[str]:
    """Every way one test entry breaks the schema's ``tests`` items (the xdist payload)."""
    from pytest_llmeval.verdict_checks import contradictions

    return _violations(dict(test), ("properties", "tests", "items")) or contradictions([test], "")


def _violations(value: dict[str, Any], where: tuple[str, ...]) -> list[str]:
    if _check(where)(value):
        return []
    schema = _schema()
    for key in where:
        schema = schema[key]
    # jsonschema would walk an array of millions item by item before it got to its length.
    too_long = list(itertools.islice(_too_long(value, schema, "$"), _MOST_VIOLATIONS))
    if too_long:
        return too_long
    # A file from a pull request can hold a million wrong values: the first ones say enough.
    errors = itertools.islice(_validator(where).iter_errors(value), _MOST_VIOLATIONS)
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {_short(e.message)}" for e in ordered]


_MOST_VIOLATIONS = 100


def _too_long(value: Any, schema: Any, path: str) -> Iterator[str]:
    """``$.path: N items, over the M allowed`` for each array over its ``maxItems``, walking
    only where the schema says something (never into an array found too long)."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, list):
        most = schema.get("maxItems")
        if most is not None and len(value) > most:
            yield f"{path}: {len(value):,} items, over the {most:,} allowed"
            return
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                yield from _too_long(item, schema["items"], f"{path}[{index}]")
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = properties.get(name, extra)
            if isinstance(sub, dict) and isinstance(item, (list, dict)):
                yield from _too_long(item, sub, f"{path}.{name}")


def _short(message: str) -> str:
    """jsonschema quotes the whole wrong value: a 50 MB string would be a 50 MB warning."""
    return message if len(message) <= 300 else f"{message[:200]} ... {message[-80:]}"


@functools.cache
def _check(where: tuple[str, ...]) -> Check:
    schema = _schema()
    for key in where:
        schema = schema[key]
    return compile_check(schema)


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
        "minItems",
        "maxItems",
    }
)
Check = Callable[[Any], bool]
#: The Python types ``json.loads`` gives each JSON Schema type: the fast test is ``type(v) in``
#: these (no bool among the numbers); anything else, a subclass say, takes ``_is_a``.
_EXACT: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_a(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return name in _EXACT and isinstance(value, _EXACT[name])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _yes(value: Any) -> bool:
    return True


def _no(value: Any) -> bool:
    return False


def conforms(value: Any, schema: Any) -> bool:
    """Whether ``value`` meets ``schema``, for the subset of JSON Schema the run schema uses.

    ``False`` also when the schema uses a keyword outside that subset, or in a case this check
    does not settle (an integer written ``1.0``): the caller then asks jsonschema, which is
    exact but about a hundred times slower on a large run. ``True`` is always exact.
    """
    return compile_check(schema)(value)


def compile_check(schema: Any) -> Check:
    """``schema`` as one function per node, built once: a 500-test run is checked in a few ms
    instead of the tens a walk of the schema dict costs at every value."""
    if schema is True:
        return _yes
    if not isinstance(schema, dict) or not CONFORMS_KEYWORDS.issuperset(schema):
        return _no
    kinds = schema.get("type")
    array = _array_check(schema, strict=kinds == "array")
    obj = _object_check(schema, strict=kinds == "object")
    # A node that must be an array or an object checks that itself: one call per value, not two.
    typed = (kinds == "array" and array is not None) or (kinds == "object" and obj is not None)
    checks = [None if typed else _type_check(kinds), _value_check(schema), array, obj]
    return _all_of([check for check in checks if check is not None])


def _type_check(kinds: Any) -> Check | None:
    if kinds is None:
        return None
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    exact = frozenset(t for name in names for t in _EXACT.get(name, ()))
    return lambda v: type(v) in exact or any(_is_a(v, name) for name in names)


def _value_check(schema: dict[str, Any]) -> Check | None:
    """``enum``, ``const`` and the bounds of numbers and strings, in one function."""
    tests: list[Check] = []
    if "enum" in schema:
        allowed = schema["enum"]
        # bool == int in Python, not in JSON Schema: equal values must have the same type too.
        tests.append(lambda v: any(v == a and type(v) is type(a) for a in allowed))
    if "const" in schema:
        const = schema["const"]
        tests.append(lambda v: v == const and type(v) is type(const))
    if "minimum" in schema:
        low = schema["minimum"]
        tests.append(lambda v: not _is_number(v) or v >= low)
    if "maximum" in schema:
        high = schema["maximum"]
        tests.append(lambda v: not _is_number(v) or v <= high)
    if "minLength" in schema:
        shortest = schema["minLength"]
        tests.append(lambda v: not isinstance(v, str) or len(v) >= shortest)
    return _all_of(tests) if tests else None


def _array_check(schema: dict[str, Any], *, strict: bool) -> Check | None:
    """``minItems``, ``maxItems`` and ``items``; ``strict``: the value must be an array too."""
    items = _items_check(schema, strict=strict)
    if "maxItems" not in schema and "minItems" not in schema:
        return items
    least, most = schema.get("minItems", 0), schema.get("maxItems", math.inf)
    # The length first: an array of millions is refused before any of it is walked.
    if items is None:
        return lambda v: least <= len(v) <= most if isinstance(v, list) else not strict
    return lambda v: (least <= len(v) <= most and items(v)) if isinstance(v, list) else not strict


def _items_check(schema: dict[str, Any], *, strict: bool) -> Check | None:
    if "items" not in schema:
        return None
    item = compile_check(schema["items"])
    plain = _plain_types(schema["items"])
    if plain is not None:
        # Items that need only a type (numbers and nulls of drift's history): the types of the
        # whole array at C speed; only an array that fails that is checked item by item.
        return lambda v: (
            set(map(type, v)) <= plain or all(map(item, v)) if isinstance(v, list) else not strict
        )
    return lambda v: all(map(item, v)) if isinstance(v, list) else not strict


def _plain_types(schema: Any) -> frozenset[type] | None:
    """The exact Python types of a schema that says nothing but ``type``, else ``None``."""
    if not isinstance(schema, dict) or set(schema) != {"type"}:
        return None
    kinds = schema["type"]
    names = [kinds] if isinstance(kinds, str) else kinds
    if not all(name in _EXACT for name in names):
        return None
    return frozenset(t for name in names for t in _EXACT[name])


def _object_check(schema: dict[str, Any], *, strict: bool) -> Check | None:
    """``required``, ``properties``, ``additionalProperties``; ``strict``: the value must be an
    object too."""
    if not {"properties", "required", "additionalProperties"} & set(schema):
        return None
    required = frozenset(schema.get("required", ()))
    properties = {name: compile_check(sub) for name, sub in schema.get("properties", {}).items()}
    # Properties that are a type and maybe number bounds are settled inline, without a call
    # per value: they are most of a run document's values.
    leaves = {
        name: leaf
        for name, sub in schema.get("properties", {}).items()
        if (leaf := _leaf(sub)) is not None
    }
    extra_schema = schema.get("additionalProperties", True)
    extra = None if extra_schema is True else compile_check(extra_schema)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return not strict  # else these keywords say nothing of other types
        if not required.issubset(value):
            return False
        for name, item in value.items():
            leaf = leaves.get(name)
            if leaf is not None:
                kinds, low, high = leaf
                if type(item) in kinds and (low is None or item is None or low <= item <= high):
                    continue
            known = properties.get(name)
            if known is not None:
                if not known(item):
                    return False
            elif extra is not None and not extra(item):
                return False
        return True

    return check


_NUMBERS = frozenset({int, float, type(None)})


def _leaf(schema: Any) -> tuple[frozenset[type], float | None, float] | None:
    """The exact types and number bounds (``None`` for none) of a schema that says only those;
    ``None`` for any other schema."""
    if not isinstance(schema, dict) or not set(schema) <= {"type", "minimum", "maximum"}:
        return None
    kinds = _plain_types({"type": schema.get("type")})
    if kinds is None:
        return None
    if "minimum" not in schema and "maximum" not in schema:
        return kinds, None, 0.0
    if not kinds <= _NUMBERS:  # bounds compared with a string would raise
        return None
    return kinds, schema.get("minimum", -math.inf), schema.get("maximum", math.inf)


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return _yes
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:  # the common case (a type and one more check): no loop per value
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(check(v) for check in checks)


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
