"""Deploying the ``decisioning`` package to a Snowflake stage, from which the dbt Python
models import it (``imports: ['@decisioning_packages/decisioning.zip']``)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snowflake.snowpark import Session

STAGE = "decisioning_packages"
ARCHIVE = "decisioning.zip"
PACKAGE_DIR = Path(__file__).resolve().parent
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_STAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}")
# The variables profiles.yml's snowflake target reads, and its defaults.
_REQUIRED = {
    "SNOWFLAKE_ACCOUNT": "account identifier, e.g. myorg-myaccount",
    "SNOWFLAKE_USER": "user name",
}
_DEFAULTS = {
    "role": ("SNOWFLAKE_ROLE", "DECISIONING"),
    "warehouse": ("SNOWFLAKE_WAREHOUSE", "DECISIONING_WH"),
    "database": ("SNOWFLAKE_DATABASE", "DECISIONING"),
    "schema": ("SNOWFLAKE_SCHEMA", "MAIN"),
}


class DeployError(RuntimeError):
    """The package could not be deployed; the message says what to set or fix."""


@dataclass(frozen=True)
class Archive:
    """A built package archive."""

    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Upload:
    """An archive put on a stage."""

    stage: str
    size: int
    sha256: str

    @property
    def stage_path(self) -> str:
        return f"@{self.stage}/{ARCHIVE}"

    def lines(self) -> list[str]:
        return [
            f"Uploaded {self.stage_path} ({self.size:,} bytes)",
            f"sha256 {self.sha256}",
            f"dbt Python models: imports: ['{self.stage_path}']",
        ]


def build_archive(path: Path) -> Archive:
    """Write the package's modules to the zip ``path`` under ``decisioning/``; the same code
    gives the same bytes (sorted entries, fixed timestamps and permissions)."""
    modules = {
        f"decisioning/{p.relative_to(PACKAGE_DIR).as_posix()}": p for p in PACKAGE_DIR.rglob("*.py")
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(modules):
            info = zipfile.ZipInfo(name, _TIMESTAMP)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, modules[name].read_bytes())
    data = path.read_bytes()
    return Archive(path, len(data), hashlib.sha256(data).hexdigest())


def stage_name(stage: str) -> str:
    """``stage`` if it is a plain or qualified identifier (``db.schema.stage``)."""
    if not _STAGE_NAME.fullmatch(stage):
        raise DeployError(f"--stage {stage!r}: use a stage name like {STAGE} or db.schema.stage.")
    return stage


def deploy(session: Session, stage: str = STAGE) -> Upload:
    """Create ``stage`` if it does not exist and put the package archive there as
    ``decisioning.zip`` (replacing it, uncompressed)."""
    stage = stage_name(stage)
    with tempfile.TemporaryDirectory() as folder:
        archive = build_archive(Path(folder) / ARCHIVE)
        session.sql(f"create stage if not exists {stage}").collect()
        [result] = session.file.put(
            str(archive.path), f"@{stage}", auto_compress=False, overwrite=True
        )
    if result.status != "UPLOADED":
        raise DeployError(f"@{stage}/{ARCHIVE} was {result.status}: {result.message}")
    return Upload(stage, archive.size, archive.sha256)


def connection_parameters(environ: Mapping[str, str] = os.environ) -> dict[str, str | int]:
    """Snowpark connection parameters from the variables profiles.yml's snowflake target reads
    (a private key if ``SNOWFLAKE_PRIVATE_KEY_PATH`` is set, else the password)."""
    missing = [f"{name} ({what})" for name, what in _REQUIRED.items() if not environ.get(name)]
    key_path = environ.get("SNOWFLAKE_PRIVATE_KEY_PATH")
    password = environ.get("SNOWFLAKE_PASSWORD")
    if not key_path and not password:
        missing.append("SNOWFLAKE_PRIVATE_KEY_PATH (PEM private key) or SNOWFLAKE_PASSWORD")
    if missing:
        raise DeployError(f"Set {', '.join(missing)} to connect to Snowflake.")
    parameters: dict[str, str | int] = {
        "account": environ["SNOWFLAKE_ACCOUNT"],
        "user": environ["SNOWFLAKE_USER"],
    }
    for key, (name, default) in _DEFAULTS.items():
        parameters[key] = environ.get(name) or default
    if not key_path:
        return {**parameters, "password": str(password)}
    if not Path(key_path).expanduser().is_file():
        raise DeployError(
            f"SNOWFLAKE_PRIVATE_KEY_PATH={key_path} is not a file: point it to the PEM key."
        )
    parameters["private_key_file"] = key_path
    passphrase = environ.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
    return {**parameters, "private_key_file_pwd": passphrase} if passphrase else parameters


def connect(parameters: Mapping[str, str | int]) -> Session:
    """A Snowpark session (``pip install -e '.[snowflake]'`` provides Snowpark)."""
    try:
        from snowflake.connector.errors import Error
        from snowflake.snowpark import Session
    except ImportError as error:
        raise DeployError("Snowpark is not installed: pip install -e '.[snowflake]'") from error
    try:
        session: Session = Session.builder.configs(dict(parameters)).create()
    except (Error, ValueError, TypeError) as error:
        where = f"account {parameters['account']} as {parameters['user']}"
        raise DeployError(f"Could not connect to Snowflake ({where}): {error}") from error
    session.query_tag = "decisioning"
    return session


def deploy_from_environment(stage: str = STAGE) -> Upload:
    """Connect as profiles.yml's snowflake target would, then :func:`deploy`."""
    stage = stage_name(stage)
    session = connect(connection_parameters())
    try:
        return deploy(session, stage)
    finally:
        session.close()
