# A directory where zoo.json should be (reported as empty JSON before).
import os

os.makedirs("zoo/zoo.json")
