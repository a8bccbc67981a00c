"""A realistic bilingual mailbox with planted personal data (tests/data/pii_dev, labelled by someone
who never saw the masking code) through both ways out: scan → summary, and `mailwarden mask`."""

from __future__ import annotations

import json
import re

import pytest

from tests.pii_mailbox import keep_lost, load_mailbox, mask_leaks, masked_texts, summary_leaks, summary_of

BOX = load_mailbox()

# The two first names of the dev mailbox that no structure around them gives away ("samples to
# Priya next week", "Vikram will carry them" at a sentence's start) and that the mail's own people
# do not name. The summary path masks them (it knows everyone the mailbox writes with); `mask FILE`
# knows only the file's own people.
KNOWN_MASK_MISSES = {("056-rajesh-in-ningbo.eml", "Vikram"), ("058-emily-summer.eml", "Priya")}


@pytest.fixture(scope="module")
def texts():
    return masked_texts(BOX)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    return summary_of(BOX, tmp_path_factory.mktemp("home"))


def test_the_mailbox_is_what_the_labels_say():
    assert len(BOX.mails) == len({p["file"] for p in BOX.planted}) >= 60
    assert {"name", "address", "bank-account", "resident-id", "passport", "wechat", "subject"} <= {
        p["kind"] for p in BOX.planted
    }


def test_the_summary_holds_none_of_the_planted_personal_data(summary):
    leaks = summary_leaks(BOX, summary)
    assert [(p["file"], p["kind"], p["text"]) for p in leaks.found] == []


def test_every_event_still_shows_its_phrase(summary, texts):
    from companion.parsing import parse_file

    subjects = [parse_file(path).subject for path in BOX.mails]  # a subject's match is shown alone
    bodies = [body for body, _ in texts.values()]
    everything = re.sub(r"[ \t]+", " ", "\n".join(subjects + bodies)).lower()
    events = summary["events"]
    assert len(events) >= 60
    for event in events:
        if event["quoted"]:
            assert event["snippet"] == ""  # someone else's words: the rule is enough
            continue
        marked = re.search(r"»(.+?)«", event["snippet"])
        assert marked, event
        phrase = marked.group(1)
        assert "[" not in phrase and phrase.lower() in everything, event  # readable, not masked
        assert len(event["snippet"]) <= 120
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00[+-]\d\d:\d\d", event["at"]), event["at"]


def test_no_context_sentence_subject_or_address_reaches_the_summary(summary, texts):
    text = json.dumps(summary, ensure_ascii=False)
    assert "@" not in text
    for flag in BOX.flags:
        # The flagged phrase with its whole sentence never travels: only a few words of its clause.
        body = texts[flag["file"]][0]
        for sentence in re.split(r"(?<=[.!?。！？])\s*|\n", body):
            if flag["text"] in sentence and len(sentence) > len(flag["text"]) + 60:
                assert sentence.strip() not in text


def test_mask_removes_the_planted_data_and_keeps_the_trade_words(texts):
    leaks = mask_leaks(BOX, texts)
    assert {(p["file"], p["text"]) for p in leaks.found} == KNOWN_MASK_MISSES
    assert sum(leaks.planted.values()) > 500  # the items that stand in bodies and attachments
    assert keep_lost(BOX, texts) == []
