#!/usr/bin/env bash
# Shared set-up for scripts/run and scripts/test: Debian packages, .venv, the project.
# Sourced, not run. Set VG_EXTRAS (e.g. "test") before sourcing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

APT_PACKAGES=(espeak-ng libportaudio2 sox)
if [ "${VG_EXTRAS:-}" = "test" ]; then
    # the virtual sound devices of scripts/virtual-audio-up.sh need these for the audio tests
    APT_PACKAGES+=(pulseaudio pulseaudio-utils libasound2-plugins graphviz systemd sysbench)
    APT_PACKAGES+=(flite)  # held-out commands in an unseen voice (slt) for the keyword tests
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && SUDO="sudo"; }
        if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
            echo "voiceguide: installing Debian packages: ${missing[*]}" >&2
            $SUDO apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
        else
            echo "voiceguide: please install these Debian packages first: sudo apt-get install ${missing[*]}" >&2
            exit 1
        fi
    else
        echo "voiceguide: not a Debian-like system; install the equivalents of: ${missing[*]}" >&2
        exit 1
    fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "voiceguide: creating .venv" >&2
    "$PY" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.voiceguide-installed-${VG_EXTRAS:-base}
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "voiceguide: installing the project into .venv" >&2
    spec="."
    [ -n "${VG_EXTRAS:-}" ] && spec=".[${VG_EXTRAS}]"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" >&2
    touch "$stamp"
fi
