"""The console's dictionaries (ui/src/i18n): both languages have the same keys and
placeholders, and every key the sources name literally exists."""

from __future__ import annotations

import re
from pathlib import Path

UI_SRC = Path(__file__).resolve().parents[2] / "ui" / "src"
I18N = UI_SRC / "i18n"
# One entry per line: `  'dotted.key': 'text',` (the format both dictionaries keep).
_ENTRY = re.compile(r"^\s*'(?P<key>[^']+)':\s*(?P<quote>['\"])(?P<text>.*)(?P=quote),?\s*$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# t('key' ...) with a literal key; keys built at run time (t(`strategy.${s}`)) are not seen.
_LITERAL_USE = re.compile(r"\bt\(\s*'([^']+)'")
_LABEL_USE = re.compile(r"\b(?:label|title|singular|hint|section)\s*:\s*'([a-z_]+\.[a-z_.]+)'")


def dictionary(name: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate((I18N / name).read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped.startswith("'"):
            continue
        match = _ENTRY.match(line)
        assert match, f"{name}:{number}: not a one-line entry: {line!r}"
        key = match["key"]
        assert key not in entries, f"{name}:{number}: {key} given twice"
        entries[key] = match["text"]
    return entries


def test_both_languages_have_the_same_keys() -> None:
    zh, en = dictionary("zh-CN.js"), dictionary("en.js")
    assert len(zh) > 100
    assert sorted(set(zh) - set(en)) == [], "missing in en.js"
    assert sorted(set(en) - set(zh)) == [], "missing in zh-CN.js"


def test_translations_are_filled_and_keep_their_placeholders() -> None:
    zh, en = dictionary("zh-CN.js"), dictionary("en.js")
    for key in zh:
        assert zh[key].strip() and en[key].strip(), f"{key}: empty text"
        assert set(_PLACEHOLDER.findall(zh[key])) == set(_PLACEHOLDER.findall(en[key])), (
            f"{key}: placeholders differ: {zh[key]!r} / {en[key]!r}"
        )


def test_chinese_dictionary_is_chinese() -> None:
    zh = dictionary("zh-CN.js")
    # names kept as they are in both languages (the product, language names, acronyms)
    untranslated = [key for key, text in zh.items() if not re.search(r"[\u4e00-\u9fff]", text)]
    assert set(untranslated) <= {"app.product", "language.en"}, untranslated


def test_every_literal_key_in_the_sources_exists() -> None:
    keys = set(dictionary("en.js"))
    used: dict[str, str] = {}
    for source in UI_SRC.rglob("*.js*"):
        if I18N in source.parents:
            continue
        text = source.read_text(encoding="utf-8")
        for pattern in (_LITERAL_USE, _LABEL_USE):
            for key in pattern.findall(text):
                used.setdefault(key, source.name)
    assert len(used) > 50
    missing = {key: where for key, where in used.items() if key not in keys}
    assert not missing, f"keys used but not in the dictionaries: {missing}"
