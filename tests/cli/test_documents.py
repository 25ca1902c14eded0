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
