"""Loaded for every test path (tests/, lectures/, solutions/): how `course.py test` splits the suite between
pytest-xdist's workers. A notebook's cells share one kernel and a module's tests share its module fixtures, so
each file is one unit of work; the nbgrader round trip is split further, one unit per assignment (the first part
of its tests' parameter ids), so that assignments are graded side by side."""
SPLIT_BY_ASSIGNMENT = {"tests/test_nbgrader.py"}


def work_unit(nodeid: str) -> str:
    path, _, rest = nodeid.partition("::")
    if path in SPLIT_BY_ASSIGNMENT and rest.endswith("]"):
        return f"{path}::{rest[rest.index('[') + 1:-1].split(':')[0]}"
    return path


def pytest_xdist_make_scheduler(config, log):
    # (xdist's own --dist loadgroup marks do not reach the scheduler under pytest 9.2: it renames
    # item._nodeid, which pytest no longer reads. Grouping in the scheduler needs no marks at all.)
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ByWorkUnit(config, log)


_SECONDS = {}


def pytest_runtest_logreport(report):
    _SECONDS[work_unit(report.nodeid)] = _SECONDS.get(work_unit(report.nodeid), 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Seconds per unit of work (a notebook, a test module, one assignment's round trip), slowest first: the
    README's per-notebook times come from here."""
    if _SECONDS:
        terminalreporter.section("seconds per notebook / module")
        for unit, seconds in sorted(_SECONDS.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:8.1f} s  {unit}")
