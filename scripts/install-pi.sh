#!/usr/bin/env bash
# Install voiceguide on a Raspberry Pi (Raspberry Pi OS Bookworm, Python 3.11) as a boot-time service.
#
#   sudo scripts/install-pi.sh               install or update (a second run changes nothing)
#   sudo scripts/install-pi.sh --uninstall   remove what this script added; history is kept
#
# Options:
#   --no-model            do not download the English vosk model (the bundled recognizer is used)
#   --model-url URL --model-sha256 HEX   fetch the model from a mirror instead
#   --root DIR            install under DIR as if it were / (packaging and tests): system commands
#                         (apt-get, useradd, chown, systemctl) are printed, not run
#   --dry-run             print what would change, change nothing
#   --python PY           the Python 3.11+ to build the virtual environment with (default: python3)
#
# What goes where: /opt/voiceguide/{src,venv} the program, /etc/voiceguide/config.toml the settings,
# /var/lib/voiceguide the history and models/, /var/cache/voiceguide rendered narration,
# /etc/systemd/system/voiceguide.service the service, run as the system user `voiceguide` (group audio).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=""
DRY=0
UNINSTALL=0
FETCH_MODEL=1
MODEL_NAME="vosk-model-small-en-us-0.15"
MODEL_URL=""
MODEL_SHA=""
PY=python3
SVC_USER=voiceguide
APT_PACKAGES=(espeak-ng libportaudio2 sox alsa-utils python3-venv)

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --no-model) FETCH_MODEL=0; shift ;;
        --model-url) MODEL_URL=${2:?--model-url needs a URL}; shift 2 ;;
        --model-sha256) MODEL_SHA=${2:?--model-sha256 needs a checksum}; shift 2 ;;
        --python) PY=${2:?--python needs an interpreter}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-pi.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$MODEL_URL" ] && [ -z "$MODEL_SHA" ]; then
    echo "install-pi.sh: --model-url needs --model-sha256" >&2; exit 2
fi
if [ -n "$ROOT" ]; then
    mkdir -p "$ROOT"
    ROOT=$(cd "$ROOT" && pwd)
