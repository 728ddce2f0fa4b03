"""The playground in a real browser: headless Chromium from Debian's packages (installed by .ci/run),
driven by Playwright against a real `complybot serve` process. Saves a screenshot to tests/artifacts/."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.serving import ServeProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 15_000


@pytest.fixture
def page(tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (CI installs it: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with ServeProcess(tmp_path) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            browser_page = browser.new_page(viewport={"width": 1100, "height": 2000})
            browser_page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            browser_page.on("pageerror", lambda error: errors.append(str(error)))
            browser_page.goto(server.url + "/")
            yield browser_page
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
            server.terminate()


def send(page, text: str):
    """Type a message, press Enter, and return the bot's answer once it has arrived."""
    answers = page.locator(".msg.bot")
    before = answers.count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    answer = answers.nth(before)
    answer.locator(".reply").wait_for()
    return answer


def test_question_assign_and_done_in_the_browser(page):
    assert page.title() == "complybot playground"

    answer = send(page, "what ISO control maps to CC 6.1?")
    text = answer.inner_text()
    assert "CC6.1" in text.replace(" ", "") or "CC 6.1" in text
    assert re.search(r"A\.8\.1\b", text), text  # Disk Encryption's ISO control, among others
    assert "Traceback" not in text

    assigned = send(page, "assign disk encryption to @alice due in 2 weeks")
    assert "Assigned Disk Encryption to @alice as task 1" in assigned.inner_text()
    done_button = assigned.get_by_role("button", name="Done")
    assert done_button.is_visible()

    done_button.click()
    # like Slack, pressing a button updates that message in place with the new reply
    assigned.locator(".pressed").wait_for()
    updated = assigned.inner_text()
    assert "Done: task 1, Disk Encryption" in updated
    assert "you pressed “Done”" in updated
    assert "(edited)" in updated
    assert assigned.get_by_role("button", name="Reopen").is_visible()
    assert assigned.get_by_role("button", name="Done").count() == 0

    listed = send(page, "tasks done")
    assert "#1 Disk Encryption" in listed.inner_text() and "done" in listed.inner_text()

    status = send(page, "status")
    bars = status.locator("[role=progressbar]")
    assert bars.count() >= 2  # one bar per framework, drawn like Slack's progress lines
    assert "SOC 2" in status.inner_text() and "ISO 27001" in status.inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
    assert (ARTIFACTS / "playground.png").stat().st_size > 10_000


def test_replies_cannot_inject_markup(page):
    """A reply repeats what someone typed; it must show as text, never as HTML or script."""
    answer = send(page, "assign <img src=x onerror=alert(1)> to @bob")
    assert answer.locator("img").count() == 0
    assert page.locator(".msg.user").last.inner_text().count("<img") == 1


def test_typed_links_and_mentions_show_as_typed_and_links_show_where_they_go(page):
    """People's words in a reply are data: a link disguised behind other words, or a typed mention,
    shows as typed. A link the bot shows (evidence) works, labelled with its own address, as every
    link on the page is."""
    send(page, "assign disk encryption to me")
    send(page, "assign restore testing to @bob")
    disguised = "<https://evil.example/login|Open the audit report> [Click](https://evil.example/x) <@local:bob>"
    blocked = send(page, f"block 1 {disguised}")
    assert disguised in blocked.inner_text()
    assert blocked.get_by_text("Open the audit report", exact=True).count() == 0
    assert page.locator(".mention").count() == 0
    evidence = send(page, "evidence 1 https://drive.example/q3-report Q3 report")
    assert evidence.locator('a[href="https://drive.example/q3-report"]').count() >= 1
    links = page.locator("a[href]")
    for n in range(links.count()):
        assert links.nth(n).inner_text() == links.nth(n).get_attribute("href")


def test_a_follow_up_continues_the_page_and_a_reload_starts_afresh(page):
    from handlers.ask import reply_for

    followed = reply_for("and for ISO?", reply_for("MFA in SOC 2?").subject).text.splitlines()[0]
    alone = reply_for("and for ISO?").text.splitlines()[0]
    send(page, "MFA in SOC 2?")
    assert send(page, "and for ISO?").locator(".reply").inner_text().startswith(followed)
    page.reload()  # a new page load is a new conversation
    assert send(page, "and for ISO?").locator(".reply").inner_text().startswith(alone)


CONTROLS = ("Disk Encryption", "Backup Schedule", "Restore Testing", "User Access Review", "Antivirus",
            "Code Review", "Incident Response Plan", "Vendor Review")


def task_titles(message) -> list[str]:
    return [line for line in message.locator(".reply > .section .section-lines").all_inner_texts()
            if line.startswith("#")]


def test_a_press_replaces_only_its_own_task_as_slack_splices(page):
    for n, control in enumerate(CONTROLS, start=1):
        send(page, f"assign {control} to @bob due in {n + 1} weeks")
    listing = send(page, "tasks all")
    before = task_titles(listing)
    assert len(before) == 8 and before[2].startswith("#3 ")
    third = listing.locator(".section").filter(has_text=before[2])
    third.get_by_role("button", name="Snooze 1 week").click()
    listing.locator(".pressed").wait_for()

    assert "task 3" in listing.locator(".outcome").inner_text().lower()
    after = task_titles(listing)
    for title in before[:2] + before[3:]:  # the other seven stay, each with its buttons
        assert title in after, (title, after)
        assert listing.locator(".section").filter(has_text=title).get_by_role("button", name="Done").count() == 1
    assert listing.locator(".outcome").count() == 1 and "(edited)" in listing.inner_text()
    # and those buttons still work: Done on the first task replaces its row only
    first = listing.locator(".section").filter(has_text=before[0])
    first.get_by_role("button", name="Done").click()
    listing.locator(".outcome").nth(1).wait_for()
    assert "Done: task 1" in listing.inner_text()
    assert all(title in task_titles(listing) for title in before[3:])


def test_a_refused_press_changes_nothing_and_only_the_presser_sees_why(page):
    send(page, "assign Disk Encryption to @bob due in 2 weeks")
    send(page, "assign Backup Schedule to @bob due in 3 weeks")
    listing = send(page, "tasks all")
    shown = listing.inner_text()
    page.fill("#as", "carol")  # a member, pressing a button on someone else's task
    bots = page.locator(".msg.bot")
    before = bots.count()
    listing.locator(".section").first.get_by_role("button", name="Done").click()
    refusal = bots.nth(before)
    refusal.locator(".reply").wait_for()
    assert "Only visible to you" in refusal.inner_text() and "belongs to @bob" in refusal.inner_text()
    assert listing.inner_text() == shown  # the list as it was: no task wiped, no "(edited)"
    assert listing.get_by_role("button", name="Done").count() == 2
    assert all(button.is_enabled() for button in listing.get_by_role("button").all())
    page.fill("#as", "")
    assert "#1 Disk Encryption" in send(page, "tasks all").inner_text()  # still open
