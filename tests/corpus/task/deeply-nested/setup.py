# A task file of nested arrays: refused by its depth before it is parsed.
open("tasks.json", "w").write("[" * 100000)
