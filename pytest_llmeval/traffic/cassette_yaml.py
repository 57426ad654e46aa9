"""A cassette's YAML read fast, to exactly what ``yaml.load`` with the safe loader gives.

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

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_llmeval.traffic.cassette_lines import DECLINED, LOADER, read_lines

_Loader: Any = LOADER
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Shared(Exception):
    """A node appears twice in the tree: left to the safe constructor."""


def load_yaml(text: str) -> Any:
    """``yaml.load(text, Loader=CSafeLoader)``, faster for what cassettes hold."""
    document = read_lines(text)
    if document is not DECLINED:
        return document
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _value(node, loader, set())
        except _Shared:
            return loader.construct_document(node)
    finally:
        loader.dispose()


def _value(node: Node, loader: Any, seen: set[int]) -> Any:
    if isinstance(node, ScalarNode):
        return node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    if id(node) in seen:
        raise _Shared
    seen.add(id(node))
    if isinstance(node, SequenceNode) and node.tag == _SEQ:
        return [_value(item, loader, seen) for item in node.value]
    # Keys all plain strings: no merge key (``<<``), no other key type.
    if (
        isinstance(node, MappingNode)
        and node.tag == _MAP
        and all(key.tag == _STR for key, _ in node.value)
    ):
        return {key.value: _value(item, loader, seen) for key, item in node.value}
    return loader.construct_object(node, deep=True)