elif [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "install-pi.sh: run it as root: sudo $0 $*" >&2; exit 1
fi

OPT=/opt/voiceguide                     # paths as the running system sees them
PREFIX=$ROOT$OPT                        # paths as this script writes them
VENV=$PREFIX/venv
CONF_DIR=$ROOT/etc/voiceguide
CONF=$CONF_DIR/config.toml
UNIT=$ROOT/etc/systemd/system/voiceguide.service
DROPIN=$ROOT/etc/systemd/system/voiceguide.service.d/backoff.conf
DATA=$ROOT/var/lib/voiceguide
CACHE=$ROOT/var/cache/voiceguide
STAMP=$PREFIX/.installed-source
CONF_STAMP=$PREFIX/.config-as-installed

CHANGED=0
say() { echo "install-pi.sh: $*"; }
changed() { CHANGED=1; say "$*"; }
# A system-wide command: run for real only on the real system.
system() {
    if [ "$DRY" = 1 ] || [ -n "$ROOT" ]; then say "would run: $(printf '%q ' "$@")"; else "$@"; fi
}
# A change to files under $ROOT: skipped (but reported) in a dry run.
act() {
    if [ "$DRY" = 1 ]; then say "would run: $(printf '%q ' "$@")"; else "$@"; fi
}
tree_hash() {  # content hash of a folder: names and bytes, not times
    (cd "$1" && find . -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) \
        | sha256sum | cut -d' ' -f1
}
same_file() { [ -f "$2" ] && cmp -s "$1" "$2"; }

# The unit as installed: its paths follow --root only when the files are meant for that root's own boot.
render_unit() { cat "$SRC/scripts/voiceguide.service"; }

render_config() {
    cat <<'EOF'
# voiceguide settings for the speaker service (TOML). Every key is optional: the values shown are
# the defaults. Each key is also a flag of `voiceguide run` (e.g. `--volume 0.6` for volume).
# After an edit: sudo systemctl restart voiceguide
# Check it: sudo -u voiceguide /opt/voiceguide/bin/voiceguide doctor
# (the service reads this file as XDG_CONFIG_HOME=/etc; a bad key is one line in `journalctl -u voiceguide`)

pack = "facial-massage"        # pack id or folder guided when none is named
# input_device = "USB"         # microphone: part of its name, or its index (`voiceguide devices`)
# output_device = "USB"        # speaker: part of its name, or its index
volume = 0.8                   # 0 to 1
# tempo = 1.0                  # 0.5 to 2; unset: the pack's, or the one remembered from last time
engine = "auto"                # auto (vosk when a model is installed, else pocketsphinx), vosk, pocketsphinx
# model = "/var/lib/voiceguide/models/vosk-model-small-en-us-0.15"   # a vosk model folder
# language = "en-us"           # recognition language; unset: the pack's
tts = "auto"                   # narration engine: auto, pyttsx3, piper
# voice = "en-us"              # narration voice; unset: the pack's
# data_dir = "/var/lib/voiceguide"   # history and checkpoints
EOF
}

# `sudo -u voiceguide /opt/voiceguide/bin/voiceguide doctor` sees what the service sees.
render_wrapper() {
    cat <<'EOF'
#!/bin/sh
# voiceguide with the service's folders (config /etc/voiceguide, history /var/lib/voiceguide).
export XDG_CONFIG_HOME=/etc XDG_DATA_HOME=/var/lib XDG_CACHE_HOME=/var/cache
exec /opt/voiceguide/venv/bin/voiceguide "$@"
EOF
}

systemd_version() { systemctl --version 2>/dev/null | awk 'NR==1 {print $2}' | tr -dc 0-9; }

# ------------------------------------------------------------------------------------------------
uninstall() {
    if [ -f "$UNIT" ]; then
        system systemctl disable --now voiceguide.service
        act rm -f "$UNIT"
        changed "removed the service"
    fi
    if [ -f "$DROPIN" ]; then
        act rm -rf "$(dirname "$DROPIN")"
        changed "removed the service's back-off drop-in"
    fi
    if [ -f "$CONF" ]; then
        if [ -f "$CONF_STAMP" ] && [ "$(sha256sum < "$CONF" | cut -d' ' -f1)" = "$(cat "$CONF_STAMP")" ]; then
            act rm -f "$CONF"
            act rmdir --ignore-fail-on-non-empty "$CONF_DIR"
            changed "removed $CONF (unchanged since install)"
        else
            say "kept $CONF: it was edited (delete it yourself if you no longer want it)"
        fi
    fi
    if [ -d "$DATA/models/$MODEL_NAME" ]; then
        act rm -rf "$DATA/models/$MODEL_NAME"
        act rmdir --ignore-fail-on-non-empty "$DATA/models"
        changed "removed the downloaded model $MODEL_NAME"
    fi
    if [ -d "$CACHE" ]; then
        act rm -rf "$CACHE"
        changed "removed the narration cache $CACHE"
    fi
    if [ -d "$PREFIX" ]; then
        act rm -rf "$PREFIX"
        changed "removed the program $PREFIX"
    fi
    [ "$CHANGED" = 1 ] && system systemctl daemon-reload
    if [ -d "$DATA" ]; then
        say "kept the history in $DATA (and the user '$SVC_USER' who owns it: sudo userdel $SVC_USER to remove it)"
    fi
    say "kept the Debian packages (${APT_PACKAGES[*]}): other programs may use them"
    if [ "$CHANGED" = 1 ]; then say "uninstalled"; else say "nothing to uninstall"; fi
}

if [ "$UNINSTALL" = 1 ]; then
    uninstall
    exit 0
fi

# ---- 1. Debian packages -------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    system apt-get update -qq
    system env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ -z "$ROOT" ] && [ "$DRY" = 0 ] && changed "installed Debian packages: ${missing[*]}"
fi

# ---- 2. the service user (unprivileged, in the audio group) ---------------------------------------
if ! getent passwd "$SVC_USER" >/dev/null; then
    system useradd --system --home-dir /var/lib/voiceguide --no-create-home --shell /usr/sbin/nologin \
        --groups audio --comment "voiceguide speaker" "$SVC_USER"
    [ -z "$ROOT" ] && [ "$DRY" = 0 ] && changed "created the system user $SVC_USER (group audio)"
elif ! id -nG "$SVC_USER" | tr ' ' '\n' | grep -qx audio; then
    system usermod -aG audio "$SVC_USER"
    [ -z "$ROOT" ] && [ "$DRY" = 0 ] && changed "added $SVC_USER to the audio group"
