"""What ran a study: software versions, platform, processor and cores.

A credible simulation study reports the versions it ran on and the hardware and time it took
(STRESS-DES items 5.1 and 5.4). A store records this once per session of runs (``sessions``
in its manifest), since a study may be resumed on another machine or after an upgrade.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from leadtime_sim._version import __version__

PACKAGES = ("simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "SALib", "dask", "distributed")
"""The libraries whose versions change what a run computes or how runs are spread."""


def package_version(name: str) -> str | None:
    """The installed version of ``name`` (None: not installed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def processor_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's model name (Linux's ``/proc/cpuinfo``; elsewhere what ``platform``
    says, which may be only the architecture)."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def environment() -> dict[str, Any]:
    """This process's software and hardware, as the manifest records them."""
    packages = {name: package_version(name) for name in PACKAGES}
    return {
        "leadtime_sim": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": {name: v for name, v in packages.items() if v is not None},
        "platform": platform.platform(),
        "processor": processor_name(),
        "cores": os.cpu_count(),
    }


__all__ = ["PACKAGES", "environment", "package_version", "processor_name"]
