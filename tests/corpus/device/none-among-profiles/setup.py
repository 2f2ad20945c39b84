# none (host only) listed with a device profile.
from corpus import *

write_device(device_profile())
