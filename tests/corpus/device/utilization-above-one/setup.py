# A utilization above 1 (a processor cannot beat its peak).
from corpus import *

d = device_profile()
d["processors"][1]["precisions"]["fp32"]["utilization"]["value"] = 1.5
write_device(d)
