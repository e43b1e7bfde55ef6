"""Running the dbt project from Python: paths, settings, and in-process dbt builds."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from decisioning.config import Config, load_config

DATABASE_ENV = "DECISIONING_DUCKDB_PATH"


class BuildError(RuntimeError):
    """A dbt command failed; the message lists the failing nodes and their errors."""


def find_project_dir(start: Path | None = None) -> Path:
    """The dbt project: the nearest folder at or above ``start`` (default: the current
    one) with a ``dbt_project.yml``, else the checkout this package was installed from."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dbt_project.yml").exists():
            return folder
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "dbt_project.yml").exists():
        return checkout
    raise FileNotFoundError("No dbt_project.yml here or above; run from the project folder.")


def database_path(project_dir: Path) -> Path:
    """``$DECISIONING_DUCKDB_PATH``, else ``decisioning.duckdb`` at the project root."""
    return Path(os.environ.get(DATABASE_ENV) or project_dir / "decisioning.duckdb").resolve()


def project_settings(project_dir: Path) -> dict[str, Any]:
    """The ``decisioning`` var block in ``dbt_project.yml``."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    return dict((project.get("vars") or {}).get("decisioning") or {})


@dataclass
class Project:
    """A dbt project run in-process (dbt's start-up cost is paid once per process)."""

    project_dir: Path
    database: Path
    settings: dict[str, Any] = field(default_factory=dict)
    _runner: Any = None

    @classmethod
    def open(cls, project_dir: Path | None = None, database: Path | None = None) -> Project:
        """The project at ``project_dir`` (default: found from here), on ``database``
        (default: ``$DECISIONING_DUCKDB_PATH`` or ``decisioning.duckdb`` in the project)."""
        folder = project_dir or find_project_dir()
        profiles = folder / "profiles.yml"
        if not profiles.exists():
            shutil.copy(folder / "profiles.example.yml", profiles)
        return cls(folder, (database or database_path(folder)).resolve(), project_settings(folder))

    def config(self, overrides: Mapping[str, Any] | None = None) -> Config:
        """Project settings with ``overrides`` merged on top, validated."""
        return load_config(merge_settings(self.settings, overrides or {}))

    def dbt(
        self,
        args: Sequence[str],
        overrides: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run ``dbt <args>`` with the project settings plus ``overrides`` (and other dbt
        ``variables``); raise on failure."""
        settings = merge_settings(self.settings, overrides or {})
        load_config(settings)  # fail before dbt writes anything
        if self._runner is None:
            from dbt.cli.main import dbtRunner

            self._runner = dbtRunner()
        os.environ[DATABASE_ENV] = str(self.database)  # read by profiles.yml
        result = self._runner.invoke(
            [
                *args,
                "--project-dir",
                str(self.project_dir),
                "--profiles-dir",
                str(self.project_dir),
                "--vars",
                json.dumps({**(variables or {}), "decisioning": settings}),
                "--quiet",
            ]
        )
        if not result.success:
            raise BuildError(_failure_message(args, result))
        return result.result

    def build(self, overrides: Mapping[str, Any] | None = None, *extra: str) -> Any:
        """One turn of the loop: ``dbt build`` for the settings' ``as_of``."""
        return self.dbt(["build", *extra], overrides)


def merge_settings(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` deep-merged onto ``base`` (both partial ``decisioning`` blocks)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged


def _failure_message(args: Sequence[str], result: Any) -> str:
    lines = [f"dbt {' '.join(args)} failed."]
    if result.exception is not None:
        lines.append(str(result.exception))
    for node in getattr(result.result, "results", None) or []:
        status = str(getattr(node, "status", "")).lower()
        if status in {"error", "fail", "runtime error"}:
            lines.append(f"- {node.node.unique_id} ({status}): {(node.message or '').strip()}")
    return "\n".join(lines)


__all__ = ["BuildError", "Project", "database_path", "find_project_dir", "merge_settings"]
