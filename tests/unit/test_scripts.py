"""scripts.py: which merged files are scripts, their names, their doc line,
and the words a script gets from the command line."""
from kargo_tasks.operations.scripts import arguments, of, summary, task_name
from support import write


def test_scripts_are_the_files_right_under_scripts():
    plan = dict.fromkeys(["scripts/seed.sh", "scripts/dump.py", "scripts/lib/service.sh",
                          "deploy/web_after.sh", "configs/scripts/x.sh"])
    assert of(plan) == ["scripts/dump.py", "scripts/seed.sh"]
    assert [task_name(out) for out in of(plan)] == ["dump.py", "seed"]


def test_summary_is_the_first_comment_line(tmp_path):
    assert summary(write(tmp_path / "a", "#!/bin/sh\n#\n# Seed the cache\n# more\n")) == \
        "Seed the cache"
    assert summary(write(tmp_path / "b", "#!/bin/sh\necho no doc\n# late\n")) is None
    assert summary(tmp_path / "missing") is None


def test_arguments_are_the_words_after_the_task_as_typed():
    assert arguments("seed", ["exec:seed", "layer=osm", "-z", "3"]) == ["layer=osm", "-z", "3"]
    assert arguments("seed", ["-v", "2", "exec:seed", "--", "-x"]) == ["-x"]
    assert arguments("seed", ["exec:seed", "a", "--", "b"]) == ["a", "--", "b"]
    assert arguments("seed", ["deploy"]) is None