fi

# ---- 3. the program: a copy of this checkout, installed into its own virtual environment ----------
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "install-pi.sh: $PY is older than Python 3.11 (Raspberry Pi OS Bookworm has 3.11)" >&2; exit 1; }
stage=$(mktemp -d)
chmod 0755 "$stage"  # becomes /opt/voiceguide/src: readable by the service user
trap 'rm -rf "$stage"' EXIT
tar -C "$SRC" --exclude=./.venv --exclude=./.git --exclude=./build --exclude=./dist --exclude='*.egg-info' \
    --exclude='__pycache__' --exclude=./.pytest_cache --exclude=./.hypothesis --exclude=./tests \
    --exclude=./models -cf - . | tar -C "$stage" -xf -
want=$(tree_hash "$stage")
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/voiceguide" ]; then
    say "ok: the program in $PREFIX is up to date"
else
    act mkdir -p "$PREFIX"
    act rm -rf "$PREFIX/src"
    act cp -a "$stage" "$PREFIX/src"
    [ -x "$VENV/bin/python" ] || act "$PY" -m venv "$VENV"
    act "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir "$PREFIX/src"
    act rm -rf "$PREFIX/src/build"
    [ "$DRY" = 1 ] || echo "$want" > "$STAMP"
    changed "installed the program into $VENV"
fi
wrapper_new=$stage/.wrapper
render_wrapper > "$wrapper_new"
chmod 0755 "$wrapper_new"
if ! same_file "$wrapper_new" "$PREFIX/bin/voiceguide"; then
    act mkdir -p "$PREFIX/bin"
    act cp -p "$wrapper_new" "$PREFIX/bin/voiceguide"
    changed "installed $OPT/bin/voiceguide (voiceguide as the service runs it)"
fi

# ---- 4. folders the service writes to ----------------------------------------------------------------
for d in "$DATA" "$CACHE"; do
    if [ ! -d "$d" ]; then
        act mkdir -p "$d"
        system chown "$SVC_USER:$SVC_USER" "${d#"$ROOT"}"
        changed "created $d"
    fi
done

# ---- 5. the English vosk model (optional: the bundled pocketsphinx recognizer works without it) -------
if [ -d "$DATA/models/$MODEL_NAME" ]; then
    say "ok: the vosk model $MODEL_NAME is installed"
elif [ "$FETCH_MODEL" = 0 ]; then
    say "no vosk model (--no-model): the bundled English recognizer (pocketsphinx) is used;" \
        "add the model later with: sudo $0"
elif [ "$DRY" = 1 ]; then
    say "would fetch the vosk model $MODEL_NAME into $DATA/models"
else
    # Fetched outside the data folder (on disk, not in a RAM /tmp), then moved in whole: a failed or
    # interrupted download leaves nothing behind in /var/lib/voiceguide.
    fetch_dir=$(mktemp -d "${TMPDIR:-/var/tmp}/voiceguide-model.XXXXXX")
    fetch=("$VENV/bin/voiceguide" model fetch "$MODEL_NAME" --dest "$fetch_dir")
    [ -n "$MODEL_URL" ] && fetch+=(--url "$MODEL_URL" --sha256 "$MODEL_SHA")
    if out=$("${fetch[@]}" 2>&1); then
        mkdir -p "$DATA/models"
        rm -rf "$DATA/models/.$MODEL_NAME.partial"
        mv "$fetch_dir/$MODEL_NAME" "$DATA/models/.$MODEL_NAME.partial"
        mv "$DATA/models/.$MODEL_NAME.partial" "$DATA/models/$MODEL_NAME"
        rm -rf "$fetch_dir"
        system chown -R "$SVC_USER:$SVC_USER" "${DATA#"$ROOT"}/models"
        changed "fetched the vosk model into $DATA/models/$MODEL_NAME"
    else
        rm -rf "$fetch_dir"
        say "could not fetch the vosk model ($(echo "$out" | tail -n 1 | sed 's/^voiceguide: //'))."
        say "voiceguide works without it: the bundled English recognizer (pocketsphinx) is used."
        say "add the model later, when online: sudo $0   (or copy the unzipped $MODEL_NAME folder into ${DATA#"$ROOT"}/models/)"
    fi
