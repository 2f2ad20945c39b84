"""A synthetic tri-axial accelerometer (waist-worn, 50 Hz, in g) for activity recognition.

No real activity-recognition data set can be had on this machine, so this generator stands in for
one (UCI HAR-like). Everything here is made up from simple physics and is SYNTHETIC; accuracies on
it say so wherever they are reported.

Seven activities: walking, running, stairs up, stairs down, sitting, standing, lying.

- Locomotion (the first four) is a periodic body acceleration at the step frequency (vertical
  fundamental + harmonics, forward-backward at the step frequency, lateral sway at half of it),
  with cycle-to-cycle jitter in frequency and amplitude. Activities differ in step frequency,
  amplitude, harmonic content (heel-strike sharpness) and trunk lean, with overlapping ranges.
- Postures (the last three) are gravity seen at a trunk pitch (upright, leaning back when seated,
  horizontal when lying on a random side), plus small sway, breathing and fidgets.
- Every subject has their own gait (cadence, vigour, harmonics), their own way of sitting and
  lying, and their own sensor orientation (the device sits tilted and rotated on the belt),
  noise level and drift (a slow random walk of the sensor's bias).

Subjects are split: the model is trained on some and tested on subjects it never saw.
"""

from typing import Tuple

import numpy as np

ACTIVITIES = ["walking", "running", "stairs up", "stairs down", "sitting", "standing", "lying"]
RATE_HZ = 50.0

# Population means per locomotion activity: step Hz, vertical amplitude (g), 2nd/3rd harmonic
# ratios, forward amplitude (g), trunk pitch (degrees).
_GAIT = {
    "walking":     (1.85, 0.30, 0.35, 0.10, 0.15, 4.0),
    "running":     (2.75, 0.95, 0.55, 0.30, 0.35, 10.0),
    "stairs up":   (1.65, 0.26, 0.50, 0.12, 0.20, 12.0),
    "stairs down": (1.95, 0.38, 0.25, 0.22, 0.12, -3.0),
}
# Postures: trunk pitch (degrees) mean and per-subject spread, motion level (g).
_POSTURE = {"sitting": (22.0, 8.0, 0.010), "standing": (2.0, 5.0, 0.012),
            "lying": (88.0, 4.0, 0.006)}


def _rotation(roll: float, pitch: float, yaw: float) -> np.ndarray:
    cr, sr, cp, sp, cy, sy = (np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch),
                              np.cos(yaw), np.sin(yaw))
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


class Subject:
    """One person wearing one sensor: their gait, postures, sensor mounting and sensor quality."""

    def __init__(self, rng: np.random.Generator):
        self.cadence = rng.normal(1.0, 0.08)           # scales every step frequency
        self.vigour = rng.lognormal(0.0, 0.18)         # scales locomotion amplitudes
        self.harmonics = rng.lognormal(0.0, 0.25)      # heel-strike sharpness
        self.gait = {a: (rng.normal(1.0, 0.05), rng.lognormal(0.0, 0.12), rng.normal(0.0, 3.0))
                     for a in _GAIT}                   # per-activity habits: freq, amp, lean
        self.posture = {a: rng.normal(m, s) for a, (m, s, _) in _POSTURE.items()}
        self.lying_side = rng.choice([-1.0, 1.0])
        # Sensor mounting: tilt up to ~15 degrees and any rotation about the vertical.
        self.mount = _rotation(*np.radians(rng.normal(0.0, 8.0, 2)), rng.uniform(-np.pi, np.pi))
        self.noise = rng.uniform(0.01, 0.04)           # white noise (g)
        self.drift = rng.uniform(0.0005, 0.003)        # bias random-walk step (g per sample)


def _window(subject: Subject, activity: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """One [3, n] window (x forward, y left, z up in the body frame, then the sensor's frame)."""
    t = np.arange(n) / RATE_HZ
    body = np.zeros((3, n))
    if activity in _GAIT:
        f0, amp, h2, h3, fwd, lean = _GAIT[activity]
        freq_habit, amp_habit, lean_habit = subject.gait[activity]
        freq = f0 * subject.cadence * freq_habit * rng.normal(1.0, 0.03)
        # Cycle-to-cycle jitter: the phase advances at a slowly wandering frequency.
        wander = 1.0 + np.cumsum(rng.normal(0.0, 0.004, n))
        phase = 2 * np.pi * np.cumsum(freq * wander) / RATE_HZ + rng.uniform(0, 2 * np.pi)
        a = amp * subject.vigour * amp_habit * rng.normal(1.0, 0.08)
        hs = subject.harmonics
        body[2] = a * (np.sin(phase) + h2 * hs * np.sin(2 * phase + 0.7)
                       + h3 * hs * np.sin(3 * phase + 1.9))
        body[0] = fwd * subject.vigour * a / amp * np.sin(phase + 1.2)
        body[1] = 0.4 * fwd * subject.vigour * np.sin(phase / 2 + rng.uniform(0, 2 * np.pi))
        pitch = lean + lean_habit + rng.normal(0.0, 2.0)
        roll = rng.normal(0.0, 2.0)
    else:
        motion = _POSTURE[activity][2]
        pitch = subject.posture[activity] + rng.normal(0.0, 3.0)
        roll = rng.normal(0.0, 3.0)
        if activity == "lying":
            roll = subject.lying_side * rng.uniform(0.0, 40.0)
        breathing = np.sin(2 * np.pi * rng.uniform(0.2, 0.35) * t + rng.uniform(0, 2 * np.pi))
        body[2] += motion * breathing
        body[:2] += np.cumsum(rng.normal(0.0, motion * 0.3, (2, n)), axis=1) * 0.2
        if rng.random() < 0.3:  # a fidget: a short burst of movement
            start = rng.integers(0, n - 25)
            body[:, start:start + 25] += rng.normal(0.0, 0.08, (3, 25))
    gravity = _rotation(np.radians(roll), np.radians(pitch), 0.0).T @ np.array([0.0, 0.0, 1.0])
    signal = subject.mount.T @ (body + gravity[:, None])
    bias = np.cumsum(rng.normal(0.0, subject.drift, (3, n)), axis=1) + rng.normal(0, 0.02, (3, 1))
    return signal + bias + rng.normal(0.0, subject.noise, (3, n))


def generate(subjects: int, windows_per_activity: int, length: int,
             seed: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signals float32 [N, 3, length], labels int64 [N], subject ids int64 [N]); seeded."""
    rng = np.random.default_rng(seed)
    people = [Subject(rng) for _ in range(subjects)]
    xs, ys, ids = [], [], []
    for s, person in enumerate(people):
        for label, activity in enumerate(ACTIVITIES):
            for _ in range(windows_per_activity):
                xs.append(_window(person, activity, length, rng))
                ys.append(label)
                ids.append(s)
    return (np.stack(xs).astype(np.float32), np.array(ys, dtype=np.int64),
            np.array(ids, dtype=np.int64))
