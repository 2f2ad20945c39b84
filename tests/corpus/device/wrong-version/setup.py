# A profile of a future format version.
from corpus import *

d = device_profile()
d["version"] = 2
write_device(d)
