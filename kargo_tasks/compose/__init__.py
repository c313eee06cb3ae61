"""The compose loader, a pipeline of stages as the docker CLI reads a stack's files:
YAML (dockeryaml), load and interpolate (load), validate (schema), long forms
(shortsyntax), merge (merge), then one resolved stack file (resolve). Pure: reads
files of the merged configuration; never touches the engine, never imports doit."""
