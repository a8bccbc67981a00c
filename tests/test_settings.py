"""config.toml: optional, validated with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.config import Paths
from companion.settings import Settings, SettingsError, load_settings


def test_no_file_means_defaults(tmp_path):
    assert load_settings(Paths(tmp_path)) == Settings()


def test_values_are_read(tmp_path):
    (tmp_path / "config.toml").write_text(
        'identities = ["Li.Wei@Corp.example"]\nrole = "finance"\nstores = ["~/archive.pst"]\n'
        "discover = false\nrescan_minutes = 1.5\n",
        encoding="utf-8",
    )
    s = load_settings(Paths(tmp_path))
    assert s.identities == ("li.wei@corp.example",) and s.role == "finance" and s.discover is False
    assert s.stores == (Path("~/archive.pst").expanduser(),) and s.rescan_minutes == 1.5


@pytest.mark.parametrize(
    "text,message",
    [
        ("identities = [", "config.toml"),
        ("colour = 1", "unknown setting 'colour'"),
        ("discover = 1", "'discover' has the wrong type"),
        ("rescan_minutes = true", "'rescan_minutes' has the wrong type"),
    ],
)
def test_bad_settings_name_the_problem(tmp_path, text, message):
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(Paths(tmp_path))