fi

# ---- 6. the config file (written once; your edits are never overwritten) --------------------------
if [ -f "$CONF" ]; then
    say "ok: kept the config file $CONF"
else
    act mkdir -p "$CONF_DIR"
    if [ "$DRY" = 1 ]; then
        say "would write $CONF"
    else
        render_config > "$CONF"
        chmod 0644 "$CONF"
        sha256sum < "$CONF" | cut -d' ' -f1 > "$CONF_STAMP"
    fi
    changed "wrote the config file $CONF"
fi
if [ "$DRY" = 0 ]; then
    # The same check the service makes at start, so a typo shows up now, not at boot.
    if ! problem=$("$VENV/bin/python" -c 'import sys; from pathlib import Path
from voiceguide.config import ConfigError, load_config
try:
    load_config(Path(sys.argv[1]))
except ConfigError as exc:
    sys.exit(str(exc))' "$CONF" 2>&1); then
        say "the config file has a problem (the service will not start until it is fixed): $problem"
    fi
fi

# ---- 6b. the default pack's narration, rendered once: a Pi never synthesizes on the hot path ------------
# Into $CACHE/voice, where the service looks (XDG_CACHE_HOME=/var/cache in the unit). Skipped when this
# program already rendered this pack with this engine and voice (the stamp says so);
# the cache is safe to delete: the next install renders it again, and the service renders what it lacks.
render_stamp=$CACHE/.prerendered
if [ "$DRY" = 1 ]; then
    say "would render the default pack's narration into $CACHE (unless it is already)"
elif ! render_for=$("$VENV/bin/python" -c 'import sys; from pathlib import Path
from voiceguide.config import load_config
c = load_config(Path(sys.argv[1]))
print(c.pack); print(c.tts); print(c.voice or "")' "$CONF" 2>/dev/null); then
    say "not rendering the default pack's narration: the config file has a problem (see above)"
else
    pack=$(echo "$render_for" | head -n 1)
    render_want=$(printf '%s\n%s\n' "$want" "$render_for" | sha256sum | cut -d' ' -f1)
    if [ -f "$render_stamp" ] && [ "$(cat "$render_stamp")" = "$render_want" ]; then
        say "ok: the narration of '$pack' is rendered"
    elif render_out=$("$VENV/bin/voiceguide" pack --packs-dir "$DATA/packs" render "$pack" --config "$CONF" \
                      --cache-dir "$CACHE/voice" 2>&1); then
        echo "$render_want" > "$render_stamp"
        system chown -R "$SVC_USER:$SVC_USER" "${CACHE#"$ROOT"}"
        changed "rendered the narration of '$pack' into $CACHE/voice: $(echo "$render_out" | tail -n 1)"
    else
        say "could not render the narration of '$pack' ($(echo "$render_out" | tail -n 1 | sed 's/^voiceguide: //'));"
        say "the service renders each sentence the first time it is needed instead"
    fi
fi

# ---- 7. the systemd service --------------------------------------------------------------------------
unit_new=$stage/.unit
render_unit > "$unit_new"
if same_file "$unit_new" "$UNIT"; then
    say "ok: the service is installed"
else
    act mkdir -p "$(dirname "$UNIT")"
    act cp "$unit_new" "$UNIT"
    changed "installed the service $UNIT"
fi
v=$(systemd_version)
if [ -n "$v" ] && [ "$v" -ge 254 ] && [ -z "$ROOT" ]; then
    # systemd 254+ can lengthen the pause between restarts: 5 s, growing to 5 min.
    printf '[Service]\nRestartSteps=6\nRestartMaxDelaySec=5min\n' > "$unit_new"
    if ! same_file "$unit_new" "$DROPIN"; then
        act mkdir -p "$(dirname "$DROPIN")"
        act cp "$unit_new" "$DROPIN"
        changed "installed the restart back-off drop-in"
    fi
fi
if [ "$CHANGED" = 1 ]; then
    system systemctl daemon-reload
    system systemctl enable voiceguide.service
    system systemctl restart voiceguide.service
    say "done: the service starts at boot. Logs: journalctl -u voiceguide -f    Check: sudo -u $SVC_USER $OPT/bin/voiceguide doctor"
else
    say "nothing changed: voiceguide is installed and up to date"
fi
