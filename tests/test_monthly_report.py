"""The monthly compliance report (collector/dashboard/monthly.py, report_files.py): its figures from
fixtures with quoted text, several hits per mail, received fraud, pre-send outcomes and appeals, on
SQLite and PostgreSQL; written as PDF (parsed back with pypdf: every figure there, the Chinese
extractable), Excel and HTML in both languages; the command and the dashboard's download."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from collector.dashboard import monthly, periods, report_files
from tests.dashboard_fixtures import *  # noqa: F403 (fixtures)
from tests.dashboard_fixtures import PASSWORD, Device
from tests.dashboard_fixtures import event as flag_event

NOVEMBER = periods.month("2026-11")
SNIPPET = "…we guarantee the »lowest price« in town…"


def hit(rule, category, at, mail, *, direction="sent", quoted=False, source="scan", outcome=""):
    return {
        **flag_event(rule, category, at, "" if quoted else SNIPPET, 0),
        "direction": direction,
        "quoted": quoted,
        "source": source,
        "message_hash": hashlib.sha256(mail.encode()).hexdigest(),
        **({"outcome": outcome} if outcome else {}),
    }


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def filled(db_url):
    """Two departments; October and November 2026 in Shanghai time; appeals decided in November."""
    from collector.keys import load_policy_signer
    from collector.service import Collector
    from collector.storage import SqlStorage
    from companion.policy.loader import default_policy_text

    storage = SqlStorage(db_url, pool_size=2)
    storage.migrate()
    clock = Clock(datetime(2026, 11, 20, 2, tzinfo=UTC))
    collector = Collector(storage, load_policy_signer(storage), clock=clock)
    collector.publish_policy(default_policy_text(), "setup")
    east = Device(collector, "sales-east").enroll()
    west = Device(collector, "sales-west").enroll()
    nov = datetime(2026, 11, 10, 3, tzinfo=UTC)
    oct_ = datetime(2026, 10, 14, 3, tzinfo=UTC)
    # 30 November 17:00 UTC is 1 December 01:00 in Shanghai: December's, not November's.
    late = datetime(2026, 11, 30, 17, tzinfo=UTC)
    east.upload(
        [
            *[hit("commit.lowest-price", "commitment", nov, "A") for _ in range(3)],  # 3 hits, 1 flag
            hit("commit.money-back", "commitment", nov, "A"),
            hit("commit.lowest-price", "commitment", nov, "B", quoted=True),  # quoted only: nothing
            hit("offbook.private-deal", "off-book", nov, "C", source="presend", outcome="blocked"),
            hit("commit.lowest-price", "commitment", nov, "D", source="presend", outcome="edited"),
            hit("commit.lowest-price", "commitment", nov, "D", source="presend", outcome="justified"),
            hit("commit.lowest-price", "commitment", nov, "E", source="presend", outcome="added_approver"),
            hit("payment.bank-change", "payment-change", nov, "F", direction="received"),
            hit("bec.lookalike-domain", "impersonation", nov, "G", direction="received"),
            hit("commit.lowest-price", "commitment", oct_, "H"),
            hit("commit.lowest-price", "commitment", late, "I"),
        ]
    )
    west.upload(
        [
            hit("offbook.private-deal", "off-book", nov, "J"),
            hit("offbook.private-deal", "off-book", oct_, "K"),
        ]
    )
    clock.now = datetime(2026, 11, 21, 2, tzinfo=UTC)
    upheld = east.appeal(hashlib.sha256(b"A").hexdigest(), "commit.lowest-price")
    pending = west.appeal(hashlib.sha256(b"J").hexdigest(), "offbook.private-deal")
    clock.now = datetime(2026, 11, 21, 8, tzinfo=UTC)  # six hours later
    collector.decide_appeal(upheld, "upheld", "fair", "carol")
    yield collector, pending
    storage.dispose()


def test_the_month_in_figures(filled):
    collector, _ = filled
    report = monthly.build(collector, NOVEMBER, lang="en")
    c = report.company
    assert (report.zone, report.offset) == ("Asia/Shanghai", "+08:00")
    assert [p.key for p in report.months][-2:] == ["2026-10", "2026-11"] and len(report.months) == 12
    # mails A C D E (east) and J (west); flags: A twice (two rules), C, D, E, J
    assert (c.mails, c.previous_mails, c.flags, c.previous_flags) == (5, 2, 6, 2)
    assert (c.fraud_mails, c.previous_fraud_mails) == (2, 0)
    assert c.top_rules() == [
        ("commit.lowest-price", 3, 1),
        ("offbook.private-deal", 2, 1),
        ("commit.money-back", 1, 0),
    ]
    assert c.fraud_rules() == [("bec.lookalike-domain", 1, 0), ("payment.bank-change", 1, 0)]
    outcomes = {o.label: o.counts for o in c.outcomes}
    assert (
        outcomes["commit.lowest-price"]["justified"] == 1 and outcomes["commit.lowest-price"]["edited"] == 0
    )
    assert (
        outcomes["commit.lowest-price"]["added_approver"] == 1
        and outcomes["offbook.private-deal"]["blocked"] == 1
    )
    assert (c.appeals.filed, c.appeals.upheld, c.appeals.pending, c.appeals.turnaround_hours) == (
        2,
        1,
        1,
        6.0,
    )
    rates = {r.rule: r for r in c.rates}
    assert rates["commit.lowest-price"].rate == pytest.approx(1 / 3)
    assert [s.department for s in report.departments] == ["sales-east", "sales-west"]
    east, west = report.departments
    assert (east.mails, east.flags, west.mails, west.flags) == (4, 5, 1, 1)
    assert (east.appeals.filed, west.appeals.pending) == (1, 1)
    assert west.fraud_mails == 0 and east.fraud_mails == 2
    one = monthly.build(collector, NOVEMBER, "sales-west", "en")
    assert one.departments == [] and one.company.mails == 1
    # December holds the mail written after midnight in Shanghai on 1 December.
    assert monthly.build(collector, periods.month("2026-12"), lang="en").company.mails == 1


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_as_pdf_excel_and_html(filled, lang):
    collector, _ = filled
    report = monthly.build(collector, NOVEMBER, lang=lang)
    parts = report_files.content(report)
    assert [p.heading for p in parts][1:] == [
        ("部门：sales-east" if lang == "zh" else "Department sales-east"),
        ("部门：sales-west" if lang == "zh" else "Department sales-west"),
    ]
    pdf = report_files.render(report, "pdf")
    assert pdf.startswith(b"%PDF") and b"WenQuanYi" in pdf  # the font is embedded
    text = " ".join(_pdf_text(pdf).split())
    expected_words = (
        [
            "合规月报 2026-11",
            "全公司",
            "被标记邮件",
            "私下交易 · offbook.private-deal",
            "收到的诈骗企图",
            "本月误报率",
        ]
        if lang == "zh"
        else [
            "Compliance report 2026-11",
            "Whole company",
            "Flagged mails",
            "Off-book dealing · offbook.private-deal",
        ]
    )
    for words in expected_words:
        assert words in text, words
    for part in parts:  # every figure of every table is in the PDF
        for table in part.tables:
            for row in table.rows:
                for value in row[1:]:
                    assert str(value) in text, (table.key, row)
    assert "lowest price" not in text.replace("commit.lowest-price", "")  # no snippet

    xlsx = report_files.render(report, "xlsx")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx))
    assert len(book.sheetnames) == 3 and book.sheetnames[1:] == [parts[1].heading, parts[2].heading]
    values = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert parts[0].tables[0].title in values and "5" in values and "6.0" not in values
    assert all(sheet._charts for sheet in book)  # a bar chart per trend
    assert not any("»" in v for v in values)

    html = report_files.render(report, "html").decode("utf-8")
    assert html.startswith("<!doctype html>") and "<style>" in html and "<link" not in html
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in html
    assert 'title="offbook.private-deal — ' in html and "»" not in html


def test_the_report_command_writes_the_file_whole(filled, tmp_path, db_url):
    from collector.cli import main

    out = tmp_path / "reports" / "nov.pdf"
    runner = CliRunner()
    result = runner.invoke(
        main, ["report", "--db", db_url, "--month", "2026-11", "--lang", "zh", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "合规月报 2026-11" in _pdf_text(out.read_bytes()) and not list(out.parent.glob("*.part"))
    xlsx = tmp_path / "west.xlsx"
    args = ["--month", "2026-11", "--department", "sales-west", "--format", "xlsx", "--out", str(xlsx)]
    assert runner.invoke(main, ["report", "--db", db_url, *args]).exit_code == 0
    assert xlsx.read_bytes()[:2] == b"PK"
    bad = runner.invoke(
        main, ["report", "--db", db_url, "--month", "2026-13", "--out", str(tmp_path / "x.pdf")]
    )
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output and not (tmp_path / "x.pdf").exists()


def test_the_company_time_zone_setting(filled, db_url):
    from collector.cli import main

    collector, _ = filled
    runner = CliRunner()
    assert "Asia/Shanghai (now +08:00)" in runner.invoke(main, ["timezone", "--db", db_url]).output
    set_it = runner.invoke(main, ["timezone", "--db", db_url, "America/New_York"])
    assert set_it.exit_code == 0 and "America/New_York" in set_it.output
    assert periods.company_zone(collector.storage).key == "America/New_York"
    # 30 November 17:00 UTC is 12:00 in New York: November's now.
    assert monthly.build(collector, NOVEMBER, lang="en").company.mails == 6
    wrong = runner.invoke(main, ["timezone", "--db", db_url, "Mars/Olympus"])
    assert wrong.exit_code == 2 and "Mars/Olympus" in wrong.output
    assert periods.company_zone(collector.storage).key == "America/New_York"


def test_periods_and_times_in_a_zone_with_daylight_saving():
    berlin = periods.zone("Europe/Berlin")
    march = periods.month("2026-03")
    start, end = periods.boundaries([march], berlin)
    assert (start, end) == (datetime(2026, 2, 28, 23), datetime(2026, 3, 31, 22))
    assert periods.show(datetime(2026, 3, 29, 1, 30), berlin) == "2026-03-29 03:30 +02:00"
    assert periods.show(datetime(2026, 3, 29, 0, 30), berlin) == "2026-03-29 01:30 +01:00"
    assert periods.period_of(date(2026, 11, 29), "week") == periods.Period("week", date(2026, 11, 23))
    assert [p.key for p in periods.ending_with(periods.month("2026-02"), 3)] == [
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    for bad in ("2026-13", "26-11", "november", ""):
        with pytest.raises(Exception, match="YYYY-MM"):
            periods.month(bad)
    with pytest.raises(Exception, match="unknown time zone"):
        periods.zone("Europe/Atlantis")


def test_the_dashboard_report_page_and_its_logged_downloads(filled):
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.dashboard import install
    from tests.dashboard_fixtures import login

    collector, _ = filled
    app = create_app(collector)
    install(app, collector)
    collector.create_user("carol", PASSWORD, "compliance")
    collector.create_user("mia", PASSWORD, "manager", "sales-east")
    carol = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "zh-CN"})
    assert login(carol, "carol").status_code == 303
    page = carol.get("/dashboard/report?month=2026-11")
    assert page.status_code == 200 and "合规月报 2026-11" in page.text and 'value="pdf"' in page.text
    english = carol.get("/dashboard/report?month=2026-11&report_lang=en").text
    assert "Compliance report 2026-11" in english and "月度报告" in english  # the page stays Chinese
    pdf = carol.get("/dashboard/report/download?month=2026-11&format=pdf&report_lang=zh")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="mailwarden-report-2026-11-zh.pdf"' in pdf.headers["content-disposition"]
    assert "全公司" in _pdf_text(pdf.content)
    assert carol.get("/dashboard/report?month=2026-13").status_code == 400
    assert carol.get("/dashboard/report/download?month=2026-11&format=doc").status_code == 400
    mia = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    assert login(mia, "mia").status_code == 303
    own = mia.get("/dashboard/report/download?month=2026-11&format=xlsx")
    assert own.status_code == 200 and "sales-east" in own.headers["content-disposition"]
    assert mia.get("/dashboard/report?month=2026-11&department=sales-west").status_code == 403
    log = collector.storage.reports.access_entries(50)
    downloads = [e["target"] for e in log if e["action"] == "report.download"]
    assert downloads == [
        "month=2026-11 department=sales-east format=xlsx lang=en",
        "month=2026-11 department=* format=pdf lang=zh",
    ]
    assert any(e["action"] == "report.view" and e["username"] == "carol" for e in log)


def test_a_report_of_an_empty_month(filled):
    collector, _ = filled
    report = monthly.build(collector, periods.month("2025-01"), lang="zh")
    assert report.company.empty and report.departments == []
    assert "本月没有标记" in _pdf_text(report_files.render(report, "pdf"))
    assert (datetime(2025, 1, 1) - timedelta(hours=8)) == periods.boundaries(
        [report.month], periods.zone("Asia/Shanghai")
    )[0]
