"""Run the CI jobs of docs/ci-guide.md on this machine, as GitHub Actions and
GitLab CI would, for tests/cli/test_ci_guide.py.

The jobs are taken from the guide's fenced YAML blocks (parsed with PyYAML,
so the YAML itself must be valid), never copied: change the guide and the
test runs the new text.

GitHub Actions: each step in order, with the variables a runner sets
(GITHUB_WORKSPACE, RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_ENV, ...), `${{ }}`
expressions evaluated with the contexts GitHub allows where they stand
(`runner` is not allowed in a job's `env:`), `if:` conditions (a step with
none runs only while every earlier step succeeded), `run:` with the default
shell `bash -e {0}` in the workspace. Three actions are emulated:
actions/checkout (the workspace is already the checkout), upload-sarif
(the file must exist and be JSON) and upload-artifact (its `path:` lines
resolved against the workspace, globs and directories expanded).

GitLab CI: `script:` run as the runner's bash does (one shell,
`set -eo pipefail`, in CI_PROJECT_DIR) with the job's `variables:`, then
`artifacts:` collected as `when:` says (`on_success` by default).

The install steps (GitHub's step that runs `cmake --install`, GitLab's
`before_script:`) need the network and root and take minutes; they are
checked, not run (check_install). The caller passes a `transform` that
rewrites each script before it runs (the guide's `your ... command`
placeholders, the path of the core pattern).
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
import re
import resource
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

try:
    import yaml
except ImportError:  # the test fails by name (test_ci_guide.py: yaml_module)
    yaml = None

PROC_CORE_PATTERN = "/proc/sys/kernel/core_pattern"


# ---------------------------------------------------------------------------
# The guide's YAML blocks

def yaml_blocks(markdown: str) -> list:
    """Every ```yaml fenced block of a Markdown text, parsed."""
    blocks = re.findall(r"^```ya?ml[ \t]*\n(.*?)^```[ \t]*$", markdown, re.M | re.S)
    return [yaml.safe_load(b) for b in blocks]


def guide_jobs(markdown: str) -> tuple:
    """(the GitHub workflow, (the GitLab job's name, the job)) of the guide:
    exactly one block with `jobs:` and one job with `script:`."""
    github, gitlab = [], []
    for doc in yaml_blocks(markdown):
        if not isinstance(doc, dict):
            continue
        if "jobs" in doc:
            github.append(doc)
        else:
            gitlab += [(name, job) for name, job in doc.items()
                       if isinstance(job, dict) and "script" in job]
    assert len(github) == 1, f"expected one GitHub workflow block in the guide, found {len(github)}"
    assert len(gitlab) == 1, f"expected one GitLab job with script: in the guide, found {len(gitlab)}"
    return github[0], gitlab[0]


def script_lines(entries) -> list:
    """A GitLab script: a string or a list of strings (nested lists flattened)."""
    if isinstance(entries, str):
        return [entries]
    out = []
    for e in entries or []:
        if isinstance(e, list):
            out += script_lines(e)
        else:
            assert isinstance(e, str), (f"GitLab rejects the job: a script entry is not a string but {e!r} "
                                        "(a plain YAML scalar with ': ' in it is a mapping: quote the line)")
            out.append(e)
    return out


# ---------------------------------------------------------------------------
# GitHub expressions: ${{ ... }}, and if: conditions

class ExpressionError(Exception):
    pass


_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<op>&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|,)
  | (?P<id>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_*][A-Za-z0-9_\-]*)*)
  )""", re.X)

# Where a context may be used (GitHub's "Context availability" table, the rows used here).
JOB_ENV_CONTEXTS = {"github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"}
STEP_CONTEXTS = JOB_ENV_CONTEXTS | {"env", "job", "runner", "steps"}
STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")


def _truthy(v) -> bool:
    """GitHub's falsy values: null, false, 0, NaN and ''."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return not (v == 0 or math.isnan(v))
    return not (v is None or v == "")


def _number(v) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    if s == "":
        return 0.0
    try:
        return float(s)
    except ValueError:
        return math.nan


def _equal(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()  # GitHub compares strings ignoring case
    if type(a) is type(b):
        return a == b
    return _number(a) == _number(b)


class Expression:
    """A GitHub expression: literals, context paths, ! == != && || and the
    functions always() success() failure() cancelled() hashFiles()."""

    def __init__(self, text: str, contexts: dict, allowed: set, functions: dict):
        self.text = text
        self.contexts, self.allowed, self.functions = contexts, allowed, functions
        self.tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ExpressionError(f"cannot read {text[pos:]!r} in expression {text!r}")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def value(self):
        v = self._or()
        if self.i != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.i][1]!r} in expression {self.text!r}")
        return v

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def _take(self, op=None):
        tok = self._peek()
        if op is not None and tok[1] != op:
            raise ExpressionError(f"expected {op!r} in expression {self.text!r}")
        self.i += 1
        return tok

    def _or(self):
        v = self._and()
        while self._peek() == ("op", "||"):
            self._take()
            w = self._and()
            v = v if _truthy(v) else w
        return v

    def _and(self):
        v = self._cmp()
        while self._peek() == ("op", "&&"):
            self._take()
            w = self._cmp()
            v = w if _truthy(v) else v
        return v

    def _cmp(self):
        v = self._unary()
        if self._peek() in (("op", "=="), ("op", "!=")):
            op = self._take()[1]
            w = self._unary()
            return _equal(v, w) if op == "==" else not _equal(v, w)
        return v

    def _unary(self):
        if self._peek() == ("op", "!"):
            self._take()
            return not _truthy(self._unary())
        return self._primary()

    def _primary(self):
        kind, tok = self._take()
        if kind == "str":
            return tok[1:-1].replace("''", "'")
        if kind == "num":
            return float(tok)
        if kind == "op" and tok == "(":
            v = self._or()
            self._take(")")
            return v
        if kind == "id":
            if tok in ("true", "false"):
                return tok == "true"
            if tok == "null":
                return None
            if self._peek() == ("op", "("):
                self._take()
                args = []
                while self._peek() != ("op", ")"):
                    args.append(self._or())
                    if self._peek() == ("op", ","):
                        self._take()
                self._take(")")
                if tok not in self.functions:
                    raise ExpressionError(f"function {tok}() is not known to this test ({self.text!r})")
                return self.functions[tok](*args)
            head, *rest = tok.split(".")
            if head not in self.contexts:
                raise ExpressionError(f"Unrecognized named-value: {head!r} ({self.text!r})")
            if head not in self.allowed:
                raise ExpressionError(f"Unrecognized named-value: {head!r}: the {head} context is not "
                                      f"available here ({self.text!r})")
            v = self.contexts[head]
            for part in rest:
                v = v.get(part) if isinstance(v, dict) else None
            return v
        raise ExpressionError(f"unexpected {tok!r} in expression {self.text!r}")


def as_string(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else str(v)
    return str(v)


# ---------------------------------------------------------------------------
# Files a job uploads

def resolve_paths(lines, base: Path, exclude=()) -> list:
    """The files a list of paths or globs names (relative to base; a directory
    stands for every file under it), minus the `!` and `exclude` patterns."""
    def expand(pattern):
        p = pattern if os.path.isabs(pattern) else str(base / pattern)
        found = []
        for m in sorted(glob.glob(p, recursive=True)):
            mp = Path(m)
            if mp.is_dir():
                found += [f for f in sorted(mp.rglob("*")) if f.is_file()]
            elif mp.is_file():
                found.append(mp)
        return found

    keep, drop = [], set()
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            drop.update(expand(line[1:]))
        else:
            keep += expand(line)
    for pattern in exclude:
        drop.update(expand(pattern))
    out = []
    for f in keep:
        if f not in drop and f not in out:
            out.append(f)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _limit_core_dumps():
    # A runner's default: no core files unless the job raises the limit itself.
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


# ---------------------------------------------------------------------------
# GitHub Actions

@dataclass
class StepResult:
    name: str
    id: Optional[str]
    ran: bool
    outcome: str                 # success, failure, skipped
    script: str = ""
    returncode: Optional[int] = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict = field(default_factory=dict)


@dataclass
class GitHubRun:
    steps: list
    artifacts: dict              # name -> [Path]
    sarif_uploads: list          # [Path]
    failed: bool
    job_env: dict

    def step(self, name_or_id: str) -> StepResult:
        for s in self.steps:
            if name_or_id in (s.name, s.id):
                return s
        raise KeyError(f"no step {name_or_id!r}; steps: {[s.name for s in self.steps]}")

    def log(self) -> str:
        out = []
        for s in self.steps:
            status = f" (exit {s.returncode})" if s.ran and s.returncode is not None else ""
            out.append(f"--- {s.name}: {s.outcome}{status}")
            if s.stdout:
                out.append(s.stdout.rstrip())
            if s.stderr:
                out.append("[stderr] " + s.stderr.rstrip().replace("\n", "\n[stderr] "))
        return "\n".join(out)


def read_env_file(path: Path) -> dict:
    """GITHUB_OUTPUT / GITHUB_ENV: `name=value` lines and `name<<DELIM` blocks."""
    values = {}
    if not path.exists():
        return values
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"{path}: {name}<<{delim} has no closing {delim}"
            i += 1
            values[name] = "\n".join(body)
        else:
            assert "=" in line, f"{path}: a line that is neither name=value nor name<<DELIM: {line!r}"
            name, value = line.split("=", 1)
            values[name] = value
    return values


def is_install(script: str) -> bool:
    return "cmake --install" in script


def run_github_job(workflow: dict, workspace: Path, runner_temp: Path, base_env: dict,
                   transform: Callable[[str], str], env_override: Callable[[dict], dict],
                   check_install: Callable[[str, dict], None], job_id: Optional[str] = None,
                   timeout: int = 300) -> GitHubRun:
    jobs = workflow["jobs"]
    job_id = job_id or next(iter(jobs))
    job = jobs[job_id]
    workspace.mkdir(parents=True, exist_ok=True)
    runner_temp.mkdir(parents=True, exist_ok=True)

    github = {"workspace": str(workspace), "job": job_id, "repository": "example/project",
              "event_name": "push", "sha": "0" * 40, "run_id": "1", "ref": "refs/heads/main"}
    runner = {"temp": str(runner_temp), "os": "Linux", "arch": "X64", "name": "test-runner",
              "tool_cache": str(runner_temp / "tool cache")}
    steps_ctx: dict = {}
    state = {"failed": False}

    def hash_files(*patterns):
        files = []
        for p in patterns:
            files += [f for f in resolve_paths([p], workspace)
                      if workspace in f.resolve().parents]  # hashFiles sees the workspace only
        if not files:
            return ""
        h = hashlib.sha256()
        for f in files:
            h.update(bytes.fromhex(sha256(f)))
        return h.hexdigest()

    functions = {"always": lambda: True, "success": lambda: not state["failed"],
                 "failure": lambda: state["failed"], "cancelled": lambda: False,
                 "hashFiles": hash_files}

    def contexts(env):
        return {"github": github, "runner": runner, "env": env, "steps": steps_ctx,
                "job": {"status": "failure" if state["failed"] else "success"},
                "needs": {}, "strategy": {}, "matrix": {}, "vars": {}, "secrets": {}, "inputs": {}}

    where = {"step": None}

    def evaluate(text, env, allowed):
        try:
            return Expression(text, contexts(env), allowed, functions).value()
        except ExpressionError as e:
            if where["step"] is None:
                raise
            raise AssertionError(f"step {where['step']!r}: {e}") from None

    def substitute(value, env, allowed):
        if not isinstance(value, str):
            return as_string(value)
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: as_string(evaluate(m.group(1), env, allowed)), value)

    job_env = {}
    for k, v in (job.get("env") or {}).items():
        try:
            job_env[k] = substitute(v, {}, JOB_ENV_CONTEXTS)
        except ExpressionError as e:
            raise AssertionError(f"GitHub rejects the workflow: jobs.{job_id}.env.{k}: {e}") from None
    job_env = env_override(job_env)
    defaults_run = ((job.get("defaults") or {}).get("run") or {})
    github_env: dict = {}
    github_path: list = []
    results, artifacts, sarif_uploads = [], {}, []

    for n, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {n + 1}"
        where["step"] = name
        sid = step.get("id")
        env_now = {**job_env, **github_env}
        step_env = {k: substitute(v, env_now, STEP_CONTEXTS) for k, v in (step.get("env") or {}).items()}
        env_now.update(step_env)

        condition = step.get("if")
        if condition is None:
            condition = "success()"
        condition = str(condition).strip()
        m = re.fullmatch(r"\$\{\{(.*)\}\}", condition, re.S)
        if m:
            condition = m.group(1)
        if not re.search(r"\b(%s)\(" % "|".join(STATUS_FUNCTIONS), condition):
            condition = f"success() && ({condition})"
        if not _truthy(evaluate(condition, env_now, STEP_CONTEXTS)):
            results.append(StepResult(name, sid, False, "skipped"))
            if sid:
                steps_ctx[sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            continue

        result = StepResult(name, sid, True, "success")
        if "run" in step:
            script = substitute(step["run"], env_now, STEP_CONTEXTS)
            result.script = script
            if is_install(script):
                check_install(script, env_now)
                result.outcome, result.stdout = "success", "(install step: checked, not run)"
            else:
                script = transform(script)
                result.script = script
                files = {k: runner_temp / f"_runner_file_commands/{k.lower()}_{n}"
                         for k in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
                for f in files.values():
                    f.parent.mkdir(parents=True, exist_ok=True)
                    f.write_text("")
                script_file = runner_temp / f"step {n}.sh"
                script_file.write_text(script)
                env = dict(base_env)
                env.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
                            "RUNNER_TEMP": str(runner_temp), "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
                            "RUNNER_TOOL_CACHE": runner["tool_cache"], "GITHUB_JOB": job_id,
                            "GITHUB_REPOSITORY": github["repository"], "GITHUB_SHA": github["sha"],
                            "GITHUB_RUN_ID": github["run_id"], "GITHUB_REF": github["ref"],
                            "GITHUB_EVENT_NAME": github["event_name"], "GITHUB_ACTION": sid or f"__run_{n}"})
                env.update({k: str(v) for k, v in files.items()})
                env.update(env_now)
                if github_path:
                    env["PATH"] = os.pathsep.join(github_path + [env["PATH"]])
                shell = step.get("shell") or defaults_run.get("shell")
                if shell in (None, ""):
                    argv = ["bash", "-e", str(script_file)]
                elif shell == "bash":
                    argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)]
                elif shell == "sh":
                    argv = ["sh", "-e", str(script_file)]
                else:
                    raise AssertionError(f"step {name!r}: shell {shell!r} is not known to this test")
                wd = step.get("working-directory") or defaults_run.get("working-directory")
                cwd = workspace / wd if wd else workspace
                proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                                      timeout=timeout, preexec_fn=_limit_core_dumps,
                                      stdin=subprocess.DEVNULL)
                result.returncode, result.stdout, result.stderr = proc.returncode, proc.stdout, proc.stderr
                result.outcome = "success" if proc.returncode == 0 else "failure"
                result.outputs = read_env_file(files["GITHUB_OUTPUT"])
                github_env.update(read_env_file(files["GITHUB_ENV"]))
                github_path = [p for p in files["GITHUB_PATH"].read_text().splitlines() if p] + github_path
        elif "uses" in step:
            uses = step["uses"]
            action = uses.split("@")[0]
            with_ = {k: substitute(v, env_now, STEP_CONTEXTS) for k, v in (step.get("with") or {}).items()}
            if action == "actions/checkout":
                result.stdout = "(checkout: the workspace is the checkout)"
            elif action == "github/codeql-action/upload-sarif":
                target = Path(with_.get("sarif_file", "../results"))
                target = target if target.is_absolute() else workspace / target
                found = sorted(target.rglob("*.sarif")) if target.is_dir() else [target]
                if not found or not all(f.is_file() for f in found):
                    result.outcome, result.stderr = "failure", f"upload-sarif: no SARIF file at {target}"
                else:
                    sarif_uploads += found
            elif action == "actions/upload-artifact":
                files = resolve_paths(with_.get("path", "").splitlines(), workspace)
                missing = with_.get("if-no-files-found", "warn")
                if not files and missing == "error":
                    result.outcome, result.stderr = "failure", "upload-artifact: no files found"
                artifacts[with_.get("name", "artifact")] = files
                result.stdout = "\n".join(map(str, files))
            else:
                raise AssertionError(f"step {name!r} uses {uses}, an action this test does not emulate")
        else:
            raise AssertionError(f"step {name!r} has neither run: nor uses:")

        if result.outcome == "failure" and step.get("continue-on-error") not in (True, "true"):
            state["failed"] = True
        if sid:
            steps_ctx[sid] = {"outputs": result.outputs, "outcome": result.outcome,
                              "conclusion": result.outcome}
        results.append(result)

    return GitHubRun(results, artifacts, sarif_uploads, state["failed"], job_env)


# ---------------------------------------------------------------------------
# GitLab CI

@dataclass
class GitLabRun:
    script: str
    returncode: int
    stdout: str
    stderr: str
    artifacts: list              # [Path]

    def log(self) -> str:
        return f"--- job: exit {self.returncode}\n{self.stdout.rstrip()}\n[stderr] " + \
            self.stderr.rstrip().replace("\n", "\n[stderr] ")


def run_gitlab_job(job: dict, project_dir: Path, builds_dir: Path, base_env: dict,
                   transform: Callable[[str], str], env_override: Callable[[dict], dict],
                   check_install: Callable[[str, dict], None], job_name: str = "job",
                   timeout: int = 300) -> GitLabRun:
    project_dir.mkdir(parents=True, exist_ok=True)
    variables = {k: as_string(v) for k, v in (job.get("variables") or {}).items()}
    variables = env_override(variables)
    before = "\n".join(script_lines(job.get("before_script")))
    if before:
        assert is_install(before), ("the GitLab before_script is taken for the install and not run, "
                                    "but it does not run `cmake --install`:\n" + before)
        check_install(before, variables)
    lines = [transform(line) for line in script_lines(job["script"])]
    # The runner's bash: one shell for every line, stopping at the first failure.
    script = "set -eo pipefail\nset +o noclobber\n" + "\n".join(lines) + "\n"
    script_file = builds_dir / "job script.sh"
    script_file.write_text(script)
    env = dict(base_env)
    env.update({"CI": "true", "GITLAB_CI": "true", "CI_SERVER": "yes", "CI_PROJECT_DIR": str(project_dir),
                "CI_BUILDS_DIR": str(builds_dir), "CI_JOB_NAME": job_name,
                "CI_JOB_STAGE": as_string(job.get("stage", "test")), "CI_PROJECT_NAME": project_dir.name,
                "CI_COMMIT_SHA": "0" * 40, "CI_PIPELINE_ID": "1", "CI_JOB_ID": "1"})
    env.update(variables)
    proc = subprocess.run(["bash", str(script_file)], cwd=project_dir, env=env, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=_limit_core_dumps,
                          stdin=subprocess.DEVNULL)
    artifacts = []
    spec = job.get("artifacts") or {}
    when = spec.get("when", "on_success")
    if (proc.returncode == 0 and when in ("on_success", "always")) or \
       (proc.returncode != 0 and when in ("on_failure", "always")):
        artifacts = resolve_paths([as_string(p) for p in spec.get("paths") or []], project_dir,
                                  exclude=[as_string(p) for p in spec.get("exclude") or []])
        outside = [a for a in artifacts if project_dir.resolve() not in a.resolve().parents]
        assert not outside, f"GitLab keeps artifacts from the project directory only: {outside}"
    return GitLabRun(script, proc.returncode, proc.stdout, proc.stderr, artifacts)
