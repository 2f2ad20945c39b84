# 64 stages of 10 variants: 10^64 stitched variants, past int64.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["num_stages"] = 64
    m["boundaries"] = [dict(m["boundaries"][0], name=f"boundary{i}", shape=[-1, 8]) for i in range(1, 64)]
    for v in m["variants"]:
        v["stages"] = [v["stages"][0]] * 64
