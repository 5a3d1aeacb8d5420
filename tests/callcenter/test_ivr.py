"""One caller in an IVR tree, driven by scripted key presses through the real DigitCollector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pbxd.callcenter.destinations import (
    Destination,
    describe_loop,
    find_automatic_loop,
    missing_targets,
    parse_destination,
)
from pbxd.callcenter.ivr import (
    BACK,
    DEFAULT_PROMPTS,
    PROMPT_GOODBYE,
    PROMPT_INVALID,
    PROMPT_TIMEOUT,
    REPEAT,
    Action,
    Collect,
    Hangup,
    IvrConfigError,
    IvrMenu,
    IvrSession,
    IvrStateError,
    Play,
    Transfer,
    ivr_edges,
    parse_ivr,
)
from pbxd.media.dtmf import CollectReason, CollectResult, DigitCollector

EXTENSIONS = {"1001", "1002", "1003"}

MAIN: dict[str, Any] = {
    "name": "main",
    "number": "500",
    "welcome_prompt": "welcome",
    "prompt": "main-menu",
    "keys": {
        "1": "queue:600",
        "2": "ivr:sales",
        "0": "extension:1001",
        "9": "hangup",
        "*": "repeat",
    },
    "dial_extension": True,
}
SALES: dict[str, Any] = {
    "name": "sales",
    "welcome_prompt": "sales-welcome",
    "prompt": "sales-menu",
    "keys": {
        "1": "ring_group:700",
        "2": "ivr:support",
        "3": "voicemail:1001",
        "4": "survey",
        "5": "conference:800",
        "6": "ivr:elsewhere",
        "#": "back",
    },
    "retries": 1,
}
SUPPORT: dict[str, Any] = {
    "name": "support",
    "prompt": "support-menu",
    "keys": {"1": "extension:1002", "0": "ivr:main", "#": "back"},
    "timeout_destination": "ivr:main",
    "retries": 0,
}


def tree(*overrides: dict) -> dict[str, IvrMenu]:
    menus = [parse_ivr(data) for data in (MAIN, SALES, SUPPORT)]
    menus += [parse_ivr(data) for data in overrides]
    return {menu.name: menu for menu in menus}


class Caller:
    """Plays the caller: answers each Collect by typing keys into a real DigitCollector."""

    def __init__(self, session: IvrSession) -> None:
        self.session = session
        self.now = 100.0
        self.actions: list[Action] = session.start(self.now)

    @property
    def collect(self) -> Collect:
        last = self.actions[-1]
        assert isinstance(last, Collect), self.actions
        return last

    def type(self, keys: str, gap: float = 0.5) -> list[Action]:
        """Type `keys` (gap seconds apart), then wait for the collection to end."""
        collector = self.collect.collector()
        collector.start(self.now)
        result = None
        for key in keys:
            self.now += gap
            result = collector.feed(key, self.now)
            if result is not None:
                break
        if result is None:
            deadline = collector.next_deadline()
            assert deadline is not None
            self.now = deadline
            result = collector.poll(self.now)
        assert result is not None
        self.actions = self.session.on_digits(result, self.now)
        return self.actions

    def silence(self) -> list[Action]:
        return self.type("")


def menu_then_collect(*prompts: str, collect: Collect | None = None) -> list[Action]:
    actions: list[Action] = [Play(prompts, interruptible=True)]
    return actions + [collect or Collect(1, 5.0, 3.0, None)]


DIAL = Collect(4, 5.0, 3.0, "#")  # main: dial-by-extension, numbers of up to 4 digits


def caller(menus: dict[str, IvrMenu] | None = None, start: str = "main", numbers=EXTENSIONS):
    return Caller(IvrSession(menus or tree(), start, numbers))


# -- walking the tree -----------------------------------------------------------------------


def test_start_plays_welcome_and_menu_interruptibly_then_collects() -> None:
    c = caller()
    assert c.actions == menu_then_collect("welcome", "main-menu", collect=DIAL)
    assert c.session.state == "collecting" and c.session.started_at == 100.0


def test_a_multi_level_walk_down_back_up_and_out() -> None:
    c = caller()
    assert c.type("2") == menu_then_collect("sales-welcome", "sales-menu")
    assert c.type("2") == menu_then_collect("support-menu")
    # Back to the parent: its menu again, without its welcome.
    assert c.type("#") == menu_then_collect("sales-menu")
    assert c.type("#") == menu_then_collect("main-menu", collect=DIAL)
    assert c.type("1") == [Transfer(Destination("queue", "600"), "key 1")]
    assert c.session.done and c.session.outcome == Transfer(Destination("queue", "600"), "key 1")
    assert c.session.visited == ["main", "sales", "support", "sales", "main"]


def test_a_key_to_an_ancestor_goes_back_up_the_stack() -> None:
    c = caller()
    c.type("2")
    c.type("2")
    assert c.type("0") == menu_then_collect("welcome", "main-menu", collect=DIAL)
    # main is the top again: "back" there is nowhere to go, so it repeats main.
    main = tree()["main"]
    menus = tree(dict(MAIN, keys={**MAIN["keys"], "#": "back"}))
    assert main.keys.get("#") is None
    c = caller(menus)
    c.type("2")
    c.type("2")
    c.type("0")
    assert c.type("#") == menu_then_collect("main-menu", collect=DIAL)


@pytest.mark.parametrize(
    ("key", "destination"),
    [
        ("1", "ring_group:700"),
        ("3", "voicemail:1001"),
        ("4", "survey"),
        ("5", "conference:800"),
        ("6", "ivr:elsewhere"),  # an IVR outside this session's menus: the runtime starts it
    ],
)
def test_keys_transfer_to_every_kind_of_destination(key: str, destination: str) -> None:
    c = caller()
    c.type("2")
    assert c.type(key) == [Transfer(parse_destination(destination), f"key {key}")]
    assert c.session.done


def test_a_hangup_key_says_goodbye_without_interruption_then_hangs_up() -> None:
    c = caller()
    assert c.type("9") == [Play((PROMPT_GOODBYE,), interruptible=False), Hangup("key 9")]
    assert c.session.done


def test_repeat_plays_the_menu_again_without_the_welcome() -> None:
    c = caller()
    assert c.type("*") == menu_then_collect("main-menu", collect=DIAL)
    assert c.type("0") == [Transfer(Destination("extension", "1001"), "key 0")]


# -- dial by extension ----------------------------------------------------------------------


def test_dialing_a_known_extension_transfers_to_it() -> None:
    c = caller()
    assert c.type("1002") == [Transfer(Destination("extension", "1002"), "dialed 1002")]
    assert c.session.outcome == Transfer(Destination("extension", "1002"), "dialed 1002")


def test_an_unknown_number_is_an_invalid_entry() -> None:
    c = caller()
    assert c.type("1999") == menu_then_collect(PROMPT_INVALID, "main-menu", collect=DIAL)
    assert c.type("1003") == [Transfer(Destination("extension", "1003"), "dialed 1003")]


def test_a_short_number_ends_with_hash_or_the_inter_digit_timeout() -> None:
    numbers = {"600": Destination("queue", "600"), "1001": Destination("extension", "1001")}
    c = caller(numbers=numbers)
    assert c.type("600#") == [Transfer(Destination("queue", "600"), "dialed 600")]
    c = caller(numbers=numbers)
    assert c.type("600") == [Transfer(Destination("queue", "600"), "dialed 600")]
    assert c.now == pytest.approx(100 + 3 * 0.5 + 3.0)  # waited the inter-digit timeout


def test_a_dialled_number_of_a_menu_in_the_tree_enters_it() -> None:
    numbers = {"1001": Destination("extension", "1001"), "510": Destination("ivr", "sales")}
    c = caller(numbers=numbers)
    assert c.type("510#") == menu_then_collect("sales-welcome", "sales-menu")
    assert c.type("#") == menu_then_collect("main-menu", collect=DIAL)  # and back


def test_a_single_key_is_a_menu_key_even_when_numbers_may_be_dialled() -> None:
    c = caller()
    assert c.type("1") == [Transfer(Destination("queue", "600"), "key 1")]
    c = caller()
    assert c.type("1#") == [Transfer(Destination("queue", "600"), "key 1")]


def test_hash_alone_is_the_hash_key_in_a_dialling_menu() -> None:
    menus = tree(dict(MAIN, keys={**MAIN["keys"], "#": "ivr:sales"}))
    c = caller(menus)
    assert c.type("#") == menu_then_collect("sales-welcome", "sales-menu")
    c = caller()  # '#' not mapped: invalid
    assert c.type("#") == menu_then_collect(PROMPT_INVALID, "main-menu", collect=DIAL)


def test_numbers_are_not_dialled_from_a_menu_without_dial_extension() -> None:
    c = caller()
    c.type("2")
    assert c.collect == Collect(1, 5.0, 3.0, None)
    assert c.type("1002") == [Transfer(Destination("ring_group", "700"), "key 1")]


# -- timeouts and invalid keys --------------------------------------------------------------


def test_timeouts_retry_then_say_goodbye_and_hang_up() -> None:
    c = caller()
    for _ in range(2):  # retries = 2 (the default)
        assert c.silence() == menu_then_collect(PROMPT_TIMEOUT, "main-menu", collect=DIAL)
    assert c.silence() == [
        Play((PROMPT_TIMEOUT, PROMPT_GOODBYE), interruptible=False),
        Hangup("timeout"),
    ]
    assert c.session.done
    assert c.now == pytest.approx(100 + 3 * 5.0)  # three first-digit timeouts


def test_invalid_keys_retry_then_go_to_the_invalid_destination() -> None:
    menus = tree(dict(MAIN, invalid_destination="extension:1003"))
    c = caller(menus)
    assert c.type("7") == menu_then_collect(PROMPT_INVALID, "main-menu", collect=DIAL)
    assert c.type("8") == menu_then_collect(PROMPT_INVALID, "main-menu", collect=DIAL)
    assert c.type("7") == [
        Play((PROMPT_INVALID,), interruptible=False),
        Transfer(Destination("extension", "1003"), "invalid"),
    ]


def test_invalid_entries_and_timeouts_share_the_retry_count() -> None:
    menus = tree(dict(MAIN, timeout_destination="queue:600", invalid_destination="hangup"))
    c = caller(menus)
    c.type("7")
    c.silence()
    assert c.silence() == [
        Play((PROMPT_TIMEOUT,), interruptible=False),
        Transfer(Destination("queue", "600"), "timeout"),
    ]


def test_the_retry_count_starts_again_in_each_menu() -> None:
    c = caller()
    c.type("7")
    c.type("7")  # two failures in main
    c.type("2")
    assert c.type("7") == menu_then_collect(PROMPT_INVALID, "sales-menu")  # sales: 1 retry
    assert c.type("7") == [
        Play((PROMPT_INVALID, PROMPT_GOODBYE), interruptible=False),
        Hangup("invalid"),
    ]


def test_a_timeout_into_another_menu_of_the_tree_continues_there() -> None:
    c = caller()
    c.type("2")
    c.type("2")  # support: retries 0, timeout -> ivr:main
    assert c.silence() == menu_then_collect(PROMPT_TIMEOUT, "welcome", "main-menu", collect=DIAL)
    assert c.session.menu.name == "main" and not c.session.done


def test_custom_invalid_and_timeout_prompts() -> None:
    menus = tree(dict(MAIN, invalid_prompt="oops", timeout_prompt="still-there"))
    c = caller(menus)
    assert c.type("7") == menu_then_collect("oops", "main-menu", collect=DIAL)
    assert c.silence() == menu_then_collect("still-there", "main-menu", collect=DIAL)


# -- the contract with the runtime ----------------------------------------------------------


def test_every_menu_prompt_is_interruptible_and_followed_by_its_collection() -> None:
    """'Play X, interruptible, then collect up to N digits with timeouts T and I'."""
    c = caller()
    seen: list[Sequence[Action]] = [c.actions]
    for keys in ("2", "7", "2", "#", "#", "", "*", "1999"):
        seen.append(c.type(keys))
    for actions in seen:
        *plays, collect = actions
        assert isinstance(collect, Collect)
        assert len(plays) == 1 and isinstance(plays[0], Play) and plays[0].interruptible
    assert c.type("9")[0] == Play((PROMPT_GOODBYE,), interruptible=False)


def test_a_digit_during_the_prompt_is_the_first_digit_of_the_collection() -> None:
    """What the runtime does: the digit that stopped the prompt is fed to the collector."""
    c = caller()
    collector = c.collect.collector()
    assert isinstance(collector, DigitCollector)
    assert (collector.max_digits, collector.first_digit_timeout) == (4, 5.0)
    assert (collector.inter_digit_timeout, collector.terminator) == (3.0, "#")
    collector.start(200.0)  # when the prompt was interrupted
    for i, digit in enumerate("1002"):
        result = collector.feed(digit, 200.0 + i)
    assert result == CollectResult("1002", CollectReason.MAX_DIGITS)
    assert c.session.on_digits(result, 203.0) == [
        Transfer(Destination("extension", "1002"), "dialed 1002")
    ]


def test_prompts_are_ids_and_the_defaults_are_listed() -> None:
    assert DEFAULT_PROMPTS == ("ivr-invalid", "ivr-timeout", "goodbye")
    with pytest.raises(IvrConfigError, match="prompt id"):
        Play(("/var/lib/pbxd/prompts/welcome.wav",))
    with pytest.raises(ValueError, match="at least one"):
        Play(())


def test_events_out_of_turn_are_refused() -> None:
    session = IvrSession(tree(), "main", EXTENSIONS)
    with pytest.raises(IvrStateError, match="in new"):
        session.on_digits(CollectResult("1", CollectReason.MAX_DIGITS), 0.0)
    session.start(0.0)
    with pytest.raises(IvrStateError, match="start in state collecting"):
        session.start(1.0)
    session.on_digits(CollectResult("1", CollectReason.MAX_DIGITS), 2.0)
    with pytest.raises(IvrStateError, match="in done"):
        session.on_digits(CollectResult("2", CollectReason.MAX_DIGITS), 3.0)


def test_a_caller_hanging_up_ends_the_session() -> None:
    c = caller()
    assert c.session.on_hangup(c.now) == []
    assert c.session.done and c.session.outcome == Hangup("caller hung up")
    with pytest.raises(IvrStateError):
        c.session.on_digits(CollectResult("1", CollectReason.MAX_DIGITS), c.now)


def test_the_start_menu_must_exist() -> None:
    with pytest.raises(IvrConfigError, match="start: no IVR named 'nope'"):
        IvrSession(tree(), "nope", EXTENSIONS)


def test_without_known_numbers_up_to_six_digits_are_collected() -> None:
    c = caller(numbers=())
    assert c.collect == Collect(6, 5.0, 3.0, "#")
    assert c.type("123456") == menu_then_collect(
        PROMPT_INVALID, "main-menu", collect=Collect(6, 5.0, 3.0, "#")
    )


# -- configuration --------------------------------------------------------------------------


def test_parse_a_full_ivr() -> None:
    menu = parse_ivr(
        {
            **MAIN,
            "timeout": 8,
            "digit_timeout": 2.5,
            "retries": 3,
            "invalid_prompt": "bad-key",
            "timeout_prompt": "no-key",
            "timeout_destination": "queue:600",
            "invalid_destination": "voicemail:600",
            "keys": {**MAIN["keys"], "#": "back"},
        }
    )
    assert menu.name == "main" and menu.number == "500"
    assert (menu.welcome_prompt, menu.prompt) == ("welcome", "main-menu")
    assert menu.keys["1"] == Destination("queue", "600")
    assert menu.keys["2"] == Destination("ivr", "sales")
    assert (menu.keys["*"], menu.keys["#"]) == (REPEAT, BACK)
    assert (menu.timeout, menu.digit_timeout, menu.retries) == (8.0, 2.5, 3)
    assert menu.timeout_destination == Destination("queue", "600")
    assert menu.invalid_destination == Destination("voicemail", "600")
    assert menu.dial_extension


def test_parse_the_defaults() -> None:
    menu = parse_ivr({"name": "simple", "prompt": "simple-menu"})
    assert menu == IvrMenu("simple", "simple-menu")
    assert (menu.timeout, menu.retries, menu.keys) == (5.0, 2, {})
    assert (menu.invalid_prompt, menu.timeout_prompt) == (PROMPT_INVALID, PROMPT_TIMEOUT)
    assert menu.timeout_destination == menu.invalid_destination == Destination("hangup")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"promt": "x"}, "promt", "unknown field"),
        ({"keys": {"A": "hangup"}}, "keys.A", "unknown key"),
        ({"keys": {"10": "hangup"}}, "keys.10", "unknown key"),
        ({"keys": {"1": "fax:1"}}, "keys.1", "unknown destination kind 'fax'"),
        ({"keys": {"1": "queue"}}, "keys.1", "queue needs a target"),
        ({"keys": {"1": 600}}, "keys.1", "kind:target"),
        ({"keys": ["1"]}, "keys", "must be an object"),
        ({"timeout": 0}, "timeout", "from 1 to 60"),
        ({"timeout": 61}, "timeout", "from 1 to 60"),
        ({"timeout": "5"}, "timeout", "from 1 to 60"),
        ({"digit_timeout": 30}, "digit_timeout", "from 1 to 20"),
        ({"retries": 10}, "retries", "from 0 to 9"),
        ({"retries": -1}, "retries", "from 0 to 9"),
        ({"retries": 1.5}, "retries", "whole number"),
        ({"retries": True}, "retries", "whole number"),
        ({"timeout_destination": "queue"}, "timeout_destination", "needs a target"),
        ({"invalid_destination": "repeat"}, "invalid_destination", "unknown destination kind"),
        ({"name": "main menu"}, "name", "letters, digits"),
        ({"name": ""}, "name", "letters, digits"),
        ({"prompt": "../../etc/passwd"}, "prompt", "prompt id"),
        ({"welcome_prompt": "a/b"}, "welcome_prompt", "prompt id"),
        ({"invalid_prompt": ""}, "invalid_prompt", "prompt id"),
        ({"dial_extension": "yes"}, "dial_extension", "true or false"),
        ({"number": "5"}, "number", "2-6 digits"),
        ({"number": 500}, "number", "2-6 digits"),
    ],
)
def test_validation_errors_name_the_field(change: dict, field: str, message: str) -> None:
    with pytest.raises(IvrConfigError, match=message) as caught:
        parse_ivr({**MAIN, **change})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError) and caught.value.status == 400


@pytest.mark.parametrize("missing", ["name", "prompt"])
def test_required_fields(missing: str) -> None:
    data = {k: v for k, v in MAIN.items() if k != missing}
    with pytest.raises(IvrConfigError, match=f"{missing}: missing"):
        parse_ivr(data)


# -- edges and loops ------------------------------------------------------------------------


def test_edges_keys_are_chosen_timeouts_are_automatic() -> None:
    menus = tree()
    edges = {(str(e.destination), e.chosen, e.why) for e in ivr_edges(menus["main"])}
    assert edges == {
        ("queue:600", True, "key 1"),
        ("ivr:sales", True, "key 2"),
        ("extension:1001", True, "key 0"),
        ("hangup", True, "key 9"),
        ("hangup", False, "timeout"),
        ("hangup", False, "invalid key"),
    }
    assert all(e.source == ("ivr", "main") for e in ivr_edges(menus["main"]))


def test_key_cycles_between_menus_are_allowed() -> None:
    edges = [edge for menu in tree().values() for edge in ivr_edges(menu)]
    # main -2-> sales -2-> support -0-> main, and support times out into main: one automatic
    # edge on the cycle is not a loop, the caller still chooses the rest.
    assert find_automatic_loop(edges) is None


def test_a_timeout_back_into_the_same_menu_is_a_loop() -> None:
    looping = parse_ivr(dict(MAIN, timeout_destination="ivr:main"))
    loop = find_automatic_loop(ivr_edges(looping))
    assert loop == [("ivr", "main"), ("ivr", "main")]
    assert "ivr main -> ivr main" in describe_loop(loop)


def test_invalid_destinations_pointing_at_each_other_are_a_loop() -> None:
    a = parse_ivr({"name": "a", "prompt": "p", "invalid_destination": "ivr:b"})
    b = parse_ivr({"name": "b", "prompt": "p", "timeout_destination": "ivr:a"})
    loop = find_automatic_loop(ivr_edges(a) + ivr_edges(b))
    assert loop is not None and set(loop) == {("ivr", "a"), ("ivr", "b")}


def test_edges_name_missing_targets() -> None:
    problems = missing_targets(
        ivr_edges(tree()["sales"]),
        {"ring_group": ["700"], "ivr": ["main", "support"], "voicemail": ["1001"]},
    )
    assert sorted(message for _, message in problems) == [
        "ivr sales key 5: no conference:800 exists",
        "ivr sales key 6: no ivr:elsewhere exists",
    ]
