"""kargo's doit commands and its console script: `plan`, `graph`, `sync` (reached from
kargo_commands.py) and `kargo` itself (cli). The top: nothing in kargo_tasks
imports it."""
