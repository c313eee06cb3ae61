"""The model: the workspace and defaults laid out on disk, the merged configuration
(.kargo/) planned and rendered from templates, the environment's three layers
and their interpolation, masking of secret values, and the catalog of stacks,
services and images. Pure: never touches the engine, never imports doit."""
