"""The playground as a new user clicks it (headless Chromium, a real `complybot serve`): a press that is
refused, or that asks first, must leave the message pressed as it was, as Slack does (an ephemeral answer
only the presser sees, the original left alone: bot/slack/listeners/actions.py)."""
from __future__ import annotations

from tests.test_playground_browser import ARTIFACTS, page, send  # noqa: F401 (fixture)


def test_a_refused_press_leaves_the_message_and_answers_the_presser_below(page):  # noqa: F811
    assigned = send(page, "assign mfa to @carol due in 2 weeks")
    original = assigned.inner_text()
    assert "Assigned Multi-Factor Authentication to @carol" in original
    page.fill("#as", "bob")
    answers = page.locator(".msg.bot")
    before = answers.count()
    assigned.get_by_role("button", name="Done").click()
    refusal = answers.nth(before)
    refusal.locator(".reply").wait_for()
    assert "belongs to @carol" in refusal.inner_text() and "Only visible to you" in refusal.inner_text()
    assert assigned.inner_text() == original  # not replaced, not marked edited
    assert assigned.get_by_role("button", name="Done").is_enabled()  # carol (or an admin) can still press it
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-refused-press.png"), full_page=True)


def test_a_press_that_asks_first_keeps_the_card_it_was_pressed_on(page):  # noqa: F811
    assigned = send(page, "assign user access review to @bob due in 2 weeks every quarter")
    assigned.get_by_role("button", name="Done").click()
    assigned.get_by_role("button", name="Reopen").wait_for()
    card = assigned.inner_text()
    answers = page.locator(".msg.bot")
    before = answers.count()
    assigned.get_by_role("button", name="Done").click()  # the next occurrence's, created a moment ago
    question = answers.nth(before)
    question.locator(".reply").wait_for()
    assert "Finish it now as well?" in question.inner_text()
    assert assigned.inner_text() == card and assigned.get_by_role("button", name="Reopen").is_visible()
    question.get_by_role("button", name="Finish it now").click()
    question.get_by_text("Done: task 2").wait_for()  # the answer replaces the question (its note is there already)
    assert question.get_by_role("button", name="Finish it now").count() == 0
