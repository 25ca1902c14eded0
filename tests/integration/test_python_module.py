"""frameaudit._core from plain Python, no LLDB: the Target trampoline
(dict or instance answers, exceptions in callbacks, the GIL), the report
objects, errors as FrameauditError with a code, the renderers and the typed
stub."""

import ast
import json
import struct
import threading
from pathlib import Path

import pytest

from conftest import import_frameaudit, python_package_dir, require_python_frontend


@pytest.fixture(scope="module")
def fa():
    require_python_frontend()
    return import_frameaudit()


STACK_LOW, STACK_HIGH = 0x7000_0000, 0x7000_4000
CODE = 0x40_0000


def stack_image(frames):
    """A stack with an RBP chain: frames = [(rbp, saved_rbp, return_address)]."""
    image = bytearray(STACK_HIGH - STACK_LOW)
    for rbp, saved, ret in frames:
        struct.pack_into("<QQ", image, rbp - STACK_LOW, saved, ret)
    return bytes(image)


def make_target(fa, **overrides):
    """A hand-made x86-64 target: three frames, code that is a call before
    each return address, everything else per the overrides."""
    # main calls f at CODE+0x10 (ret CODE+0x15), f calls g at CODE+0x110.
    code = bytearray(0x1000)
    code[0x10:0x15] = b"\xe8" + struct.pack("<i", 0x100 - 0x15)
    code[0x110:0x115] = b"\xe8" + struct.pack("<i", 0x200 - 0x115)
    image = stack_image([(0x7000_3f00, 0x7000_3f80, CODE + 0x115),
                         (0x7000_3f80, 0, CODE + 0x15)])

    class Fake(fa.Target):
        calls = {"symbolize": 0}

        def info(self):
            return overrides.get("info", fa.TargetInfo(executable="/bin/fake", pid=7))

        def read_memory(self, address, size):
            if "read_memory" in overrides:
                return overrides["read_memory"](address, size)
            if STACK_LOW <= address < STACK_HIGH:
                return image[address - STACK_LOW:address - STACK_LOW + size]
            if CODE <= address < CODE + len(code):
                return bytes(code[address - CODE:address - CODE + size])
            return b""

        def memory_regions(self):
            return overrides.get("regions", [
                fa.MemoryRegion(CODE, CODE + 0x1000, readable=True, executable=True, name="fake"),
                {"start": STACK_LOW, "end": STACK_HIGH, "readable": True, "writable": True,
                 "is_stack": True, "name": "[stack]"},
            ])

        def threads(self):
            if "threads" in overrides:
                return overrides["threads"]()
            return [fa.ThreadInfo(tid=100, index=1, name="main",
                                  registers=fa.Registers(rip=CODE + 0x200, rsp=0x7000_3ee0,
                                                         rbp=0x7000_3f00),
                                  stop_reason="signal SIGSEGV", is_selected=True)]

        def symbolize(self, pc):
            self.calls["symbolize"] += 1
            if "symbolize" in overrides:
                return overrides["symbolize"](pc)
            names = [(0x200, 0x300, "g"), (0x100, 0x200, "f(int)"), (0x0, 0x100, "main")]
            for start, end, name in names:
                if CODE + start <= pc < CODE + end:
                    return {"module": "fake", "function": name, "function_start": CODE + start,
                            "function_end": CODE + end, "file": "/src/fake.c", "line": 10}
            return None

        def allocator_entries(self):
            return overrides.get("allocator_entries", [])

    return Fake()


def test_version_and_exports(fa):
    assert fa.version() == fa.__version__
    assert fa.plain_function_name("ns::f<int>(int) const") == "ns::f<int>"
    kinds = [k.kind for k in fa.finding_kinds()]
    for kind in ("broken-chain", "unwinder-mismatch", "relocated-frame", "region-overflow",
                 "dangling-pointer", "unsafe-caller", "unexplained-dynamic",
                 "misaligned-frame", "stack-exhaustion-risk"):
        assert kind in kinds


