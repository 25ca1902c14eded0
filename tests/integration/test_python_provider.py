"""`fa provider on|off` and `fa bt` against lldb-22: with the provider on,
LLDB's own `bt`, `frame select`, `up`/`down` show frameaudit's frames;
`fa bt` prints the same list in bt's layout without registering anything;
the native plugin says how to get the provider.

On the unsafe fixtures (an unsafe caller of sra_alloc at -O2/-Os, where
LLDB's unwinder goes wrong) bt with the provider shows the ground truth's
call chain, and `frame variable` in the repaired frame shows the victim's
locals with the values the program wrote."""

import re

import pytest

from fixture_cores import CoreUnavailable, get_core
from lldb_harness import Session, native_plugin_path, python_package_dir
from native_helpers import find_fixture

NESTED = find_fixture("nested", "gcc", "O0", "fp", "audit")
# Every cell of the unsafe fixture: both compilers, -O2 and -Os, fp and nofp,
# audit and plain (docs/user-guide.md, section 5).
UNSAFE = [find_fixture("unsafe", cc, opt, flags, mode)
          for cc in ("gcc", "clang") for opt in ("O2", "Os") for flags in ("fp", "nofp")
          for mode in ("audit", "plain")]

FRAME = re.compile(r"^\s+\*?\s*frame #(\d+): (0x[0-9a-f]+) (?:\S+`)?(\S+?)(?:\(.*?\))?(?: at |\s|$)",
                   re.M)


def frames_of(text):
    """(index, pc, function) of each `frame #i:` line of bt / fa bt output."""
    return [(int(i), int(pc, 16), fn) for i, pc, fn in FRAME.findall(text)]


def core_of(exe):
    try:
        return get_core(exe, "kernel", "segv")
    except CoreUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture
def nested():
    if NESTED is None:
        pytest.skip("the nested fixture is not built")
    core = core_of(NESTED)
    s = Session()
    s.load_python(python_package_dir())
    s.load_core(NESTED, core.path)
    yield s
    s.close()


def test_bt_shows_frameaudits_frames(nested):
    fa_bt = nested.ok("fa bt")
    assert fa_bt.startswith("* thread #1")
    ours = frames_of(fa_bt)
    assert [f[2] for f in ours[:5]] == ["fixture_stop", "n_level3", "n_level2", "n_level1", "main"]
    assert "[sra: relocated" in fa_bt
    lldb_before = frames_of(nested.ok("bt"))
    assert nested.ok("fa provider").startswith("frameaudit's frame provider is off")
    assert "frame provider is on" in nested.ok("fa provider on")
    assert "is on (id" in nested.ok("fa provider")
    provided = frames_of(nested.ok("bt"))
    assert [(i, pc) for i, pc, _ in provided] == [(i, pc) for i, pc, _ in ours]
    # The selection commands walk frameaudit's frames.
    assert "n_level2" in nested.ok("frame select 2")
    assert "n_level1" in nested.ok("up")
    assert "n_level2" in nested.ok("down")
    thread = nested.process.GetSelectedThread()
    assert [thread.GetFrameAtIndex(i).GetPC() for i in range(len(ours))] == [f[1] for f in ours]
    assert "is off" in nested.ok("fa provider off")
    assert frames_of(nested.ok("bt")) == lldb_before
    assert nested.ok("fa provider off").startswith("frameaudit's frame provider is already off")


def test_provider_needs_a_target():
    s = Session()
    try:
        s.load_python(python_package_dir())
        assert s.fails("fa provider on").startswith("error: no target")
    finally:
        s.close()


def test_native_plugin_says_how_to_get_the_provider():
    s = Session()
    try:
        s.load_native(native_plugin_path())
        err = s.fails("fa provider on")
        assert "load the Python front-end instead" in err and "fa bt" in err
    finally:
        s.close()


@pytest.mark.parametrize("exe", [pytest.param(e, id=e.name) for e in UNSAFE if e is not None])
def test_unsafe_fixture_bt_reaches_main(exe):
    """Ground truth: the fixture's recorded call chain, innermost first, then
    main: LLDB's own unwinder shows frame_dummy there (docs/user-guide.md, section 5)."""
    core = core_of(exe)
    chain = next(t["chain"] for t in core.truth["threads"] if t["chain"])
    s = Session()
    try:
        s.load_python(python_package_dir())
        s.load_core(exe, core.path)
        functions = [f for _, _, f in frames_of(s.ok("fa bt"))]
        s.ok("fa provider on")
        provided = [f for _, _, f in frames_of(s.ok("bt"))]
        # frame variable in the repaired frame reads the victim's locals where
        # its static frame keeps them: buf holds bytes 0..63 (unsafe.c), and
        # `before`, where the debug info still has it, is their sum.
        victim = provided.index("unsafe_victim")
        s.ok(f"frame select {victim}")
        listed = s.ok("frame variable")
        values = {k: s.ok(f"frame variable -f d buf[{k}]") for k in (0, 1, 17, 63)}
        before = s.ok("frame variable -f d before") if re.search(r"\bbefore =", listed) else None
    finally:
        s.close()
    for names in (functions, provided):
        joined = " ".join(names)
        assert " ".join(chain) in joined, names
        assert "main" in names, names
    assert re.search(r"^\(char\[64\]\) buf = ", listed, re.M), listed
    for k, out in values.items():
        assert out.strip().endswith(f"buf[{k}] = {k}"), out
    if before is not None:
        assert before.strip().endswith("before = 2016"), before
