#!/usr/bin/env bash
# The Helm chart (deploy/helm/ephemeral), validated offline and run (deploy/tests/helm_check.py):
# helm lint --strict and helm template for three parties' values (Helm's Go SDK from PyPI's
# helm-python-sdk), kubernetes-validate --strict, a checkov scan with every skip explained,
# and the rendered party.toml files run as three containers of the image on which the seed
# example runs. The tools come from deploy/tests/requirements.txt, into a venv under target/
# that is reused while the requirements file is unchanged.
set -euo pipefail
: "${EPHEMERAL_BIN:?run through scripts/test, which sets EPHEMERAL_BIN}"
for tool in docker python3; do
  command -v "$tool" >/dev/null || { echo "35-helm: $tool is not installed" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "35-helm: the Docker daemon is not running" >&2; exit 1; }

venv=target/deploy-venv
req=deploy/tests/requirements.txt
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" -u deploy/tests/helm_check.py
