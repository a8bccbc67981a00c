"""The package build compiles the message catalogue (companion/locale/*.po -> .mo) before the
package files are collected, so `pip install .`, wheels and sdists carry it; the metadata is in
pyproject.toml. Babel is a build requirement (see [build-system])."""

from __future__ import annotations

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithCatalogue(build_py):
    def run(self) -> None:
        tool = runpy.run_path(str(HERE / "scripts" / "i18n.py"))
        tool["compile_all"]()
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogue})
