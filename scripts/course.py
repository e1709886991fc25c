#!/usr/bin/env python3
"""Set up the aiguide course and run it: `./course lab`, `./course test`.

Every command first brings the machine up to date, one step at a time, and
each step either does its work (with a progress line at least every 30
seconds, so a long compile never looks like a hang) or says in one line why
it has nothing to do:

  1. system packages   OpenBLAS, a C++ compiler, pkg-config, SQLite (apt)
  2. python env        a venv with the pins from environment.yml
  3. data assets       the data hub's files (helpers/assets.toml)
  4. build             the kernel (release) and the course crates (as cells use them)
  5. kernelspec        "Rust (aiguide)" registered with Jupyter
  6. warm slot         the kernel's compile slot, started from step 4's build

Then `lab` opens Jupyter Lab on notebooks/, and `test` runs the unit tests
and executes every notebook through the kernel over the Jupyter protocol.

Standard library only (Python 3.11+): it runs before any environment exists.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import datahub  # noqa: E402  (needs the path above)

HEARTBEAT_S = 30
STEPS = 6
# Notebooks the test suite runs at once, each kernel in its own compile slot.
# Two keep both cores busy: a kernel spends much of its time in one
# single-threaded compiler or in rust-analyzer.
NOTEBOOK_WORKERS = 2

# The course is built by two cargo invocations, so that neither changes the
# features the other's dependencies are compiled with (cargo unifies features
# per invocation). The kernel, with evcxr and rust-analyzer's crates, is built
# in release mode. The course crates are built as evcxr builds cells
# (vendor/evcxr/src/eval_context.rs): in the dev profile, which the workspace
# sets to evcxr's, with evcxr's RUSTFLAGS and `--target` the host, which moves
# them under target/<host>/debug. `notebook-deps` is exactly a notebook's
# dependency graph, so the warm step starts the first compile slot from these
# artifacts instead of compiling every course crate a second time.
@functools.cache
def evcxr_flags() -> dict[str, str]:
    host = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    triple = next(line.removeprefix("host: ") for line in host.splitlines() if line.startswith("host: "))
    return {"RUSTFLAGS": "-Cprefer-dynamic", "CARGO_BUILD_TARGET": triple}


# `cargo test` arguments of the unit tests, and whether they build as evcxr
# does. `notebook-deps` (no tests) is named beside the course crates so that
# their dependencies get its features: the test build then reuses the
# notebooks' build rather than compiling tch, ndarray and linfa again.
UNIT_TESTS = [
    ("kernel", ["--release", "-p", "aiguide-kernel"], False),
    ("course crates", ["-p", "aiguide", "-p", "aiguide-llm", "-p", "aiguide-notebook-deps"], True),
]


class SetupError(Exception):
    """A step failed; the message says what to do."""


# ---------------------------------------------------------------- locations


def aiguide_home() -> Path:
    if "AIGUIDE_HOME" in os.environ:
        return Path(os.environ["AIGUIDE_HOME"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "aiguide"


def target_dir() -> Path:
    """Cargo's target dir lives outside the checkout, so a fresh clone (as in
    CI) reuses what earlier runs compiled."""
    return Path(os.environ.get("CARGO_TARGET_DIR") or aiguide_home() / "target")


def kernel_exe() -> Path:
    return target_dir() / "release" / "aiguide-kernel"


# ---------------------------------------------------------------- output


def step(number: int, name: str, message: str) -> None:
    print(f"[{number}/{STEPS}] {name}: {message}", flush=True)


class Heartbeat:
    """Prints `label (N s)` every HEARTBEAT_S seconds until the block ends."""

    def __init__(self, label: str):
        self.label = label
        self.done = threading.Event()
        self.start = time.monotonic()

    def __enter__(self) -> Heartbeat:
        def beat() -> None:
            while not self.done.wait(HEARTBEAT_S):
                print(f"      ... {self.label} ({time.monotonic() - self.start:.0f} s)", flush=True)

        threading.Thread(target=beat, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def run(cmd: list[str], label: str, env: dict[str, str] | None = None, show=None) -> str:
    """Runs `cmd`, streaming the lines `show` accepts (all by default), with a
    heartbeat. Returns the whole output; raises SetupError on failure with the
    last lines of output."""
    output: list[str] = []
    with Heartbeat(label):
        process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if show is None or show(line):
                print(f"      {line.rstrip()}", flush=True)
        code = process.wait()
    if code != 0:
        tail = "".join(output[-40:])
        raise SetupError(f"`{' '.join(cmd)}` failed (exit {code}):\n{tail}")
    return "".join(output)


# ---------------------------------------------------------------- pins


def read_pins(path: Path = ROOT / "environment.yml") -> dict[str, list[str]]:
    """Reads environment.yml, the one place the course's versions are pinned.

    Returns {"conda": [...], "pip": [...]}: conda entries are `name=version`
    or `name`; pip entries are `name==version`. Only the simple layout that
    file uses is understood (no YAML library is needed before the venv)."""
    pins: dict[str, list[str]] = {"conda": [], "pip": []}
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if line == "dependencies:":
            section = "conda"
        elif re.fullmatch(r"\s+- pip:", line):
            section = "pip"
        elif not line.startswith(" "):
            section = None
        elif section and (item := re.fullmatch(r"\s+- (\S+)", line)):
            pins[section].append(item.group(1))
    if not pins["pip"]:
        raise SetupError(f"{path} has no `- pip:` list under dependencies")
    return pins


def python_requirements(pins: dict[str, list[str]]) -> list[str]:
    """The pip requirement lines: the pip list, plus the conda entries that are
    Python packages (`jupyterlab=4.6.6` becomes `jupyterlab==4.6.6`)."""
    non_python = {"python", "pip", "openblas", "pkg-config", "cxx-compiler"}
    conda = [
        entry.replace("=", "==", 1)
        for entry in pins["conda"]
        if entry.split("=", 1)[0] not in non_python
    ]
    return conda + pins["pip"]


# ---------------------------------------------------------------- steps

APT_PACKAGES = {
    # what the course needs: the Debian package that provides it
    "libopenblas-dev": "OpenBLAS for ndarray-linalg",
    "pkg-config": "locating OpenBLAS at build time",
    "g++": "compiling tch's C++ glue",
    "libsqlite3-dev": "SQLite as a shared library for the sqlite-vec vector store (chapter 5.5)",
}


def system_packages() -> None:
    name = "system packages"
    if not shutil.which("dpkg"):
        step(1, name, "not a Debian/Ubuntu system: install OpenBLAS, pkg-config, g++ and SQLite 3 (with its headers) yourself")
        return
    wanted = list(APT_PACKAGES)
    if sys.prefix == sys.base_prefix and sys.prefix.startswith("/usr") and not venv_supported():
        wanted.append(f"python3.{sys.version_info.minor}-venv")
    missing = [
        package
        for package in wanted
        if subprocess.run(["dpkg", "-s", package], capture_output=True).returncode != 0
    ]
    if not missing:
        step(1, name, f"{', '.join(wanted)} already installed")
        return
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    if prefix and not shutil.which("sudo"):
        raise SetupError(f"missing {', '.join(missing)}: run `apt-get install -y {' '.join(missing)}` as root")
    step(1, name, f"installing {', '.join(missing)}")
    apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(prefix + ["apt-get", "update", "-q"], "apt-get update", env=apt_env, show=lambda _: False)
    run(prefix + ["apt-get", "install", "-y", "-q", *missing], "apt-get install", env=apt_env,
        show=lambda line: line.startswith("Setting up"))


def venv_supported() -> bool:
    try:
        import ensurepip  # noqa: F401
    except ImportError:
        return False
    return True


def course_python() -> tuple[Path, bool]:
    """The interpreter of the course environment, and whether the course owns
    it (a venv it may install into) or the learner does (AIGUIDE_PYTHON, e.g.
    a conda env made from environment.yml)."""
    if "AIGUIDE_PYTHON" in os.environ:
        return Path(os.environ["AIGUIDE_PYTHON"]), False
    return aiguide_home() / "venv" / "bin" / "python", True


def python_env() -> Path:
    name = "python env"
    requirements = python_requirements(read_pins())
    python, owned = course_python()
    if not owned:
        wrong = installed_mismatches(python, requirements)
        if wrong:
            raise SetupError(
                f"{python} (AIGUIDE_PYTHON) does not match environment.yml: {', '.join(wrong)}; "
                "run `conda env update -f environment.yml` or unset AIGUIDE_PYTHON"
            )
        step(2, name, f"using {python} (AIGUIDE_PYTHON); all pins satisfied")
        return python
    stamp = python.parent.parent / "aiguide-pins.sha256"
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        step(2, name, f"{python.parent.parent} already has the pinned packages")
        return python
    if not python.exists():
        step(2, name, f"creating a venv at {python.parent.parent}")
        run([sys.executable, "-m", "venv", str(python.parent.parent)], "creating the venv")
    step(2, name, f"installing {len(requirements)} pinned packages (torch is about 4.7 GB: minutes)")
    run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *requirements],
        "installing Python packages")
    stamp.write_text(digest + "\n")
    return python


def installed_mismatches(python: Path, requirements: list[str]) -> list[str]:
    check = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for req in json.loads(sys.argv[1]):\n"
        "    name, _, want = req.partition('==')\n"
        "    try: have = m.version(name)\n"
        "    except m.PackageNotFoundError: have = None\n"
        "    if want and have != want: out[name] = f'{name} is {have}, wants {want}'\n"
        "print(json.dumps(sorted(out.values())))\n"
    )
    try:
        result = subprocess.run([str(python), "-c", check, json.dumps(requirements)],
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise SetupError(f"cannot run {python}: {error}") from error
    return json.loads(result.stdout)


def data_assets(python: Path) -> None:
    name = "data assets"
    data_dir = datahub.default_data_dir()
    skipped: list[str] = []
    manual: list[str] = []
    started = False

    def log(line: str) -> None:
        nonlocal started
        if line.startswith("skip"):
            skipped.append(line)
            return
        if line.startswith("manual"):
            manual.append(line)
            return
        if not started:
            step(3, name, f"fetching into {data_dir}")
            started = True
        print(f"      {line}", flush=True)

    try:
        datahub.fetch(datahub.MANIFEST, data_dir, str(python), log=log)
    except datahub.DatahubError as error:
        raise SetupError(str(error)) from error
    optional = (f"; {len(manual)} optional files (MNIST, Fashion-MNIST, CIFAR-10) you download "
                "yourself: `python3 scripts/datahub.py verify` says where") if manual else ""
    if started:
        print(f"      done{optional}", flush=True)
    else:
        step(3, name, f"all {len(skipped)} assets already verified in {data_dir}{optional}")


def build_env(python: Path) -> dict[str, str]:
    """What cargo needs to build and run tch code against the course's torch."""
    torch_lib = subprocess.run(
        [str(python), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'] + '/torch/lib')"],
        capture_output=True, text=True, check=True).stdout.strip()
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(target_dir())
    env["LIBTORCH_USE_PYTORCH"] = "1"
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["LD_LIBRARY_PATH"] = f"{torch_lib}{os.pathsep}{env.get('LD_LIBRARY_PATH', '')}"
    env["AIGUIDE_ROOT"] = str(ROOT)
    env["AIGUIDE_HOME"] = str(aiguide_home())
    env["AIGUIDE_PYTHON"] = str(python)
    return env


def cargo_builds() -> list[tuple[list[str], dict[str, str]]]:
    """The cargo commands of the build step, each with its extra environment:
    `cargo fetch` for every locked package, of every platform, then
    `notebook-deps` for the compile slot, then `cargo test --no-run` for each
    unit test run, which builds exactly what the test step runs (so that step
    never rebuilds anything). A build downloads only the packages of this
    platform, but the kernel's offline `:dep` checks run `cargo metadata`,
    which reads the manifest of every package in the lock (wasm-only
    `bumpalo` too): on a new machine they failed without the fetch."""
    return [
        (["cargo", "fetch", "--locked"], {}),
        (["cargo", "build", "-p", "aiguide-notebook-deps", "--locked"], evcxr_flags()),
        *((["cargo", "test", *args, "--no-run", "--locked"], evcxr_flags() if as_evcxr else {})
          for _, args, as_evcxr in UNIT_TESTS),
    ]


def build(env: dict[str, str]) -> None:
    step(4, "build", f"cargo builds into {target_dir()} (first time: 10-30 minutes on 2 cores)")
    start = time.monotonic()
    compiled = False
    for cmd, extra_env in cargo_builds():
        output = run(cmd, "compiling", env={**env, **extra_env},
                     show=lambda line: line.lstrip().startswith(("Compiling", "error", "warning")))
        compiled = compiled or "Compiling" in output
    if not compiled:
        print(f"      already up to date ({time.monotonic() - start:.0f} s)", flush=True)


def kernelspec(env: dict[str, str]) -> None:
    name = "kernelspec"
    spec = kernelspec_path()
    if spec.exists():
        current = json.loads(spec.read_text())
        if current.get("argv", [None])[0] == str(kernel_exe()) and current.get("env") == {
            "AIGUIDE_ROOT": env["AIGUIDE_ROOT"],
            "AIGUIDE_HOME": env["AIGUIDE_HOME"],
            "AIGUIDE_PYTHON": env["AIGUIDE_PYTHON"],
        }:
            step(5, name, f"\"Rust (aiguide)\" already installed at {spec.parent}")
            return
    step(5, name, "registering \"Rust (aiguide)\" with Jupyter")
    run([str(kernel_exe()), "install"], "installing the kernelspec", env=env)


def kernelspec_path() -> Path:
    data = os.environ.get("JUPYTER_DATA_DIR")
    if not data:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        data = str(Path(base) / "jupyter")
    return Path(data) / "kernels" / "aiguide" / "kernel.json"


def warm_slot(env: dict[str, str]) -> None:
    step(6, "warm slot", "the course crates for the kernel, from step 4's build (once per machine)")
    run([str(kernel_exe()), "warm", "--slots", str(NOTEBOOK_WORKERS),
         "--course-build", str(target_dir())], "warming the kernel", env=env,
        show=lambda line: not line.lstrip().startswith(("Compiling", "Locking", "Adding", "Downloaded", "Downloading", "Updating")))


def setup() -> dict[str, str]:
    """All six steps; returns the environment later commands run in."""
    started = time.monotonic()
    system_packages()
    python = python_env()
    data_assets(python)
    env = build_env(python)
    build(env)
    kernelspec(env)
    warm_slot(env)
    print(f"setup complete ({time.monotonic() - started:.0f} s)", flush=True)
    return env


# ---------------------------------------------------------------- commands


def command_lab(args: argparse.Namespace) -> int:
    env = setup()
    python = env["AIGUIDE_PYTHON"]
    cmd = [python, "-m", "jupyter", "lab", f"--notebook-dir={ROOT / 'notebooks'}", *args.jupyter_args]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root; Lab refuses without this
    print("starting Jupyter Lab; choose the \"Rust (aiguide)\" kernel", flush=True)
    return subprocess.call(cmd, env=env)


def command_test(args: argparse.Namespace) -> int:
    env = setup()
    checks = [
        ("formatting", ["cargo", "fmt", "--all", "--check"], {}),
        ("lints", ["cargo", "clippy", "--release", "--workspace", "--all-targets", "--locked",
                   "--", "-D", "warnings"], {}),
        ("docs", ["cargo", "doc", "--release", "--no-deps", "--workspace", "--locked"],
         {"RUSTDOCFLAGS": "-D warnings"}),
        *((f"unit tests: {name}", ["cargo", "test", *args, "--locked"],
           evcxr_flags() if as_evcxr else {})
          for name, args, as_evcxr in UNIT_TESTS),
        ("notebooks", [env["AIGUIDE_PYTHON"], "-m", "pytest", str(ROOT / "tests"), "-v",
                       "-n", str(NOTEBOOK_WORKERS), *(["-k", args.k] if args.k else [])],
         # Two kernels share the cores; each kernel lets its OpenMP threads
         # sleep rather than spin (OMP_WAIT_POLICY, kernel/src/environment.rs).
         {}),
    ]
    for label, cmd, extra_env in checks:
        print(f"== {label}: {' '.join(cmd)}", flush=True)
        with Heartbeat(label):
            code = subprocess.call(cmd, env={**env, **extra_env}, cwd=ROOT)
        if code != 0:
            print(f"FAILED: {label} (exit {code})", flush=True)
            return code
    print("all checks passed", flush=True)
    return 0


def command_setup(_: argparse.Namespace) -> int:
    setup()
    return 0


def command_data(_: argparse.Namespace) -> int:
    python, _owned = course_python()
    data_assets(python if python.exists() else Path(sys.executable))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="./course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    lab = commands.add_parser("lab", help="set up everything, then open Jupyter Lab on notebooks/ "
                              "(other options, e.g. --no-browser --port 8899, go to jupyter lab)")
    lab.set_defaults(func=command_lab)
    test = commands.add_parser("test", help="set up everything, then run every check and notebook")
    test.add_argument("-k", help="only notebooks whose test id matches (pytest -k)")
    test.set_defaults(func=command_test)
    commands.add_parser("setup", help="only the six setup steps").set_defaults(func=command_setup)
    commands.add_parser("data", help="only fetch and verify the data assets").set_defaults(func=command_data)
    args, jupyter_args = parser.parse_known_args()
    if jupyter_args and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(jupyter_args)}")
    args.jupyter_args = jupyter_args
    try:
        return args.func(args)
    except SetupError as error:
        print(f"\nsetup failed: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
