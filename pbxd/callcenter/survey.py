"""The satisfaction survey (满意度调查) played to the caller after the agent hangs up.

"Press 1 if you were very satisfied, 2 satisfied, 3 unsatisfied." After 3 a second question:
"What went wrong? 1 the service, 2 the attitude, 3 something else." An invalid key or no key
plays the invalid/timeout prompt and the question once more; a second failure ends the survey
(no answer for the first question; the rating without a reason for the second).

Same driving and actions as the IVR (ivr.py: `Play`, `Collect`, `Hangup`, and its contract on
interruptible prompts and prompt ids), plus `SurveyDone(result)`, which the runtime records
(queue log SURVEY, the CDR's survey column). It comes before the thanks prompt, so the
answer is kept if the caller hangs up during it; `on_hangup` during a question gives the
partial result the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from pbxd.media.dtmf import CollectResult

from .ivr import (
    PROMPT_INVALID,
    PROMPT_TIMEOUT,
    Collect,
    Hangup,
    IvrStateError,
    Play,
    check_prompt_id,
)

# Default prompt ids: the prompt catalog (pbxd/prompts/catalog.toml) must provide them.
PROMPT_RATE = "survey-rate"  # "press 1 very satisfied, 2 satisfied, 3 unsatisfied"
PROMPT_REASON = "survey-reason"  # "reason: 1 service, 2 attitude, 3 other"
PROMPT_THANKS = "survey-thanks"  # "thank you for your feedback, goodbye"
DEFAULT_PROMPTS = (PROMPT_RATE, PROMPT_REASON, PROMPT_THANKS, PROMPT_INVALID, PROMPT_TIMEOUT)


class Rating(enum.StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"


class Reason(enum.StrEnum):
    SERVICE = "service"
    ATTITUDE = "attitude"
    OTHER = "other"


RATING_KEYS = {"1": Rating.VERY_SATISFIED, "2": Rating.SATISFIED, "3": Rating.UNSATISFIED}
REASON_KEYS = {"1": Reason.SERVICE, "2": Reason.ATTITUDE, "3": Reason.OTHER}


@dataclass(frozen=True)
class SurveyResult:
    rating: Rating | None = None  # None: no answer
    reason: Reason | None = None  # only for UNSATISFIED, and None if not given

    def __post_init__(self) -> None:
        if self.reason is not None and self.rating != Rating.UNSATISFIED:
            raise ValueError("a reason goes with an 'unsatisfied' rating only")

    @property
    def answered(self) -> bool:
        return self.rating is not None

    def as_text(self) -> str:
        """For the CDR: "none", "satisfied", "unsatisfied", "unsatisfied:attitude"."""
        if self.rating is None:
            return "none"
        return f"{self.rating}:{self.reason}" if self.reason else str(self.rating)


@dataclass(frozen=True)
class SurveyDone:
    """Action: record this result (the survey is over, or about to be)."""

    result: SurveyResult


SurveyAction = Play | Collect | Hangup | SurveyDone


@dataclass(frozen=True)
class SurveyConfig:
    timeout: float = 6.0  # seconds for the key after each question
    retries: int = 1  # a question is asked again this many times after a bad key/no key
    rate_prompt: str = PROMPT_RATE
    reason_prompt: str = PROMPT_REASON
    thanks_prompt: str = PROMPT_THANKS
    invalid_prompt: str = PROMPT_INVALID
    timeout_prompt: str = PROMPT_TIMEOUT

    def __post_init__(self) -> None:
        if not 1 <= self.timeout <= 60:
            raise ValueError(f"timeout: 1 to 60 s, got {self.timeout!r}")
        if not 0 <= self.retries <= 9:
            raise ValueError(f"retries: 0 to 9, got {self.retries!r}")
        for name in ("rate_prompt", "reason_prompt", "thanks_prompt"):
            check_prompt_id(getattr(self, name), name)
        check_prompt_id(self.invalid_prompt, "invalid_prompt")
        check_prompt_id(self.timeout_prompt, "timeout_prompt")


class SurveySession:
    """One caller answering the survey: `start(now)`, then `on_digits(result, now)`."""

    def __init__(self, config: SurveyConfig | None = None) -> None:
        self.config = config or SurveyConfig()
        self.state: Literal["new", "rating", "reason", "done"] = "new"
        self._failures = 0
        self._rating: Rating | None = None
        self.result: SurveyResult | None = None  # set when the survey ends
        self.started_at: float | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"

    def start(self, now: float) -> list[SurveyAction]:
        if self.state != "new":
            raise IvrStateError(f"survey: start in state {self.state}")
        self.started_at = now
        return self._ask("rating")

    def on_digits(self, result: CollectResult, now: float) -> list[SurveyAction]:
        if self.state not in ("rating", "reason"):
            raise IvrStateError(f"survey: digits {result.digits!r} in state {self.state}")
        if not result.digits:
            return self._failure(self.config.timeout_prompt)
        if self.state == "rating":
            rating = RATING_KEYS.get(result.digits)
            if rating is None:
                return self._failure(self.config.invalid_prompt)
            self._rating = rating
            if rating == Rating.UNSATISFIED:
                self._failures = 0  # the second question has its own retry
                return self._ask("reason")
            return self._finish(SurveyResult(rating))
        reason = REASON_KEYS.get(result.digits)
        if reason is None:
            return self._failure(self.config.invalid_prompt)
        return self._finish(SurveyResult(Rating.UNSATISFIED, reason))

    def on_hangup(self, now: float) -> list[SurveyAction]:
        """The caller hung up: record what was answered so far (once)."""
        if self.state == "done":
            return []
        self.state = "done"
        self.result = SurveyResult(self._rating)
        return [SurveyDone(self.result)]

    def _ask(self, question: Literal["rating", "reason"], *lead: str) -> list[SurveyAction]:
        self.state = question
        prompt = self.config.rate_prompt if question == "rating" else self.config.reason_prompt
        timeout = self.config.timeout
        return [Play((*lead, prompt), interruptible=True), Collect(1, timeout, timeout, None)]

    def _failure(self, prompt: str) -> list[SurveyAction]:
        self._failures += 1
        if self._failures <= self.config.retries:
            assert self.state in ("rating", "reason")
            return self._ask(self.state, prompt)
        return self._finish(SurveyResult(self._rating))  # the rating, if any, stays

    def _finish(self, result: SurveyResult) -> list[SurveyAction]:
        self.state = "done"
        self.result = result
        return [
            SurveyDone(result),
            Play((self.config.thanks_prompt,), interruptible=False),
            Hangup("survey done" if result.answered else "survey unanswered"),
        ]
