"""Number masking (号码隐藏, issue 6): how much of a customer's number a user is shown.

Pure: no database, no web, no clock. `mask_number` hides one number by a masking mode. A
`Masker` is built per request from the user's mode, the numbers that are ours (extensions,
queues, ring groups, conference rooms, IVRs, inbound-route DIDs: never masked, agents must
see them) and a name lookup (the customer directory); it decides which values are customer
numbers and masks those. The web layer passes every number it answers with through it.

Modes (`Masking`):

- all: the number as it is.
- partial: the first 3 and the last 4 digits, stars between ("13812345678" -> "138****5678");
  a number of 5 to 7 characters keeps its first 2 and last 2 ("6543210" -> "65***10"); 4 or
  fewer characters are all stars. A leading "+" is kept and not counted.
- name_only: the customer's name when the directory knows the number, else PLACEHOLDER.

A value without any digit ("anonymous", "") reveals nothing and is left as it is; so is a
feature code ("*45").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from .users import Masking

PLACEHOLDER = "****"  # name_only, for a number the directory does not know
# Runs of digits in free text (notes) that are masked like numbers: phone-number length.
_NUMBER_IN_TEXT = re.compile(r"(?<![0-9+])\+?[0-9]{7,}(?![0-9])")
_DIGIT = re.compile(r"[0-9]")

NameLookup = Callable[[str], str | None]


def mask_number(number: str, mode: Masking | str, *, name: str | None = None) -> str:
    """`number` as a user with masking `mode` may see it; `name`: the customer's, if known."""
    mode = Masking(mode)
    if mode is Masking.ALL:
        return number
    if mode is Masking.NAME_ONLY:
        return name if name else PLACEHOLDER
    return _partial(number)


def _partial(number: str) -> str:
    sign, digits = ("+", number[1:]) if number.startswith("+") else ("", number)
    length = len(digits)
    if length <= 4:
        return sign + "*" * length
    head, tail = (2, 2) if length <= 7 else (3, 4)
    return sign + digits[:head] + "*" * (length - head - tail) + digits[-tail:]


class Masker:
    """Masks the customer numbers of one response for one user.

    `own_numbers`: the numbers that are never masked (our dial plan and DIDs); `names`: the
    customer directory's lookup, asked once per distinct number (name_only only).
    """

    def __init__(
        self,
        mode: Masking | str,
        own_numbers: Collection[str] = frozenset(),
        names: NameLookup | None = None,
    ):
        self.mode = Masking(mode)
        self._own = frozenset(own_numbers)
        self._names = names
        self._named: dict[str, str] = {}
        self._unnamed: dict[str, str] = {}

    @property
    def hides(self) -> bool:
        """Whether this user sees anything masked at all."""
        return self.mode is not Masking.ALL

    def is_customer(self, value: str) -> bool:
        """A number that is not ours: it has a digit, is no number of our dial plan or DID,
        and no feature code."""
        return bool(_DIGIT.search(value)) and value not in self._own and not value.startswith("*")

    def number(self, value: str | None, *, with_name: bool = True) -> str | None:
        """`value` masked when it is a customer number. `with_name` False: name_only shows
        PLACEHOLDER, never the name (where the name is shown next to it anyway)."""
        if value is None or not self.hides or not self.is_customer(value):
            return value
        memo = self._named if with_name else self._unnamed
        masked = memo.get(value)
        if masked is None:
            name = None
            if with_name and self.mode is Masking.NAME_ONLY and self._names is not None:
                name = self._names(value)
            masked = memo[value] = mask_number(value, self.mode, name=name)
        return masked

    def pattern(self, value: str) -> str:
        """A number or a prefix ending in "*" ("400*"): the digits masked, the star kept."""
        if value.endswith("*") and len(value) > 1:
            return (self.number(value[:-1], with_name=False) or "") + "*"
        return self.number(value) or ""

    def text(self, value: str | None) -> str | None:
        """Free text (a note) with every phone-number-like run of 7 or more digits masked."""
        if value is None or not self.hides:
            return value
        return _NUMBER_IN_TEXT.sub(lambda match: self.number(match.group()) or "", value)

    def file_part(self, value: str) -> str:
        """`value` masked for a file name: stars become "x" ("138xxxx5678")."""
        return (self.number(value) or "").replace("*", "x")


UNMASKED = Masker(Masking.ALL)