def test_analyze_a_python_target(fa):
    target = make_target(fa)
    report = fa.analyze(target)
    assert isinstance(report, fa.Report)
    thread = report.threads[0]
    assert (thread.tid, thread.index, thread.name) == (100, 1, "main")
    assert [f.function for f in thread.frames][:3] == ["g", "f", "main"]
    assert thread.frames[0].kind in ("normal", "dynamic", "relocated", "allocator", "unknown")
    assert thread.stack.low == STACK_LOW and thread.stack.high == STACK_HIGH
    doc = json.loads(fa.render_json(report))
    assert doc["schema"] == "frameaudit/1"
    assert doc["target"] == {"executable": "/bin/fake", "core": None, "pid": 7, "arch": "x86_64"}
    assert doc["threads"][0]["frames"][1]["function"] == "f"
    for render in (fa.render_text, fa.render_chain, fa.render_regions):
        assert render(report).strip()
        assert all(ord(c) < 128 for c in render(report, unicode=False))
    assert fa.render_map(report, thread).strip()
    assert json.loads(fa.render_json_array([report, report]))[1]["schema"] == "frameaudit/1"
    assert json.loads(fa.render_sarif([report]))["version"] == "2.1.0"


def test_report_objects_outlive_their_lists(fa):
    report = fa.analyze(make_target(fa))
    frame = report.threads[0].frames[0]
    del report
    assert frame.function == "g"  # the frame keeps the report alive


def test_each_address_is_symbolized_once(fa):
    target = make_target(fa)
    fa.analyze(target, all_threads=True)
    first = target.calls["symbolize"]
    fa.analyze(target, all_threads=True)
    assert target.calls["symbolize"] == first, "symbols are cached per Target"
    target.clear_symbol_cache()
    fa.analyze(target, all_threads=True)
    assert target.calls["symbolize"] == 2 * first


def test_read_memory_exception_means_unreadable(fa):
    def boom(address, size):
        raise OSError("cannot read")
    report = fa.analyze(make_target(fa, read_memory=boom))
    assert report.threads[0].chain_end in ("unreadable", "out_of_stack")


@pytest.mark.parametrize("method", ["threads", "symbolize"])
def test_other_exceptions_are_reraised(fa, method):
    def boom(*args):
        raise ValueError(f"bug in {method}")
    with pytest.raises(ValueError, match=f"bug in {method}"):
        fa.analyze(make_target(fa, **{method: boom}))


def test_wrong_types_are_reported(fa):
    with pytest.raises(TypeError):
        fa.analyze(make_target(fa, threads=lambda: [42]))


def test_missing_method(fa):
    class Half(fa.Target):
        def info(self):
            return fa.TargetInfo()
    with pytest.raises(NotImplementedError, match="must implement"):
        fa.analyze(Half())


def test_errors_carry_a_code(fa):
    with pytest.raises(fa.FrameauditError) as e:
        fa.analyze(make_target(fa, info=fa.TargetInfo(arch="aarch64")))
    assert e.value.code == "unsupported_arch"
    assert "aarch64" in str(e.value)
    with pytest.raises(fa.FrameauditError) as e:
        fa.analyze(make_target(fa, threads=lambda: []))
    assert e.value.code == "no_process"
    with pytest.raises(fa.FrameauditError) as e:
        fa.lint_elf_file("/nonexistent/file")
    assert e.value.code in ("unreadable", "bad_input")
    with pytest.raises(fa.FrameauditError) as e:
        fa.lint_elf_file(__file__)
    assert e.value.code == "bad_input"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_progress_and_threads_from_python(fa):
    seen = []
    fa.analyze(make_target(fa), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 1)]
    # A broken progress callback does not stop the analysis.
    report = fa.analyze(make_target(fa), progress=lambda d, t: 1 / 0)
    assert report.summary.threads == 1


