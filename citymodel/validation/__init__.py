"""Validation of city models: CityJSON 2.0 structure and val3dity's geometric error codes.

>>> from citymodel.validation import validate_file  # doctest: +SKIP
>>> report = validate_file("model.city.json")  # doctest: +SKIP
>>> report.valid, report.summary()  # doctest: +SKIP
"""

from citymodel.validation.api import validate, validate_file
from citymodel.validation.codes import CODES, Code, name_of
from citymodel.validation.report import ValidationEntry, ValidationReport

__all__ = ["validate", "validate_file", "ValidationReport", "ValidationEntry", "CODES", "Code", "name_of"]
