"""Alias of :mod:`lidar.vegetation.trees` for old imports (``from lidar.trees import detect_trees``)."""

from lidar.vegetation.trees import TREE_COLUMNS, VEGETATION_CLASSES, add_trees, detect_trees  # noqa: F401

__all__ = ["detect_trees", "add_trees", "TREE_COLUMNS", "VEGETATION_CLASSES"]
