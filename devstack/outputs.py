"""devstack's outputs: the substrate it runs (contract.outputs.SUBSTRATE_KEYS), assembled from what each service
publishes about itself (`Service.published()`), and the DuckDB warehouse file devstack keeps under its home (its
folder made by `up`; dbt creates the file). The `devstack` Pulumi stack reads them (from the file `up`
writes, `<DEVSTACK_HOME>/outputs.json`, mode 0600: it holds the emulators' keys and the Airflow login) and adds
the platform objects it creates: topics, subjects, the S3 sink connector, Airflow connections and variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contract import naming
from contract.outputs import WarehouseOutputs, duckdb_warehouse, validate_substrate
from devstack import process, services
from devstack.config import DevstackConfig

#: what no devstack service offers (no emulator for BigQuery; no REST proxy or console outside Docker)
UNSERVED: dict[str, Any] = {"bigquery_datasets": {}, "kafka_rest_proxy_url": None, "kafka_console_url": None}


def build_outputs(cfg: DevstackConfig) -> dict[str, Any]:
    """Every service's published facts, whether it runs now or not (ports and names are fixed by the config)."""
    outputs: dict[str, Any] = {**UNSERVED, "warehouse": warehouse(cfg)}
    for name in services.processes():
        for key, value in services.make(name, cfg).published().items():
            if isinstance(value, dict) and isinstance(outputs.get(key), dict):
                outputs[key] = {**outputs[key], **value}
            else:
                outputs[key] = value
    return validate_substrate(outputs, "devstack")


def warehouse_file(cfg: DevstackConfig) -> Path:
    return cfg.home / naming.DUCKDB_WAREHOUSE_DIR / naming.DUCKDB_WAREHOUSE_FILE


def warehouse(cfg: DevstackConfig) -> WarehouseOutputs:
    """The DuckDB warehouse: Airflow runs on this host, so one path serves the DAGs and every other reader."""
    return duckdb_warehouse(str(warehouse_file(cfg)))


def outputs_file(cfg: DevstackConfig) -> Path:
    return cfg.home / "outputs.json"


def write_outputs(cfg: DevstackConfig, path: Path | None = None) -> Path:
    """Write the outputs (mode 0600: they hold credentials) atomically; returns the path."""
    path = path or outputs_file(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    warehouse_file(cfg).parent.mkdir(parents=True, exist_ok=True)
    process.write_private(path, json.dumps(build_outputs(cfg), indent=2) + "\n")
    return path
