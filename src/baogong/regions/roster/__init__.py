"""Household roster (摸排表) spreadsheets: the template, the row checks and the import."""

from .importer import RosterImportResult, roster_import
from .rows import (
    COLUMNS,
    ID_CHECK_CHARACTERS,
    ID_WEIGHTS,
    ROSTER_IMPORT_ROLES,
    id_number_checksum_valid,
)
from .template import roster_template_build

__all__ = [
    "COLUMNS",
    "ID_CHECK_CHARACTERS",
    "ID_WEIGHTS",
    "ROSTER_IMPORT_ROLES",
    "RosterImportResult",
    "id_number_checksum_valid",
    "roster_import",
    "roster_template_build",
]
