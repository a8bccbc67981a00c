"""`mailwarden prove` and `mailwarden verify-proof` on real files, with a real local TSA."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from companion.cli import cli
from companion.evidence.chain import EvidenceChain, create_tables
from companion.evidence.record import record_for_rfc822
from companion.parsing import parse_eml_bytes
from tests.conftest import build_eml, outlook_samples, write_mbox
from tests.evidence_fixtures import local_tsa, make_tsa_pki


def run(*args: str, lang: str = "en"):
    return CliRunner().invoke(cli, list(args), env={"MAILWARDEN_LANG": lang}, catch_exceptions=False)


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with local_tsa(make_tsa_pki(tmp_path_factory.mktemp("tsa"))) as running:
        yield running


@pytest.fixture
def mail(tmp_path):
    path = tmp_path / "quote.eml"
    path.write_bytes(
        build_eml(
            "最低价 USD 12.50 / 件，30 天交货。", subject="报价 Quotation", message_id="<q-7@corp.example>"
        )
    )
    return path


def test_prove_then_verify(tmp_path, mail):
    out = tmp_path / "proofs"
    result = run("prove", str(mail), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    written = json.loads(result.output)
    assert written["bundle"].endswith("quote.eml.proof.json") and written["pdf"].endswith(".proof.pdf")
    assert written["normalised"] is None
    checked = run("verify-proof", written["bundle"], str(mail))
    assert checked.exit_code == 0 and "Proof of a business mail: VERIFIED" in checked.output
    assert "byte for byte, the message the device recorded" in checked.output
    assert "No trusted time-stamp" in checked.output


def test_a_modified_file_fails_with_exit_1(tmp_path, mail):
    run("prove", str(mail), "--out", str(tmp_path), "--no-pdf")
    changed = tmp_path / "changed.eml"
    changed.write_bytes(mail.read_bytes().replace(b"Quotation", b"Quotation (revised)"))
    result = run("verify-proof", str(tmp_path / "quote.eml.proof.json"), str(changed), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["verified"] is False and report["checks"][0] == {
        "check": "content",
        "status": "failed",
        "detail": "differs",
    }
    zh = run("verify-proof", str(tmp_path / "quote.eml.proof.json"), str(changed), lang="zh")
    assert zh.exit_code == 1 and "核验未通过" in zh.output and "此文件不是所记录的邮件" in zh.output


def test_prove_with_a_time_stamp_and_verify_with_the_pinned_root(tmp_path, mail, tsa):
    chain_pem = tmp_path / "tsa-chain.pem"
    chain_pem.write_bytes(tsa.root_pem)
    result = run("prove", str(mail), "--out", str(tmp_path), "--tsa", tsa.url, "--tsa-cert", str(chain_pem))
    assert result.exit_code == 0, result.output
    bundle = tmp_path / "quote.eml.proof.json"
    assert json.loads(bundle.read_text())["timestamps"][0]["of"] == "record"
    checked = run("verify-proof", str(bundle), str(mail), "--tsa-root", str(chain_pem))
    assert checked.exit_code == 0
    assert "existed no later than" in checked.output and "CN=Mailwarden Test TSA" in checked.output
    assert "came with the bundle" not in checked.output
    unpinned = run("verify-proof", str(bundle), str(mail))
    assert "came with the bundle" in unpinned.output


def test_time_stamp_options_go_together(tmp_path, mail, tsa):
    result = CliRunner().invoke(cli, ["prove", str(mail), "--tsa", tsa.url])
    assert result.exit_code == 2 and "--tsa and --tsa-cert go together" in result.output


def test_unreachable_tsa_is_a_clear_error_and_writes_nothing(tmp_path, mail):
    pem = tmp_path / "root.pem"
    pem.write_bytes(make_tsa_pki(tmp_path / "pki").joinpath("root.pem").read_bytes())
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["prove", str(mail), "--out", str(out), "--tsa", "http://127.0.0.1:9/tsa", "--tsa-cert", str(pem)],
    )
    assert result.exit_code == 1 and "cannot be reached" in result.output
    assert not out.exists()


def test_outlook_msg_gets_a_normalised_copy_and_both_verify(tmp_path):
    msg = tmp_path / "chinese.msg"
    shutil.copy(outlook_samples() / "tika" / "testMSG_chinese.msg", msg)
    result = run("prove", str(msg), "--out", str(tmp_path / "p"), "--json")
    assert result.exit_code == 0, result.output
    written = json.loads(result.output)
    assert written["normalised"].endswith("chinese.msg.normalised.eml")
    for file in (msg, written["normalised"]):
        checked = run("verify-proof", written["bundle"], str(file))
        assert checked.exit_code == 0, checked.output
    assert (
        "as Mailwarden reads an Outlook item"
        in run("verify-proof", written["bundle"], written["normalised"]).output
    )
    assert "For an Outlook item" in checked.output


def test_a_msg_saved_again_by_outlook_still_proves_by_content(tmp_path, isolated_home):
    """The chain recorded the item when its .msg had other bytes (Outlook rewrites items): the
    file is proven by that record through its normalised content, and verify-proof accepts it."""
    from companion.database import Database
    from companion.evidence.record import record_for_outlook
    from companion.parsing import parse_file

    msg = tmp_path / "chinese.msg"
    shutil.copy(outlook_samples() / "tika" / "testMSG_chinese.msg", msg)
    db = Database(isolated_home / "mailwarden.db")
    create_tables(db.db)
    chain = EvidenceChain(db.db)
    earlier = record_for_outlook(
        parse_file(msg, direction="received"), str(tmp_path), "", file_bytes=b"as saved then"
    )
    chain.append(earlier)
    db.conn.commit()
    db.close()
    result = run("prove", str(msg), "--out", str(tmp_path / "p"), "--direction", "received", "--json")
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "p" / "chinese.msg.proof.json").read_text())
    assert bundle["chain"]["link"]["seq"] == 1 and bundle["record"]["sha256"] == earlier.sha256
    checked = run("verify-proof", str(tmp_path / "p" / "chinese.msg.proof.json"), str(msg))
    assert checked.exit_code == 0, checked.output
    assert "the normalised content" in checked.output


def test_prove_a_message_id_from_the_devices_chain(tmp_path, isolated_home):
    """A message recorded in an mbox: proven by its Message-ID, read back at its offset."""
    from companion.database import Database

    first = build_eml("Offer one", message_id="<one@corp.example>")
    second = build_eml("Offer two: USD 9.90", message_id="<two@corp.example>")
    mbox = write_mbox(tmp_path / "Sent", [first, second])
    from companion.stores.mbox import split_mbox

    db = Database(isolated_home / "mailwarden.db")
    create_tables(db.db)  # what the companion's migration will do
    chain = EvidenceChain(db.db)
    for offset, _, raw in split_mbox(mbox):
        chain.append(record_for_rfc822(raw, parse_eml_bytes(raw, direction="sent"), str(mbox), str(offset)))
    chain.close_period()
    db.conn.commit()
    db.close()

    out = tmp_path / "proofs"
    result = run("prove", "<two@corp.example>", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    bundle = json.loads((out / "two_corp.example.proof.json").read_text())
    assert bundle["chain"]["link"]["seq"] == 2 and bundle["period"]["period"]["root"]
    raw = next(r for o, _, r in split_mbox(mbox) if o > 0)
    exported = tmp_path / "two.eml"
    exported.write_bytes(raw)
    checked = run("verify-proof", str(out / "two_corp.example.proof.json"), str(exported))
    assert (
        checked.exit_code == 0 and "record #2 of this device's append-only evidence chain" in checked.output
    )

    # the same message as a file is proven by its chain record too
    again = run("prove", str(exported), "--out", str(tmp_path / "again"), "--json")
    assert json.loads((tmp_path / "again" / "two.eml.proof.json").read_text())["chain"]["link"]["seq"] == 2
    assert again.exit_code == 0


def test_unknown_message_id_and_bad_bundle_are_clear_errors(tmp_path, mail):
    result = CliRunner().invoke(cli, ["prove", "<nobody@nowhere>", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no evidence record of Message-ID <nobody@nowhere>" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(cli, ["verify-proof", str(bad), str(mail)])
    assert result.exit_code == 1 and "not a proof bundle" in result.output


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_pdf_page_says_the_same_as_the_terminal(tmp_path, mail, tsa, lang):
    from pypdf import PdfReader

    pem = tmp_path / "chain.pem"
    pem.write_bytes(tsa.root_pem)
    out = tmp_path / lang
    assert (
        run(
            "prove", str(mail), "--out", str(out), "--tsa", tsa.url, "--tsa-cert", str(pem), lang=lang
        ).exit_code
        == 0
    )
    text = "".join(page.extract_text() for page in PdfReader(out / "quote.eml.proof.pdf").pages)
    flat = "".join(text.split())
    if lang == "zh":
        for phrase in ("业务邮件存证", "核验通过", "可以证明", "不能证明", "最迟于", "邮件内容由谁撰写"):
            assert phrase in flat, phrase
    else:
        for phrase in ("Proofofabusinessmail", "VERIFIED", "Whatthisproves", "existednolaterthan"):
            assert phrase in flat, phrase
    assert "q-7@corp.example" in flat


def test_prove_and_verify_speak_chinese(tmp_path, mail, tsa):
    """Every line a Chinese user reads, from making a bundle to a failed check: no English left
    but data (paths, hashes, names from certificates) and the kept terms."""
    from tests.i18n_checks import assert_chinese

    pem = tmp_path / "chain.pem"
    pem.write_bytes(tsa.root_pem)
    outputs = {}

    def zh(*args: str) -> None:
        result = CliRunner().invoke(cli, list(args), env={"MAILWARDEN_LANG": "zh"}, prog_name="mailwarden")
        outputs[" ".join(args[:1])] = outputs.get(args[0], "") + result.output

    zh("prove", str(mail), "--out", str(tmp_path), "--tsa", tsa.url, "--tsa-cert", str(pem))
    zh("verify-proof", str(tmp_path / "quote.eml.proof.json"), str(mail), "--tsa-root", str(pem))
    changed = tmp_path / "changed.eml"
    changed.write_bytes(mail.read_bytes().replace(b"12.50", b"11.50"))
    zh("verify-proof", str(tmp_path / "quote.eml.proof.json"), str(changed))
    zh("prove", "<nobody@nowhere>")
    zh("prove", str(mail), "--tsa", tsa.url)
    assert "核验通过" in outputs["verify-proof"] and "核验未通过" in outputs["verify-proof"]
    assert "本设备也没有 Message-ID 为 <nobody@nowhere> 的存证记录" in outputs["prove"]
    data = [str(tmp_path), "q-7@corp.example", "Mailwarden Test TSA", "Root CA", "<nobody@nowhere>"]
    kept = ["prove", "verify-proof", "SHA-256", "UTC", "RFC", "DKIM", "Message-ID", "Date", "PEM", "CN"]
    assert_chinese(outputs, data=data, kept=kept)
