"""kargo's doit commands and its console script: `plan`, `graph`, `sync` (reached from
kargo_commands.py) and `kargo` itself (cli). The top: no other part imports it, and
it never holds a rule of its own (it calls the parts below)."""
