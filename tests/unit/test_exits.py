"""kargo's exit statuses: one number each (kargo_tasks/base/exits.py), the
same in the code that returns it and in the commands' help."""
import kargo_commands
from kargo_tasks.base import exits
from kargo_tasks.commands.plan import refuse


def test_the_help_of_plan_and_sync_names_the_numbers_the_code_returns():
    plan, sync = kargo_commands.Plan.doc_description, kargo_commands.Sync.doc_description
    assert f"{exits.EXIT_WOULD_RUN} when something would" in plan
    assert f"{exits.EXIT_REFUSED} on bad input" in plan
    assert f"{exits.EXIT_SYNCED} something was pulled" in sync
    assert f"{exits.EXIT_REFUSED} the pull was refused" in sync


def test_a_refusal_exits_with_the_refused_status(capsys):
    assert refuse("plan", "no workspace") == exits.EXIT_REFUSED
    assert capsys.readouterr().err == "kargo: plan: no workspace\n"
