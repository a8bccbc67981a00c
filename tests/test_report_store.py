"""The dashboard's report store (collector/dashboard/store.py): every method on SQLite and on a real
PostgreSQL server (the `db_url` fixture runs each test on both), ActivityWatch style."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.dashboard_fixtures import *  # noqa: F403 (fixtures)
from tests.dashboard_fixtures import PASSWORD, Device, make_collector, seed
from tests.dashboard_fixtures import event as flag_event


@pytest.fixture
def store_of(db_url):
    collector = make_collector(db_url)
    yield collector
    collector.storage.dispose()


def test_trend_counts_hits_or_mails_by_week_and_month(store_of):
    store = store_of.storage.reports
    device = Device(store_of, "sales-east").enroll()
    monday = datetime(2026, 11, 16, 9, tzinfo=UTC)
    events = [
        flag_event("commit.lowest-price", "commitment", monday + timedelta(days=i), "…»x«…", i)
        for i in range(3)
    ]
    # The same mail flagged twice by one rule (scan and pre-send): two hits, one mail.
    events.append({**events[0], "source": "presend"})
    events.append(flag_event("offbook.private-deal", "off-book", monday + timedelta(days=8), "…»y«…", 9))
    device.upload(events)
    weeks = sorted(store.trend_counts("week", "rule", date(2026, 11, 1)))
    assert weeks == [
        (date(2026, 11, 16), "commit.lowest-price", 4),
        (date(2026, 11, 23), "offbook.private-deal", 1),
    ]
    mails = sorted(store.trend_counts("week", "rule", date(2026, 11, 1), count="mails"))
    assert mails[0] == (date(2026, 11, 16), "commit.lowest-price", 3)
    months = store.trend_counts("month", "category", date(2026, 11, 1))
    assert sorted(months) == [(date(2026, 11, 1), "commitment", 4), (date(2026, 11, 1), "off-book", 1)]
    assert store.trend_counts("week", "department", date(2026, 11, 1), "sales-west") == []
    assert store.trend_counts("week", "rule", date(2026, 12, 1)) == []  # since: nothing later


def test_trend_counts_in_a_time_zone(store_of):
    store = store_of.storage.reports
    device = Device(store_of, "sales-east").enroll()
    # Sunday 30 Nov 2026, 20:00 UTC is Monday 1 December, 04:00 in Shanghai (UTC+8).
    late = datetime(2026, 11, 29, 20, tzinfo=UTC)
    device.upload([flag_event("commit.lowest-price", "commitment", late, "…»x«…", 1)])
    china = timedelta(hours=8)
    assert store.trend_counts("week", "rule", date(2026, 11, 1)) == [
        (date(2026, 11, 23), "commit.lowest-price", 1)
    ]
    assert store.trend_counts("week", "rule", date(2026, 11, 1), utc_offset=china) == [
        (date(2026, 11, 30), "commit.lowest-price", 1)
    ]
    end_of_month = datetime(2026, 11, 30, 20, tzinfo=UTC)
    device.upload([flag_event("commit.lowest-price", "commitment", end_of_month, "…»x«…", 2)])
    by_month = dict(
        ((d, n) for d, _r, n in store.trend_counts("month", "rule", date(2026, 11, 1), utc_offset=china))
    )
    assert by_month == {date(2026, 11, 1): 1, date(2026, 12, 1): 1}
    # `since` is a local day: the Shanghai Monday starts at 16:00 UTC on Sunday.
    assert store.trend_counts("week", "rule", date(2026, 12, 1), utc_offset=china) == [
        (date(2026, 11, 30), "commit.lowest-price", 1)
    ]


def test_events_appeals_departments_and_devices(store_of):
    store = store_of.storage.reports
    data = seed(store_of)
    everything = store.flag_events(None, None, 100, 0)
    assert len(everything) == 11 and everything == sorted(
        everything, key=lambda e: (e["at"], e["id"]), reverse=True
    )
    assert {e["department"] for e in store.flag_events("sales-west", None, 100, 0)} == {"sales-west"}
    assert len(store.flag_events(None, "offbook.private-deal", 100, 0)) == 4
    assert store.flag_events(None, None, 5, 10) == everything[10:]
    appeals = store.appeal_list(None, None)
    assert {a["id"] for a in appeals} == {data["east_appeal"], data["west_appeal"]}
    east = next(a for a in appeals if a["id"] == data["east_appeal"])
    assert east["snippet"].startswith("…we guarantee")
    assert [a["id"] for a in store.appeal_list("sales-west", "pending")] == [data["west_appeal"]]
    assert store.appeal_list(None, "upheld") == []
    assert store.appeal(data["west_appeal"])["department"] == "sales-west"
    assert store.appeal(999_999) is None
    assert store.departments() == ["sales-east", "sales-west"]
    devices = store.device_list()
    assert [d["department"] for d in devices] == ["sales-east", "sales-west"]
    assert {d["chain"] for d in devices} == {"ok"} and {d["gaps"] for d in devices} == {0}


def test_users_tokens_and_sessions(store_of):
    store = store_of.storage.reports
    bob = store_of.create_user("bob", PASSWORD, "auditor")
    store_of.create_user("alice", PASSWORD, "manager", "sales-east")
    assert [u["username"] for u in store.users()] == ["alice", "bob"]
    assert all("password_hash" not in u for u in store.users())
    assert store.user(bob)["role"] == "auditor" and store.user(999) is None
    first = store_of.create_token("sales-east")["id"]
    second = store_of.create_token("sales-west", 3)["id"]
    assert [t["id"] for t in store.tokens()] == [second, first]
    assert store.token(first)["department"] == "sales-east" and store.token(999) is None
    now = datetime(2026, 11, 24, 9)
    stale = {"id": "s" * 64, "user_id": bob, "csrf": "c", "created_at": now, "expires_at": now}
    store.create_session(stale, now - timedelta(hours=1))
    fresh = {**stale, "id": "f" * 64, "expires_at": now + timedelta(hours=8)}
    store.create_session(fresh, now)  # writing a session drops the expired ones
    assert store.session("s" * 64) is None
    found = store.session("f" * 64)
    assert (found["id"], found["username"], found["session_id"], found["disabled_at"]) == (
        bob,
        "bob",
        "f" * 64,
        None,
    )
    store.delete_session("f" * 64)
    assert store.session("f" * 64) is None
    store.create_session(fresh, now)
    store.delete_sessions_of(bob)
    assert store.session("f" * 64) is None


def test_access_log_rows(store_of):
    store = store_of.storage.reports
    day = datetime(2026, 11, 24, 9)
    with store.access_log_writer() as log:
        assert log.last_entry() is None and log.first_entry_at() is None and log.newest_head_day() is None
        for seq in (1, 2, 3):
            row = {"seq": seq, "at": day + timedelta(hours=seq), "username": "otto", "role": "auditor"}
            log.add_entry(
                {**row, "action": "access_log.view", "target": "", "prev_hash": f"p{seq}", "hash": f"h{seq}"}
            )
        assert log.last_entry().seq == 3
        assert log.last_entry(before=day + timedelta(hours=2, minutes=30)).hash == "h2"
        assert log.first_entry_at() == day + timedelta(hours=1)
        head = {
            "day": "2026-11-24",
            "seq": 3,
            "hash": "h3",
            "signature": "s",
            "public_key": "k",
            "signed_at": day,
        }
        log.add_head(head)
        assert log.has_head("2026-11-24") and not log.has_head("2026-11-25")
        assert log.newest_head_day() == "2026-11-24"
    assert [e["seq"] for e in store.access_entries(2)] == [3, 2]
    assert [e["seq"] for e in store.access_entries(2, 2)] == [1]
    assert [e["seq"] for e in store.access_entries_from(2, 10)] == [2, 3]
    assert store.access_entry_hash(2) == "h2" and store.access_entry_hash(9) is None
    assert store.access_hash_exists("h1") and not store.access_hash_exists("h9")
    assert [h["day"] for h in store.access_heads()] == ["2026-11-24"]
