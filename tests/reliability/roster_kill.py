"""Import a roster and die by SIGKILL half-way through writing its households.

Run as a script in a fresh process: `roster_kill.py PATH COMPOUND_CODE ROWS_BEFORE_DEATH`.
The environment says which database and settings to use. The importing
process writes the first ROWS_BEFORE_DEATH households inside the import's
transaction, then kills itself with SIGKILL: no exception handler, no
rollback by the application, exactly what the kernel's OOM killer or a
power cut leaves.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    path, compound, rows_before_death = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from baogong.regions.roster import importer

    manager = importer.Household.objects
    write = manager.bulk_create

    def write_part_then_die(objs: Any, *args: Any, **kwargs: Any) -> Any:
        households = list(objs)
        write(households[:rows_before_death], *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    manager.bulk_create = write_part_then_die  # type: ignore[method-assign]
    call_command("import_roster", path, "--compound", compound)
    sys.exit("the import finished: the kill never came")


if __name__ == "__main__":
    main()
