"""A cassette's YAML through libyaml: written, and read back when the line reader declines.

Reading gives exactly what ``yaml.load`` with the safe loader gives.

The plugin's own layout is read line by line (``cassette_lines``), building no nodes at
all. Any other text (hand-edited, another tool's, hostile) is composed by libyaml here.
PyYAML's C loader parses in C but builds every value through Python's ``SafeConstructor``,
node by node: that was most of loading a cassette. A cassette is maps, lists and strings,
so the node tree is walked here for those, and every other node (numbers, booleans, binary
bodies, merge keys, any other tag) goes to the safe constructor as before. A node reached
twice (an anchor and its aliases) makes the whole document go the safe constructor's way:
it builds a shared value once, where a plain walk would expand it at every alias.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAMLError = yaml.YAMLError
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


#: A cassette nests a few levels; libyaml allows a thousand, and walking that deep in Python
#: (here, or in the safe constructor) would end in a RecursionError rather than a message.
MAX_DEPTH = 64


class _Shared(Exception):
    """A node appears twice in the tree: left to the safe constructor."""


class TooDeep(yaml.YAMLError):
    """Collections nested deeper than any cassette: a hostile file, not a recording."""

    def __init__(self) -> None:
        super().__init__(f"collections nested more than {MAX_DEPTH} levels deep")


def libyaml_load(text: str) -> Any:
    """``yaml.load(text, Loader=CSafeLoader)`` by libyaml alone: for what the line reader
    (``cassette_lines.load_yaml``) declines."""
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _value(node, loader, set(), 0)
        except _Shared:
            return loader.construct_document(node)
    finally:
        loader.dispose()


def _value(node: Node, loader: Any, seen: set[int], depth: int) -> Any:
    if isinstance(node, ScalarNode):
        return node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    if id(node) in seen:
        raise _Shared
    seen.add(id(node))
    if depth > MAX_DEPTH:
        raise TooDeep
    if isinstance(node, SequenceNode) and node.tag == _SEQ:
        return [_value(item, loader, seen, depth + 1) for item in node.value]
    # Keys all plain strings: no merge key (``<<``), no other key type.
    if (
        isinstance(node, MappingNode)
        and node.tag == _MAP
        and all(key.tag == _STR for key, _ in node.value)
    ):
        return {key.value: _value(item, loader, seen, depth + 1) for key, item in node.value}
    return loader.construct_object(node, deep=True)


# --- writing ------------------------------------------------------------------------------

# libyaml emits in C; the pure-Python emitter takes over a minute for a 50 MB body.
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    pass


def _str_representer(dumper: Any, value: str) -> yaml.ScalarNode:
    # A literal block keeps a body readable line by line; the emitter falls back to a quoted
    # scalar by itself where a literal block could not hold the text exactly.
    style = "|" if "\n" in value else None
    node: yaml.ScalarNode = dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return node


_Dumper.add_representer(str, _str_representer)


def dump_yaml(document: dict[str, Any]) -> str:
    """``document`` as block-style YAML, keys in their order, text unescaped, lines unwrapped."""
    text: str = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000
    )
    return text
