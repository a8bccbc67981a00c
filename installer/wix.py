"""Step 5 of the MSI build: wixl turns installer/mailwarden.wxs and the generated fragments (every
staged file; the Outlook add-in's registry rows) into the MSI, then msibuild puts in what wixl cannot
write (non-ASCII text, the enrolment token key's permissions, same-version upgrades, secure
properties)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import quoteattr

from installer.common import EXTENSION_ID, HERE, NATIVE_HOST, log, run
from installer.runtime import PY_TAG
from outlook_bridge import registration  # plain data; no pywin32


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
