# A 2 MB task file (a task is about 150 bytes): refused by its size before it is read.
open("tasks.json", "w").write('{"version": 1, "tasks": []}' + " " * (2 << 20))
