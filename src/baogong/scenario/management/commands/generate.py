"""`manage.py generate --preset demo|county|city --seed N`: load a synthetic scenario."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from baogong.core.errors import ApplicationError
from baogong.scenario.parameters import PRESETS
from baogong.scenario.services import scenario_generate


class Command(BaseCommand):
    help = "Generate a deterministic synthetic scenario into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--preset", choices=PRESETS, default="demo")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--subdistrict-fraction",
            type=float,
            default=1.0,
            help="fill households for only this share of the subdistricts (benchmarks)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]

        def progress(done: int, total: int) -> None:
            if verbosity > 1 or (verbosity == 1 and sys.stdout.isatty()):
                self.stdout.write(f"\r{done}/{total}", ending="")
                self.stdout.flush()

        try:
            result = scenario_generate(
                actor=None,
                preset=options["preset"],
                seed=options["seed"],
                subdistrict_fraction=options["subdistrict_fraction"],
                progress=progress,
            )
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        if verbosity > 1 or (verbosity == 1 and sys.stdout.isatty()):
            self.stdout.write("")
        if verbosity >= 1:
            self.stdout.write(
                _("Generated preset %(preset)s with seed %(seed)s in %(seconds).1f s.")
                % {"preset": result.preset, "seed": result.seed, "seconds": result.seconds}
            )
            for key, value in result.counts.items():
                self.stdout.write(f"  {key:<20} {value:>12,}")
            self.stdout.write(f"  digest {result.digest}")
