"""Quoted-text detection: exact spans for every form, and speed."""

from __future__ import annotations

import pytest

from companion.message import Span
from companion.parsing import find_quoted_spans


def spans(text: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in find_quoted_spans(text)]


def test_no_quotes() -> None:
    assert spans("") == []
    assert spans("Hello,\nplease see the prices.\nThanks") == []


def test_returns_span_objects() -> None:
    assert find_quoted_spans("a\n> b") == (Span(2, 5),)


def test_quote_lines_merge_and_include_their_line_break() -> None:
    text = "Hi\n> a\n> b\nreply\n  >> c\n"
    #       0123 4567 8901 234567 8901234
    assert spans(text) == [(3, 11), (17, 24)]
    assert text[3:11] == "> a\n> b\n"
    assert text[17:24] == "  >> c\n"


def test_quote_line_at_start_and_at_end_without_newline() -> None:
    assert spans("> first\nmid\n> last") == [(0, 8), (12, 18)]


def test_blank_line_splits_quote_runs() -> None:
    assert spans(">\n>\n\n> c\n") == [(0, 4), (5, 9)]


def test_greater_than_inside_a_line_is_not_a_quote() -> None:
    assert spans("price -> 5\nx > y\n") == []


@pytest.mark.parametrize(
    "marker",
    [
        "-----Original Message-----",
        "----- original message -----",
        "--Original Message--",
        "---------- Forwarded message ---------",
        "-------- Original Message --------",
        "------------------ 原始邮件 ------------------",
        "-----原始邮件-----",
        "Begin forwarded message:",
    ],
)
def test_separator_lines_quote_to_the_end(marker: str) -> None:
    text = f"My reply.\n\n{marker}\nFrom: someone\nold text"
    assert spans(text) == [(11, len(text))]


def test_single_dash_is_not_a_separator() -> None:
    assert spans("a\n-Original Message-\nb") == []


def test_on_wrote_single_line() -> None:
    text = "Thanks!\nOn Mon, 1 Jan 2024, Bob <b@x.com> wrote:\nold"
    assert spans(text) == [(8, len(text))]


def test_on_wrote_wrapped_gmail_style() -> None:
    text = "Thanks!\r\n\r\nOn Mon, 1 Jan 2024 at 10:00, Bob <b@x.com>\r\nwrote:\r\n> old\r\n"
    assert spans(text) == [(11, len(text))]


def test_on_line_without_wrote_is_not_a_marker() -> None:
    assert spans("On Monday we ship.\nThe forwarder wrote it down.\n") == []
    assert spans("On Monday we ship.\nWe wrote: nothing\n") == []


def test_chinese_wrote_line() -> None:
    text = "好的。\n在 2024年1月1日 上午10:00，张三 <z@x.cn> 写道：\n> 请报价"
    assert spans(text) == [(4, len(text))]


def test_traditional_chinese_wrote_line() -> None:
    text = "好的。\n在 2024年1月1日，張三 寫道:\n舊文"
    assert spans(text) == [(4, len(text))]


def test_outlook_header_block() -> None:
    text = "See below.\n\nFrom: Bob <b@x.com>\nSent: Monday, January 1, 2024 10:00 AM\nTo: Alice\nold"
    assert spans(text) == [(12, len(text))]


def test_outlook_header_block_bold_and_underscored() -> None:
    text = "ok\n________________________________\n*From:* Bob\n*Sent:* Monday\n*To:* x\nold"
    start = text.index("*From:*")
    assert spans(text) == [(start, len(text))]


def test_outlook_header_block_date_within_four_lines() -> None:
    text = "ok\nFrom: Bob\nTo: x\nCc: y\nSubject: z\nDate: Mon\nold"
    assert spans(text) == [(3, len(text))]


def test_outlook_header_block_date_too_far_is_not_a_marker() -> None:
    assert spans("ok\nFrom: Bob\nTo: x\nCc: y\nSubject: z\nThen\nDate: Mon\n") == []


def test_from_line_alone_is_not_a_marker() -> None:
    assert spans("From: the factory in Ningbo\nwe ship next week\n") == []


@pytest.mark.parametrize("colon", [":", "："])
def test_chinese_outlook_header_block(colon: str) -> None:
    text = f"收到\n发件人{colon} 张三\n收件人: 李四\n发送时间{colon} 2024年1月1日 10:00\n主题: 报价\n旧内容"
    assert spans(text) == [(3, len(text))]


def test_chinese_header_block_with_date_label() -> None:
    text = "收到\n发件人： 张三\n日期： 2024年1月1日\n旧内容"
    assert spans(text) == [(3, len(text))]


def test_quote_lines_before_a_marker_are_kept_and_merged() -> None:
    text = "a\n> q1\nb\n> q2\n-----Original Message-----\nold"
    assert spans(text) == [(2, 7), (9, len(text))]


def test_earliest_marker_wins() -> None:
    text = "top\nFrom: A\nSent: B\nmiddle\n-----Original Message-----\nend"
    assert spans(text) == [(4, len(text))]


def test_marker_on_first_line() -> None:
    text = "-----Original Message-----\nFrom: x"
    assert spans(text) == [(0, len(text))]


def test_no_marker_is_found_in_adversarial_lines() -> None:
    # Many lines that start like markers but never finish one (their cost: benchmarks/bench_quoted.py).
    assert spans(ADVERSARIAL) == []


ADVERSARIAL = ("On the other hand this line starts with On and goes on " * 4 + "\n") * 90
ADVERSARIAL += ("From: x\n" + "line\n" * 5) * 50 + ("------ not a separator\n" * 100)
