"""kargo's own exit statuses, besides doit's (0 done, 1 a task failed, 2 an
error of doit's, 3 bad input): one number each, read by the commands that
return them and by their help text (kargo_commands.py)."""
EXIT_REFUSED = 3    # the environment cannot be read, a pull was refused: doit's "bad input"
EXIT_WOULD_RUN = 4  # `plan`: something would run
EXIT_SYNCED = 5     # `sync`: something was pulled, built or deployed
