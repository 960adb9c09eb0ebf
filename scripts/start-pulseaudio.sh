#!/usr/bin/env bash
# Start a PulseAudio server with a null sink ("voxcap_test") whose monitor is a real loopback
# source. Used by CI and by the audio tests on machines without sound hardware.
set -eu
if ! pactl info >/dev/null 2>&1; then
    pulseaudio --daemonize=yes --exit-idle-time=-1 --system=false --disallow-exit \
        -n --load="module-native-protocol-unix" --load="module-always-sink" 2>/dev/null \
        || pulseaudio -D --exit-idle-time=-1
    for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pactl list short sinks | grep -q voxcap_test || \
    pactl load-module module-null-sink sink_name=voxcap_test \
        sink_properties=device.description=voxcap_test >/dev/null
pactl set-default-sink voxcap_test
pactl info | grep -E "Default (Sink|Source)"
