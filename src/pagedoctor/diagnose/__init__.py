"""Diagnosis: pure functions from a Recording to Findings."""

from __future__ import annotations

from pagedoctor.diagnose.findings import Finding, Fix, Verification, Where

__all__ = ["Finding", "Fix", "Verification", "Where"]
