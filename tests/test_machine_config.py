"""companion.machine_config: the MSI's machine configuration, read through a fake registry."""

from __future__ import annotations

import subprocess
import sys

import pytest

from companion import machine_config as mc
from companion.collector_client import EnrollError
from tests.fixtures import MSI_VALUES, FakeRegistry


def test_reads_the_msi_values_as_plain_data():
    config = mc.read_machine_config(FakeRegistry(MSI_VALUES))
    assert config == mc.MachineConfig(
        "https://collector.corp", "tok-123", "Sales", None, "C:\\Program Files\\Mailwarden\\", "0.1.0"
    )
    assert config.to_dict() == {
        "collector_url": "https://collector.corp",
        "department": "Sales",
        "policy_fail_mode": None,
        "install_dir": "C:\\Program Files\\Mailwarden\\",
        "version": "0.1.0",
        "has_token": True,
    }
    assert config.to_dict(with_token=True)["enroll_token"] == "tok-123"


def test_empty_values_written_by_the_msi_are_absent():
    config = mc.read_machine_config(FakeRegistry({**MSI_VALUES, "EnrollToken": "", "Department": "  "}))
    assert config.enroll_token is None and config.department is None
    assert config.to_dict()["has_token"] is False


def test_no_key_or_no_registry_means_no_configuration(monkeypatch):
    assert mc.read_machine_config(FakeRegistry()) is None
    monkeypatch.setattr(mc.sys, "platform", "linux")
    assert mc.default_registry() is None
    assert mc.read_machine_config() is None


def test_policy_fail_mode_is_checked(caplog):
    assert (
        mc.read_machine_config(FakeRegistry({**MSI_VALUES, "PolicyFailMode": "Closed"})).policy_fail_mode
        == "closed"
    )
    # a bad value is logged and ignored: the rest of the configuration (and enrolment) still works
    with caplog.at_level("WARNING", logger="companion.machine_config"):
        config = mc.read_machine_config(FakeRegistry({**MSI_VALUES, "PolicyFailMode": "sometimes"}))
    assert config.policy_fail_mode is None and config.collector_url == "https://collector.corp"
    assert config.enroll_token == "tok-123"
    assert "PolicyFailMode is 'sometimes' (expected one of: ask, open, closed): ignored" in caplog.text
    with pytest.raises(mc.MachineConfigError, match="not a string"):
        mc.read_machine_config(FakeRegistry({**MSI_VALUES, "CollectorUrl": 3}))


def test_enrols_once_with_the_token_then_deletes_it(paths):
    registry = FakeRegistry(MSI_VALUES)
    calls = []

    def fake_enroll(p, url, token, department, *, db):
        calls.append((p, url, token, department))
        return {"device_id": "dev-1", "collector_url": url}

    result = mc.enroll_from_machine_config(paths, registry=registry, enroll=fake_enroll)
    assert result == {
        "status": "enrolled",
        "device": {"device_id": "dev-1", "collector_url": "https://collector.corp"},
        "token_deleted": True,
    }
    assert calls == [(paths, "https://collector.corp", "tok-123", "Sales")]
    assert registry.deleted == [(mc.TOKEN_KEY, "EnrollToken")]
    assert "EnrollToken" not in registry.keys[mc.TOKEN_KEY] and registry.keys[mc.KEY]["CollectorUrl"]
    # the next start has nothing to do
    assert mc.enroll_from_machine_config(paths, registry=registry, enroll=fake_enroll)["status"] == "no-token"
    assert len(calls) == 1


def test_a_token_that_cannot_be_deleted_is_reported_clearly(paths):
    registry = FakeRegistry(MSI_VALUES, delete_error=PermissionError(13, "Access is denied"))
    result = mc.enroll_from_machine_config(
        paths, registry=registry, enroll=lambda *a, **k: {"device_id": "d"}
    )
    assert result["status"] == "enrolled" and result["token_deleted"] is False
    assert (
        "could not be deleted from HKLM\\Software\\Mailwarden\\Enrollment\\EnrollToken (access denied)"
        in result["warning"]
    )
    assert "until an administrator deletes it" in result["warning"]
    other = FakeRegistry(MSI_VALUES, delete_error=OSError(5, "broken"))
    result = mc.enroll_from_machine_config(paths, registry=other, enroll=lambda *a, **k: {"device_id": "d"})
    assert result["token_deleted"] is False and "OSError" in result["warning"]


