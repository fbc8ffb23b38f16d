"""Download the pinned sources into the cache, laid out like ``$KG_CORPORA``.

Each pin (:mod:`kg.sources`) is fetched once into
``<cache>/sources/<name>-<commit>/<folder>/``: the ATT&CK bundle files from
their raw URLs, every rule repository as the archive of the pinned commit, of
which only the folders kg reads are extracted.  A source directory appears
under its final name only when it is complete (built in a ``.partial-*``
directory, then renamed), and carries a marker naming the commit and the
sha256 of what was downloaded; a directory without that marker is never used.

:func:`fetch_all` returns ``<cache>/sources/tree-<digest>/``, a directory of
relative symbolic links that has exactly the layout of the shared corpora
(``attack/``, ``sigma/``, ``elastic/``, ``splunk/``, ``events/ossem-dd/``),
so the build reads a fetched tree and ``$KG_CORPORA`` the same way.

``KG_FETCH_BASE`` (or ``base_url_override``) sends every download to a mirror
that keeps GitHub's paths: ``<base>/<owner>/<repo>/tar.gz/<commit>`` for an
archive, ``<base>/<owner>/<repo>/<commit>/<path>`` for a raw file.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from kg.errors import FetchError
from kg.settings import cache_dir
from kg.sources import ALL, Pin

log = logging.getLogger(__name__)

#: ``progress(label, bytes_done, bytes_total_or_None)``, called as bytes arrive.
Progress = Callable[[str, int, int | None], None]

MARKER = ".kg-fetched.json"
TIMEOUT = 60.0  # seconds without a byte before a download is abandoned
_CHUNK = 256 * 1024
_USER_AGENT = "kg-detections/0.1 (kg fetch)"
#: a partial directory this old was left by a fetch that died; newer ones may be live
_STALE_SECONDS = 24 * 3600

#: Top-level entries of each repository that kg reads; the rest of an archive
#: (tests, tooling, Sigma's EVTX samples) is not extracted.
_KEEP: dict[str, tuple[str, ...]] = {
    "sigma": (
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "rules-dfir",
        "deprecated",
        "unsupported",
        "LICENSE",
        "LICENSE.Detection.Rules.md",
    ),
    "elastic": ("rules", "rules_building_block", "LICENSE.txt", "NOTICE.txt"),
    "splunk": ("detections", "data_sources", "macros", "stories", "lookups", "LICENSE"),
    "ossem-dd": (
        "aws",
        "azure",
        "cowrie",
        "freebsd",
        "linux",
        "macos",
        "zeek",
        "windows",
        "resources/schemas/sysmon",
        "LICENSE",
    ),
}

#: OSSEM-DD describes 764 ETW providers (33,000 files); the event catalogue
#: uses these security-relevant ones, the same subset as the shared corpora.
_ETW_PROVIDERS = frozenset(
    {
        "Local-Security-Authority-LSA",
        "LsaSrv",
        "Microsoft-Windows-AppLocker",
        "Microsoft-Windows-Application-Experience",
        "Microsoft-Windows-Audit-CVE",
        "Microsoft-Windows-BitLocker-API",
        "Microsoft-Windows-Bits-Client",
        "Microsoft-Windows-CAPI2",
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System",
        "Microsoft-Windows-CodeIntegrity",
        "Microsoft-Windows-DNS-Client",
        "Microsoft-Windows-Diagnosis-Scripted",
        "Microsoft-Windows-Eventlog",
        "Microsoft-Windows-Firewall",
        "Microsoft-Windows-GroupPolicy",
        "Microsoft-Windows-Kernel-EventTracing",
        "Microsoft-Windows-Kernel-File",
        "Microsoft-Windows-Kernel-General",
        "Microsoft-Windows-Kernel-Network",
        "Microsoft-Windows-Kernel-Process",
        "Microsoft-Windows-Kernel-Registry",
        "Microsoft-Windows-Kernel-ShimEngine",
        "Microsoft-Windows-LDAP-Client",
        "Microsoft-Windows-NTLM",
        "Microsoft-Windows-Ntfs",
        "Microsoft-Windows-PowerShell",
        "Microsoft-Windows-PrintService",
        "Microsoft-Windows-RPC",
        "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
        "Microsoft-Windows-SENSE",
        "Microsoft-Windows-SMBClient",
        "Microsoft-Windows-SMBServer",
        "Microsoft-Windows-Security-Auditing",
        "Microsoft-Windows-Security-Kerberos",
        "Microsoft-Windows-Security-Mitigations",
        "Microsoft-Windows-Security-Netlogon",
        "Microsoft-Windows-TaskScheduler",
        "Microsoft-Windows-TerminalServices-LocalSessionManager",
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        "Microsoft-Windows-Threat-Intelligence",
        "Microsoft-Windows-User-Profiles-Service",
        "Microsoft-Windows-VHDMP",
        "Microsoft-Windows-WMI",
        "Microsoft-Windows-WMI-Activity",
    }
)
_ETW_DIR = ("windows", "etw-providers")


def fetch_all(
    pins: Iterable[Pin] = ALL,
    base_url_override: str | None = None,
    *,
    cache: Path | None = None,
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
) -> Path:
    """Fetch every pin (reusing complete ones) and return a corpora-shaped tree."""
    pins = tuple(pins)
    root = (cache or cache_dir()) / "sources"
    root.mkdir(parents=True, exist_ok=True)
    base = base_url_override or os.environ.get("KG_FETCH_BASE") or None
    dirs = {pin.name: fetch_source(pin, root, base, progress, timeout) for pin in pins}
    return _link_tree(root, pins, dirs)


def fetch_source(
    pin: Pin,
    root: Path,
    base: str | None = None,
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
) -> Path:
    """The complete directory of one pin under ``root``, downloading it if needed."""
    final = root / f"{pin.name}-{pin.commit}"
    if _is_complete(final, pin):
        log.debug("%s: using cached %s", pin.name, final)
        return final
    if final.exists():
        log.warning("%s: %s is incomplete or stale; fetching again", pin.name, final)
        shutil.rmtree(final)
    prefix = f".partial-{pin.name}-{pin.commit}-"
    _remove_stale(root, prefix)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    try:
        if pin.files:
            digests = _fetch_files(pin, work, base, progress, timeout)
        else:
            digests = _fetch_archive(pin, work, base, progress, timeout)
        marker = {"name": pin.name, "repo": pin.repo, "commit": pin.commit, "sha256": digests}
        (work / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        _publish(work, final)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    log.info("%s: fetched %s at %s", pin.name, pin.repo, pin.commit[:12])
    return final


def source_url(url: str, base: str | None) -> str:
    """``url`` itself, or the same path on the mirror ``base``."""
    if not base:
        return url
    return base.rstrip("/") + urlsplit(url).path


# --- downloading ----------------------------------------------------------------


def _fetch_files(
    pin: Pin, work: Path, base: str | None, progress: Progress | None, timeout: float
) -> dict[str, str]:
    digests = {}
    for repo_path in pin.files:
        url = source_url(pin.raw_url(repo_path), base)
        target = work / pin.folder / _corpora_name(pin, repo_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        digests[repo_path] = download(url, target, f"{pin.name} {target.name}", progress, timeout)
        if target.suffix == ".json":
            _check_json(target, url)
    return digests


def _fetch_archive(
    pin: Pin, work: Path, base: str | None, progress: Progress | None, timeout: float
) -> dict[str, str]:
    url = source_url(pin.archive_url, base)
    archive = work / "archive.tar.gz"
    digest = download(url, archive, pin.name, progress, timeout)
    count = _extract(archive, work / pin.folder, pin.name, url)
    archive.unlink()
    log.info("%s: extracted %d files", pin.name, count)
    return {"archive": digest}


def download(
    url: str,
    target: Path,
    label: str = "",
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
) -> str:
    """Stream ``url`` into ``target``; return its sha256.  Raises :class:`FetchError`."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.sha256()
    done = 0
    total: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, target.open("wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(label or url, done, total)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchError(f"{url}: {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise FetchError(f"{url}: truncated after {done + len(exc.partial)} bytes") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url}: {exc or type(exc).__name__}") from None
    if total is not None and done != total:
        raise FetchError(f"{url}: truncated: {done} of {total} bytes")
    return digest.hexdigest()


def _check_json(path: Path, url: str) -> None:
    """A bundle that does not parse is a failed download (an error page, a cut file)."""
    try:
        json.loads(path.read_bytes())
    except ValueError as exc:
        raise FetchError(f"{url}: downloaded file is not JSON ({exc})") from None


def _corpora_name(pin: Pin, repo_path: str) -> str:
    """``enterprise-attack/enterprise-attack-18.1.json`` → ``enterprise-attack.json``."""
    name = PurePosixPath(repo_path).name
    return re.sub(rf"-{re.escape(pin.version)}(?=\.json$)", "", name)


# --- extracting -----------------------------------------------------------------


def _extract(archive: Path, dest: Path, source: str, url: str) -> int:
    """Extract the kept regular files of a GitHub archive, without its top folder."""
    count = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                relpath = _inner_path(member.name)
                if not member.isfile() or relpath is None or not _keeps(source, relpath):
                    continue
                target = dest.joinpath(*relpath.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(member)
                if stream is None:
                    continue
                with stream, target.open("wb") as out:
                    shutil.copyfileobj(stream, out)
                count += 1
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise FetchError(f"{url}: archive cannot be extracted ({exc})") from None
    if count == 0:
        raise FetchError(f"{url}: archive holds none of the folders kg reads")
    return count


def _inner_path(name: str) -> PurePosixPath | None:
    """The member's path below the archive's top folder; None for unsafe names."""
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or name.startswith("/") or ".." in parts:
        return None
    return PurePosixPath(*parts[1:])


def _keeps(source: str, relpath: PurePosixPath) -> bool:
    keep = _KEEP.get(source)
    if keep is None:
        return True
    text = relpath.as_posix()
    if not any(text == k or text.startswith(k + "/") for k in keep):
        return False
    parts = relpath.parts
    if source == "ossem-dd" and parts[:2] == _ETW_DIR:
        return len(parts) > 3 and parts[2] in _ETW_PROVIDERS
    return True


# --- cache bookkeeping ----------------------------------------------------------


def _is_complete(path: Path, pin: Pin) -> bool:
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("commit") == pin.commit


def _remove_stale(root: Path, prefix: str) -> None:
    cutoff = time.time() - _STALE_SECONDS
    for path in root.glob(f"{prefix}*"):
        if path.is_dir() and path.stat().st_mtime < cutoff:
            log.debug("removing %s, left by an interrupted fetch", path)
            shutil.rmtree(path, ignore_errors=True)


def _publish(work: Path, final: Path) -> None:
    """Rename a finished directory into place; a concurrent fetch may have won."""
    try:
        os.replace(work, final)
    except OSError:
        if not (final / MARKER).is_file():
            raise
        log.debug("%s appeared while fetching; keeping it", final)


def _link_tree(root: Path, pins: tuple[Pin, ...], dirs: dict[str, Path]) -> Path:
    """A directory of relative links, one per pin folder: the corpora layout."""
    key = ";".join(f"{pin.name}={pin.commit}" for pin in sorted(pins, key=lambda p: p.name))
    tree = root / f"tree-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if (tree / MARKER).is_file():
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    work = Path(tempfile.mkdtemp(prefix=".partial-tree-", dir=root))
    try:
        for pin in pins:
            link = work.joinpath(*pin.folder.split("/"))
            link.parent.mkdir(parents=True, exist_ok=True)
            # the link sits as deep inside the tree as the folder it points to
            up = "../" * pin.folder.count("/") + "../"
            link.symlink_to(f"{up}{dirs[pin.name].name}/{pin.folder}", target_is_directory=True)
        (work / MARKER).write_text(json.dumps({"pins": key}), encoding="utf-8")
        _publish(work, tree)
    except OSError as exc:
        raise FetchError(f"{tree}: cannot link the fetched sources ({exc})") from None
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return tree
