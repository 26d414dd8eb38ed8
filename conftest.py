"""Loaded for every test path (tests/, lectures/, solutions/): how `course.py test` splits the suite between
pytest-xdist's workers. A notebook's cells share one kernel and a module's tests share its module fixtures, so
each file is one unit of work; the nbgrader round trip is split further, one unit per assignment (the first part
of its tests' parameter ids), so that assignments are graded side by side."""
import pytest

SPLIT_BY_ASSIGNMENT = {"tests/test_nbgrader.py"}


def work_unit(nodeid: str) -> str:
    path, _, rest = nodeid.partition("::")
    if path in SPLIT_BY_ASSIGNMENT and rest.endswith("]"):
        return f"{path}::{rest[rest.index('[') + 1:-1].split(':')[0]}"
    return path


# Seconds each slow unit took in the last timed suite (2 cores, one worker each; printed at the end of every run).
# They only set the order units are handed out in, longest first, so that no worker is left with a long unit
# while the other idles at the end; a stale number costs balance, never a result. Unlisted units count 0.
SECONDS_LAST_RUN = {
    "tests/test_nbgrader.py::a6_image_translation": 179, "tests/test_nbgrader.py::a1_vae": 166,
    "tests/test_nbgrader.py::a4_wasserstein": 155, "tests/test_nbgrader.py::a7_lapgan": 137,
    "lectures/04_gan_theory.ipynb": 128, "tests/test_nbgrader.py::a3_gan_theory": 117,
    "lectures/07_image_translation.ipynb": 95, "tests/test_nbgrader.py::a2_non_adversarial": 76,
    "tests/test_nbgrader.py::a5_evaluation": 66, "lectures/02_vae_elbo.ipynb": 59, "lectures/08_lapgan.ipynb": 59,
    "lectures/03_non_adversarial.ipynb": 52, "lectures/05_wasserstein.ipynb": 52, "lectures/06_evaluation.ipynb": 48,
    "tests/test_exchange.py": 34, "lectures/01_autoencoders.ipynb": 26, "tests/test_student_copy.py": 20,
    "tests/test_course_cli.py": 20, "tests/test_nbgrader.py": 13, "tests/test_results.py": 12,
}


def pytest_collection_modifyitems(config, items):
    """Longest units first (each unit's tests stay together and in their order): with xdist's reordering by
    test count switched off (below), this is the order workers receive them."""
    first = {}
    for i, item in enumerate(items):
        first.setdefault(work_unit(item.nodeid), i)
    items.sort(key=lambda item: (-SECONDS_LAST_RUN.get(work_unit(item.nodeid), 0), first[work_unit(item.nodeid)]))


def pytest_xdist_make_scheduler(config, log):
    # (xdist's own --dist loadgroup marks do not reach the scheduler under pytest 9.2: it renames
    # item._nodeid, which pytest no longer reads. Grouping in the scheduler needs no marks at all.)
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False   # keep the collection's order: longest units first
    return ByWorkUnit(config, log)


_SECONDS, _CPU = {}, {}


def _cpu_seconds() -> float:
    """CPU time of this process and of every child it has waited for (kernels, nbgrader runs, their kernels)."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


_CPU_START = pytest.StashKey[float]()


def pytest_runtest_protocol(item, nextitem):
    # Measured in the process that runs the test (an xdist worker) and carried to the report: with both cores
    # shared, CPU seconds say what a unit costs, where wall seconds also count the other worker's load.
    item.stash[_CPU_START] = _cpu_seconds()


def pytest_runtest_makereport(item, call):
    if call.when == "teardown" and _CPU_START in item.stash:
        item.user_properties.append(("cpu_seconds", _cpu_seconds() - item.stash[_CPU_START]))


def pytest_runtest_logreport(report):
    unit = work_unit(report.nodeid)
    _SECONDS[unit] = _SECONDS.get(unit, 0.0) + report.duration
    cpu = dict(report.user_properties).get("cpu_seconds")
    if report.when == "teardown" and cpu is not None:
        _CPU[unit] = _CPU.get(unit, 0.0) + cpu


def pytest_terminal_summary(terminalreporter):
    """Seconds per unit of work (a notebook, a test module, one assignment's round trip), slowest first: the
    README's per-notebook times come from here."""
    if _SECONDS:
        terminalreporter.section("seconds per notebook / module (wall; CPU, all processes)")
        for unit, seconds in sorted(_SECONDS.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:8.1f} s  {_CPU.get(unit, float('nan')):8.1f} s CPU  {unit}")
        terminalreporter.write_line(f"{sum(_SECONDS.values()):8.1f} s  {sum(_CPU.values()):8.1f} s CPU  in all")
