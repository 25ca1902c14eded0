"""Several cores are analysed in separate processes and their documents
joined by the CLI: the joined JSON array and SARIF log must be byte for byte
what the core's own render_json_array / render_sarif print for the same
reports (here: lint reports, which need no LLDB)."""

import sys

import pytest

from conftest import BUILD

pytestmark = pytest.mark.usefixtures("core_module_built")


@pytest.fixture(scope="module")
def modules():
    sys.path.insert(0, str(BUILD / "python"))
    from frameaudit import _core
    from frameaudit.cli import core_api
    return _core, core_api


@pytest.fixture(scope="module")
def reports(modules, matrix):
    _core, _ = modules
    unsafe = [b for b in matrix["binaries"] if b["unsafe"]][:2]
    safe = [b for b in matrix["binaries"] if not b["unsafe"]][:1]
    results = [_core.lint_elf_file(b["path"]) for b in unsafe + safe]
    out = [_core.lint_report([r], _core.TargetInfo(executable=r.module, core=f"/tmp/core.{i}", pid=i))
           for i, r in enumerate(results)]
    # Unicode and escapes in strings survive the round trip unchanged.
    out.append(_core.lint_report([], _core.TargetInfo(executable="/tmp/prögram \"q\"\t✓", core=None)))
    return out


def test_json_array_is_render_json_array(modules, reports):
    _core, core_api = modules
    joined = core_api.join_json([_core.render_json(r) for r in reports])
    assert joined == _core.render_json_array(reports)


def test_sarif_runs_are_render_sarif(modules, reports):
    _core, core_api = modules
    joined = core_api.join_sarif([_core.render_sarif([r]) for r in reports])
    assert joined == _core.render_sarif(reports)


# --- the parts the workers write, joined without parsing ----------------------

def _assemble(plan, logs):
    return b"".join(p if isinstance(p, bytes) else logs[p[0]][p[1]:p[2]] for p in plan)


def test_json_parts_join_as_render_json_array(modules, reports):
    """A worker's part of the JSON array is its render_json_array([report])
    without the brackets; the parent puts "[\\n", ",\\n" and "\\n]\\n" around."""
    _core, core_api = modules
    parts = [core_api.render_json_array([r]).encode()[2:-3] for r in reports]
    joined = (b"[\n" + b",\n".join(parts) + b"\n]\n").decode()
    assert joined == _core.render_json_array(reports)
    assert joined == core_api.join_json([_core.render_json(r) for r in reports])


def sarif_logs(_core, core_api, reports):
    """Per-core logs as the workers write them: cores of one executable
    several times (their runs get numbered categories), others once, and a
    core that could not be analysed, as the parent renders it."""
    picked = [reports[0], reports[1], reports[0], reports[2], reports[0], reports[3], reports[1]]
    logs = [core_api.render_sarif([r], min_level="note").encode() for r in picked]
    failed = core_api.failed_sarif_run("/tmp/core.bad", reports[0].target.executable,
                                       "frameaudit: /tmp/core.bad: LLDB crashed")
    logs.insert(3, core_api.join_sarif([failed], "per-core").encode())
    return logs


def test_sarif_parts_join_as_merge_sarif(modules, reports):
    _core, core_api = modules
    logs = sarif_logs(_core, core_api, reports)
    layouts = [core_api.sarif_layout(log) for log in logs]
    assert all(layouts)
    for runs in ("auto", "per-core"):
        plan = core_api.sarif_join_parts(layouts, runs)
        assert plan is not None
        assembled = _assemble(plan, logs).decode()
        assert assembled == core_api.join_sarif([log.decode() for log in logs], runs)
    # One log alone is itself.
    assert _assemble(core_api.sarif_join_parts(layouts[:1], "auto"), logs) == logs[0]


def test_sarif_parts_need_a_merge_per_executable_or_beyond_20_runs(modules, reports):
    _core, core_api = modules
    logs = sarif_logs(_core, core_api, reports)
    layouts = [core_api.sarif_layout(log) for log in logs]
    assert core_api.sarif_join_parts(layouts, "per-executable") is None
    assert core_api.sarif_join_parts(layouts * 3, "per-core") is None  # 24 runs: refused by merge
    assert core_api.sarif_join_parts(layouts * 3, "auto") is None      # auto: per executable
    # A log laid out otherwise (two runs, another indent) is merged, not cut.
    two = core_api.join_sarif([logs[0].decode(), logs[1].decode()], "per-core").encode()
    assert core_api.sarif_layout(two) is None
    import json
    assert core_api.sarif_layout(json.dumps(json.loads(logs[0])).encode()) is None
    assert core_api.sarif_join_parts(layouts[:2] + [None], "per-core") is None
