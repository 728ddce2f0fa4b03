"""`complybot teams-package`: the zip's manifest validates against the Teams manifest schema kept in the
repo, and the icons have the sizes (and for the outline, the colours) Teams requires."""
from __future__ import annotations

import io
import json
import zipfile

import jsonschema
import pytest
from PIL import Image

from bot.cli import main
from bot.commands import teams_package

APP_ID = "0f6a2a3e-6b1c-4c3e-9a8e-2d4c5b6a7e8f"


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(teams_package.SCHEMA_PATH.read_text(encoding="utf-8"))


def package(tmp_path, *extra: str) -> zipfile.ZipFile:
    out = tmp_path / "out" / "complybot-teams.zip"
    assert main(["teams-package", "--app-id", APP_ID, "--url", "https://bot.example.com/", "--out", str(out), *extra]) == 0
    return zipfile.ZipFile(out)


def test_manifest_validates_against_the_schema(tmp_path, schema):
    with package(tmp_path) as zipped:
        assert sorted(zipped.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zipped.read("manifest.json"))
    # The schema declares draft-04 but also uses `const` (draft-06+): check under both. (It is not
    # check_schema()-clean for Python: some `pattern`s use ECMAScript \p{L}, in parts we do not use.)
    jsonschema.Draft7Validator(schema).validate(manifest)
    jsonschema.Draft4Validator(schema).validate(manifest)
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"]
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["bot.example.com"]
    assert set(manifest["bots"][0]["scopes"]) == {"personal", "team", "groupChat"}


def test_the_schema_is_strict_enough_to_catch_a_broken_manifest(schema):
    manifest = teams_package.build_manifest(APP_ID, "https://bot.example.com")
    broken = {**manifest, "bots": [{**manifest["bots"][0], "botId": "not-a-guid"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate({**manifest, "manifestVersion": "1.0"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate({**manifest, "accentColor": "blue"})


def test_icons_have_the_required_sizes_and_colours(tmp_path):
    with package(tmp_path) as zipped:
        color = Image.open(io.BytesIO(zipped.read("color.png")))
        outline = Image.open(io.BytesIO(zipped.read("outline.png")))
    assert color.format == outline.format == "PNG"
    assert color.size == (192, 192)
    assert outline.size == (32, 32)
    pixels = list(outline.convert("RGBA").get_flattened_data())
    # Only white (any opacity) or fully transparent pixels, and some of each.
    assert all(a == 0 or (r, g, b) == (255, 255, 255) for r, g, b, a in pixels)
    assert any(a == 0 for *_, a in pixels) and any(a == 255 for *_, a in pixels)
    assert len(set(color.convert("RGB").get_flattened_data())) > 1  # a drawing, not a blank square


def test_same_bot_same_teams_app_id_so_uploads_upgrade(tmp_path):
    first = teams_package.build_manifest(APP_ID, "https://a.example.com")
    second = teams_package.build_manifest(APP_ID.upper(), "https://b.example.com", version="1.0.1")
    assert first["id"] == second["id"] != APP_ID


@pytest.mark.parametrize("args, message", [
    (["--app-id", "nope", "--url", "https://x.example.com"], "GUID"),
    (["--app-id", APP_ID, "--url", "http://x.example.com"], "https://"),
    (["--app-id", APP_ID, "--url", "https://x.example.com", "--version", "v2"], "1.2.3"),
])
def test_bad_arguments_are_refused_clearly(tmp_path, capsys, args, message):
    out = tmp_path / "p.zip"
    assert main(["teams-package", *args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
