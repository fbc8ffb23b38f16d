"""kg: an open knowledge graph of public detection rules over MITRE ATT&CK."""

__version__ = "0.1.0"
