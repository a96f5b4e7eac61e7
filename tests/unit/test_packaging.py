"""Every data file the package reads ships in its wheel."""

from __future__ import annotations

import tomllib

from ..conftest import ROOT


def test_package_data_globs_cover_every_data_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["emostage"]
    package = ROOT / "emostage"
    shipped = {path for pattern in globs for path in package.glob(pattern)}
    data = {path for path in package.rglob("*") if path.suffix in (".yaml", ".json", ".typed")}
    assert data <= shipped, sorted(str(p.relative_to(package)) for p in data - shipped)
