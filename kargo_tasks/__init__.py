"""kargo: deploy a geospatial platform onto Docker Swarm as a doit task graph."""
__version__ = "0.1.0"
