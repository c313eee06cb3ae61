"""`pull.reason`: git's message on one line, every line of it kept (the real
git cases are in tests/cli/test_operations.py)."""
from kargo_tasks.operations.pull import reason


def test_every_line_is_kept_and_the_noise_is_not():
    said = ("error: Your local changes to the following files would be overwritten by merge:\n"
            "\t.env\n\tconfigs/a.conf\n"
            "hint: some advice that does not apply\n"
            "Please commit your changes or stash them before you merge.\n"
            "Aborting\n")
    assert reason(said) == ("Your local changes to the following files would be overwritten by "
                            "merge: .env, configs/a.conf; Please commit your changes or stash "
                            "them before you merge.")


def test_a_long_list_of_files_is_cut():
    said = "error: The following untracked working tree files would be overwritten:\n" + "".join(
        f"\tf{n}\n" for n in range(8))
    assert reason(said) == ("The following untracked working tree files would be overwritten: "
                            "f0, f1, f2, f3, f4 and 3 more")


def test_a_password_in_a_url_is_not_repeated():
    said = "fatal: unable to access 'https://deploy:s3cret@git.example/ws.git/': 403\n"
    assert reason(said) == "unable to access 'https://deploy:***@git.example/ws.git/': 403"
