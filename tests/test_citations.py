"""Citation checks: the pure rules (``citations.py``), then ``llmeval.assert_citations`` through the
real SDK against the stand-in, answering with messages shaped as the Citations API sends them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import KEY

from pytest_llmeval.citations import (
    CitationInputError,
    citation_problems,
    documents_of,
    unsupported_sentences,
)
from pytest_llmeval.secret_scan import redact

POLICY = (
    "Refunds are issued within 30 days of purchase. "
    "Opened software cannot be returned. "
    "Shipping costs are not refunded."
)
FAQ = "Store credit never expires. Gift cards cannot be refunded."


def char(cited: str, doc: int = 0, text: str = POLICY, start: int | None = None) -> dict[str, Any]:
    begin = text.index(cited) if start is None else start
    return {
        "type": "char_location",
        "cited_text": cited,
        "document_index": doc,
        "document_title": None,
        "start_char_index": begin,
        "end_char_index": begin + len(cited),
    }


def message(*blocks: tuple[str, list[dict[str, Any]] | None]) -> dict[str, Any]:
    """A message as the API sends it: uncited blocks carry ``"citations": null``."""
    return {
        "id": "msg_01citations",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": [{"type": "text", "text": text, "citations": cited} for text, cited in blocks],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 120, "output_tokens": 40},
    }


GOOD = message(
    ("According to the policy, ", None),
    ("refunds are issued within 30 days", [char("Refunds are issued within 30 days")]),
    (" and ", None),
    ("shipping is not refunded", [char("Shipping costs are not refunded.")]),
    (".", None),
)


# --- the rules --------------------------------------------------------------------------------


def test_quotes_that_match_their_ranges_pass():
    assert citation_problems(GOOD, [POLICY]) == []


def test_cited_text_not_in_its_range_names_document_range_held_and_cited():
    wrong = char("Opened software cannot be returned.")
    wrong["start_char_index"] += 3
    wrong["end_char_index"] += 3
    (problem,) = citation_problems(message(("Software is final sale.", [wrong])), [POLICY])
    assert problem == (
        "text block 1: document 0 chars 50-85 hold 'ned software cannot be returned. Sh', but "
        "the citation quotes 'Opened software cannot be returned.' (the cited text is in the "
        "document, but at char 47)"
    )


def test_a_quote_the_document_never_said_is_reported_as_nowhere():
    made_up = char("Refunds are issued within 90 days", start=0)
    (problem,) = citation_problems(message(("Refunds take 90 days.", [made_up])), [POLICY])
    assert "chars 0-33 hold 'Refunds are issued within 30 days'" in problem
    assert "quotes 'Refunds are issued within 90 days'" in problem
    assert problem.endswith("(the cited text is nowhere in the document)")


def test_document_index_selects_the_document():
    right = char("Store credit never expires.", doc=1, text=FAQ)
    assert citation_problems(message(("Credit lasts.", [right])), [POLICY, FAQ]) == []
    wrong_doc = {**right, "document_index": 0}
    (problem,) = citation_problems(message(("Credit lasts.", [wrong_doc])), [POLICY, FAQ])
    assert problem.startswith("text block 1: document 0 chars 0-27 hold 'Refunds are issued")
    (missing,) = citation_problems(message(("Credit lasts.", [right])), [POLICY])
    assert missing.startswith("text block 1: cites document 1, but 1 document(s) were given")


def test_a_range_outside_the_document():
    outside = {**char("Shipping costs are not refunded."), "end_char_index": 500}
    (problem,) = citation_problems(message(("No shipping refund.", [outside])), [POLICY])
    assert f"is outside the document ({len(POLICY)} chars" in problem


def test_whitespace_is_not_normalised():
    # The API extracts cited_text from the document: a different space is a different quote.
    doubled = {**char("Opened software cannot be returned."), "cited_text": "Opened  software"}
    doubled["end_char_index"] = doubled["start_char_index"] + len("Opened  software")
    assert citation_problems(message(("Final sale.", [doubled])), [POLICY]) != []


CONTENT_DOC = {
    "type": "document",
    "source": {
        "type": "content",
        "content": [
            {"type": "text", "text": "Refunds: 30 days."},
            {"type": "text", "text": "Software: final sale."},
            {"type": "text", "text": "Shipping: not refunded."},
        ],
    },
    "citations": {"enabled": True},
}


def blocks(cited: str, start: int, end: int) -> dict[str, Any]:
    return {
        "type": "content_block_location",
        "cited_text": cited,
        "document_index": 0,
        "document_title": None,
        "start_block_index": start,
        "end_block_index": end,
    }


def test_content_block_ranges_are_the_blocks_joined():
    good = blocks("Software: final sale.Shipping: not refunded.", 1, 3)
    assert citation_problems(message(("No returns.", [good])), [CONTENT_DOC]) == []
    shifted = blocks("Software: final sale.", 0, 1)
    (problem,) = citation_problems(message(("No returns.", [shifted])), [CONTENT_DOC])
    assert problem == (
        "text block 1: document 0 blocks 0-1 hold 'Refunds: 30 days.', but the citation quotes "
        "'Software: final sale.' (the cited text is in the document, but at char 17)"
    )
    (empty,) = citation_problems(message(("x", [blocks("Refunds: 30 days.", 1, 1)])), [CONTENT_DOC])
    assert "blocks 1-1 is not a block range of the document (3 blocks" in empty


def test_page_locations_check_page_numbers_and_the_text_when_given():
    page = {
        "type": "page_location",
        "cited_text": "Opened software cannot be returned.",
        "document_index": 0,
        "document_title": "policy.pdf",
        "start_page_number": 2,
        "end_page_number": 3,
    }
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf"}}
    # The PDF is not read: only the page numbers can be wrong.
    assert citation_problems(message(("Final sale.", [page])), [pdf]) == []
    zero = {**page, "start_page_number": 0, "end_page_number": 0}
    (problem,) = citation_problems(message(("Final sale.", [zero])), [pdf])
    assert "pages 0-0 are not a page range (1-based, end exclusive" in problem
    # Given the PDF's text, the quote must be in it.
    assert citation_problems(message(("Final sale.", [page])), [POLICY]) == []
    made_up = {**page, "cited_text": "Opened software can be returned."}
    (absent,) = citation_problems(message(("Returns ok.", [made_up])), [POLICY])
    assert absent == (
        "text block 1: document 0 does not contain the cited text "
        "'Opened software can be returned.'"
    )


def test_web_search_citations_are_not_document_citations():
    web = {"type": "web_search_result_location", "cited_text": "x", "url": "https://e.example"}
    assert citation_problems(message(("Found on the web today.", [web])), []) == []


def test_uncited_claims_are_named_and_lead_ins_are_not():
    answer = message(
        ("Based on the policy you shared:", None),
        ("Refunds are issued within 30 days.", [char("Refunds are issued within 30 days")]),
        (" Also, shipping is always free for members.", None),
        ("Anything else?", None),
    )
    assert citation_problems(answer, [POLICY]) == [
        "text block 3 has no citation for: 'Also, shipping is always free for members.'"
    ]
    assert citation_problems(answer, [POLICY], must_cite=False) == []


def test_claim_bearing_means_a_sentence_of_min_words():
    assert unsupported_sentences("The grass is green.") == ["The grass is green."]
    assert unsupported_sentences("Grass is green.") == []
    assert unsupported_sentences("Grass is green.", min_words=3) == ["Grass is green."]
    assert unsupported_sentences("According to the refund policy:\nIt is fine.") == []
    assert unsupported_sentences("Which of these options applies to you?") == []
    assert unsupported_sentences("Here it is. Refunds take thirty days here!") == [
        "Refunds take thirty days here!"
    ]


def test_documents_from_a_request_body_in_message_order():
    body = {
        "messages": [
            {"role": "user", "content": [CONTENT_DOC, {"type": "text", "text": "Q?"}]},
            {"role": "assistant", "content": "A."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": POLICY},
                    }
                ],
            },
        ]
    }
    docs = documents_of(body)
    assert [d.blocks is not None for d in docs] == [True, False]
    assert docs[1].text == POLICY and docs[1].plain


def test_bad_inputs_are_usage_errors():
    with pytest.raises(CitationInputError, match="list of strings"):
        documents_of(POLICY)
    with pytest.raises(CitationInputError, match=r"documents\[0\] is a int"):
        documents_of([3])
    with pytest.raises(CitationInputError, match="cannot read content blocks from a str"):
        citation_problems("just text", [POLICY])


def test_failure_text_is_redacted_and_shortened():
    secret = KEY
    leaked = char(f"key {secret}", text=f"key {secret} " + "x" * 300, start=0)
    leaked["end_char_index"] += 1
    (problem,) = citation_problems(
        message(("Key.", [leaked])), [f"key {secret} " + "x" * 300], shown=redact
    )
    assert secret not in problem
    assert "<Anthropic API key sk-ant…>" in problem
    long_claim = "Refunds " + "are really quite generous " * 20 + "today."
    (claim,) = citation_problems(message((long_claim, None)), [POLICY])
    assert claim.endswith("...'") and len(claim) < 220


# --- through the SDK and the plugin -----------------------------------------------------------

APP = """
import anthropic, pytest

