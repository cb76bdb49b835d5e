"""Reading points: LAS/LAZ headers and chunks, the in-memory :class:`PointCloud`, routing points
to boxes and selecting a footprint's points. Every reader goes through one path, chunk by chunk."""
