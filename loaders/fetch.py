"""Download the Kaggle dataset (computingvictor/transactions-fraud-datasets) with the Kaggle API when it and
credentials are available; otherwise say how to set them up, or how to generate the same files offline."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

DATASET = "computingvictor/transactions-fraud-datasets"


class FetchError(RuntimeError):
    pass


def kaggle_credentials() -> str | None:
    """Where the Kaggle credentials are, or None."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    config = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle")) / "kaggle.json"
    return str(config) if config.exists() else None


def fetch(out_dir: Path) -> Path:
    help_text = (
        "  1. pip install kaggle   (not a dependency of this project)\n"
        "  2. create an API token on your Kaggle account page and save it as ~/.kaggle/kaggle.json "
        "(chmod 600), or export KAGGLE_USERNAME and KAGGLE_KEY\n"
        f"  3. python -m loaders fetch --out {out_dir}\n"
        f"Offline, generate files of the same shape instead: python -m loaders generate --rows 100000 --out {out_dir}"
    )
    if importlib.util.find_spec("kaggle") is None:
        raise FetchError("the `kaggle` package is not installed. To download the real dataset:\n" + help_text)
    if kaggle_credentials() is None:
        raise FetchError("no Kaggle credentials found. To download the real dataset:\n" + help_text)
    from kaggle.api.kaggle_api_extended import KaggleApi

    api = KaggleApi()
    api.authenticate()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        api.dataset_download_files(DATASET, path=str(out_dir), unzip=True, quiet=False)
    except Exception as exc:  # the client raises plain exceptions for network and HTTP errors
        raise FetchError(f"downloading {DATASET} failed: {exc}\n{help_text}") from exc
    return out_dir


def random_users(count: int) -> list[dict[str, object]]:
    """The seed's random-user source (a public API); fails with a clear message when offline."""
    import requests

    try:
        response = requests.get("https://randomuser.me/api/", params={"results": count}, timeout=10)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise FetchError(
            f"the random-user API is not reachable ({exc.__class__.__name__}); it needs internet access. "
            "Offline, use `python -m loaders generate` for users of the dataset's shape."
        ) from None
    results: list[dict[str, object]] = response.json()["results"]
    return results