def test_gil_is_released_during_analysis(fa):
    """analyze() from several Python threads at once, each with its own target."""
    results, errors = [], []

    def work():
        try:
            results.append(fa.render_json(fa.analyze(make_target(fa))))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 4 and len(set(results)) == 1


def test_value_types_are_dataclass_like(fa):
    r = fa.MemoryRegion(1, 2, readable=True, name="x")
    assert r == fa.MemoryRegion(1, 2, readable=True, name="x")
    assert r != fa.MemoryRegion(1, 3, readable=True, name="x")
    assert "0x1-0x2 r--" in repr(r)
    t = fa.ThreadInfo(tid=1, index=1, debugger_frames=[fa.DebuggerFrame(pc=5, cfa=None)])
    assert t.debugger_frames[0].pc == 5 and t.debugger_frames[0].cfa is None
    assert fa.Symbol(function="f").inlined == []


def test_commands_submodule(fa):
    c = fa._core.commands
    assert [s.name for s in c.subcommands()] == ["chain", "audit", "regions", "map", "lint", "bt", "provider"]
    o = c.parse_options("map", ["-t", "0x10", "--max-depth=5", "--ascii"])
    assert (o.threads, o.max_depth, o.ascii, o.format) == ([16], 5, True, "text")
    with pytest.raises(fa.FrameauditError) as e:
        c.parse_options("audit", ["--bogus"])
    assert e.value.code == "invalid_argument"
    with pytest.raises(fa.FrameauditError):
        c.check_debuggee("audit", False, "none")
    c.check_debuggee("lint", True, "none")
    text = c.run_analysis_command(make_target(fa), c.parse_options("audit", ["-j"]))
    assert json.loads(text)["schema"] == "frameaudit/1"


def test_stub_matches_the_module(fa):
    """Every public name of _core is in _core.pyi and the other way round."""
    stub = ast.parse((python_package_dir() / "_core.pyi").read_text())
    declared = {n.name for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    declared |= {n.target.id for n in stub.body
                 if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    module = {n for n in dir(fa._core) if not n.startswith("_")}
    assert module - declared == set(), "missing from _core.pyi"
    assert declared - module == set(), "in _core.pyi but not in the module"
    init = ast.parse((python_package_dir() / "__init__.py").read_text())
    names = next(n for n in init.body if isinstance(n, ast.Assign)
                 and getattr(n.targets[0], "id", "") == "__all__")
    for name in ast.literal_eval(names.value):
        assert hasattr(fa, name)
    assert Path(python_package_dir() / "py.typed").exists()


def test_completion_comes_from_the_command_table(fa):
    """The core's completer behind both front-ends' tab completion."""
    c = fa._core.commands
    words = lambda sub, line, **kw: [w for w, _ in c.complete(sub, line, len(line) - 1, **kw)]
    assert words("audit", ["--"]) == ["--thread", "--all-threads", "--json", "--max-depth",
                                      "--help"]
    assert words("audit", ["-j", "--"]) == ["--thread", "--all-threads", "--max-depth", "--help"]
    assert words("audit", ["-t", ""], thread_indexes=["1", "2", "12"]) == ["1", "2", "12"]
    assert words("audit", ["-t", "1"], thread_indexes=["1", "2", "12"]) == ["1", "12"]
    assert words("map", ["--as"]) == ["--ascii"]
    assert words("lint", ["--format", "j"]) == ["json"]
    assert words("lint", ["--format=t"]) == ["--format=text"]
    assert words("lint", ["libc"], modules=["a.out", "libc.so.6", "libc.so.6"]) == ["libc.so.6"]
    assert words("provider", ["o"]) == ["on", "off"]
    assert words("map", ["--svg", "/tmp/x"], files=lambda p: [p + ".svg"]) == ["/tmp/x.svg"]
    assert words("chain", ["--max-depth", ""]) == []
    assert c.complete("audit", [], 0)[0][0] == "--thread"
