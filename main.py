"""DDA Portal entry point: command line → settings → create_app() → ui.run()."""

from __future__ import annotations

import logging
import os

from nicegui import app, ui

from dda_portal.app import create_app
from dda_portal.config import TOKEN_OPTIONS, load_settings, parse_cli


def main() -> None:
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    for chatty in ('apscheduler', 'botocore', 'werkzeug'):  # a line per job run / credential lookup
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # NiceGUI's test user runs this file under pytest, whose arguments are not ours
    argv: list[str] | None = [] if os.environ.get('NICEGUI_USER_SIMULATION') else None
    options = parse_cli(argv)
    if options.pop('hash_password', False):
        from dda_portal.passwords import print_password_hash

        print_password_hash()
        return
    token_command = {key: options.pop(key) for key in TOKEN_OPTIONS if key in options}
    settings = load_settings(options)
    if token_command:
        from dda_portal.api_tokens import run_command

        raise SystemExit(run_command(settings.database_url, token_command))
    demo = None
    if settings.demo:
        try:
            from dda_portal.demo import start_demo  # only the entry point knows the demo
        except ModuleNotFoundError as error:  # moto and the rest of the demo extra are not installed
            if (error.name or '').partition('.')[0] == 'dda_portal':
                raise
            raise SystemExit('--demo needs the demo extra: pip install "dda-portal[demo]"') from error

        demo = start_demo(settings)
        settings = settings.model_copy(update=demo.settings_overrides(settings))
    portal = create_app(settings)
    if demo is not None:
        portal.every(settings.demo_step_seconds, portal.when_leading(demo.simulator.step), 'demo-simulator')
        app.on_shutdown(demo.stop)
    mode = ' (demo: AWS emulated on 127.0.0.1)' if demo else ''
    sign_in = {'open': 'no sign-in', 'password': 'sign-in with password', 'header': 'sign-in by proxy header'}
    print(
        f'DDA Portal{mode} on http://{settings.host}:{settings.port} ({sign_in[settings.auth_mode]})',
        flush=True,
    )
    ui.run(
        host=settings.host,
        port=settings.port,
        title='DDA Portal',
        language='en-US',  # also the page's <html lang>, which screen readers need
        reload=False,
        show=False,
        storage_secret=portal.storage_secret,  # the session middleware itself is added by create_app
        proxy_headers=False,  # X-Forwarded-* count only from DDA_TRUSTED_PROXIES (dda_portal/forwarded.py)
        favicon='🔍',
        show_welcome_message=False,
        tailwind=False,  # no in-browser CSS compiler: dda_portal/pages/utilities.css has the classes we use
        dark=None,  # light or dark as the system is set (Quasar's 'auto'); utilities.css has the dark colours
    )


if __name__ == '__main__':
    main()
