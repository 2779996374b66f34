# Sourced by ./run and ./test: make .venv and install the project into it when needed.
# Usage: bootstrap_venv [EXTRAS]   e.g. bootstrap_venv test
# One stamp per part installed (.venv/.installed-base, .venv/.installed-test), each the hash of
# pyproject.toml and the venv's Python: pip runs only when a part asked for is missing or stale.
# An install with [test] stamps base too, so ./run after ./test installs nothing; ./test after
# ./run installs once, adding the test extra; then neither installs until pyproject.toml changes.
bootstrap_venv() {
  local extras="${1:-}" py="${PYTHON:-python3}" spec="." key part stale=""
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "framework-advisor needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    return 2
  fi
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  key="$( (cat pyproject.toml; .venv/bin/python --version) | sha256sum | cut -c1-16)"
  for part in base ${extras//,/ }; do
    [ "$(cat ".venv/.installed-$part" 2>/dev/null)" = "$key" ] || stale=1
  done
  if [ -n "$stale" ]; then
    echo "Installing framework-advisor$([ -n "$extras" ] && echo " with [$extras]") into .venv ..." >&2
    .venv/bin/python -m pip install -qq --disable-pip-version-check -e "$spec" >&2
    rm -f .venv/.installed  # the single stamp of earlier versions
    for part in base ${extras//,/ }; do
      echo "$key" > ".venv/.installed-$part"
    done
  fi
}

# Used by ./test: the Redis tests start their own redis-server, so install Debian's package when
# the binary is missing (as root, or through sudo). Elsewhere, say what to install.
ensure_redis_server() {
  command -v redis-server >/dev/null 2>&1 && return 0
  local sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo_cmd=(sudo)
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need redis-server (e.g. 'brew install redis' or your distribution's package)." >&2
    return 2
  fi
  echo "Installing redis-server (Debian package) for the tests ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 \
    || { "${sudo_cmd[@]}" apt-get update -qq >/dev/null \
         && "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }
  # The package may start a system service on port 6379; the tests run their own servers.
  if command -v systemctl >/dev/null 2>&1; then
    "${sudo_cmd[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
  command -v redis-server >/dev/null 2>&1
}
