"""The `kargo` command: doit over kargo's tasks, from any directory."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--version"]:
        from kargo_tasks import __version__
        print(f"kargo {__version__}")
        return 0
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from kargo_tasks import tasks
    from kargo_tasks.tasks.config import DOIT_CONFIG, start
    start(argv)
    namespace = {name: getattr(tasks, name) for name in tasks.__all__}
    namespace["DOIT_CONFIG"] = DOIT_CONFIG
    # kargo's own commands (plan, graph) come from the package's entry points
    return DoitMain(ModuleTaskLoader(namespace), config_filenames=()).run(argv)


if __name__ == "__main__":
    sys.exit(main())
