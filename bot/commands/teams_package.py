"""`complybot teams-package`: write the Microsoft Teams app package (a zip to upload in Teams).

The package is `manifest.json` (schema v1.29, kept in `bot/teams_schema/` so tests validate against it)
plus two generated icons: a 192×192 full-colour icon and a 32×32 outline icon (white on transparent),
the sizes Teams requires.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import sys
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

MANIFEST_VERSION = "1.29"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "teams_schema" / "MicrosoftTeams.schema.json"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = "#1F5FAD"
COLOR_ICON_SIZE = 192
OUTLINE_ICON_SIZE = 32
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

# What the bot offers in Teams' command menu (title ≤ 128, up to 12 per scope).
COMMANDS = (
    ("help", "Every command"),
    ("tasks", "Your open tasks, with Done and Snooze buttons"),
    ("assign", "assign <control> to @person [due <date>], e.g. assign CC6.1 to @ana due end of quarter"),
    ("status", "Coverage of SOC 2 and ISO 27001: percentages and progress bars"),
    ("gap iso", "What is not covered yet, with owners and due dates"),
    ("what maps to CC 6.1?", "Ask any SOC 2 / ISO 27001:2022 mapping or audit question"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (a GUID, from Azure Bot)")
    parser.add_argument("--url", required=True, help="public https:// address of your complybot server")
    parser.add_argument("--out", required=True, help="where to write the .zip (e.g. complybot-teams.zip)")
    parser.add_argument("--version", default="1.0.0", help="app version; raise it for every upload (1.0.0)")
    parser.add_argument("--privacy-url", default="", help="privacy statement page (default: --url)")
    parser.add_argument("--terms-url", default="", help="terms of use page (default: --url)")


def run(args: argparse.Namespace) -> int:
    try:
        manifest = build_manifest(
            args.app_id, args.url, version=args.version, privacy_url=args.privacy_url, terms_url=args.terms_url
        )
        write_package(manifest, Path(args.out))
    except (ValueError, OSError) as error:
        print(f"complybot teams-package: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {args.out}: upload it in Teams (Apps → Manage your apps → Upload an app).")
    return 0


def check_https_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{what} must be an https:// address, not {url!r}")
    return url.rstrip("/")


def build_manifest(
    app_id: str, url: str, *, version: str = "1.0.0", privacy_url: str = "", terms_url: str = ""
) -> dict:
    if not GUID.match(app_id):
        raise ValueError(f"--app-id must be the bot's Microsoft App ID, a GUID; got {app_id!r}")
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(f"--version must look like 1.2.3, not {version!r}")
    site = check_https_url(url, "--url")
    scopes = ["personal", "team", "groupChat"]
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        # The same bot always gets the same Teams app id, so a new package upgrades the installed app.
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"complybot:teams:{app_id.lower()}")),
        "developer": {
            "name": "complybot",
            "websiteUrl": site,
            "privacyUrl": check_https_url(privacy_url, "--privacy-url") if privacy_url else site,
            "termsOfUseUrl": check_https_url(terms_url, "--terms-url") if terms_url else site,
        },
        "name": {"short": "complybot", "full": "complybot: SOC 2 and ISO 27001 assistant"},
        "description": {
            "short": "SOC 2 and ISO 27001:2022 answers, control tasks and reminders",
            "full": (
                "complybot answers SOC 2 and ISO/IEC 27001:2022 mapping and audit questions, assigns "
                "control tasks to owners with due dates (one control counts for both frameworks), "
                "reminds owners before deadlines and posts weekly progress digests. Chat with it "
                "personally, or mention it in a channel or group chat."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id,
                "scopes": scopes,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": scopes,
                        "commands": [{"title": title, "description": text} for title, text in COMMANDS],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [urlsplit(site).hostname],
    }


def write_package(manifest: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2))
        package.writestr(manifest["icons"]["color"], png_bytes(color_icon()))
        package.writestr(manifest["icons"]["outline"], png_bytes(outline_icon()))


def _shield(size: int) -> list[tuple[float, float]]:
    """A shield outline scaled to a square of `size` pixels (the product's mark)."""
    points = [(0.5, 0.08), (0.86, 0.2), (0.84, 0.55), (0.5, 0.92), (0.16, 0.55), (0.14, 0.2)]
    return [(x * size, y * size) for x, y in points]


def _check(size: int) -> list[tuple[float, float]]:
    return [(x * size, y * size) for x, y in ((0.33, 0.5), (0.46, 0.63), (0.69, 0.37))]


def color_icon():
    """192×192: a white shield with a tick on the accent colour (Teams shows it on tiles and the store)."""
    from PIL import Image, ImageDraw

    size = COLOR_ICON_SIZE
    image = Image.new("RGBA", (size, size), ACCENT)
    draw = ImageDraw.Draw(image)
    draw.polygon(_shield(size), fill="white")
    draw.line(_check(size), fill=ACCENT, width=size // 12, joint="curve")
    return image


def outline_icon():
    """32×32: only white and transparent pixels, as Teams requires for the outline icon."""
    from PIL import Image, ImageDraw

    size = OUTLINE_ICON_SIZE
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon(_shield(size), outline=(255, 255, 255, 255), width=2)
    draw.line(_check(size), fill=(255, 255, 255, 255), width=2)
    return image


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