def test_a_failed_enrolment_keeps_the_token_for_the_next_start(paths):
    registry = FakeRegistry(MSI_VALUES)

    def refused(*a, **k):
        raise EnrollError("the collector refused the enrolment (403 bad_token)")

    result = mc.enroll_from_machine_config(paths, registry=registry, enroll=refused)
    assert result == {
        "status": "failed",
        "error": "the collector refused the enrolment (403 bad_token)",
        "collector_url": "https://collector.corp",
    }
    assert registry.deleted == [] and registry.keys[mc.TOKEN_KEY]["EnrollToken"] == "tok-123"


def test_already_enrolled_user_does_not_enrol_again_but_the_token_goes(paths, monkeypatch):
    from companion import device as device_module

    monkeypatch.setattr(device_module, "load_device", lambda db: object())
    registry = FakeRegistry(MSI_VALUES)
    result = mc.enroll_from_machine_config(
        paths, registry=registry, enroll=lambda *a, **k: pytest.fail("enrolled")
    )
    assert result == {"status": "already-enrolled", "token_deleted": True}
    assert registry.deleted == [(mc.TOKEN_KEY, "EnrollToken")]


def test_nothing_to_do_without_configuration_or_token(paths):
    assert mc.enroll_from_machine_config(paths, registry=FakeRegistry()) == {"status": "no-config"}
    no_token = FakeRegistry({**MSI_VALUES, "EnrollToken": ""})
    assert mc.enroll_from_machine_config(paths, registry=no_token) == {
        "status": "no-token",
        "collector_url": "https://collector.corp",
    }
    bad = FakeRegistry({**MSI_VALUES, "CollectorUrl": 3})
    assert mc.enroll_from_machine_config(paths, registry=bad)["status"] == "failed"
    assert not paths.database.exists()  # no database is made when there is nothing to do


def test_a_bad_policy_fail_mode_does_not_block_enrolment(paths):
    registry = FakeRegistry({**MSI_VALUES, "PolicyFailMode": "x"})
    calls = []

    def fake_enroll(p, url, token, department, *, db):
        calls.append((url, token))
        return {"device_id": "dev-1"}

    result = mc.enroll_from_machine_config(paths, registry=registry, enroll=fake_enroll)
    assert result["status"] == "enrolled" and result["token_deleted"] is True
    assert calls == [("https://collector.corp", "tok-123")]


def test_real_enrolment_path_with_the_project_database(paths):
    """The default enrol function gets the real database; a collector that cannot be reached is a
    clean "failed" and the token stays."""
    registry = FakeRegistry({**MSI_VALUES, "CollectorUrl": "http://127.0.0.1:9"})
    result = mc.enroll_from_machine_config(paths, registry=registry)
    assert result["status"] == "failed" and "cannot reach the collector" in result["error"]
    assert registry.keys[mc.TOKEN_KEY]["EnrollToken"] == "tok-123"


def test_windows_layer_imports_winreg_only_when_used():
    code = (
        "import sys; import companion.machine_config as m; r = m.WindowsRegistry();"
        " print('winreg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    with pytest.raises(ModuleNotFoundError):
        mc.WindowsRegistry().read_values(mc.KEY)


def test_first_run_hook_retries_at_most_every_few_minutes(paths):
    registry = FakeRegistry({**MSI_VALUES, "CollectorUrl": "http://127.0.0.1:9"})
    clock = [1000.0]
    hook = mc.FirstRunEnrolment(registry, retry_seconds=300, clock=lambda: clock[0])
    assert hook(paths) is False and hook.last["status"] == "failed"
    hook.last = None
    clock[0] += 299
    assert hook(paths) is False and hook.last is None  # too soon: the collector is not asked again
    clock[0] += 2
    assert hook(paths) is False and "cannot reach the collector" in hook.last["error"]
    assert registry.keys[mc.TOKEN_KEY]["EnrollToken"] == "tok-123"


def test_the_agent_gets_the_hook_only_where_the_msi_writes_the_configuration(monkeypatch):
    from companion.agent import service

    monkeypatch.setattr(mc.sys, "platform", "linux")
    assert service._machine_enrolment() is None
    monkeypatch.setattr(mc.sys, "platform", "win32")
    hook = service._machine_enrolment()
    assert isinstance(hook, mc.FirstRunEnrolment) and isinstance(hook.registry, mc.WindowsRegistry)
