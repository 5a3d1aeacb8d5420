"""m0007: the customer directory (ContactService) and the blacklist (BlacklistService)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pbxd.db.models import BlacklistEntry, Contact
from pbxd.services import Conflict, NotFound, Services, ValidationError
from pbxd.services.blacklist import BlockDirection

from .conftest import assert_models_match_schema
from .historydata import FakeClock

INBOUND, OUTBOUND = BlockDirection.INBOUND, BlockDirection.OUTBOUND


def test_live_models_match_m0007(db_path: Path) -> None:
    assert_models_match_schema((Contact, BlacklistEntry))


# -- contacts ---------------------------------------------------------------------------------


def test_contacts_crud_and_lookup(services: Services, clock: FakeClock) -> None:
    contacts = services.contacts
    zhang = contacts.create({"number": "13812345678", "name": "张三", "company": "华为"})
    assert (zhang.number, zhang.name, zhang.company, zhang.note) == (
        "13812345678", "张三", "华为", "")  # fmt: skip
    assert zhang.created_at == zhang.updated_at == clock.now
    contacts.create({"number": "+8613900001111", "name": "李四", "note": "VIP"})
    assert contacts.name_for("13812345678") == "张三"
    assert contacts.name_for("8613812345678") is None  # exact numbers only
    assert contacts.name_for("") is None
    assert contacts.lookup("+8613900001111").name == "李四"

    clock.advance(minutes=5)
    changed = contacts.update(zhang.id, {"name": "张三丰"})
    assert (changed.name, changed.company, changed.updated_at) == (
        "张三丰", "华为", clock.now)  # fmt: skip
    assert contacts.name_for("13812345678") == "张三丰"

    page = contacts.search(text="华")
    assert ([v.name for v in page.items], page.total) == (["张三丰"], 1)
    assert contacts.search(number="+8613900001111").items[0].name == "李四"
    assert contacts.search(text="1381").total == 0  # never by digits of the number
    assert contacts.search(limit=1, offset=1).total == 2

    contacts.delete(zhang.id)
    with pytest.raises(NotFound):
        contacts.get(zhang.id)
    assert contacts.name_for("13812345678") is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x"}, "number"),
        ({"number": "13812345678"}, "name"),
        ({"number": "12", "name": "x"}, "number"),
        ({"number": "138-1234-5678", "name": "x"}, "number"),
        ({"number": "13812345678", "name": " "}, "name"),
        ({"number": "13812345678", "name": "x", "email": "a@b"}, "email"),
        ({"number": "13812345678", "name": "x" * 65}, "name"),
    ],
)
def test_bad_contacts_name_their_field(services: Services, data: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.contacts.create(data)
    assert caught.value.field == field


def test_a_number_is_one_contact(services: Services) -> None:
    services.contacts.create({"number": "13812345678", "name": "a"})
    other = services.contacts.create({"number": "13900000000", "name": "b"})
    with pytest.raises(Conflict):
        services.contacts.create({"number": "13812345678", "name": "c"})
    with pytest.raises(Conflict):
        services.contacts.update(other.id, {"number": "13812345678"})


def test_own_numbers_are_the_dial_plan_and_the_dids(services: Services) -> None:
    services.extensions.create("1001", "Alice", "alice-secret-1")
    services.queues.create({"number": "600", "members": ["1001"]})
    services.ring_groups.create({"number": "700", "members": ["1001"]})
    services.conferences.create({"number": "800"})
    services.inbound_routes.create({"did": "88886666", "destination": "queue:600"})
    services.inbound_routes.create({"did": "*", "destination": "queue:600"})
    assert services.contacts.own_numbers() == {"1001", "600", "700", "800", "88886666"}


# -- blacklist --------------------------------------------------------------------------------


def test_blacklist_crud(services: Services, clock: FakeClock) -> None:
    blacklist = services.blacklist
    entry = blacklist.create({"number": "13812345678", "note": "骚扰"})
    assert (entry.number, entry.direction, entry.note, entry.hits, entry.last_hit) == (
        "13812345678", "both", "骚扰", 0, None)  # fmt: skip
    prefix = blacklist.create({"number": "400*", "direction": "inbound"})
    assert [view.number for view in blacklist.list()] == ["13812345678", "400*"]
    assert blacklist.update(prefix.id, {"direction": "outbound"}).direction is OUTBOUND
    with pytest.raises(Conflict):
        blacklist.create({"number": "400*"})
    blacklist.delete(entry.id)
    with pytest.raises(NotFound):
        blacklist.get(entry.id)
    assert blacklist.match("13812345678", INBOUND) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "number"),
        ({"number": "*"}, "number"),
        ({"number": "400**"}, "number"),
        ({"number": "4*00"}, "number"),
        ({"number": "abc"}, "number"),
        ({"number": "400", "direction": "sideways"}, "direction"),
        ({"number": "400", "hits": 3}, "hits"),
    ],
)
def test_bad_entries_name_their_field(services: Services, data: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.blacklist.create(data)
    assert caught.value.field == field


def test_matching_rules(services: Services) -> None:
    blacklist = services.blacklist
    blacklist.create({"number": "400*", "direction": "inbound"})
    blacklist.create({"number": "4008*", "direction": "outbound"})
    exact = blacklist.create({"number": "4008123456", "direction": "inbound"})
    blacklist.create({"number": "10*", "direction": "both"})
    blacklist.create({"number": "1005", "direction": "both"})

    # Exact beats prefix; the longest prefix of the right direction wins.
    assert blacklist.match("4008123456", INBOUND).id == exact.id
    assert blacklist.match("4008123456", OUTBOUND).number == "4008*"
    assert blacklist.match("4008999999", INBOUND).number == "400*"
    assert blacklist.match("4001112222", OUTBOUND) is None
    assert blacklist.match("+4001112222", INBOUND) is None  # text as it arrives
    # Our own numbers: only an exact entry blocks them, never a prefix.
    assert blacklist.match("1001", INBOUND, internal=True) is None
    assert blacklist.match("1001", INBOUND, internal=False).number == "10*"
    assert blacklist.match("1005", OUTBOUND, internal=True).number == "1005"
    asked: list[str] = []
    assert blacklist.match("1002", OUTBOUND, internal=lambda n: asked.append(n) or True) is None
    assert blacklist.match("13800000000", OUTBOUND, internal=lambda n: asked.append(n)) is None
    assert asked == ["1002"]  # asked only when a prefix matched
    assert blacklist.match("", INBOUND) is None


def test_hits_are_counted_in_memory(services: Services, clock: FakeClock) -> None:
    blacklist = services.blacklist
    entry = blacklist.create({"number": "13812345678"})
    assert blacklist.match("13812345678", INBOUND) is not None  # no hit
    first = blacklist.blocks("13812345678", INBOUND)
    clock.advance(seconds=30)
    second = blacklist.blocks("13812345678", "outbound")
    assert (first.hits, second.hits, second.last_hit) == (1, 2, clock.now)
    assert (blacklist.get(entry.id).hits, blacklist.list()[0].last_hit) == (2, clock.now)
    assert blacklist.match("13812345678", INBOUND).hits == 2
    assert blacklist.blocks("13900000000", INBOUND) is None
    # An update keeps them (same entry); nothing of them is stored.
    assert blacklist.update(entry.id, {"note": "x"}).hits == 2
    assert BlacklistEntry.get_by_id(entry.id).note == "x"


def test_changes_apply_at_once_and_tell_listeners(services: Services) -> None:
    blacklist = services.blacklist
    heard: list[bool] = []
    blacklist.subscribe(lambda: heard.append(True))
    assert blacklist.match("13812345678", INBOUND) is None  # the table is loaded now
    entry = blacklist.create({"number": "138*", "direction": "outbound"})
    assert blacklist.match("13812345678", INBOUND) is None
    blacklist.update(entry.id, {"direction": "inbound"})
    assert blacklist.match("13812345678", INBOUND).id == entry.id
    blacklist.delete(entry.id)
    assert blacklist.match("13812345678", INBOUND) is None
    assert heard == [True, True, True]


def test_a_restore_reloads_the_blacklist(services: Services, clock: FakeClock) -> None:
    services.blacklist.create({"number": "13812345678"})
    _, backup = services.backup.create()
    services.blacklist.create({"number": "13900000000"})
    assert services.blacklist.blocks("13900000000", INBOUND) is not None
    clock.advance(seconds=timedelta(minutes=1).total_seconds())
    result = services.restore_configuration(backup)
    assert result.counts["blacklist_entry"] == 1
    assert services.blacklist.match("13900000000", INBOUND) is None
    assert services.blacklist.match("13812345678", INBOUND).hits == 0
