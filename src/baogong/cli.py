"""The `baogong` console command.

Thin wrappers that set up Django and call management commands, so the
Makefile, the README and operators all use one vocabulary:

    baogong demo                      migrate, generate the demo county, create demo logins,
                                      prepare today's delivery day, serve
    baogong serve [--bind ADDR]       serve with gunicorn (static files included)
    baogong worker                    run a background task worker (any number, any machine)
    baogong generate --preset P --seed N
    baogong import roster FILE --compound CODE
    baogong check-ledger              on_hand == sum(ledger) for every balance
    baogong plan --date D [--area A] [--sheets DIR]
                                      plan a delivery day (allocation, routes, rosters, pickup slots)
    baogong purge-personal-data --emergency E --confirm
                                      anonymise an ended emergency's personal data, keep the counts
    baogong manage ...                any Django management command
"""

from __future__ import annotations

import argparse
import os
import sys


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baogong.config.settings.base")
    import django

    django.setup()
    from django.conf import settings

    # var/ holds the embedded database; a fresh checkout does not have it yet.
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)


def _manage(*args: str) -> None:
    from django.core.management import call_command

    call_command(*args)


def _serve(bind: str, workers: int) -> None:
    from django.conf import settings
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    argv = [
        "gunicorn",
        "baogong.config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ]
    del settings  # settings are loaded again by gunicorn's workers
    os.execv(sys.executable, [sys.executable, "-m", *argv])  # noqa: S606 - fixed argument list, no shell


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="baogong", description="baogong living-supplies guarantee platform")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="set up the demo county and serve it")
    demo.add_argument("--bind", default="127.0.0.1:8000")
    demo.add_argument("--no-serve", action="store_true", help="prepare the database and logins, do not serve")
    demo.add_argument("--seed", type=int, default=1)

    serve = sub.add_parser("serve", help="serve the web application")
    serve.add_argument("--bind", default="127.0.0.1:8000")
    serve.add_argument("--workers", type=int, default=int(os.environ.get("BAOGONG_WEB_WORKERS", "2")))

    sub.add_parser("worker", help="run a background task worker")

    generate = sub.add_parser("generate", help="generate a synthetic scenario")
    generate.add_argument("--preset", choices=["demo", "county", "city"], default="demo")
    generate.add_argument("--seed", type=int, default=1)

    importer = sub.add_parser("import", help="import data from a spreadsheet")
    importer.add_argument("kind", choices=["roster"])
    importer.add_argument("path")
    importer.add_argument("--compound", required=True, help="code of the compound the roster belongs to")

    sub.add_parser("check-ledger", help="verify on-hand against the ledger for every balance")

    plan = sub.add_parser("plan", help="plan a delivery day")
    plan.add_argument("--date", required=True, help="delivery day, YYYY-MM-DD")
    plan.add_argument("--area", help="code of the county or subdistrict (default: the county)")
    plan.add_argument("--sheets", metavar="DIR", help="write every sheet of the plan (PDF and xlsx) to DIR")

    purge = sub.add_parser("purge-personal-data", help="anonymise the personal data of an ended emergency")
    purge.add_argument("--emergency", required=True, help="code of the emergency's top-level region")
    purge.add_argument("--confirm", action="store_true", help="required: the purge cannot be undone")

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("args", nargs=argparse.REMAINDER)

    options = parser.parse_args(argv)
    _setup_django()

    if options.command == "demo":
        _manage("migrate", "--no-input", "-v", "0")
        _manage("demo_setup", "--seed", str(options.seed))
        _manage("demo_day", "--seed", str(options.seed))
        if not options.no_serve:
            _serve(options.bind, workers=2)
    elif options.command == "serve":
        _serve(options.bind, options.workers)
    elif options.command == "worker":
        _manage("db_worker")
    elif options.command == "generate":
        _manage("generate", "--preset", options.preset, "--seed", str(options.seed))
    elif options.command == "import":
        _manage("import_roster", options.path, "--compound", options.compound)
    elif options.command == "check-ledger":
        _manage("check_ledger")
    elif options.command == "plan":
        _manage(
            "plan",
            "--date",
            options.date,
            *(["--area", options.area] if options.area else []),
            *(["--sheets", options.sheets] if options.sheets else []),
        )
    elif options.command == "purge-personal-data":
        from django.core.management import execute_from_command_line

        # Through the command line runner: a refusal prints its reason and exits 1, without a traceback.
        confirm = ["--confirm"] if options.confirm else []
        execute_from_command_line(["baogong", "purge_personal_data", "--emergency", options.emergency, *confirm])
    elif options.command == "manage":
        from django.core.management import execute_from_command_line

        execute_from_command_line(["baogong", *options.args])


if __name__ == "__main__":
    main()
