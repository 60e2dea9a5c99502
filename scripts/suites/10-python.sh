#!/usr/bin/env bash
# The Python SDK (python/): build the wheel with maturin, install it into a fresh virtual
# environment, and run its pytest suite against real `ephemeral dev` clouds started from
# $EPHEMERAL_BIN (and the client crate's fake cloud).
#
# Reuses the workspace's target directory: the `dev` profile shares its dependencies' builds with
# `cargo test` (same settings), so only pyo3, the crates of the SDK and the dependencies whose
# features differ outside the whole workspace compile here. (`--profile test` would build a test
# harness: `cargo rustc --profile test` compiles with --test.)
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${EPHEMERAL_BIN:?EPHEMERAL_BIN must name the ephemeral binary (scripts/test sets it)}"
PY="${PYTHON:-python3}"
VENV="target/py-venv"
WHEELS="target/py-wheels"

start=$(date +%s)
rm -rf "$VENV" "$WHEELS"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
echo "python suite: venv ready in $(( $(date +%s) - start )) s"

t=$(date +%s)
"$VENV/bin/maturin" build --manifest-path python/Cargo.toml --profile dev --strip \
  --interpreter "$VENV/bin/python" --out "$WHEELS" --locked --quiet
echo "python suite: wheel built in $(( $(date +%s) - t )) s: $(ls "$WHEELS")"

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$WHEELS"/*.whl
t=$(date +%s)
# Run from the tests directory, so that the installed wheel (not the source tree) is imported.
(cd python/tests && EPHEMERAL_BIN="$EPHEMERAL_BIN" "../../$VENV/bin/python" -m pytest -q -p no:cacheprovider .)
echo "python suite: pytest in $(( $(date +%s) - t )) s"