POLICY = {policy!r}

@pytest.mark.llm
def test_answer_is_grounded(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=300,
        messages=[{{"role": "user", "content": [
            {{"type": "document", "source": {{"type": "text", "media_type": "text/plain",
              "data": POLICY}}, "title": "Returns policy", "citations": {{"enabled": True}}}},
            {{"type": "text", "text": "Can I get my shipping refunded?"}},
        ]}}],
    )
    print("CITED", [len(b.citations or []) for b in reply.content])
    llmeval.assert_citations({target}, {documents})
"""


def _run(pytester, online, answer, documents="[POLICY]", target="reply"):
    from pytest_llmeval.testing import Raw

    online.queue(Raw(status=200, body=json.dumps(answer).encode()))
    pytester.makepyfile(test_app=APP.format(policy=POLICY, documents=documents, target=target))
    return pytester.runpytest("-p", "no:cacheprovider", "-s")


def test_grounded_answer_passes_through_the_sdk(pytester, online):
    result = _run(pytester, online, GOOD)
    result.assert_outcomes(passed=1)
    assert "CITED [0, 1, 0, 1, 0]" in result.stdout.str()
    sent = online.requests[0].json()["messages"][0]["content"][0]
    assert sent["citations"] == {"enabled": True}


def test_request_document_blocks_can_be_given(pytester, online):
    documents = '[{"type": "document", "source": {"type": "text", "data": POLICY}}]'
    _run(pytester, online, GOOD, documents).assert_outcomes(passed=1)


def test_a_call_is_checked_by_its_response_content(pytester, online):
    _run(pytester, online, GOOD, target="llmeval.calls[0]").assert_outcomes(passed=1)


def test_a_calls_made_up_quote_fails(pytester, online):
    made_up = char("Refunds are issued within 90 days", start=0)
    bad = message(("Refunds take 90 days.", [made_up]))
    result = _run(pytester, online, bad, target="llmeval.calls[0]")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the cited text is nowhere in the document*"])


def test_misquoted_and_unsupported_answer_fails_naming_both(pytester, online):
    misquote = char("Shipping costs are refunded.", start=POLICY.index("Shipping"))
    answer = message(
        ("Shipping is refunded", [misquote]),
        (". Store credit is also offered on every order.", None),
    )
    result = _run(pytester, online, answer)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: llmeval: 2 citation problem(s):",
            "E*text block 1: document 0 chars 83-111 hold 'Shipping costs are not refun', but "
            "the citation quotes 'Shipping costs are refunded.' (the cited text is nowhere in "
            "the document)",
            "E*text block 2 has no citation for: 'Store credit is also offered on every order.'",
            "E*(must_cite: a sentence of 4+ words*",
        ]
    )
