"""CityJSON and CityJSONSeq input/output."""

from citymodel.io.cityjson import (
    choose_scale,
    model_from_document,
    model_to_document,
    read,
    read_cityjson,
    read_cityjsonseq,
    write,
    write_cityjson,
    write_cityjsonseq,
)

__all__ = [
    "choose_scale",
    "model_from_document",
    "model_to_document",
    "read",
    "read_cityjson",
    "read_cityjsonseq",
    "write",
    "write_cityjson",
    "write_cityjsonseq",
]
