"""Seeded generators of hostile input for the fuzz tests: commands of the grammar with random arguments,
questions, and text built from what breaks parsers and renderers (unicode of every kind, mentions and
broadcasts, disguised links, 40,000 characters). The same seed gives the same inputs, so a failure
found once is found again."""
from __future__ import annotations

import random

LONG_CHARS = 40_000
COMMAND_WORDS = ("assign", "tasks", "my tasks", "done", "start", "reopen", "block", "reassign", "due", "snooze",
                 "evidence", "na", "history", "status", "gap", "admin add", "admin", "digest here weekly",
                 "digest", "digest off", "digest now", "nudges", "nudges default", "help", "help")
CONTROLS = ("Disk Encryption", "Multi-Factor Authentication", "Penetration Test", "disk encrpytion", "mfa",
            "Access Control Policy", "backup", "CC6.1", "A.8.5", "A.9.4.2", "CC99.9", "A.0.0", "Clause 6.1.3")
TASKS = ("1", "#1", "task 2", "3", "0", "-1", "999999999", "99999999999999999999", "1.5", "#", "ⅰ", "١")
PEOPLE = ("to me", "to @ada", "to <@U0MEMBER>", "to <@U0ADMIN|ada>", "to <@U123>", "to @", "to <@>", "to nobody",
          "to <!channel>", "to <!here>", "to <!subteam^S123|@team>", "to ada@example.com", "to 🙂")
DATES = ("due tomorrow", "due 2031-03-31", "due 2031-02-30", "due 9999-12-31", "due 0001-01-01", "due friday",
         "due in 99999 weeks", "due end of quarter", "due Dec 15", "due yesterday", "due 31/31/31")
EXTRAS = ("every month", "every quarter", "every year", "every 0 days", "note see [the doc](http://evil.example/x)",
          "note <https://evil.example|Open the audit report>", "https://drive.example/q3?x=1&y=<b>",
          "[x](javascript:alert(1))", "<script>alert(1)</script>", "7", "90", "91", "0", "-3", "1e9",
          "before 7,1 every 3 escalate 7 window 09:00-10:00 days mon-fri", "window 25:00-26:00", "days xyz",
          "here weekly mon 09:00 Europe/Berlin", "weekly mon 09:00 Mars/Olympus", "iso", "soc2", "all", "overdue",
          "due soon", "done", "@ada", "%s%s%n", "{0}", "${jndi:ldap://x}", "' OR 1=1 --", "\\", '"', "`code`")
STRANGE = ("\u200b", "\u200d", "\ufeff", "\u202e", "\u2066", "\u0301", "‏", "\u00a0", "\t", "\n", "\r\n",
           "שלום", "مرحبا", "日本語", "🙂", "👩🏽‍💻", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
           "\x00", "\x1b[31m", "\x7f", "�", "\uffff")
SURROGATES = ("\ud800", "\udfff", "\udc00x", "a\ud83d")  # lone halves of a pair: valid JSON, not valid UTF-8
QUESTION_WORDS = ("what", "is", "CC6.1", "ISO", "27001", "SOC", "2", "A.8.5", "maps", "to", "encryption", "how",
                  "do", "we", "pass", "audit", "the", "risk", "assessment", "vs", "Annex", "A", "control")


class Fuzz:
    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.strange = STRANGE + SURROGATES

    def text(self) -> str:
        """One hostile message: mostly commands of the grammar, some questions, some pure noise."""
        roll = self.random.random()
        if roll < 0.6:
            text = self.command()
        elif roll < 0.85:
            text = self.question()
        else:
            text = self.noise()
        if self.random.random() < 0.3:
            text = self.sprinkle(text)
        if self.random.random() < 0.01:
            text += " " + self.random.choice(("a", "word ", "é", "🙂", "\u200b")) * LONG_CHARS
        return text

    def command(self) -> str:
        parts = [self.random.choice(COMMAND_WORDS)]
        for pool in self.random.sample((TASKS, CONTROLS, PEOPLE, DATES, EXTRAS, EXTRAS), self.random.randint(0, 4)):
            parts.append(self.random.choice(pool))
        if self.random.random() < 0.2:
            self.random.shuffle(parts)
        return " ".join(parts)

    def question(self) -> str:
        words = self.random.choices(QUESTION_WORDS + CONTROLS, k=self.random.randint(1, 12))
        return " ".join(words) + self.random.choice(("?", "", " ?", "??"))

    def noise(self) -> str:
        pools = (self.strange, EXTRAS, PEOPLE, TASKS)
        return "".join(self.random.choice(self.random.choice(pools)) for _ in range(self.random.randint(0, 20)))

    def sprinkle(self, text: str) -> str:
        chars = list(text)
        for _ in range(self.random.randint(1, 4)):
            chars.insert(self.random.randint(0, len(chars)), self.random.choice(self.strange))
        return "".join(chars)
