"""What an operator's command reads and does outside a deploy: the project loaded
once per run (project), the merged configuration written (configure), the
workspace pulled from git (pull), scripts run (scripts), `use` and `show`. Never
builds a doit task."""
