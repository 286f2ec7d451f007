"""A page's live connection belongs to the browser that opened it: another browser that learns the page's
client id (it is written in the page) can neither send events for it nor join it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

RECORD_EVENTS = """() => {
    window.__sent = [];
    const emit = window.socket.emit.bind(window.socket);
    window.socket.emit = (name, ...args) => {
        if (name === 'event') window.__sent.push(JSON.parse(JSON.stringify(args[0])));
        return emit(name, ...args);
    };
}"""


@pytest.fixture
def two_browsers(browser: Browser) -> Iterator[tuple[Page, Page]]:
    """Two browser contexts: two sessions, as two people (or a victim and an attacker) have."""
    first, second = browser.new_context(), browser.new_context()
    yield first.new_page(), second.new_page()
    first.close()
    second.close()


def test_events_for_a_page_are_taken_only_from_that_pages_own_socket(
    two_browsers: tuple[Page, Page], demo_url: str
) -> None:
    victim, attacker = two_browsers
    victim.goto(demo_url)
    expect(victim.locator('.q-table tbody tr').first).to_be_visible()
    victim.wait_for_function('() => window.did_handshake && window.socket.connected')
    victim.evaluate(RECORD_EVENTS)
    chip = victim.locator('.q-chip', has_text=re.compile(r'Compiled · \d+'))
    chip.click()  # on …
    expect(victim).to_have_url(re.compile(r'rollup=Compiled'))
    chip.click()  # … and off again
    expect(victim).to_have_url(f'{demo_url}/')
    click = victim.evaluate('() => window.__sent.find(m => m.type === "click") || window.__sent[0]')
    assert click and click['client_id'] == victim.evaluate('() => window.clientId')

    attacker.goto(demo_url)
    attacker.wait_for_function('() => window.did_handshake && window.socket.connected')
    attacker.evaluate('(message) => window.socket.emit("event", message)', click)  # replayed from elsewhere
    time.sleep(2)  # the victim's page would have toggled the chip by now
    expect(victim).to_have_url(f'{demo_url}/')
    expect(chip).not_to_have_class(re.compile(r'q-chip--selected'))

    victim.evaluate('(message) => window.socket.emit("event", message)', click)  # its own socket: taken
    expect(victim).to_have_url(re.compile(r'rollup=Compiled'))
