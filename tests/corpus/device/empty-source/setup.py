# A quantity whose source is empty: no figure enters a simulation uncited.
from corpus import *

d = device_profile()
d["storage"]["read_bytes_per_s"]["source"] = ""
write_device(d)
