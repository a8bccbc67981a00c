"""The normaliser's two views and the offset map back to the original text."""

from __future__ import annotations

import pytest

from companion.policy import normalize as nz


@pytest.mark.parametrize(
    "text,compact",
    [
        ("Ｌｏｗｅｓｔ　Ｐｒｉｃｅ", "lowestprice"),
        ("最 低 價", "最低价"),
        ("銀行帳戶", "银行账户"),
        ("lоwеst", "lowest"),  # Cyrillic
        ("l0west", "lowest"),
        ("1ifetime", "lifetime"),
        ("a\u200bb\u200cc\u200dd\ufeffe", "abcde"),
        ("e\u0301te", "ete"),  # combining marks dropped
        ("ﬁne", "fine"),  # ligature
    ],
)
def test_compact_view(text, compact):
    assert nz.compact(text) == compact


def test_digits_outside_words_stay_digits():
    assert nz.regex_view("PO 1010, 15 %") == "po 1010, 15 %"
    assert nz.regex_view("１５％ below") == "15% below"


def test_regex_view_keeps_punctuation_and_turns_spaces_into_spaces():
    assert nz.regex_view("A\u3000B\tC-D\u200bE") == "a b c-de"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("前文 ＬＯＷＥＳＴ　ＰＲＩＣＥ 后文", "lowestprice"),
        ("xx … ﬁne print … yy", "fineprint"),
        ("起\u200b最\u200b低\u200b价止", "最低价"),
    ],
)
def test_offset_map_points_back_to_the_original(text, needle):
    view = nz.compact_view(text)
    i = view.value.index(needle)
    start, end = view.original(i, i + len(needle))
    assert nz.compact(text[start:end]) == needle
    # the range is tight: no separator at either edge
    assert nz.compact(text[start]) and nz.compact(text[end - 1])


def test_word_boundaries_look_through_zero_width_characters():
    text = "x\u200blowest"
    assert nz.word_boundary_before(text, 2) is False
    assert nz.word_boundary_before("最lowest", 1) is True
    assert nz.word_boundary_after("lowest—", 6) is True


def test_offsets_across_chunks_of_a_long_text():
    filler = "普通的句子，没有风险。 Nothing to see, really! " * 400  # well over one chunk
    text = filler + "最\u200b低 價" + filler + "ＬＯＷＥＳＴ price"
    view = nz.compact_view(text)
    first = view.value.index("最低价")
    last = view.value.index("lowestprice")
    assert text[slice(*view.original(first, first + 3))] == "最\u200b低 價"
    assert text[slice(*view.original(last, last + 11))] == "ＬＯＷＥＳＴ price"
    # the view is the concatenation of the per-character views
    assert view.value == "".join(nz.compact(ch) for ch in text)


def test_shipped_t2s_table_is_what_opencc_says():
    import importlib.util
    import sys

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("make_t2s_table", REPO / "scripts" / "make_t2s_table.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_t2s_table"] = module
    spec.loader.exec_module(module)
    assert nz.t2s_table() == module.opencc_table()
