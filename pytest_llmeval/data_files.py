"""Reading a data file that arrives in a pull request: an eval set (``cases()``), a labels
file (``llmeval.calibrate``).

Such a file is input from a stranger. Each way it could hang a run, exhaust its memory, end in
a traceback or read a file outside the project is refused here with a ``DataFileError`` whose
message says what is wrong (never quoting the file's content), for the caller to name the file:

- something other than a regular file (a FIFO is waited on forever) or over ``MAX_BYTES``;
- a symbolic link (the file, or a directory on its way) to somewhere outside ``root``;
- JSON or YAML nested over ``MAX_DEPTH`` levels (a ``RecursionError``), an integer over
  Python's 4,300 digits (a ``ValueError`` from deep in the parser), YAML whose aliases would
  expand to over ``MAX_NODES`` values (a "billion laughs": kilobytes on disk, gigabytes once
  anything walks the value, as serialising it into a request does).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any


def text_lines(text: str) -> list[str]:
    """``text`` split at line ends only (``\\r\\n``, ``\\r``, ``\\n``), as JSON Lines and event
    streams are: ``str.splitlines`` also splits at U+2028, U+2029, U+0085 and the other
    separators JSON leaves unescaped inside a string, cutting a valid line in two."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


#: An eval set or labels file is kilobytes to a few megabytes; a file from a pull request can
#: be far bigger for nothing in git (100 MB of one repeated line packs to 100 kB).
MAX_BYTES = 64 * 1024 * 1024
#: A case nests a few levels; Python's parsers and constructors recurse per level.
MAX_DEPTH = 64
#: Values a YAML document may hold once its aliases are expanded.
MAX_NODES = 1_000_000


class DataFileError(ValueError):
    """A data file that cannot be used; the message says why, without quoting it."""


def read_text(path: Path, *, root: Path | None = None) -> str:
    """The UTF-8 text of ``path``; ``DataFileError`` if it is not a file fit to read.

    ``root``: a symbolic link on the way to the file may not lead outside it. A path written
    in code that leaves ``root`` without a link is taken as written: the code chose it.
    """
    written = os.path.normpath(os.path.abspath(path))
    real = os.path.realpath(written)
    if root is not None and real != written:
        top = os.path.realpath(root)
        if os.path.commonpath([top, real]) != top:
            raise DataFileError(
                f"a symbolic link to {real}, outside {top}: nothing outside the project is "
                "read through a link"
            )
    try:
        # Opened without blocking and then looked at: a FIFO put in place after a look at the
        # name would block the open itself.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DataFileError(str(exc.strerror or exc)) from None
    with os.fdopen(fd, "rb") as handle:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise DataFileError(
                "not a regular file (a FIFO or a device: its read could wait forever)"
            )
        if status.st_size > MAX_BYTES:
            raise DataFileError(f"{status.st_size:,} bytes, over the {MAX_BYTES:,} read")
        try:
            data = handle.read(MAX_BYTES + 1)  # it may have grown since the stat
        except OSError as exc:
            raise DataFileError(str(exc.strerror or exc)) from None
    if len(data) > MAX_BYTES:
        raise DataFileError(f"over the {MAX_BYTES:,} bytes read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"not UTF-8 text (byte {exc.start})") from None


def printable(text: str) -> str:
    """``text`` with every control character escaped: what a file from a pull request says
    (a cassette's header, a case's id, a reason quoting a value) must not drive the terminal
    (an escape code could hide or rewrite what is printed)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def quoted_safely(message: str) -> str:
    """A message quoting such a file, fit for a terminal: control characters as escapes,
    key-shaped strings redacted."""
    from pytest_llmeval.secret_scan import redact

    return redact(printable(message))


def json_value(text: str) -> Any:
    """One JSON value; ``json.JSONDecodeError`` for bad syntax, ``DataFileError`` for a value
    no parser should be asked to build."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise DataFileError(f"nested over {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer over 4,300 digits
        raise DataFileError(_number_problem(exc)) from None
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    # Without recursion: a value just under the parser's limit is a thousand levels deep.
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [
            item
            for parent in level
            if isinstance(parent, (dict, list))
            for item in (parent.values() if isinstance(parent, dict) else parent)
            if isinstance(item, (dict, list))
        ]
        if not level:
            return
    raise DataFileError(f"nested over {MAX_DEPTH} levels deep")


def _number_problem(exc: ValueError) -> str:
    text = str(exc)
    return "an integer over 4,300 digits" if "digits" in text else text[:200]


def yaml_document(text: str) -> tuple[Any, Any]:
    """The document's value and its root node (``None, None`` for an empty document);
    ``yaml.YAMLError`` for bad syntax, ``DataFileError`` for a document too deep, too big once
    its aliases are expanded, or holding an integer too long."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        try:
            root = loader.get_single_node()
        except RecursionError:  # the pure-Python composer recurses per level
            raise DataFileError(f"nested over {MAX_DEPTH} levels deep") from None
        if root is None:
            return None, None
        _check_nodes(root)
        try:
            return loader.construct_document(root), root
        except ValueError as exc:  # an integer over 4,300 digits
            raise DataFileError(_number_problem(exc)) from None
    finally:
        loader.dispose()


def _check_nodes(root: Any) -> None:
    """Height and expanded size of the node graph, each collection weighed once (an alias is
    the node it names, reached again): linear in the file, however large the expansion."""
    from yaml.nodes import MappingNode, ScalarNode

    def children(node: Any) -> list[Any]:
        if type(node) is MappingNode:
            return [part for pair in node.value for part in pair]
        return list(node.value)

    # Post-order without recursion: a collection is weighed once all its children are.
    done: dict[int, tuple[int, int]] = {}  # id -> (height, expanded size)
    opened: set[int] = set()
    stack: list[tuple[Any, list[Any] | None]] = [(root, None)]
    while stack:
        node, kids = stack.pop()
        key = id(node)
        if type(node) is ScalarNode or key in done:
            continue
        if kids is None:
            if key in opened:
                raise DataFileError("an alias inside the value it names (a recursive value)")
            opened.add(key)
            kids = children(node)
            stack.append((node, kids))
            stack.extend((kid, None) for kid in kids if type(kid) is not ScalarNode)
            continue
        height, size = 1, 1
        for kid in kids:
            kid_height, kid_size = done.get(id(kid), (1, 1))  # a scalar weighs (1, 1)
            height, size = max(height, kid_height + 1), size + kid_size
        if height > MAX_DEPTH:
            raise DataFileError(f"nested over {MAX_DEPTH} levels deep")
        if size > MAX_NODES:
            raise DataFileError(f"its aliases expand to over {MAX_NODES:,} values (an alias bomb?)")
        done[key] = (height, size)
