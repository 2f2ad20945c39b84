# A negative memory bandwidth.
from corpus import *

d = device_profile()
d["processors"][1]["memory_bytes_per_s"]["value"] = -204.8e9
write_device(d)
