#!/usr/bin/env bash
# Create the virtual environment, installing Debian's venv support first if the
# system Python lacks it.
set -euo pipefail
python=$1
venv=$2

if ! "$python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "Madoguchi needs Python 3.11 or newer as '$python'." >&2
  exit 1
fi
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  version=$("$python" -c 'import sys; print(f"{sys.version_info.major}.{sys.version_info.minor}")')
  "$(dirname "$0")/ensure-packages.sh" "python${version}-venv"
fi
"$python" -m venv "$venv"
