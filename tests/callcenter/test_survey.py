"""The satisfaction survey after the agent hangs up: ratings, reasons, retries, hang-ups."""

from __future__ import annotations

import pytest

from pbxd.callcenter.ivr import (
    PROMPT_INVALID,
    PROMPT_TIMEOUT,
    Collect,
    Hangup,
    IvrConfigError,
    IvrStateError,
    Play,
)
from pbxd.callcenter.survey import (
    DEFAULT_PROMPTS,
    PROMPT_RATE,
    PROMPT_REASON,
    PROMPT_THANKS,
    Rating,
    Reason,
    SurveyConfig,
    SurveyDone,
    SurveyResult,
    SurveySession,
)
from pbxd.media.dtmf import CollectReason, CollectResult

ASK_RATING = [Play((PROMPT_RATE,), interruptible=True), Collect(1, 6.0, 6.0, None)]
ASK_REASON = [Play((PROMPT_REASON,), interruptible=True), Collect(1, 6.0, 6.0, None)]


def key(digit: str) -> CollectResult:
    return CollectResult(digit, CollectReason.MAX_DIGITS)


NO_KEY = CollectResult("", CollectReason.TIMEOUT_FIRST)


def ends_with(result: SurveyResult) -> list:
    return [
        SurveyDone(result),
        Play((PROMPT_THANKS,), interruptible=False),
        Hangup("survey done" if result.answered else "survey unanswered"),
    ]


def started() -> SurveySession:
    survey = SurveySession()
    assert survey.start(0.0) == ASK_RATING
    return survey


@pytest.mark.parametrize(
    ("digit", "rating"), [("1", Rating.VERY_SATISFIED), ("2", Rating.SATISFIED)]
)
def test_a_satisfied_caller_answers_one_question(digit: str, rating: Rating) -> None:
    survey = started()
    assert survey.on_digits(key(digit), 3.0) == ends_with(SurveyResult(rating))
    assert survey.done and survey.result == SurveyResult(rating)
    assert survey.result.as_text() == str(rating)


@pytest.mark.parametrize(
    ("digit", "reason", "text"),
    [
        ("1", Reason.SERVICE, "unsatisfied:service"),
        ("2", Reason.ATTITUDE, "unsatisfied:attitude"),
        ("3", Reason.OTHER, "unsatisfied:other"),
    ],
)
def test_unsatisfied_asks_for_the_reason(digit: str, reason: Reason, text: str) -> None:
    survey = started()
    assert survey.on_digits(key("3"), 2.0) == ASK_REASON
    assert not survey.done and survey.result is None
    expected = SurveyResult(Rating.UNSATISFIED, reason)
    assert survey.on_digits(key(digit), 4.0) == ends_with(expected)
    assert survey.result == expected and survey.result.as_text() == text


def test_an_invalid_key_repeats_the_question_once() -> None:
    survey = started()
    again = [Play((PROMPT_INVALID, PROMPT_RATE), interruptible=True), Collect(1, 6.0, 6.0, None)]
    assert survey.on_digits(key("7"), 1.0) == again
    assert survey.on_digits(key("2"), 2.0) == ends_with(SurveyResult(Rating.SATISFIED))


@pytest.mark.parametrize("first", [key("#"), NO_KEY])
def test_two_failures_end_with_no_answer(first: CollectResult) -> None:
    survey = started()
    survey.on_digits(first, 6.0)
    assert survey.on_digits(NO_KEY, 12.0) == ends_with(SurveyResult(None))
    assert survey.result == SurveyResult(None)
    assert not survey.result.answered and survey.result.as_text() == "none"


def test_a_timeout_plays_the_timeout_prompt_before_the_question() -> None:
    survey = started()
    assert survey.on_digits(NO_KEY, 6.0)[0] == Play((PROMPT_TIMEOUT, PROMPT_RATE))


def test_the_reason_question_has_its_own_retry() -> None:
    survey = started()
    survey.on_digits(key("5"), 1.0)  # one failure on the first question
    survey.on_digits(key("3"), 2.0)
    again = [Play((PROMPT_INVALID, PROMPT_REASON), interruptible=True), Collect(1, 6.0, 6.0, None)]
    assert survey.on_digits(key("9"), 3.0) == again
    expected = SurveyResult(Rating.UNSATISFIED, Reason.SERVICE)
    assert survey.on_digits(key("1"), 4.0) == ends_with(expected)


def test_no_reason_keeps_the_unsatisfied_rating() -> None:
    survey = started()
    survey.on_digits(key("3"), 1.0)
    survey.on_digits(NO_KEY, 7.0)
    unsatisfied = SurveyResult(Rating.UNSATISFIED)
    assert survey.on_digits(key("*"), 8.0) == ends_with(unsatisfied)
    assert survey.result is not None and survey.result.as_text() == "unsatisfied"


def test_hanging_up_records_what_was_answered_once() -> None:
    survey = started()
    survey.on_digits(key("3"), 1.0)
    assert survey.on_hangup(2.0) == [SurveyDone(SurveyResult(Rating.UNSATISFIED))]
    assert survey.on_hangup(3.0) == []
    fresh = started()
    assert fresh.on_hangup(1.0) == [SurveyDone(SurveyResult(None))]


def test_hanging_up_after_the_end_records_nothing_more() -> None:
    survey = started()
    survey.on_digits(key("1"), 1.0)
    assert survey.on_hangup(2.0) == []  # SurveyDone already came before the thanks prompt


def test_events_out_of_turn_are_refused() -> None:
    survey = SurveySession()
    with pytest.raises(IvrStateError, match="in state new"):
        survey.on_digits(key("1"), 0.0)
    survey.start(0.0)
    with pytest.raises(IvrStateError, match="start in state rating"):
        survey.start(1.0)
    survey.on_digits(key("1"), 1.0)
    with pytest.raises(IvrStateError, match="in state done"):
        survey.on_digits(key("1"), 2.0)


def test_a_reason_only_goes_with_unsatisfied() -> None:
    with pytest.raises(ValueError, match="unsatisfied"):
        SurveyResult(Rating.SATISFIED, Reason.ATTITUDE)


def test_custom_prompts_and_timeout() -> None:
    config = SurveyConfig(timeout=10, rate_prompt="q600-rate", thanks_prompt="q600-bye")
    survey = SurveySession(config)
    assert survey.start(0.0) == [Play(("q600-rate",)), Collect(1, 10, 10, None)]
    assert survey.on_digits(key("1"), 1.0)[1] == Play(("q600-bye",), interruptible=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout"),
        ({"retries": 10}, "retries"),
        ({"rate_prompt": "../x"}, "rate_prompt"),
    ],
)
def test_bad_configurations(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, IvrConfigError), match=message):
        SurveyConfig(**kwargs)


def test_default_prompts_are_listed() -> None:
    assert DEFAULT_PROMPTS == (
        "survey-rate",
        "survey-reason",
        "survey-thanks",
        "ivr-invalid",
        "ivr-timeout",
    )
