"""Reports: the JSON contract, the terminal table and the self-contained HTML page."""

from __future__ import annotations
