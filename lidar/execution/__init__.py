"""Tiling and execution of a build: the plan of blocks, running each block (local worker pool with
hard time limits, or Dask), spilling big inputs into blocks, the resumable block cache, and
assembling the buildings' results into a city model."""
