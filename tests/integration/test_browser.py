"""A real browser: Debian's Chromium, headless, drives examples/web/chat.html against
`langgraph dev`, as a client and as a counselor.

The page speaks LangGraph Server's HTTP API as agent-chat-ui does (which ships from GitHub
only, so CI, which reaches only the package registries, can't install it). The model is a
local fake Ollama with a fresh reply for every draft, so regenerate and candidates differ.
Screenshots go to `$SCREENSHOTS_DIR` (`make browser-test` sets docs/screenshots).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from langchain_core.messages import BaseMessage
from langgraph_sdk import get_sync_client
from playwright.sync_api import Browser, Page, expect, sync_playwright

from emostage.prompts import load_prompts
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama

from ..conftest import ROOT, cli_env, closed_url, free_port, server_process

pytestmark = pytest.mark.timeout(300)
CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes advise: no sandbox as root, and no background calls to the net.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CRISIS = "I want to kill myself tonight."
ANALYSIS_MARKERS = ("(scripted) placeholder", "phase_rationale", "perspective", "unspoken")


def numbered() -> Any:
    count = itertools.count(1)

    def reply(messages: list[BaseMessage]) -> str:
        return f"Reply {next(count)}: that sounds like a lot to carry. What weighs most?"

    return reply


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    with FakeOllama(ScriptedChatModel(defaults={"text": numbered()})) as fake:
        yield fake.url


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    url = f"http://127.0.0.1:{port}/chat.html"
    with server_process(command, url, cwd=ROOT / "examples" / "web"):
        yield url


def serve(
    tmp_path_factory: pytest.TempPathFactory, model_url: str, **settings: str
) -> Iterator[str]:
    port = free_port()
    env = cli_env(
        LANGGRAPH_NO_VERSION_CHECK="true",
        LANGSMITH_TRACING="false",
        EMOSTAGE_BACKEND="ollama",
        OLLAMA_HOST=model_url,
        EMOSTAGE_REVIEW="crisis",
        EMOSTAGE_LOCALE="en-US",
        **settings,
    )
    log = tmp_path_factory.mktemp("server") / "langgraph-dev.log"
    command = [
        str(Path(sys.executable).with_name("langgraph")),
        *("dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)),
    ]
    url = f"http://127.0.0.1:{port}"
    with server_process(command, f"{url}/ok", timeout_s=120, log=log, cwd=ROOT, env=env):
        yield url


@pytest.fixture(scope="module")
def counselor_api(tmp_path_factory: pytest.TempPathFactory, model_url: str) -> Iterator[str]:
    yield from serve(tmp_path_factory, model_url)


@pytest.fixture(scope="module")
def client_api(tmp_path_factory: pytest.TempPathFactory, model_url: str) -> Iterator[str]:
    yield from serve(tmp_path_factory, model_url, EMOSTAGE_AUDIENCE="client")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("TEST_REQUIRE_SERVICES") == "1":  # make test installs it
            pytest.fail("Chromium is required (TEST_REQUIRE_SERVICES=1) but not installed")
        pytest.skip("Debian's chromium is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)


# Keeps every byte the page's fetches receive, as they arrive (streams included), in
# `window.received`: what reached the browser, whether the page shows it or not.
RECORD_FETCHES = """
window.received = [];
const originalFetch = window.fetch;
window.fetch = async (...args) => {
  const response = await originalFetch(...args);
  if (!response.body) return response;
  const [recorded, passed] = response.body.tee();
  (async () => {
    const reader = recorded.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        window.received.push(value);
      }
    } catch (stopped) {}
  })();
  return new Response(passed, response);
};
"""


def open_page(browser: Browser, page_url: str, api: str, **params: Any) -> Page:
    page = browser.new_page(viewport={"width": 1000, "height": 640})
    page.add_init_script(RECORD_FETCHES)
    page.goto(f"{page_url}?{urlencode({'api': api, **params})}")
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    return page


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.click("#send")
    expect(page.locator("#status")).not_to_have_text("writing...", timeout=60_000)


def thread_of(page: Page) -> str:
    return page.inner_text("#thread")


def stored(api: str, thread: str) -> Any:
    return get_sync_client(url=api).threads.get_state(thread)["values"]


def snap(page: Page, shots: Path, name: str) -> None:
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_a_counselor_chats_sees_the_analysis_and_regenerates(
    browser: Browser, page_url: str, counselor_api: str, shots: Path
) -> None:
    page = open_page(browser, page_url, counselor_api, view="counselor")
    say(page, "Work is crushing me and I can't sleep.")
    reply = page.locator(".msg.ai")
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("that sounds like a lot to carry")
    expect(page.locator("#analysis-body")).to_contain_text("phase: exploration")
    expect(page.locator("#analysis-body")).to_contain_text("risk: none")
    snap(page, shots, "counselor-chat")
    first = reply.inner_text()
    page.click("#regenerate")
    expect(reply).to_have_count(1)
    expect(reply).not_to_have_text(first, timeout=60_000)  # a new draft, not the same reply
    values = stored(counselor_api, thread_of(page))
    assert values["response"] == reply.inner_text() == values["messages"][-1]["content"]
    received = "".join(page.evaluate("window.received"))  # the recorder sees the analysis
    assert all(marker in received for marker in ANALYSIS_MARKERS)


def test_a_counselor_approves_then_edits_crisis_replies(
    browser: Browser, page_url: str, counselor_api: str, shots: Path
) -> None:
    page = open_page(browser, page_url, counselor_api, view="counselor")
    say(page, CRISIS)
    expect(page.locator("#review")).to_be_visible()
    expect(page.locator(".msg.ai")).to_have_count(0)  # nothing reaches the client first
    expect(page.locator("#review-about")).to_contain_text("risk crisis")
    snap(page, shots, "counselor-review")
    draft = page.input_value("#review-text")
    page.click("#approve")
    expect(page.locator(".msg.ai")).to_have_count(1)
    expect(page.locator(".msg.ai")).to_contain_text(draft)
    expect(page.locator(".msg.ai")).to_contain_text("988")

    say(page, "I still have the pills here.")
    expect(page.locator("#review")).to_be_visible()
    page.fill("#review-text", "I'm right here with you. Can you put the pills in another room?")
    page.click("#edit")
    last = page.locator(".msg.ai").last
    expect(last).to_contain_text("I'm right here with you. Can you put the pills")
    expect(last).to_contain_text("988")  # an edit keeps the resources
    values = stored(counselor_api, thread_of(page))
    assert values["review"]["action"] == "edit" and values["response"] == last.inner_text()


def test_a_counselor_picks_one_of_three_candidates(
    browser: Browser, page_url: str, counselor_api: str, shots: Path
) -> None:
    page = open_page(browser, page_url, counselor_api, view="counselor", candidates=3)
    say(page, CRISIS)
    options = page.locator(".candidate")
    expect(options).to_have_count(3)
    texts = [page.locator("#candidates label").nth(n).inner_text() for n in range(3)]
    assert len({text.split(". ", 1)[1] for text in texts}) == 3  # three different drafts
    snap(page, shots, "counselor-candidates")
    options.nth(1).check()
    second = texts[1].split(". ", 1)[1].strip()
    page.click("#approve")
    expect(page.locator(".msg.ai")).to_contain_text(second)
    values = stored(counselor_api, thread_of(page))
    assert values["review"]["action"] == "pick" and values["response"].startswith(second)


def test_a_client_sees_the_reply_only_and_waits_while_staff_review(
    browser: Browser, page_url: str, client_api: str, shots: Path
) -> None:
    client = open_page(browser, page_url, client_api, view="client")
    expect(client.locator("#side")).to_be_hidden()  # no analysis panel
    say(client, "Work is crushing me.")
    expect(client.locator(".msg.ai")).to_have_count(1)
    say(client, CRISIS)
    holding = client.locator(".msg.ai.holding")
    expect(holding).to_have_text(load_prompts("en").holding_reply)
    expect(client.locator("#status")).to_have_text("waiting for the counselor...")
    client.fill("#text", "hello? are you there?")
    client.click("#send")
    expect(client.locator(".msg.notice")).to_have_text(load_prompts("en").review_pending)
    expect(client.locator(".msg.human")).to_have_count(2)  # the refused message is not kept
    snap(client, shots, "client-holding")

    staff = open_page(browser, page_url, client_api, view="staff", thread=thread_of(client))
    expect(staff.locator("#review")).to_be_visible()
    expect(staff.locator("#analysis-body")).to_contain_text("risk: crisis")
    snap(staff, shots, "staff-review")
    staff.fill("#review-text", "I'm so glad you wrote. Are you somewhere safe right now?")
    staff.click("#edit")
    reply = client.locator(".msg.ai").last  # arrives on the client's joined thread stream
    expect(reply).to_contain_text("I'm so glad you wrote.", timeout=60_000)
    expect(reply).to_contain_text("988")
    expect(client.locator("#status")).to_have_text("")
    expect(client.locator(".msg.notice")).to_have_count(0)  # the refusal is answered now
    snap(client, shots, "client-reply")
    said = "".join(client.evaluate("window.received"))
    assert "Work is crushing me." in said and "I'm so glad you wrote." in said
    assert [marker for marker in ANALYSIS_MARKERS if marker in said] == []


@pytest.mark.parametrize("view", ["client", "counselor"])
def test_a_model_outage_is_told_in_the_chat(
    browser: Browser, page_url: str, client_api: str, counselor_api: str, shots: Path, view: str
) -> None:
    api = client_api if view == "client" else counselor_api
    context = json.dumps({"ollama_host": closed_url(), "request_timeout_s": 5})
    page = open_page(browser, page_url, api, view=view, context=context)
    say(page, "Work is crushing me.")
    expect(page.locator(".msg.ai")).to_have_text(load_prompts("en").failure_reply)
    if view == "counselor":  # the one-line error is staff's; a client reads the notice only
        expect(page.locator(".msg.notice")).to_contain_text("Cannot reach")
    else:
        expect(page.locator("#status")).to_have_text("")  # the run has ended
        expect(page.locator(".msg.notice")).to_have_count(0)
    expect(page.locator(".msg.human")).to_have_count(1)  # the client's words are kept
    snap(page, shots, f"{view}-model-down")


def test_the_page_needs_no_download_at_runtime() -> None:
    page = (ROOT / "examples" / "web" / "chat.html").read_text()
    assert "http://" not in page.replace("http://127.0.0.1", "") and "https://" not in page
