"""Mailwarden collector: the server that receives signed, PII-masked summaries and appeals from
workstations and hands back the signed policy and appeal decisions (docs/protocol.md).

The collector never imports `companion`: it speaks the wire protocol only.
"""

__version__ = "0.1.0"
