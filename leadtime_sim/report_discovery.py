"""The report's Scenario discovery section: each answer ``discover`` stored, with its charts."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from leadtime_sim.discovery import ANSWERS, chart_file, discovery_text

HOW = ("PRIM (Friedman and Fisher 1999) peels a box over the swept inputs toward the runs whose gap is "
       "not closed by the date: density is the share of the box's runs not closed, coverage the share "
       "of all runs not closed that the box holds, support the box's share of all runs; limits with a "
       "quasi-p-value above the one asked are dropped (leadtime-sim discover).")


def discovery_section(directory: Path, names: dict[str, str]) -> str:
    """Each stored answer in words and its charts (nothing when there is none; a damaged file:
    a line saying so)."""
    path = directory / ANSWERS
    if not path.is_file():
        return ""
    try:
        answers = json.loads(path.read_text(encoding="utf-8"))
        texts = {key: discovery_text(answer, names) for key, answer in answers.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return (f"<p>{html.escape(ANSWERS)} is damaged: run leadtime-sim discover again for each question "
                "(it reads the stored runs).</p>")
    parts = [f"<p>{html.escape(HOW)}</p>"]
    for key, text in texts.items():
        parts.append(f"<h3>{html.escape(key)}</h3><p>{html.escape(text)}</p>")
        for kind in ("trajectory", "box"):
            chart = directory / "charts" / chart_file(kind, key)
            if chart.is_file():
                data = base64.b64encode(chart.read_bytes()).decode("ascii")
                parts.append(f"<figure><img src='data:image/png;base64,{data}' "
                             f"alt='{html.escape(chart.stem)}'><figcaption>charts/{html.escape(chart.name)}</figcaption></figure>")
    return "".join(parts)


__all__ = ["discovery_section"]
