"""The deploy machinery: a stack resolved and compared with what runs (stacks, delta,
specdiff, preview), several stacks deployed in order with their hooks (schedule),
what each deploy left (history) and the way back (rollback); images built, pushed
and imported (images). Talks to the engine only through engine/, and
never builds a doit task (tasks/ does)."""
