#!/usr/bin/env bash
# Before the official entrypoint: the SimpleAuthManager's password file from KDE_AIRFLOW_ADMIN_PASSWORD, so
# Airflow finds its user's password and never generates (and prints) one. 0600, outside any log.
set -euo pipefail
if [[ -n "${KDE_AIRFLOW_ADMIN_PASSWORD:-}" && -n "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}" ]]; then
  umask 077
  python - <<'PY'
import json, os
path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
user = os.environ.get("KDE_AIRFLOW_ADMIN_USER", "admin")
with open(path, "w") as handle:
    json.dump({user: os.environ["KDE_AIRFLOW_ADMIN_PASSWORD"]}, handle)
PY
fi
unset KDE_AIRFLOW_ADMIN_PASSWORD
exec /entrypoint "$@"
