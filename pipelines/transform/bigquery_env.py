"""BigQuery's dbt in a virtualenv of its own: dbt-bigquery pins google-cloud-storage below what the batch's gcsfs
needs, so the two cannot share one environment. `run.build` calls this environment's `dbt` by the path in
`$KDE_DBT_BIGQUERY`; the versions are pyproject.toml's `transform-bigquery` extra.

examples:
  python -m pipelines.transform.bigquery_env .out/dbt-bigquery           create it (again: nothing to do)
  python -m pipelines.transform.bigquery_env /opt/dbt --pyproject pyproject.toml
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

EXTRA = "transform-bigquery"
#: the repository's pyproject.toml when running from a checkout (the Airflow image passes its own copy)
REPO_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


class InstallError(RuntimeError):
    """The virtualenv could not be made; the message names the folder and the failing step."""


def pins(pyproject: Path) -> list[str]:
    try:
        extras = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
        return list(extras[EXTRA])
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise InstallError(f"{pyproject}: no [project.optional-dependencies] {EXTRA} ({exc})") from None


def install(home: Path, pyproject: Path = REPO_PYPROJECT) -> Path:
    """Create `home` with the pinned dbt-bigquery (idempotent: the same pins installed once); its `dbt` path."""
    wanted = "\n".join(pins(pyproject)) + "\n"
    dbt, marker = home / "bin" / "dbt", home / "kde-pins.txt"
    if dbt.is_file() and marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
        return dbt
    marker.unlink(missing_ok=True)
    _run([sys.executable, "-m", "venv", "--clear", str(home)], f"{home}: python -m venv")
    installer = _installer(home)
    _run([*installer, *wanted.split()], f"{home}: {' '.join(installer[:3])} {wanted.split()}")
    marker.write_text(wanted, encoding="utf-8")  # last: a half-made environment is made again next time
    return dbt


def _installer(home: Path) -> list[str]:
    """uv beside this interpreter when there is one (`make setup` puts it in the venv: seconds, not minutes), else
    the new environment's own pip (the Airflow image, MWAA)."""
    uv = Path(sys.executable).parent / "uv"
    if uv.is_file():
        return [str(uv), "pip", "install", "--quiet", "--python", str(home / "bin" / "python")]
    return [str(home / "bin" / "pip"), "install", "--quiet"]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        raise InstallError(f"{what} failed (exit {done.returncode}): {tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.transform.bigquery_env",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="examples:" + (__doc__ or "").split("examples:")[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("home", type=Path, help="the virtualenv's folder")
    parser.add_argument("--pyproject", type=Path, default=REPO_PYPROJECT, help="where the pins are (default: repo's)")
    args = parser.parse_args(argv)
    try:
        dbt = install(args.home, args.pyproject)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"export KDE_DBT_BIGQUERY={dbt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
