"""Synthetic spoken keywords: ten words said by espeak-ng and flite voices, with sox noise.

No real speech data set can be had on this machine, so this generator stands in for one (a
Speech-Commands-like task). The clips are SYNTHETIC; accuracies on them say so wherever they are
reported.

Each clip is one keyword, 1 s at 8 kHz, int16:
- a voice: espeak-ng (accent + voice variant, speed 120-220 words/min, pitch 20-80) or flite
  (voice, duration stretch 0.8-1.25, then a sox pitch shift of -300..+300 cents);
- resampled to 8 kHz by sox, placed at a random offset in the 1 s window, random gain;
- mixed with white, pink or brown noise made by sox (`-R`: repeatable) at 5-25 dB SNR.

Test clips use voices never heard in training: flite's `slt` (the only female flite voice) and
espeak-ng's Caribbean accent `en-029` with variants `m7` and `f5`, none of which appear in
training. The generator is deterministic: same seed, same clips.

    cd tools/zoo && /usr/bin/python3 -m tasks.keywords OUT_DIR     # writes train.npz, test.npz
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
RATE = 8000
CLIP = RATE  # 1 s

TRAIN_VOICES = (
    [("espeak-ng", f"{accent}+{variant}")
     for accent in ["en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan"]
     for variant in ["m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "f4"]]
    + [("flite", v) for v in ["kal", "kal16", "awb", "rms"]])
TEST_VOICES = [("flite", "slt"), ("espeak-ng", "en-029+m7"), ("espeak-ng", "en-029+f5")]
TRAIN_PER_WORD, TEST_PER_WORD = 200, 45
SNR_DB = (5.0, 25.0)
NOISES = ["whitenoise", "pinknoise", "brownnoise"]


def _to_8k(wav: bytes, effects=()) -> np.ndarray:
    # -D: no dither (sox dithers randomly when it writes 16 bits), so clips are reproducible.
    raw = subprocess.run(["sox", "-D", "-R", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-b",
                          "16", "-e", "signed", "-t", "raw", "-", *effects], input=wav,
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0


def synthesize(engine: str, voice: str, word: str, speed: float, pitch: float) -> np.ndarray:
    """One word as float32 at 8 kHz. speed, pitch in [0, 1] map to each engine's own ranges."""
    if engine == "espeak-ng":
        wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(120 + 100 * speed)),
                              "-p", str(int(20 + 60 * pitch)), "--stdout", word],
                             check=True, capture_output=True).stdout
        return _to_8k(wav)
    wav = subprocess.run(["flite", "-voice", voice, "--setf",
                          f"duration_stretch={1.25 - 0.45 * speed:.3f}", "-t", word, "-o",
                          "/dev/stdout"], check=True, capture_output=True).stdout
    return _to_8k(wav, ["pitch", str(int(-300 + 600 * pitch))])


def noise_bank(seconds: int = 20) -> np.ndarray:
    """[3, seconds*RATE] white, pink and brown noise from sox (repeatable mode), unit RMS."""
    bank = []
    for kind in NOISES:
        raw = subprocess.run(["sox", "-R", "-n", "-r", str(RATE), "-b", "16", "-e", "signed",
                              "-t", "raw", "-", "synth", str(seconds), kind, "vol", "0.5"],
                             check=True, capture_output=True).stdout
        x = np.frombuffer(raw, dtype=np.int16).astype(np.float32)
        bank.append(x / np.sqrt(np.mean(x ** 2)))
    return np.stack(bank)


def make_split(voices, per_word: int, rng: np.random.Generator, noises: np.ndarray):
    """(audio int16 [N, CLIP], labels int64 [N], voice index int64 [N])."""
    jobs = []
    for label, word in enumerate(WORDS):
        for _ in range(per_word):
            v = int(rng.integers(len(voices)))
            jobs.append((label, v, rng.random(), rng.random(), rng.random(),
                         int(rng.integers(len(NOISES))), rng.uniform(*SNR_DB),
                         rng.uniform(-6.0, 3.0), int(rng.integers(noises.shape[1] - CLIP))))
    with ThreadPoolExecutor(max_workers=4) as pool:  # sox/espeak run in their own processes
        speech = list(pool.map(lambda j: synthesize(*voices[j[1]], WORDS[j[0]], j[2], j[3]),
                               jobs))
    audio = np.zeros((len(jobs), CLIP), dtype=np.int16)
    for i, (job, s) in enumerate(zip(jobs, speech)):
        _, _, _, _, place, kind, snr, gain_db, noise_at = job
        s = s[np.flatnonzero(np.abs(s) > 0.01)[0]:] if np.any(np.abs(s) > 0.01) else s
        s = s[:CLIP]
        clip = np.zeros(CLIP, dtype=np.float32)
        start = int(place * (CLIP - len(s)))
        clip[start:start + len(s)] = s
        rms = np.sqrt(np.mean(s ** 2)) + 1e-6
        clip += noises[kind, noise_at:noise_at + CLIP] * rms * 10 ** (-snr / 20)
        clip *= 10 ** (gain_db / 20) * 0.5 / max(1e-3, np.abs(clip).max())
        audio[i] = np.round(np.clip(clip, -1, 1) * 32767).astype(np.int16)
    return audio, np.array([j[0] for j in jobs]), np.array([j[1] for j in jobs])


def main(out: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    noises = noise_bank()
    out.mkdir(parents=True, exist_ok=True)
    for name, voices, per_word in (("train", TRAIN_VOICES, TRAIN_PER_WORD),
                                   ("test", TEST_VOICES, TEST_PER_WORD)):
        audio, labels, voice = make_split(voices, per_word, rng, noises)
        np.savez(out / f"{name}.npz", audio=audio, labels=labels, voice=voice)
    (out / "voices.json").write_text(json.dumps(
        {"words": WORDS, "rate_hz": RATE, "seed": seed,
         "train_voices": [list(v) for v in TRAIN_VOICES],
         "test_voices": [list(v) for v in TEST_VOICES]}, indent=1) + "\n")


def load(split: str):
    """(audio float32 [N, CLIP] in [-1, 1], labels int64 [N]) of split "train" or "test"."""
    from . import data_dir, require
    with np.load(require(data_dir() / "keywords" / f"{split}.npz")) as f:
        return f["audio"].astype(np.float32) / 32768.0, f["labels"].astype(np.int64)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
