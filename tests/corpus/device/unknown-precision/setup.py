# fp16 is not a precision name (fp32, half, int8).
from corpus import *

d = device_profile()
d["processors"][1]["precisions"]["fp16"] = d["processors"][1]["precisions"].pop("half")
write_device(d)
