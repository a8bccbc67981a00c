"""The dashboard's report store (collector/dashboard/store.py): every method on SQLite and on a real
PostgreSQL server (the `db_url` fixture runs each test on both), ActivityWatch style."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.dashboard_fixtures import *  # noqa: F403 (fixtures)
from tests.dashboard_fixtures import PASSWORD, Device, make_collector, seed
from tests.dashboard_fixtures import event as flag_event


@pytest.fixture
def store_of(db_url):
    collector = make_collector(db_url)
    yield collector
    collector.storage.dispose()


def hit(rule, category, at, mail, *, direction="sent", quoted=False, source="scan", outcome=""):
    """One flag event as a workstation uploads it (a hit: one phrase in one field)."""
    return {
        **flag_event(rule, category, at, "" if quoted else "…»x«…", 0),
        "direction": direction,
        "quoted": quoted,
        "source": source,
        "message_hash": mail and hashlib.sha256(mail.encode()).hexdigest(),
        **({"outcome": outcome} if outcome else {}),
    }


def bounds_of(*days, tz=UTC):
    """UTC limits (naive) of consecutive periods starting at local midnight of each day."""
    return [
        datetime.combine(d, datetime.min.time(), tzinfo=tz).astimezone(UTC).replace(tzinfo=None) for d in days
    ]


def test_a_flag_is_one_mail_and_rule_quoted_text_counts_nowhere_fraud_apart(store_of):
    store = store_of.storage.reports
    east = Device(store_of, "sales-east").enroll()
    west = Device(store_of, "sales-west").enroll()
    day = datetime(2026, 11, 17, 9, tzinfo=UTC)
    east.upload(
        [
            # mail A: three hits of one rule (subject, body, attachment), one of another rule
            *[hit("commit.lowest-price", "commitment", day, "A") for _ in range(3)],
            hit("commit.money-back", "commitment", day, "A"),
            # mail B: only a quoted hit (the customer's own earlier words): no flag anywhere
            hit("commit.lowest-price", "commitment", day, "B", quoted=True),
            # mail C: a quoted hit and an own one: one flag
            hit("offbook.private-deal", "off-book", day, "C", quoted=True),
            hit("offbook.private-deal", "off-book", day, "C"),
            # received: a changed bank account (fraud), a look-alike sender (bec.*, issue #14),
            # and a customer's "lowest price" (received, not fraud, not conduct)
            hit("payment.bank-change", "payment-change", day, "D", direction="received"),
            hit("bec.lookalike-domain", "impersonation", day, "E", direction="received"),
            hit("commit.lowest-price", "commitment", day, "F", direction="received"),
            # two hits without a message hash (an old agent): a mail each
            hit("commit.lowest-price", "commitment", day, ""),
            hit("commit.lowest-price", "commitment", day, ""),
        ]
    )
    west.upload([hit("commit.lowest-price", "commitment", day, "A")])  # the same mail elsewhere
    bounds = bounds_of(date(2026, 11, 16), date(2026, 11, 23))
    rules = sorted(store.flag_trend(bounds, "rule"))
    assert rules == [
        (0, "sales-east", "commit.lowest-price", 3),  # A, and the two without hash
        (0, "sales-east", "commit.money-back", 1),
        (0, "sales-east", "offbook.private-deal", 1),
        (0, "sales-west", "commit.lowest-price", 1),
    ]
    assert sorted(store.flag_trend(bounds, "category", "sales-east")) == [
        (0, "sales-east", "commitment", 4),
        (0, "sales-east", "off-book", 1),
    ]
    assert sorted(store.flag_trend(bounds, "department")) == [
        (0, "sales-east", "sales-east", 5),
        (0, "sales-west", "sales-west", 1),
    ]
    assert sorted(store.mail_trend(bounds)) == [(0, "sales-east", 4), (0, "sales-west", 1)]  # A C and 2
    assert sorted(store.flag_trend(bounds, "rule", stream="fraud")) == [
        (0, "sales-east", "bec.lookalike-domain", 1),
        (0, "sales-east", "payment.bank-change", 1),
    ]
    assert store.flag_trend(bounds, "rule", stream="received") == [
        (0, "sales-east", "commit.lowest-price", 1)
    ]
    assert store.mail_trend(bounds, stream="fraud") == [(0, "sales-east", 2)]
    with pytest.raises(ValueError):
        store.flag_trend(bounds, "tier")


def test_periods_follow_the_time_zone_daylight_saving_included(store_of):
    store = store_of.storage.reports
    device = Device(store_of, "sales-east").enroll()
    berlin = ZoneInfo("Europe/Berlin")
    # Sunday 29 March 2026, 22:30 UTC is Monday 30 March, 00:30 in Berlin (summer time began
    # that night: +02:00). A fixed +01:00 would put it on Sunday 23:30, in the week before.
    spring = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    # Sunday 25 October 2026, 22:30 UTC is Sunday 23:30 in Berlin (back on +01:00): still the
    # week of 19 October. A fixed +02:00 would make it Monday.
    autumn = datetime(2026, 10, 25, 22, 30, tzinfo=UTC)
    # 31 October, 23:30 UTC is 1 November, 00:30 in Berlin: November's.
    month_end = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    device.upload(
        [
            hit("commit.lowest-price", "commitment", spring, "spring"),
            hit("commit.lowest-price", "commitment", autumn, "autumn"),
            hit("commit.lowest-price", "commitment", month_end, "month-end"),
        ]
    )
    weeks = bounds_of(date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6), tz=berlin)
    assert weeks[1] - weeks[0] == timedelta(hours=167)  # the week that loses an hour
    assert store.flag_trend(weeks, "rule") == [(1, "sales-east", "commit.lowest-price", 1)]
    weeks = bounds_of(date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2), tz=berlin)
    assert weeks[1] - weeks[0] == timedelta(hours=169)
    assert sorted(store.flag_trend(weeks, "rule")) == [
        (0, "sales-east", "commit.lowest-price", 1),
        (1, "sales-east", "commit.lowest-price", 1),
    ]
    months = bounds_of(date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1), tz=berlin)
    assert sorted(store.flag_trend(months, "rule")) == [
        (0, "sales-east", "commit.lowest-price", 1),
        (1, "sales-east", "commit.lowest-price", 1),
    ]
    # The same instants in Shanghai (+08:00, no daylight saving): 30 March 06:30, 26 October 06:30
    # (a Monday), 1 November 07:30.
    shanghai = ZoneInfo("Asia/Shanghai")
    weeks = bounds_of(date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2), tz=shanghai)
    assert sorted(store.flag_trend(weeks, "rule")) == [(1, "sales-east", "commit.lowest-price", 2)]


def test_outcomes_of_pre_send_flags(store_of):
    store = store_of.storage.reports
    device = Device(store_of, "sales-east").enroll()
    day = datetime(2026, 11, 17, 9, tzinfo=UTC)
    later = day + timedelta(minutes=5)
    device.upload(
        [
            # one mail: sent back to edit, then (same body) sent with a justification; two hits
            hit("commit.lowest-price", "commitment", day, "P1", source="presend", outcome="edited"),
            hit("commit.lowest-price", "commitment", later, "P1", source="presend", outcome="justified"),
            hit("commit.lowest-price", "commitment", later, "P1", source="presend", outcome="justified"),
            hit("commit.lowest-price", "commitment", day, "P2", source="presend", outcome="added_approver"),
            hit("offbook.private-deal", "off-book", day, "P3", source="presend", outcome="blocked"),
            hit("offbook.private-deal", "off-book", day, "P4", source="presend", outcome="edited"),
            hit("commit.lowest-price", "commitment", day, "S1"),  # a scan: no outcome
            # what a later workstation may send (issue #16's approvals) is counted too
            hit("commit.lowest-price", "commitment", day, "P5", source="presend", outcome="approved"),
        ]
    )
    start, end = bounds_of(date(2026, 11, 1), date(2026, 12, 1))
    assert sorted(store.outcome_counts(start, end)) == [
        ("sales-east", "commit.lowest-price", "added_approver", 1),
        ("sales-east", "commit.lowest-price", "approved", 1),
        ("sales-east", "commit.lowest-price", "justified", 1),
        ("sales-east", "offbook.private-deal", "blocked", 1),
        ("sales-east", "offbook.private-deal", "edited", 1),
    ]
    assert store.outcome_counts(start, end, "sales-west") == []


def test_the_flag_list_groups_hits_and_keeps_quoted_ones_as_a_detail(store_of):
    store = store_of.storage.reports
    device = Device(store_of, "sales-east").enroll()
    day = datetime(2026, 11, 17, 9, tzinfo=UTC)
    device.upload(
        [
            hit("commit.lowest-price", "commitment", day, "A"),
            hit("commit.lowest-price", "commitment", day, "A"),
            hit("commit.lowest-price", "commitment", day, "A", quoted=True),
            hit("commit.money-back", "commitment", day, "A"),
            hit("commit.lowest-price", "commitment", day - timedelta(days=1), "B", quoted=True),
        ]
    )
    flags = store.flag_list(None, None, 10, 0)
    assert [(f["rule"], len(f["hits"]), f["quoted_only"]) for f in flags] == [
        ("commit.lowest-price", 3, False),
        ("commit.money-back", 1, False),
        ("commit.lowest-price", 1, True),
    ]
    assert [h["quoted"] for h in flags[0]["hits"]] == [False, False, True]
    assert [f["rule"] for f in store.flag_list(None, "commit.money-back", 10, 0)] == ["commit.money-back"]
    assert len(store.flag_list(None, None, 1, 2)) == 1
    since = datetime(2026, 11, 17)
    assert len(store.flag_list(None, None, 10, 0, start=since)) == 2
    assert store.flag_list("sales-west", None, 10, 0) == []


def test_appeals_received_in_a_period(store_of):
    store = store_of.storage.reports
    data = seed(store_of)
    store_of.decide_appeal(data["east_appeal"], "upheld", "fair", "carol")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = store.appeals_received(now - timedelta(days=1), now + timedelta(days=1))
    assert [(r["rule"], r["status"]) for r in rows] == [
        ("commit.lowest-price", "upheld"),
        ("offbook.private-deal", "pending"),
    ]
    assert rows[0]["decided_at"] is not None and "reason" not in rows[0]
    assert [r["department"] for r in store.appeals_received(now - timedelta(days=1), now, "sales-west")] == [
        "sales-west"
    ]
    assert store.appeals_received(now + timedelta(days=1), now + timedelta(days=2)) == []


def test_events_appeals_departments_and_devices(store_of):
    store = store_of.storage.reports
    data = seed(store_of)
    everything = store.flag_list(None, None, 100, 0)
    assert len(everything) == 11 and everything == sorted(everything, key=lambda e: e["at"], reverse=True)
    assert {e["department"] for e in store.flag_list("sales-west", None, 100, 0)} == {"sales-west"}
    assert len(store.flag_list(None, "offbook.private-deal", 100, 0)) == 4
    assert store.flag_list(None, None, 5, 10) == everything[10:]
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
