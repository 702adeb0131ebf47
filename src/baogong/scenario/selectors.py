"""Reads about scenarios."""

from __future__ import annotations

from django.utils import timezone

from .generator import scenario_rows_write
from .parameters import Preset, preset_get
from .records import Bases
from .services import commodity_refs
from .sinks import RowSink


def scenario_digest(*, preset: str | Preset, seed: int) -> str:
    """The content digest a run with this preset and seed produces, computed without writing.

    Keys are taken as in an empty database and commodities from the loaded
    catalogue, which is what `scenario_generate` sees; so the result equals the
    digest in the audit row of a real run against the same catalogue.
    """
    spec = preset_get(name=preset) if isinstance(preset, str) else preset
    sink = RowSink(now=timezone.now())
    scenario_rows_write(spec, seed=seed, sink=sink, now=sink.now, bases=Bases(), commodities=commodity_refs())
    return sink.digest
