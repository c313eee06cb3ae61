"""The base every part stands on: the one error class, files written atomically,
the command line's task names, the run lock, exit codes and the glue that turns a
KargoError into doit's one-line failure. It never imports another part, and knows
no compose file, no engine, no stack."""
