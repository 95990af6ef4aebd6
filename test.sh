#!/usr/bin/env bash
# The test suite: the Rust tests (cargo test), then the Python package built and
# installed into a virtual environment under target/ with its test dependencies, and
# its tests (pytest). Needs a Rust toolchain and Python ≥ 3.9 with venv and pip.
set -euo pipefail
cd "$(dirname "$0")"

cargo test --workspace

venv=target/python-test-env
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "./python[test]"
"$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
