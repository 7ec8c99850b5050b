"""The nnlib a chapter's kernel imports holds no answer to that chapter or a later one."""
import subprocess
import sys

from autograder.layout import HERE
from autograder.execution.library import write_library


def imports(package, module: str) -> str:
    """What importing nnlib.`module` does with `package` first on the path: "ok" or the error."""
    code = (f"import sys; sys.path.insert(0, {str(package.parent)!r})\n"
            f"try:\n    import nnlib.{module}\n    print('ok')\n"
            f"except ImportError as error:\n    print(type(error).__name__)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()


def test_a_chapter_sees_earlier_chapters_and_the_hand_written_modules_only(tmp_path):
    chapters = HERE.modules()
    package = write_library(tmp_path, "03_backprop")
    for module, chapter in chapters.items():
        expected = "ok" if chapter < "03_backprop" else "ModuleNotFoundError"
        assert imports(package, module) == expected, (module, chapter)
    for path in HERE.hand_written():
        assert (package / path).exists()
    assert imports(package, "testing") == "ok" and imports(package, "plaindata") == "ok"


def test_sgd_imports_without_adam(tmp_path):
    """nnlib.optim loads its optimizers lazily: SGD (chapter 3) without Adam (chapter 5)."""
    package = write_library(tmp_path, "05_mnist")
    code = (f"import sys; sys.path.insert(0, {str(package.parent)!r})\n"
            "from nnlib.optim import SGD\nprint(SGD.__module__)\n"
            "try:\n    from nnlib.optim import Adam\nexcept ImportError:\n    print('no Adam')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
    assert out == ["nnlib.optim.sgd", "no", "Adam"]
