"""An error in a compose file belongs to the stacks that use it: the other
stacks resolve and deploy, an unused broken file is one warning line, and
the error line names a task the operator can type."""
from support import write

BROKEN = "services:\n  back:\n    image: x\n    imagee: y\n"
API_ENV = 'STACKS="web api"\nAPI_STACK="back"\n'


def test_a_broken_file_fails_only_the_stacks_that_use_it(kargo):
    write(kargo.workspace / ".env", API_ENV)
    path = write(kargo.workspace / "deploy/back.yml", BROKEN)
    kargo.run("_stack:web")  # resolves: stack web does not use back.yml
    assert (kargo.merged / "stacks/web.yml").is_file()
    proc = kargo.run("_stack:api", check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip() == (f"kargo: _stack:api: {path}:4: services.back Additional "
                                   "property imagee is not allowed")
    # the task named in the line is one the operator can type
    assert kargo.run("_stack:api", check=False).stderr == proc.stderr


def test_deploy_of_every_stack_stops_before_the_engine_on_any_broken_one(kargo):
    write(kargo.workspace / ".env", API_ENV)
    write(kargo.workspace / "deploy/back.yml", BROKEN)
    # no engine here: had deploy asked it, the line would say so
    proc = kargo.run("deploy", check=False, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert proc.returncode != 0
    assert "services.back Additional property imagee is not allowed" in proc.stderr
    assert "not answering" not in proc.stderr


def test_an_unused_broken_file_is_one_warning_line(kargo):
    path = write(kargo.workspace / "deploy/unused.yml", "services:\n  unused: [unclosed\n")
    proc = kargo.run("configure")
    assert proc.stderr.splitlines() == [
        f"warning: {path}:3: not valid YAML: expected ',' or ']', but got '<stream end>' "
        "(no stack in STACKS uses it)"]
    kargo.run("_stack:web")


def test_a_file_docker_reads_but_pyyaml_refuses_is_fine(kargo):
    # the bash Kargo's MongoDB healthcheck: \' in a double-quoted scalar
    write(kargo.workspace / "deploy/front.yml", """
        version: "3.8"
        services:
          front:
            image: ${FRONT_IMAGE}:${FRONT_TAG}
            healthcheck:
              test: ["CMD", "echo", "\\'db.runCommand(\\"ping\\").ok\\'"]
    """)
    kargo.run("_stack:web")
    text = (kargo.merged / "stacks/web.yml").read_text()
    assert """- '''db.runCommand("ping").ok'''""" in text


def test_a_bare_environment_entry_gets_the_value_of_the_environment(kargo):
    write(kargo.workspace / ".env", "SUBDOMAIN=example.org\nEMPTY_ONE=\n")
    write(kargo.workspace / "deploy/front.yml", """
        version: "3.8"
        services:
          front:
            image: ${FRONT_IMAGE}:${FRONT_TAG}
            environment:
              - SUBDOMAIN
              - EMPTY_ONE
              - SET_NOWHERE
    """)
    kargo.run("_stack:web", env={"FROM_SHELL": "shell"})
    text = (kargo.merged / "stacks/web.yml").read_text()
    assert "SUBDOMAIN: example.org" in text
    assert "EMPTY_ONE: ''" in text
    assert "SET_NOWHERE: null" in text  # unset stays unset, as in compose
    # and the stack file is stale when that variable changes
    write(kargo.workspace / ".env", "SUBDOMAIN=example.com\nEMPTY_ONE=\n")
    assert kargo.run("_stack:web").stdout.strip() == ".  _stack:web"
    assert "SUBDOMAIN: example.com" in (kargo.merged / "stacks/web.yml").read_text()
