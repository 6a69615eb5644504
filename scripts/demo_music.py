#!/usr/bin/env python3
"""demo_music.py — makes the demo campaign's music bed, examples/demo/music/bed.m4a: 34 s of a
four-chord loop (A minor, F, C, G at 100 BPM) with a bass line and a kick drum on every beat, so
the mix has something to duck under the dialogue and peaks for the true-peak limiter to catch.
Synthesised here from sine waves (seeded, no samples, no downloads) and encoded to AAC with the
ffmpeg program. Run once; the output is committed:

    python3 scripts/demo_music.py && ffmpeg -y -v error -i /tmp/bed.wav -c:a aac -b:a 128k \
        -fflags +bitexact -map_metadata -1 examples/demo/music/bed.m4a
"""
import math
import struct
import sys
import wave

RATE = 48000
SECONDS = 34.0
BPM = 100.0
CHORDS = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]  # MIDI: Am F C G


def hz(note):
    return 440.0 * 2 ** ((note - 69) / 12.0)


def main(path="/tmp/bed.wav"):
    beat = 60.0 / BPM
    n = int(SECONDS * RATE)
    out = bytearray()
    for i in range(n):
        t = i / RATE
        bar = int(t / (4 * beat)) % len(CHORDS)
        chord = CHORDS[bar]
        tb = t % beat  # time since the beat
        pad = sum(math.sin(2 * math.pi * hz(m) * t) for m in chord) / 3.0
        pad *= 0.22 * (0.8 + 0.2 * math.sin(2 * math.pi * 0.25 * t))
        bass = 0.25 * math.sin(2 * math.pi * hz(chord[0] - 24) * t) * math.exp(-3.0 * tb)
        kick = 0.9 * math.sin(2 * math.pi * (50 + 120 * math.exp(-30 * tb)) * tb) * math.exp(-12 * tb)
        left = pad * (1.0 + 0.15 * math.sin(2 * math.pi * 0.1 * t)) + bass + kick
        right = pad * (1.0 - 0.15 * math.sin(2 * math.pi * 0.1 * t)) + bass + kick
        out += struct.pack("<hh", int(max(-1, min(1, left * 0.5)) * 32767),
                           int(max(-1, min(1, right * 0.5)) * 32767))
    with wave.open(path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
