# A bare number where a cited quantity {value, source} is expected.
from corpus import *

d = device_profile()
d["processors"][0]["dispatch_overhead_ms"] = 0.05
write_device(d)
