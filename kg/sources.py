"""The pinned public sources kg loads, and where each one's files live.

Each pin names a repository and a commit; ``kg.fetch`` downloads the archive of
exactly that commit into the cache, and the graph writer links every rule to
``blob_url`` at that commit, so a card always points at the text it counted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    name: str  # source name in the graph and the load report
    repo: str  # owner/name on GitHub
    commit: str
    version: str  # what a user calls this release
    licence: str
    #: folder of the corpora layout (``$KG_CORPORA/<folder>``) and of a fetched archive
    folder: str
    #: files to fetch instead of a whole archive (ATT&CK bundles), repo paths
    files: tuple[str, ...] = ()

    @property
    def archive_url(self) -> str:
        return f"https://codeload.github.com/{self.repo}/tar.gz/{self.commit}"

    def blob_url(self, path: str) -> str:
        return f"https://github.com/{self.repo}/blob/{self.commit}/{path}"

    def raw_url(self, path: str) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{path}"


ATTACK = Pin(
    name="attack",
    repo="mitre-attack/attack-stix-data",
    commit="7ad8a86f41edc91dd37de0487b0c2f44ae3a3af7",
    version="18.1",
    licence="ATT&CK Terms of Use (MITRE)",
    folder="attack",
    files=("enterprise-attack/enterprise-attack-18.1.json",),
)
SIGMA = Pin(
    name="sigma",
    repo="SigmaHQ/sigma",
    commit="8eaafff1f2845a696050e05e72ba1140ee190698",
    version="2026-08-05",
    licence="Detection Rule License 1.1",
    folder="sigma",
)
ELASTIC = Pin(
    name="elastic",
    repo="elastic/detection-rules",
    commit="14cf530f0d2177023092449cd9d9348b4a8884c2",
    version="2026-08-21",
    licence="Elastic License 2.0",
    folder="elastic",
)
SPLUNK = Pin(
    name="splunk",
    repo="splunk/security_content",
    commit="b13b314aed0e1778335a55620474e7d27289a20a",
    version="2024-10-24",
    licence="Apache-2.0",
    folder="splunk",
)
OSSEM_DD = Pin(
    name="ossem-dd",
    repo="OTRF/OSSEM-DD",
    commit="d0e449c9359880eb6ba12d12b4c10713f1b6a839",
    version="2025-01-22",
    licence="MIT",
    folder="events/ossem-dd",
)

RULE_SOURCES = (SIGMA, ELASTIC, SPLUNK)
ALL = (ATTACK, SIGMA, ELASTIC, SPLUNK, OSSEM_DD)
BY_NAME = {pin.name: pin for pin in ALL}
