"""Number masking, the pure part (pbxd/services/masking.py): no database."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbxd.services import Masker, mask_number
from pbxd.services.masking import PLACEHOLDER

OWN = frozenset({"1001", "600", "88886666"})


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13812345678", "138****5678"),  # the example shape: 3 + stars + 4
        ("1234568910", "123***8910"),
        ("12345678", "123*5678"),  # 8 characters: still 3 and 4
        ("6543210", "65***10"),  # 7 or fewer: 2 and 2
        ("123456", "12**56"),
        ("12345", "12*45"),
        ("1234", "****"),  # 4 or fewer: all stars
        ("123", "***"),
        ("+8613812345678", "+861******5678"),  # the + kept and not counted
        ("+6543210", "+65***10"),
        ("+1234", "+****"),
    ],
)
def test_partial_keeps_the_first_and_last_digits(number: str, masked: str) -> None:
    assert mask_number(number, "partial") == masked


def test_all_and_name_only() -> None:
    assert mask_number("13812345678", "all") == "13812345678"
    assert mask_number("13812345678", "name_only", name="张三") == "张三"
    assert mask_number("13812345678", "name_only") == PLACEHOLDER == "****"
    assert mask_number("13812345678", "name_only", name="") == "****"
    with pytest.raises(ValueError):
        mask_number("13812345678", "most")


@given(st.from_regex(r"\+?[0-9]{8,32}", fullmatch=True))
def test_partial_shows_seven_digits_at_most_of_a_long_number(number: str) -> None:
    masked = mask_number(number, "partial")
    assert len(masked) == len(number)
    assert len(re.findall(r"[0-9]", masked)) == 7
    assert masked.endswith(number[-4:]) and masked.lstrip("+")[:3] == number.lstrip("+")[:3]


@given(st.from_regex(r"\+?[0-9]{0,7}", fullmatch=True))
def test_partial_shows_four_digits_at_most_of_a_short_number(number: str) -> None:
    masked = mask_number(number, "partial")
    assert len(masked) == len(number)
    assert len(re.findall(r"[0-9]", masked)) <= 4


class Lookup:
    """The directory's name_for, counting its questions."""

    def __init__(self, names: dict[str, str]):
        self.names = names
        self.asked: list[str] = []

    def __call__(self, number: str) -> str | None:
        self.asked.append(number)
        return self.names.get(number)


def test_masker_masks_customer_numbers_only() -> None:
    masker = Masker("partial", OWN)
    assert masker.hides
    assert masker.number("13812345678") == "138****5678"
    # Ours: extensions, queues, DIDs; feature codes; values without digits; None.
    for value in ("1001", "600", "88886666", "*45", "anonymous", ""):
        assert masker.number(value) == value
    assert masker.number(None) is None
    assert not Masker("all", OWN).hides
    assert Masker("all", OWN).number("13812345678") == "13812345678"


def test_name_only_asks_the_directory_once_per_number() -> None:
    lookup = Lookup({"13812345678": "张三"})
    masker = Masker("name_only", OWN, lookup)
    assert masker.number("13812345678") == "张三"
    assert masker.number("13812345678") == "张三"
    assert masker.number("13900000000") == "****"
    assert masker.number("1001") == "1001"
    assert lookup.asked == ["13812345678", "13900000000"]
    # Where the name is shown beside the number, the number is only the placeholder.
    assert masker.number("13812345678", with_name=False) == "****"
    # partial never asks.
    partial_lookup = Lookup({})
    Masker("partial", OWN, partial_lookup).number("13812345678")
    assert partial_lookup.asked == []


def test_numbers_in_text_prefixes_and_file_names() -> None:
    masker = Masker("partial", OWN, Lookup({"13812345678": "张三"}))
    note = "回访 13812345678, 工单 123456, 分机 1001, +8613900001111"
    assert masker.text(note) == "回访 138****5678, 工单 123456, 分机 1001, +861******1111"
    assert Masker("all").text(note) == note
    assert Masker("name_only", OWN, Lookup({"13812345678": "张三"})).text(note) == (
        "回访 张三, 工单 123456, 分机 1001, ****"
    )
    assert masker.pattern("13812345678") == "138****5678"
    assert masker.pattern("400*") == "***" + "*"
    assert masker.pattern("1381234*") == "13***34*"
    assert masker.file_part("13812345678") == "138xxxx5678"
    assert masker.file_part("600") == "600"
