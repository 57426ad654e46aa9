"""What a plain YAML scalar reads as under PyYAML's safe loader, without importing PyYAML.

Importing PyYAML costs a replay run more than reading 240 cassettes' worth of plain scalars
(~84M instructions): a replay that reads only the plugin's own cassettes need not pay it.
The resolver's table is data, YAML 1.1's expressions as PyYAML registers them, copied here
in PyYAML's order; a test holds the copy equal to PyYAML's. The values cassettes hold
(decimal integers, floats as the emitter writes them, ``null``, ``true``, ``false``) are
built here; any other number or spelling of one goes to PyYAML's own constructor, imported
then.
"""

from __future__ import annotations

import re
import sys
from typing import Any

_TAG = "tag:yaml.org,2002:"
STR = _TAG + "str"
#: The tags whose plain scalars the safe constructor turns into Python values the line reader
#: takes. A timestamp, merge key (``<<``) or ``=`` never comes from the writer unquoted.
BUILT = frozenset(_TAG + name for name in ("int", "float", "bool", "null"))

#: First character -> (tag, expression), in the order PyYAML tries them (resolver.py).
RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


def _add(tag: str, regexp: re.Pattern[str], first: list[str]) -> None:
    for char in first:
        RESOLVERS.setdefault(char, []).append((_TAG + tag, regexp))


_add(
    "bool",
    re.compile(
        r"""^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$""",
        re.X,
    ),
    list("yYnNtTfFoO"),
)
_add(
    "float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)
_add(
    "int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_add("merge", re.compile(r"^(?:<<)$"), ["<"])
_add(
    "null",
    re.compile(
        r"""^(?: ~
                    |null|Null|NULL
                    | )$""",
        re.X,
    ),
    ["~", "n", "N", ""],
)
_add(
    "timestamp",
    re.compile(
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        re.X,
    ),
    list("0123456789"),
)
_add("value", re.compile(r"^(?:=)$"), ["="])
_add("yaml", re.compile(r"^(?:!|&|\*)$"), list("!&*"))

#: A plain scalar starting with none of these is a string, whatever follows.
FIRSTS = frozenset(RESOLVERS)

# The shapes built here, each giving what PyYAML's constructor gives for it: a decimal integer
# without sign, underscores or leading zeros (``-0`` is 0 both ways), short enough for int();
# a float as PyYAML's representer writes one (``repr`` lowered, ``.0`` before a bare
# exponent); the lower-case words.
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})\.[0-9]{1,20}(?:e[-+][0-9]{1,3})?")
_WORDS: dict[str, Any] = {"null": None, "true": True, "false": False}
#: PyYAML's constructor of each type built here, which the loader must still have.
_BUILDERS = {name: f"construct_yaml_{name}" for name in ("int", "float", "bool", "null")}


def resolve(value: str) -> str:
    """The tag PyYAML's resolver gives ``value`` as a plain scalar."""
    for tag, regexp in RESOLVERS.get(value[:1], ()):
        if regexp.match(value):
            return tag
    return STR


def construct(tag: str, value: str) -> Any:
    """What the safe constructor makes of ``value`` resolved as ``tag`` (one of ``BUILT``);
    raises as it does (``int("")`` for ``0b_``)."""
    if tag == _TAG + "int" and _DECIMAL.fullmatch(value):
        return int(value)
    if tag == _TAG + "float" and _FLOAT.fullmatch(value):
        return float(value)
    if value in _WORDS and tag in (_TAG + "null", _TAG + "bool"):
        return _WORDS[value]
    from yaml.constructor import SafeConstructor
    from yaml.nodes import ScalarNode

    return SafeConstructor.yaml_constructors[tag](SafeConstructor(), ScalarNode(tag, value))


def loader_is_stock() -> bool:
    """PyYAML's safe loader resolves and builds plain scalars as this module does: nobody
    registered other resolvers or constructors on it. True while PyYAML is not imported (no
    one can have); checked against PyYAML's tables once it is."""
    if "yaml" not in sys.modules:
        return True
    import yaml
    from yaml.constructor import SafeConstructor

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if (
        loader.yaml_path_resolvers
        or loader.yaml_constructors is not SafeConstructor.yaml_constructors
    ):
        return False
    constructors = loader.yaml_constructors
    if any(
        constructors.get(_TAG + tag) is not getattr(SafeConstructor, name)
        for tag, name in _BUILDERS.items()
    ):
        return False
    return _same_table(loader.yaml_implicit_resolvers)


def _same_table(table: dict[Any, list[tuple[str, re.Pattern[str]]]]) -> bool:
    if table.keys() != RESOLVERS.keys():
        return False
    return all(
        len(theirs) == len(ours)
        and all(
            tag == our_tag and regexp.pattern == ours_re.pattern and regexp.flags == ours_re.flags
            for (tag, regexp), (our_tag, ours_re) in zip(theirs, ours, strict=True)
        )
        for theirs, ours in ((table[key], RESOLVERS[key]) for key in RESOLVERS)
    )
