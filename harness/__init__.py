"""The compose harness: start, watch and break a whole federation on one machine."""
