#!/usr/bin/env bash
# `make setup`: the three slow parts of a first setup side by side, so downloads overlap with builds:
#   python    the project's venv with every extra and the converter's Rust kernel (make .venv/.installed)
#   services  devstack's services into its install cache (python -m devstack install, a few at once)
#   pulumi    the Pulumi CLI built from its Go module (tools/pulumi/build.sh --binary-only)
# then the steps that need all three: Airflow's check (it is a package of the venv) and the CLI's dynamic-provider
# launcher. Each part's output goes to the terminal with its name in front and to .out/setup/<part>.log; a line
# every 30 s says what is still running. Idempotent: a part that is up to date takes a second.
# It installs nothing outside the checkout and never uses sudo (Chromium for the browser test: make test-setup).
#
# usage: tools/setup.sh        (run by `make setup`, after the venv's bootstrap)   env: MAKE (default make)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
LOGS=.out/setup
PARTS=(python services pulumi)
MAKE="${MAKE:-make}"

say() { echo "[setup $(date +%T)] $*"; }

part_command() {
    case "$1" in
        python) $MAKE --no-print-directory .venv/.installed ;;
        # airflow's install only checks that the venv has the package, which the python part is installing
        services) "$PY" -m devstack install --skip airflow ;;
        pulumi) tools/pulumi/build.sh --binary-only ;;
    esac
}

# runs a part in the background; its exit code and seconds land in $LOGS/<part>.done
start_part() {
    local name=$1
    rm -f "$LOGS/$name.done"
    (
        started=$SECONDS
        part_command "$name" 2>&1 | tee "$LOGS/$name.log" | sed -u "s/^/  $name | /"
        echo "${PIPESTATUS[0]} $((SECONDS - started))" >"$LOGS/$name.done"
    ) &
}

running_parts() {
    local name running=()
    for name in "${PARTS[@]}"; do [[ -f "$LOGS/$name.done" ]] || running+=("$name"); done
    echo "${running[*]}"
}

mkdir -p "$LOGS"
start=$SECONDS
say "python, services and pulumi side by side (logs: $LOGS/) ..."
for name in "${PARTS[@]}"; do start_part "$name"; done
last_beat=$SECONDS
while running="$(running_parts)" && [[ -n "$running" ]]; do
    if ((SECONDS - last_beat >= 30)); then
        say "$((SECONDS - start))s: still running: $running"
        last_beat=$SECONDS
    fi
    sleep 2
done
wait

summary=() failed=()
for name in "${PARTS[@]}"; do
    read -r rc seconds <"$LOGS/$name.done"
    summary+=("$name ${seconds}s")
    ((rc == 0)) || failed+=("$name")
done
say "parts: ${summary[*]}"
for name in "${failed[@]}"; do
    say "error: $name failed; the end of $LOGS/$name.log:"
    tail -n 20 "$LOGS/$name.log" | sed "s/^/  $name | /"
done
((${#failed[@]} == 0)) || exit 1

"$PY" -m devstack install airflow || exit 1
tools/pulumi/build.sh || exit 1
say "setup done in $((SECONDS - start))s"
