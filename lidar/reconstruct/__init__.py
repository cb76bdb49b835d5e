"""Building reconstruction: LoD1.2 prisms, LoD1.3 stepped prisms, LoD2.2 roof-plane solids.

Every LoD goes through the same two steps: a planar partition of the footprint into faces
(:mod:`lidar.reconstruct.partition`) with one plane per face, then an extrusion into one
closed, outward-oriented solid with shared vertices (:mod:`lidar.reconstruct.extrude`).
"""
