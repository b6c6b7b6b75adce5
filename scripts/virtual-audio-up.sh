#!/usr/bin/env bash
# Start (idempotently) a private PulseAudio daemon with virtual audio devices.
# Works as root, no D-Bus, no sound card. Source it or eval its output:
#   eval "$(bash scripts/virtual-audio-up.sh)"   # exports PULSE_SERVER and ALSA_CONFIG_PATH
# Stop it with scripts/virtual-audio-down.sh; docs/virtual-audio.md explains the devices and pitfalls.
set -euo pipefail
VA_DIR=${VA_DIR:-/tmp/voiceguide-audio}          # private runtime dir (socket, pid, config)
SOCK=$VA_DIR/pulse/native
export PULSE_SERVER=unix:$SOCK
export XDG_RUNTIME_DIR=$VA_DIR                # pid file goes to $XDG_RUNTIME_DIR/pulse/pid
mkdir -p "$VA_DIR/pulse"; chmod 700 "$VA_DIR" "$VA_DIR/pulse"

# ALSA names that PortAudio/sounddevice will list (each routes to a pulse sink/source)
cat > "$VA_DIR/asound.conf" <<'EOF'
pcm.vmic         { type pulse  device "vmic"            hint { show on  description "Virtual microphone" } }
pcm.vmic_feed    { type pulse  device "vmic_sink"       hint { show on  description "Playback into the virtual microphone" } }
pcm.vspeaker     { type pulse  device "speaker"         hint { show on  description "Virtual speaker" } }
pcm.vspeaker_mon { type pulse  device "speaker.monitor" hint { show on  description "Capture of the virtual speaker" } }
EOF

cat > "$VA_DIR/virtual.pa" <<EOF
load-module module-native-protocol-unix auth-anonymous=1 socket=$SOCK
load-module module-null-sink sink_name=vmic_sink rate=48000 channels=1 sink_properties=device.description=VirtualMicFeed
load-module module-null-sink sink_name=speaker   rate=48000 channels=2 sink_properties=device.description=VirtualSpeaker
load-module module-remap-source source_name=vmic master=vmic_sink.monitor source_properties=device.description=VirtualMic
# "pacer": keeps both null sinks at ~7 ms blocks; without it a null sink renders
# 2 s blocks while idle and a newly opened capture loses/delays up to 2 s of audio
${VA_NOPACER:+#}load-module module-null-sink sink_name=pacer_void rate=48000 channels=1
${VA_NOPACER:+#}load-module module-loopback source=vmic_sink.monitor sink=pacer_void latency_msec=${VA_PACER_MS:-20} source_dont_move=true sink_dont_move=true
${VA_NOPACER:+#}load-module module-loopback source=speaker.monitor   sink=pacer_void latency_msec=${VA_PACER_MS:-20} source_dont_move=true sink_dont_move=true
set-default-sink speaker
set-default-source vmic
EOF

ready() {   # daemon answers and has every device + both pacer loopbacks
  pactl list short sources 2>/dev/null | grep -qP '^\d+\tvmic\t' &&
  pactl list short sinks   2>/dev/null | grep -qP '^\d+\tspeaker\t' &&
  { [ -n "${VA_NOPACER:-}" ] || [ "$(pactl list short modules 2>/dev/null | grep -c module-loopback)" = 2 ]; }; }
# settled: both null sinks have left their initial 2 s render block (latency < 50 ms)
settled() { pactl list sinks 2>/dev/null | awk '/Name: (vmic_sink|speaker)$/{f=1} f&&/Latency:/{if ($2>50000) bad=1; n++; f=0} END{exit (n==2&&!bad)?0:1}'; }

if ! ready; then
  # a daemon that answers but lacks our sinks (or a stale one) is stopped first
  OLD=$(cat "$VA_DIR/pulse/pid" 2>/dev/null || true)
  if [ -n "$OLD" ] && [ "$(cat /proc/$OLD/comm 2>/dev/null)" = pulseaudio ]; then
    kill "$OLD"; while kill -0 "$OLD" 2>/dev/null; do sleep 0.1; done
  fi
  pulseaudio --daemonize=yes -n -F "$VA_DIR/virtual.pa" \
    --exit-idle-time=-1 --disallow-exit --use-pid-file=yes \
    --log-target=file:"$VA_DIR/pulse.log" >/dev/null 2>&1
  for _ in $(seq 100); do ready && break; sleep 0.05; done
  ready || { echo "PulseAudio did not come up; see $VA_DIR/pulse.log" >&2; exit 1; }
fi
[ -n "${VA_NOPACER:-}" ] || for _ in $(seq 60); do settled && break; sleep 0.05; done
[ -n "${VA_NOPACER:-}" ] || settled || { echo "virtual sinks did not settle; see $VA_DIR/pulse.log" >&2; exit 1; }
echo "export PULSE_SERVER=$PULSE_SERVER"
echo "export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$VA_DIR/asound.conf"
