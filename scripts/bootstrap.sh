# Sourced by ./run and ./test: make .venv and install the project into it when needed.
# Usage: bootstrap_venv [EXTRAS]   e.g. bootstrap_venv test
# Re-installs only when pyproject.toml or the extras changed (stamp in .venv/.installed).
bootstrap_venv() {
  local extras="${1:-}" py="${PYTHON:-python3}" spec="." stamp
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "framework-advisor needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    return 2
  fi
  [ -n "$extras" ] && spec=".[$extras]"
  stamp="$( (cat pyproject.toml; echo "$spec"; "$py" --version) | sha256sum | cut -c1-16)"
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  if [ "$(cat .venv/.installed 2>/dev/null)" != "$stamp" ]; then
    echo "Installing framework-advisor$([ -n "$extras" ] && echo " with [$extras]") into .venv ..." >&2
    .venv/bin/python -m pip install -qq --disable-pip-version-check -e "$spec" >&2
    echo "$stamp" > .venv/.installed
  fi
}
