"""The door to Docker: which engine (endpoint), questions and changes over its API
(client), the Swarm's services, networks, configs, convergence and node labels
(swarm, labels), and a wait's progress. Knows no task graph: never imports doit,
never reads a compose file itself."""
