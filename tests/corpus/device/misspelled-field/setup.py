# A typo in a processor's field: memory_bandwith for memory_bytes_per_s.
from corpus import *

d = device_profile()
d["processors"][1]["memory_bandwith"] = d["processors"][1].pop("memory_bytes_per_s")
write_device(d)
