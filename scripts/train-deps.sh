#!/usr/bin/env bash
# Debian packages the keyword model's training data needs (scripts/kwsdata.py): Flite, Festival's diphone
# voices kal and kdl (installed as ked_diphone), the wamerican word list, and MBROLA's US voices for espeak-ng
# (Debian non-free: skipped with a note where the apt sources lack it; `--with-non-free` first adds Debian's
# contrib and non-free components in /etc/apt/sources.list.d/voiceguide-contrib.sources). Idempotent.
# Never installed here, kept for the judgement: RHVoice, SVOX Pico, Festival's HTS voices.
#
#     scripts/train-deps.sh [--with-non-free]
set -euo pipefail

PACKAGES=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k wamerican)
OPTIONAL=(mbrola mbrola-us1 mbrola-us2 mbrola-us3)

SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "train-deps: run as root or install sudo" >&2; exit 1; }
    SUDO="sudo"
fi

NON_FREE=0
[ "${1:-}" = "--with-non-free" ] && NON_FREE=1

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${PACKAGES[@]}" "${OPTIONAL[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "train-deps: all installed" >&2
    exit 0
fi

sources=/etc/apt/sources.list.d/voiceguide-contrib.sources
if [ "$NON_FREE" = 1 ] && [ ! -e "$sources" ]; then
    . /etc/os-release
    if [ "${ID:-}" = debian ] && [ -n "${VERSION_CODENAME:-}" ]; then
        echo "train-deps: adding Debian's contrib and non-free components ($sources)" >&2
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: contrib non-free\nSigned-By: %s\n' \
            "$VERSION_CODENAME" /usr/share/keyrings/debian-archive-keyring.gpg | $SUDO tee "$sources" >/dev/null
    else
        echo "train-deps: --with-non-free knows Debian only; enable the repository with mbrola-us1 yourself" >&2
    fi
fi
$SUDO apt-get update -qq >&2
optional=()
for p in "${OPTIONAL[@]}"; do
    installed "$p" && continue
    if [ -n "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]; then
        optional+=("$p")
    else
        echo "train-deps: $p is not in the apt sources (it is in Debian's non-free): training without MBROLA" >&2
    fi
done
required=()
for p in "${PACKAGES[@]}"; do installed "$p" || required+=("$p"); done
todo=("${required[@]}" "${optional[@]}")
if [ ${#todo[@]} -gt 0 ]; then
    echo "train-deps: installing ${todo[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${todo[@]}" >&2
fi
