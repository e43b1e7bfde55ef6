"""``decisioning snowflake deploy``: the package archive, its upload to a stage (Snowpark local
testing), and the connection settings read from the profile's variables."""

from __future__ import annotations

import hashlib
import os
import pkgutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import decisioning
from decisioning.cli import main
from decisioning.snowflake_deploy import (
    DeployError,
    build_archive,
    connection_parameters,
    deploy,
)

PROFILE = {"SNOWFLAKE_ACCOUNT": "myorg-myaccount", "SNOWFLAKE_USER": "loader"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_archive_is_deterministic(tmp_path: Path) -> None:
    first = build_archive(tmp_path / "a" / "decisioning.zip")
    second = build_archive(tmp_path / "b" / "decisioning.zip")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert (first.size, first.sha256) == (second.size, second.sha256)
    assert first.sha256 == sha256(first.path)


def test_archive_holds_every_module_and_nothing_else(tmp_path: Path) -> None:
    modules = pkgutil.walk_packages(decisioning.__path__, "decisioning.")
    expected = {"decisioning/__init__.py"} | {
        module.name.replace(".", "/") + ("/__init__.py" if module.ispkg else ".py")
        for module in modules
    }
    with zipfile.ZipFile(build_archive(tmp_path / "decisioning.zip").path) as archive:
        names = archive.namelist()
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert names == sorted(expected)
    assert "decisioning/snowflake_deploy.py" in names


def test_archive_is_importable(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "decisioning.zip").path
    code = (
        "import decisioning.decide, decisioning.posterior, decisioning.catalog\n"
        "print(decisioning.__file__, decisioning.decide.__file__, decisioning.catalog.__file__)"
    )
    env = {**os.environ, "PYTHONPATH": str(archive)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    files = result.stdout.split()
    assert len(files) == 3
    assert all(file.startswith(str(archive) + os.sep) for file in files), files


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    """A Snowpark session in local testing mode, whose ``session.sql`` records statements
    (local testing raises NotImplementedError on any ``session.sql``)."""
    snowpark = pytest.importorskip("snowflake.snowpark")
    local = snowpark.Session.builder.config("local_testing", True).create()
    local.statements = []
    local.sql = lambda query: (local.statements.append(query), SimpleNamespace(collect=list))[1]
    yield local
    local.close()


@pytest.mark.parametrize(
    ("arguments", "stage"),
    [((), "decisioning_packages"), (("other.main.packages",), "other.main.packages")],
)
def test_deploy_puts_the_archive_on_the_stage(
    session: Any, arguments: tuple[str, ...], stage: str, tmp_path: Path
) -> None:
    upload = deploy(session, *arguments)
    assert session.statements[-1] == f"create stage if not exists {stage}"
    assert upload.stage_path == f"@{stage}/decisioning.zip"
    assert upload.sha256 == build_archive(tmp_path / "decisioning.zip").sha256
    [result] = session.file.get(upload.stage_path, str(tmp_path / "staged"))
    staged = tmp_path / "staged" / "decisioning.zip"
    assert result.status == "DOWNLOADED"
    assert (staged.stat().st_size, sha256(staged)) == (upload.size, upload.sha256)
    assert upload.lines()[-1] == f"dbt Python models: imports: ['@{stage}/decisioning.zip']"


def test_archive_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "out" / "decisioning.zip"
    assert main(["snowflake", "deploy", "--archive-only", str(path)]) == 0
    assert sha256(path) in capsys.readouterr().out


def test_missing_variable_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [name for name in os.environ if name.startswith("SNOWFLAKE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SNOWFLAKE_USER", "loader")
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "secret")
    assert main(["snowflake", "deploy"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("error: Set SNOWFLAKE_ACCOUNT (")


def test_bad_stage_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snowflake", "deploy", "--stage", "x; drop schema main"]) == 2
    assert "--stage" in capsys.readouterr().err


def test_password_and_defaults() -> None:
    parameters = connection_parameters({**PROFILE, "SNOWFLAKE_PASSWORD": "secret"})
    assert parameters == {
        **{"account": "myorg-myaccount", "user": "loader", "password": "secret"},
        **{"role": "DECISIONING", "warehouse": "DECISIONING_WH"},
        **{"database": "DECISIONING", "schema": "MAIN"},
    }


def test_key_pair(tmp_path: Path) -> None:
    key = tmp_path / "key.p8"
    key.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    environ = {**PROFILE, "SNOWFLAKE_PRIVATE_KEY_PATH": str(key), "SNOWFLAKE_PASSWORD": "x"}
    environ |= {"SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "phrase", "SNOWFLAKE_ROLE": "LOADER"}
    parameters = connection_parameters(environ)
    assert "password" not in parameters
    assert parameters["role"] == "LOADER"
    assert (parameters["private_key_file"], parameters["private_key_file_pwd"]) == (
        str(key),
        "phrase",
    )
    connector = pytest.importorskip("snowflake.connector.connection")
    assert set(parameters) <= set(connector.DEFAULT_CONFIGURATION)
    with pytest.raises(DeployError, match="SNOWFLAKE_PRIVATE_KEY_PATH=.*not a file"):
        connection_parameters({**environ, "SNOWFLAKE_PRIVATE_KEY_PATH": str(tmp_path / "no")})


def test_no_credentials() -> None:
    with pytest.raises(DeployError, match="SNOWFLAKE_PRIVATE_KEY_PATH .* or SNOWFLAKE_PASSWORD"):
        connection_parameters(PROFILE)
