"""Checks of an answer's citations against the documents it was given (the Citations API).

Pure functions over plain data: a response as the API sends it (its ``content`` blocks, each
text block with an optional ``citations`` list) and the documents, in request order.

What each location type lets us check, as the API documents them:

- ``char_location`` (plain text documents): ``start_char_index`` 0-based, ``end_char_index``
  exclusive; ``cited_text`` is exactly ``document[start:end]``. Compared exactly, with no
  whitespace normalisation: the API extracts the cited text from the document, it does not
  rewrite it.
- ``content_block_location`` (custom content documents): ``start_block_index`` 0-based,
  ``end_block_index`` exclusive and greater than the start; ``cited_text`` is the texts of
  ``content[start:end]`` joined together (the SDK's own docstring), compared exactly.
- ``page_location`` (PDFs): pages are 1-based, the end exclusive. The PDF's pages are not read
  here, so only the numbers' sanity is checked; given the PDF's text as a string, the cited
  text must also occur in it.

A document given as a string is plain text: a ``char_location`` is checked against its range,
any other location only for the cited text occurring in it. Web and search-result citations
point at no document and are not checked.

"Claim-bearing": a text block without citations is unsupported when one of its sentences
(split at ``.``, ``!``, ``?`` and line breaks) has at least ``min_words`` words and is not a
lead-in ending in ``:`` or ``,`` ("According to the policy:") nor a question. Joins such as
" and " or "." between cited blocks, and short lead-ins, are not claims.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from pytest_llmeval.assertions import LlmevalUsageError

#: Fewer words than this in a sentence make it connective text rather than a claim.
MIN_WORDS = 4
_SHOWN = 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")


class CitationInputError(LlmevalUsageError):
    """The response or the documents are not something citations can be checked against."""


@dataclass(frozen=True)
class Document:
    """One document of the request, as far as its text can be read here."""

    #: Its whole text: plain text, custom content joined, or the text a caller gave for a
    #: PDF; ``None`` when it cannot be read here (a PDF or a file given as a block).
    text: str | None
    #: The texts of a custom content document's blocks, in order; ``None`` for other kinds.
    blocks: tuple[str, ...] | None = None
    #: Its character offsets are the API's: a plain text document sent as such.
    plain: bool = False


def documents_of(documents: Any) -> list[Document]:
    """Strings (plain text, in request order), the request's document blocks, or a whole
    request body (its documents in message order)."""
    if isinstance(documents, Mapping) and "messages" in documents:
        documents = [
            block
            for message in documents["messages"]
            if isinstance(message, Mapping) and isinstance(message.get("content"), list)
            for block in message["content"]
            if isinstance(block, Mapping) and block.get("type") == "document"
        ]
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise CitationInputError(
            "documents must be a list of strings or of the request's document blocks, "
            f"not {type(documents).__name__}"
        )
    return [_document(item, index) for index, item in enumerate(documents)]


def _document(item: Any, index: int) -> Document:
    if isinstance(item, str):
        return Document(text=item, plain=True)
    source = item.get("source") if isinstance(item, Mapping) else None
    if not isinstance(source, Mapping):
        raise CitationInputError(
            f"documents[{index}] is a {type(item).__name__}: give a string or a document "
            'block ({"type": "document", "source": {...}})'
        )
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        return Document(text=source["data"], plain=True)
    if kind == "content":
        content = source.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        texts = tuple(
            str(block.get("text", "")) if isinstance(block, Mapping) else ""
            for block in content or ()
        )
        return Document(text="".join(texts), blocks=texts)
    return Document(text=None)  # base64 or URL PDFs, files: not readable here


def message_of(response_or_call: Any) -> Any:
    """The message to check: itself, or the response a ``Call`` of ``llmeval.calls`` holds."""
    from pytest_llmeval.traffic.calls import Call

    if not isinstance(response_or_call, Call):
        return response_or_call
    # A call of a running test holds its content; a finished test's result lets it go.
    response = None if response_or_call.content is None else response_or_call.content.response
    if response is None:
        raise CitationInputError(
            "this Call carries no response message (an error answer, or a call from a "
            "finished test's result): pass the anthropic Message the app received (or its dict)"
        )
    return response


def text_blocks(response: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """(text, citations) of each text block of a message: an SDK ``Message`` or its dict."""
    if hasattr(response, "model_dump"):
        response = response.model_dump(mode="json")
    content = response.get("content") if isinstance(response, Mapping) else None
    if not isinstance(content, list):
        raise CitationInputError(
            f"cannot read content blocks from a {type(response).__name__}: pass the "
            "anthropic Message (or its dict form) the app received"
        )
    blocks = []
    for block in content:
        if isinstance(block, Mapping) and block.get("type") == "text":
            cited = block.get("citations") or []
            blocks.append((str(block.get("text", "")), [dict(c) for c in cited]))
    return blocks


def unsupported_sentences(text: str, min_words: int = MIN_WORDS) -> list[str]:
    """The claim-bearing sentences of an uncited text block (see the module docstring)."""
    found = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence or sentence[-1] in ":,?":
            continue
        if len(_WORD.findall(sentence)) >= min_words:
            found.append(sentence)
    return found


def citation_problems(
    response: Any,
    documents: Any,
    *,
    must_cite: bool = True,
    min_words: int = MIN_WORDS,
    shown: Callable[[str], str] = lambda text: text,
) -> list[str]:
    """Every problem found, in block order, each a line or a few; ``[]`` when all hold.

    ``shown`` makes a response or document text safe to print (scrubbing); it is applied
    before shortening.
    """
    docs = documents_of(documents)
    problems: list[str] = []
    for number, (text, cited) in enumerate(text_blocks(message_of(response)), start=1):
        where = f"text block {number}"
        for citation in cited:
            problem = _citation_problem(citation, docs, shown)
            if problem is not None:
                problems.append(f"{where}: {problem}")
        if must_cite and not cited:
            problems += [
                f"{where} has no citation for: {_quote(sentence, shown)}"
                for sentence in unsupported_sentences(text, min_words)
            ]
    return problems


def _citation_problem(
    citation: Mapping[str, Any], docs: Sequence[Document], shown: Callable[[str], str]
) -> str | None:
    kind = citation.get("type")
    if kind not in ("char_location", "page_location", "content_block_location"):
        return None  # web and search-result citations point at no document of the request
    cited = citation.get("cited_text")
    index = citation.get("document_index")
    if not isinstance(cited, str) or not cited:
        return f"a {kind} citation with no cited_text"
    if not _is_int(index) or not 0 <= index < len(docs):
        return (
            f"cites document {index!r}, but {len(docs)} document(s) were given "
            f"(cited: {_quote(cited, shown)})"
        )
    doc = docs[index]
    if kind == "char_location":
        if doc.plain and doc.text is not None:
            return _range_problem(citation, doc.text, "start_char_index", "end_char_index", shown)
    elif kind == "content_block_location":
        if doc.blocks is not None:
            return _blocks_problem(citation, doc.blocks, shown)
    else:
        start, end = citation.get("start_page_number"), citation.get("end_page_number")
        if not (_is_int(start) and _is_int(end) and 1 <= start < end):
            return (
                f"document {index} pages {start!r}-{end!r} are not a page range (1-based, "
                f"end exclusive; cited: {_quote(cited, shown)})"
            )
    if doc.text is not None and cited not in doc.text:
        return f"document {index} does not contain the cited text {_quote(cited, shown)}"
    return None


def _range_problem(
    citation: Mapping[str, Any],
    text: str,
    start_key: str,
    end_key: str,
    shown: Callable[[str], str],
) -> str | None:
    index, cited = citation["document_index"], citation["cited_text"]
    start, end = citation.get(start_key), citation.get(end_key)
    label = f"document {index} chars {start!r}-{end!r}"
    if not (_is_int(start) and _is_int(end) and 0 <= start <= end <= len(text)):
        return f"{label} is outside the document ({len(text)} chars; cited: {_quote(cited, shown)})"
    held = text[start:end]
    if held == cited:
        return None
    return _mismatch(label, held, cited, text.find(cited), shown)


def _blocks_problem(
    citation: Mapping[str, Any], blocks: tuple[str, ...], shown: Callable[[str], str]
) -> str | None:
    index, cited = citation["document_index"], citation["cited_text"]
    start, end = citation.get("start_block_index"), citation.get("end_block_index")
    label = f"document {index} blocks {start!r}-{end!r}"
    if not (_is_int(start) and _is_int(end) and 0 <= start < end <= len(blocks)):
        return (
            f"{label} is not a block range of the document ({len(blocks)} blocks, end "
            f"exclusive; cited: {_quote(cited, shown)})"
        )
    held = "".join(blocks[start:end])
    if held == cited:
        return None
    return _mismatch(label, held, cited, "".join(blocks).find(cited), shown)


def _mismatch(label: str, held: str, cited: str, found: int, shown: Callable[[str], str]) -> str:
    elsewhere = (
        "the cited text is nowhere in the document"
        if found < 0
        else f"the cited text is in the document, but at char {found}"
    )
    return (
        f"{label} hold {_quote(held, shown)}, but the citation quotes "
        f"{_quote(cited, shown)} ({elsewhere})"
    )


def citation_failure(
    response: Any, documents: Any, must_cite: bool, min_words: int, shown: Callable[[str], str]
) -> str | None:
    """The failure message of :func:`citation_problems`; ``None`` when there are none."""
    problems = citation_problems(
        response, documents, must_cite=must_cite, min_words=min_words, shown=shown
    )
    return failure_message(problems, must_cite=must_cite, min_words=min_words) if problems else None


def failure_message(problems: Sequence[str], *, must_cite: bool, min_words: int) -> str:
    lines = [f"llmeval: {len(problems)} citation problem(s):", *(f"  {p}" for p in problems)]
    if must_cite and any(" has no citation for: " in p for p in problems):
        lines.append(
            f"(must_cite: a sentence of {min_words}+ words that is not a lead-in ending in ':' "
            "or ',' needs a citation in its text block; pass min_words= or must_cite=False "
            "to change that)"
        )
    return "\n".join(lines)


def _quote(text: str, shown: Callable[[str], str]) -> str:
    text = shown(text)
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    return repr(text)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
