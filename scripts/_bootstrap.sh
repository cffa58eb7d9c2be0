# shellcheck shell=bash disable=SC2034  # PD_VENV_DIR is read by the scripts that source this
# Shared set-up for scripts/test and scripts/demo: find interpreters, install the system
# packages mysqlclient builds against, and make or reuse the virtualenvs under .venv/.
#
# Source it; it defines functions and PD_ROOT and changes nothing until one is called.

PD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PD_VENVS="$PD_ROOT/.venv"
PD_VENV_DIR=""

# Bump when the way a venv is built changes, so every existing venv is rebuilt once.
PD_BOOTSTRAP_VERSION=1

pd_log() { printf '%s\n' "$*" >&2; }
pd_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The "Django>=X,<Y" pin of each venv the project tests on, by venv name.
pd_django_pin() {
    case "$1" in
        py311-dj52) echo "Django>=5.2,<5.3" ;;
        py312-dj61) echo "Django>=6.1,<6.2" ;;
        *) pd_die "unknown venv $1 (known: py311-dj52, py312-dj61)" ;;
    esac
}

# The Python version ("3.11") of a venv name ("py311-dj52").
pd_venv_python_version() {
    local digits=${1#py}
    digits=${digits%%-*}
    echo "${digits:0:1}.${digits:1}"
}

# Print the real path of a working CPython X.Y that can make virtualenvs.
pd_find_python() {
    local want=$1 candidate found pyenv_root="" tried=()
    local -a candidates=()
    if candidate=$(command -v "python$want" 2>/dev/null); then
        candidates+=("$candidate")
    fi
    if command -v pyenv >/dev/null 2>&1; then
        pyenv_root=$(pyenv root 2>/dev/null || true)
    fi
    pyenv_root=${pyenv_root:-${PYENV_ROOT:-$HOME/.pyenv}}
    # Newest patch release first.
    while IFS= read -r candidate; do
        [[ -n $candidate ]] && candidates+=("$candidate")
    done < <(ls -d "$pyenv_root"/versions/"$want".*/bin/python 2>/dev/null | sort -rV)
    candidates+=("/usr/local/bin/python$want" "/usr/bin/python$want")

    for candidate in "${candidates[@]}"; do
        [[ -x $candidate ]] || continue
        tried+=("$candidate")
        # A pyenv shim for a version that is not selected exits non-zero here; a Debian Python
        # without python3-venv has no ensurepip. Either way, try the next one.
        if found=$("$candidate" -c "
import sys, venv, ensurepip
assert '%d.%d' % sys.version_info[:2] == '$want'
print(sys.executable)" 2>/dev/null) && [[ -n $found ]]; then
            echo "$found"
            return 0
        fi
    done
    pd_log "error: no working Python $want with venv and ensurepip found."
    pd_log "  tried: python$want on PATH, $pyenv_root/versions/$want.*/bin/python, /usr/bin/python$want"
    if ((${#tried[@]})); then
        pd_log "  found but unusable: ${tried[*]}"
    fi
    pd_log "  install it with 'pyenv install $want' (or Debian's python$want-venv), then re-run."
    exit 1
}

# mysqlclient (in the test extra) compiles against the MariaDB client library.
pd_ensure_mysqlclient_build_deps() {
    local name
    if command -v pkg-config >/dev/null 2>&1; then
        for name in mysqlclient mariadb libmariadb; do
            pkg-config --exists "$name" 2>/dev/null && return 0
        done
    fi
    local cmd="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config libmariadb-dev"
    if [[ $(id -u) -ne 0 ]]; then
        pd_log "error: mysqlclient needs pkg-config and the MariaDB client headers. Install them with:"
        pd_log "  sudo sh -c '$cmd'"
        exit 1
    fi
    pd_log "Installing pkg-config and libmariadb-dev for mysqlclient ..."
    sh -c "$cmd" >&2 || pd_die "could not install pkg-config and libmariadb-dev; run: $cmd"
}

# What a venv's install depends on: rebuild when any of it changes.
pd_install_fingerprint() {
    local python=$1 spec=$2
    {
        echo "bootstrap $PD_BOOTSTRAP_VERSION"
        echo "spec $spec"
        "$python" -c 'import sys; print(sys.version)'
        cat "$PD_ROOT/pyproject.toml"
    } | sha256sum | cut -d' ' -f1
}

# Make or reuse .venv/NAME with the project installed with EXTRA ("" or "dev") and the venv's
# Django pin, and set PD_VENV_DIR to it. A venv installed with "dev" also serves "".
pd_ensure_venv() {
    local name=$1 extra=${2:-}
    local dir="$PD_VENVS/$name" version pin target python stamp fingerprint
    version=$(pd_venv_python_version "$name")
    pin=$(pd_django_pin "$name")
    target="$PD_ROOT"
    [[ -n $extra ]] && target="${PD_ROOT}[$extra]"

    mkdir -p "$PD_VENVS"
    # Two scripts at once must not build the same venv twice.
    local lock_fd
    exec {lock_fd}>"$PD_VENVS/.$name.lock"
    if command -v flock >/dev/null 2>&1; then
        flock "$lock_fd"
    fi

    python="$dir/bin/python"
    if [[ -e $dir ]] && ! "$python" -c "
import sys
assert '%d.%d' % sys.version_info[:2] == '$version'" >/dev/null 2>&1; then
        pd_log "Removing broken venv $dir ..."
        rm -rf "$dir"
    fi
    if [[ ! -e $dir ]]; then
        local base
        base=$(pd_find_python "$version") || exit 1
        pd_log "Creating $dir with $base ..."
        "$base" -m venv "$dir" >&2 || pd_die "could not create venv $dir with $base"
    fi

    # One stamp per extra; a "dev" install covers the base one too.
    local -a covering=("${extra:-base}")
    [[ -z $extra ]] && covering+=(dev)
    local each
    for each in "${covering[@]}"; do
        stamp="$dir/.pagedoctor-installed-$each"
        fingerprint=$(pd_install_fingerprint "$python" "$each $pin")
        if [[ -f $stamp && $(<"$stamp") == "$fingerprint" ]]; then
            exec {lock_fd}>&-
            PD_VENV_DIR=$dir
            return 0
        fi
    done

    if [[ $extra == dev || $extra == test ]]; then
        pd_ensure_mysqlclient_build_deps
    fi
    pd_log "Installing pagedoctor${extra:+[$extra]} and $pin into $dir ..."
    # One pip call, so the resolver honours the Django pin and the project's own ranges together.
    # This machine's pip config lists local indexes that lack most projects; hide pip's
    # warning about each one it skips.
    (cd "$PD_ROOT" && "$python" -m pip install --quiet -e "$target" "$pin" 2>&1 \
        | { grep -v -E "^WARNING: Location 'file://[^']*' is ignored" || true; } >&2) \
        || pd_die "pip install -e '$target' '$pin' failed in $dir (see above)"
    fingerprint=$(pd_install_fingerprint "$python" "${extra:-base} $pin")
    echo "$fingerprint" >"$dir/.pagedoctor-installed-${extra:-base}"
    exec {lock_fd}>&-
    PD_VENV_DIR=$dir
}

# Servers and tools the tests use, from Debian's packages: memcached (the cache tests start it
# on loopback), wrk (`pagedoctor capacity`) and chromium (the HTML report's browser tests).
# What is missing is installed with one apt-get run; a failure only warns: the tests that need
# it then skip (or fail under CI=true).
pd_ensure_test_tools() {
    local -a missing=()
    local tool
    for tool in memcached wrk chromium; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        pd_log "warning: ${missing[*]} not installed; the tests that need them will skip (install: apt-get install ${missing[*]})"
        return 0
    fi
    pd_log "Installing ${missing[*]} for the tests ..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 \
        || pd_log "warning: could not install ${missing[*]}; the tests that need them will skip (or fail under CI=true)"
    return 0
}
