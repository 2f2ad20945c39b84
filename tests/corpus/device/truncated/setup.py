# A profile cut off mid-file (fixed text, so the error position does not move when a shipped
# profile is edited).
import pathlib

pathlib.Path("device.json").write_text(
    '{"format": "sparseloom-device", "version": 1, "name": "cut", "processors": [{"name": "cpu",')
