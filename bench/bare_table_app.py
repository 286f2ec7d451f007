"""A bare NiceGUI page with one 50-row ui.table: the floor bench/scale.py compares the list page `/` with.

    .venv/bin/python bench/bare_table_app.py --port 8081

Same NiceGUI as the portal, no store, no frame, no timers: one `ui.table` of 50 rows with the list's column
count (7) served on 127.0.0.1.
"""

from __future__ import annotations

import argparse

from nicegui import ui

COLUMNS = [
    {'name': name, 'label': name.title(), 'field': name, 'align': 'left'}
    for name in ('name', 'status', 'rollup', 'targets', 'created', 'duration', 'instance')
]
ROWS = [
    {
        'name': f'synthetic-bottle-{i:05d}',
        'status': 'Completed',
        'rollup': 'Compiled',
        'targets': '3/3 compiled',
        'created': '2025-01-01 12:00',
        'duration': '42 min',
        'instance': 'ml.g4dn.xlarge × 1',
    }
    for i in range(50)
]


@ui.page('/')
def index() -> None:
    ui.table(columns=COLUMNS, rows=ROWS, row_key='name', pagination={'rowsPerPage': 50}).classes('w-full')


if __name__ in {'__main__', '__mp_main__'}:
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    ui.run(
        host='127.0.0.1',
        port=args.port,
        reload=False,
        show=False,
        title='bare table',
        show_welcome_message=False,
    )
