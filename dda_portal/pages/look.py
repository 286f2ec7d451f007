"""How every page looks: the brand color and the portal's few utility classes, set once for the whole app."""

from __future__ import annotations

from pathlib import Path

from nicegui import app, ui

PRIMARY = '#1f4e79'
UTILITIES = Path(__file__).with_name('utilities.css')


def register() -> None:
    """Quasar's brand color for every page (no per-page `ui.colors` element and its script), and the utility
    classes in each page's head (the portal runs without Tailwind's in-browser compiler: main.py)."""
    app.config.quasar_config['brand']['primary'] = PRIMARY
    # the loading bar at the top is a progressbar: screen readers need its name (axe: aria-progressbar-name)
    app.config.quasar_config['loadingBar']['aria-label'] = 'Loading'
    ui.add_css(UTILITIES, shared=True)
