"""Run dbt as its own process, as a user does, and measure it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from decisioning.project import DATABASE_ENV

ROOT = Path(__file__).resolve().parents[1]


def run_dbt(
    args: list[str],
    database: Path,
    settings: dict[str, Any],
    project_dir: Path = ROOT,
    workdir: Path | None = None,
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of `dbt <args>` on `database`, with
    `settings` as the `decisioning` var; target and logs under `workdir` when given."""
    env = {**os.environ, DATABASE_ENV: str(database)}
    profiles = project_dir if (project_dir / "profiles.yml").exists() else ROOT
    paths = (
        []
        if workdir is None
        else ["--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs")]
    )
    command = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles),
        *paths,
        "--vars",
        json.dumps({"decisioning": settings}),
        "--quiet",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise subprocess.CalledProcessError(code, command)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024
