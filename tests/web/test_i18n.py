"""Localized API errors (pbxd/web/i18n.py).

The scan below reads the source with `ast` and finds every message the API can answer with:
each construction of an ApiError/ServiceError subclass (resolved through the imports, so the
SIP layer's own `NotFound` or `Forbidden` do not count), plus the messages of the lower-level
errors the services pass through (`DestinationError`, `TimeConditionError`,
`AudioFormatError`). Each one is rendered with sample values and must come out in Chinese.
A new message without a catalog entry fails `test_every_api_message_is_translated`, which
prints it: add its template to `pbxd/web/i18n.py`.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tornado import httputil

import pbxd
from pbxd.web import i18n
from pbxd.web.i18n import localize, localize_error_body, request_language

ROOT = Path(pbxd.__file__).parent
API_BASES = {("pbxd.services.errors", "ServiceError"), ("pbxd.web.errors", "ApiError")}

# What a placeholder `{expr}` of an f-string becomes: every message is rendered once per value
# (module-level string constants are rendered as themselves).
SAMPLES = ("1001", "x")

# Lower-level errors whose text the services hand on as an API message: class -> (index of the
# message argument, how the message reaches the client).
FEEDERS: dict[tuple[str, str], tuple[int, Callable[[str], str]]] = {
    # configbase.destination_text: ValidationError(f"{field}: {exc}")
    ("pbxd.callcenter.destinations", "DestinationError"): (0, lambda text: f"overflow: {text}"),
    # routes._time_condition: ValidationError(str(exc)), str() being f"{field}: {message}"
    ("pbxd.callcenter.timeconditions", "TimeConditionError"): (
        1,
        lambda text: f"time_condition.hours[0].from: {text}",
    ),
    # prompts.upload: InvalidAudio(str(exc))
    ("pbxd.media.convert", "AudioFormatError"): (0, lambda text: text),
}

# Constructions whose message the scan cannot render (a variable, str(exc), a feeder's text
# wrapped in a prefix): (file, the message argument's source) -> what they can say. A new one
# fails the scan until it is listed here with its messages.
DYNAMIC: dict[tuple[str, str], tuple[str, ...]] = {
    # DestinationError text (rendered through FEEDERS) after the field.
    ("services/configbase.py", "f'{field}: {exc}'"): (
        "keys: a destination is 'kind:target', e.g. 'queue:600' or 'hangup'",
        "failover: queue needs a target: 'queue:<number or name>'",
    ),
    # TimeConditionError text, rendered through FEEDERS.
    ("services/routes.py", "str(exc)"): (
        "time_condition.hours: must be a list",
        "time_condition.holidays[2]: ends (2024-10-07) before it starts (2024-10-01)",
    ),
    # AudioFormatError text, rendered through FEEDERS.
    ("services/prompts.py", "str(exc)"): ("too long: 700 s, at most 600 s",),
    ("services/voicemail_index.py", "str(exc)"): ("too long: 700 s, at most 600 s",),
    # DialPlan.check_edges: missing_targets() in callcenter/destinations.py.
    ("services/dialplan.py", "message"): (
        "queue 600 overflow: no ring_group:700 exists",
        "ring_group 700 failover: no queue:600 exists",
        "route 8001 destination: no ivr:menu1 exists",
        "route * closed_destination: no voicemail:600 exists",
        "ivr menu1 key 1: no extension:1001 exists",
        "ivr menu1 timeout_destination: no conference:800 exists",
        "ivr menu1 invalid_destination: no queue:601 exists",
    ),
    # DialPlan.check_edges: describe_loop() in callcenter/destinations.py.
    ("services/dialplan.py", "prefix + describe_loop(cycle)"): (
        "overflow: a caller would go round for ever: queue 600 -> ring_group 700 -> queue 600",
        "a caller would go round for ever: ivr menu1 -> ivr menu1",
    ),
}

# Messages written outside any error class: BaseHandler.write_error's own.
EXTRA_MESSAGES = (
    "internal error",
    "method PATCH not allowed; use GET, PUT, DELETE",
    *(reason for status, reason in httputil.responses.items() if 400 <= status < 500),
    "Client Error",
)

# English words a Chinese message may keep: names of standards and formats, units, JSON
# literals, HTTP methods. Quoted text, code-like tokens (with digits or punctuation) and
# CamelCase names are ignored too.
ALLOWED_WORDS = {
    "SIP", "WAV", "PIN", "UTC", "IANA", "JSON", "CSV", "URI", "IP", "DID", "ID", "ISO", "HTTP",
    "RFC", "PCM", "HZ", "MIB", "ZIP", "NULL", "TRUE", "FALSE", "GET", "POST", "PUT", "PATCH",
    "DELETE",
}  # fmt: skip
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_CODE_TOKEN = re.compile(r"[!-~]*[0-9_=/.:+%<>*#@-][!-~]*|[A-Za-z]*[a-z][A-Z][A-Za-z]*")


def english_left(text: str) -> list[str]:
    """The English words of `text` a Chinese message should not have."""
    text = _CODE_TOKEN.sub(" ", _QUOTED.sub(" ", text))
    return [word for word in re.findall(r"[A-Za-z]{2,}", text) if word.upper() not in ALLOWED_WORDS]


def untranslated(message: str) -> str | None:
    """Why `message` does not come out in Chinese, or None when it does."""
    chinese = localize(message, "zh-CN")
    if chinese == message:
        return "no template"
    left = english_left(chinese)
    if left:
        return f"English left ({', '.join(left)}): {chinese}"
    return None


@dataclass(frozen=True)
class Found:
    """One message construction: where, its message argument, its renderings (None: dynamic)."""

    file: str  # "services/queues.py"
    line: int
    source: str  # the message argument as written
    messages: tuple[str, ...] | None


# --- the scan ----------------------------------------------------------------------------------


@dataclass
class _Module:
    name: str  # "pbxd.web.base"
    path: Path
    tree: ast.Module
    imports: dict[str, tuple[str, str]]  # local name -> (module, name)
    classes: dict[str, list[ast.expr]]  # class name -> bases
    constants: dict[str, list[str]]  # module-level NAME = "text" (or a dict of texts: values)


def _load_modules() -> dict[str, _Module]:
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        package = name if is_package else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        imports: dict[str, tuple[str, str]] = {}
        classes: dict[str, list[ast.expr]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    imports[alias.asname or alias.name] = (source, alias.name)
            elif isinstance(node, ast.ClassDef):
                classes[node.name] = node.bases
        constants = {}
        for node in tree.body:
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if not isinstance(target, ast.Name) or value is None:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                constants[target.id] = [value.value]
            elif (
                isinstance(value, ast.Dict)
                and value.values
                and all(
                    isinstance(v, ast.Constant) and isinstance(v.value, str) for v in value.values
                )
            ):
                constants[target.id] = [v.value for v in value.values]  # type: ignore[union-attr]
        modules[name] = _Module(name, path, tree, imports, classes, constants)
    return modules


def _resolve(modules: dict[str, _Module], module: str, expr: ast.expr) -> tuple[str, str] | None:
    """The (module, class name) a call's function expression names, through the imports."""
    if isinstance(expr, ast.Name):
        return _chase(modules, module, expr.id)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        imported = modules[module].imports.get(expr.value.id)  # `from . import errors`
        if imported is not None and f"{imported[0]}.{imported[1]}" in modules:
            return _chase(modules, f"{imported[0]}.{imported[1]}", expr.attr)
    return None


def _chase(modules: dict[str, _Module], module: str, name: str) -> tuple[str, str]:
    for _ in range(10):  # re-exports: pbxd.services -> pbxd.services.errors
        found = modules.get(module)
        if found is None or name in found.classes or name not in found.imports:
            break
        module, name = found.imports[name]
    return (module, name)


def _api_classes(modules: dict[str, _Module]) -> set[tuple[str, str]]:
    """ApiError, ServiceError and every subclass of theirs in pbxd."""
    api = set(API_BASES)
    grown = True
    while grown:
        grown = False
        for module in modules.values():
            for name, bases in module.classes.items():
                if (module.name, name) not in api and any(
                    _resolve(modules, module.name, base) in api for base in bases
                ):
                    api.add((module.name, name))
                    grown = True
    return api


class _Renderer:
    """The texts an expression can be, each placeholder `{expr}` replaced by `sample`."""

    def __init__(self, constants: dict[str, list[str]], local: dict[str, ast.expr], sample: str):
        self.constants = constants
        self.local = local  # variables of the function assigned once (`problem = f"..."`)
        self.sample = sample

    def render(self, node: ast.expr) -> list[str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            pieces = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    pieces.append([str(value.value)])
                elif isinstance(value, ast.FormattedValue):
                    pieces.append(self.placeholder(value.value))
            return ["".join(combo) for combo in itertools.product(*pieces)]
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            return self.constants.get(node.value.id)  # _TYPE_NAMES[fields[name]]
        if isinstance(node, ast.Name):
            if node.id in self.constants:
                return self.constants[node.id]
            if node.id in self.local:
                return self.render(self.local[node.id])
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.render(node.left), self.render(node.right)
            if left is None or right is None:
                return None
            return [a + b for a in left for b in right]
        if isinstance(node, ast.IfExp):
            body, orelse = self.render(node.body), self.render(node.orelse)
            if body is None or orelse is None:
                return None
            return body + orelse
        return None

    def placeholder(self, node: ast.expr) -> list[str]:
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            return self.constants.get(node.value.id, [self.sample])  # _JSON_TYPES[expected]
        if isinstance(node, ast.Name) and (node.id in self.constants or node.id in self.local):
            return self.render(node) or [self.sample]
        if isinstance(node, ast.JoinedStr | ast.IfExp):
            return self.render(node) or [self.sample]
        return [self.sample]


def _single_assignments(function: ast.AST) -> dict[str, ast.expr]:
    counts: dict[str, int] = {}
    values: dict[str, ast.expr] = {}
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            if isinstance(target, ast.Name):
                counts[target.id] = counts.get(target.id, 0) + 1
                values[target.id] = node.value  # type: ignore[union-attr]
    return {name: value for name, value in values.items() if counts[name] == 1}


def _calls(tree: ast.Module) -> Iterator[tuple[ast.Call, dict[str, ast.expr]]]:
    """Every call in `tree`, with the once-assigned variables of the function around it."""

    def walk(node: ast.AST, local: dict[str, ast.expr]) -> Iterator[tuple[ast.Call, dict]]:
        for child in ast.iter_child_nodes(node):
            inner = local
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = _single_assignments(child)
            if isinstance(child, ast.Call):
                yield child, local
            yield from walk(child, inner)

    yield from walk(tree, {})


def scan() -> list[Found]:
    """Every message an API error can carry, as the code constructs it today."""
    modules = _load_modules()
    api = {cls: (0, lambda text: text) for cls in _api_classes(modules)}
    makers: dict[tuple[str, str], tuple[int, Callable[[str], str]]] = {**api, **FEEDERS}
    found = []
    for module in modules.values():
        file = module.path.relative_to(ROOT).as_posix()
        for call, local in _calls(module.tree):
            target = _resolve(modules, module.name, call.func)
            if target not in makers:
                continue
            index, reaches_client = makers[target]  # type: ignore[index]
            if len(call.args) <= index:
                continue  # no message given positionally (none today)
            argument = call.args[index]
            messages: list[str] = []
            for sample in SAMPLES:
                rendered = _Renderer(module.constants, local, sample).render(argument)
                if rendered is None:
                    break
                messages += [reaches_client(text) for text in rendered]
            else:
                found.append(
                    Found(file, call.lineno, ast.unparse(argument), tuple(dict.fromkeys(messages)))
                )
                continue
            found.append(Found(file, call.lineno, ast.unparse(argument), None))
    return found


# --- (1) every message the code can raise comes out in Chinese ---------------------------------


@pytest.fixture(scope="module")
def found() -> list[Found]:
    return scan()


def test_scan_sees_the_api_errors_and_only_them(found: list[Found]) -> None:
    messages = {m for f in found for m in f.messages or ()}
    assert "number: expected 2 to 6 digits" in messages  # services/extensions.py
    assert "request body is not valid JSON" in messages  # web/base.py
    assert "x x not found" in messages  # ConfigService._row: f"{self.kind} {key} not found"
    assert "empty: the file has no bytes" in messages  # media/convert.py, through InvalidAudio
    # The SIP layer has classes named NotFound and Forbidden too: not API errors.
    assert not any(f.file.startswith(("sip/", "call/")) for f in found)
    assert len(found) > 150


def test_every_api_message_is_translated(found: list[Found]) -> None:
    failures = []
    for item in found:
        where = f"{item.file}:{item.line}"
        if (item.file, item.source) in DYNAMIC:
            continue  # its messages are checked in test_dynamic_messages_are_translated
        if item.messages is None:
            failures.append(f"{where}: {item.source}: not a plain text; list it in DYNAMIC")
            continue
        for message in item.messages:
            why = untranslated(message)
            if why is not None:
                failures.append(f"{where}: {message!r}: {why}")
    assert not failures, (
        f"{len(failures)} API error messages lack a Chinese template in pbxd/web/i18n.py:\n"
        + "\n".join(failures)
    )


def test_dynamic_messages_are_translated(found: list[Found]) -> None:
    present = {(item.file, item.source) for item in found}
    stale = [key for key in DYNAMIC if key not in present]
    assert not stale, f"DYNAMIC names constructions the code no longer has: {stale}"
    failures = [
        f"{message!r}: {why}"
        for messages in DYNAMIC.values()
        for message in messages
        if (why := untranslated(message)) is not None
    ]
    assert not failures, "\n".join(failures)


def test_write_errors_own_messages_are_translated() -> None:
    failures = [f"{m!r}: {why}" for m in EXTRA_MESSAGES if (why := untranslated(m)) is not None]
    assert not failures, "\n".join(failures)


def test_chinese_templates_keep_every_value_and_no_english() -> None:
    for english, chinese in i18n.CATALOG:
        names = set(re.findall(r"\{([a-z_]+[0-9]*)\}", english))
        used = set(re.findall(r"\{([a-z_]+[0-9]*)(?:\|raw)?\}", chinese))
        assert used == names, f"{english!r} -> {chinese!r}"
        if chinese in i18n.HTTP_REASONS.values():
            continue
        prose = _QUOTED.sub("", re.sub(r'\{[^{}]*"[^{}]*\}', "", english))  # no JSON examples
        assert "：" in chinese or ": " not in prose, f"{chinese!r}: full-width colon expected"
        text = re.sub(r"\{[a-z_]+[0-9]*(?:\|raw)?\}", " ", chinese)
        assert not english_left(text), f"{chinese!r}"


# --- (2) translations checked by hand ----------------------------------------------------------


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("number: expected 2 to 6 digits", "号码：应为 2 到 6 位数字"),
        ("voicemail_pin: expected 4 to 12 digits", "语音信箱密码：应为 4 到 12 位数字"),
        ("members: no extension 1009 exists", "成员：分机 1009 不存在"),
        ("members: 1001 is listed twice", "成员：1001 重复出现"),
        ("queues: no queue 601 exists", "队列：队列 601 不存在"),
        ("queue 600 not found", "队列 600 不存在"),
        ("ring_group 700 exists", "振铃组 700 已存在"),
        ("extension 1001 exists", "分机 1001 已存在"),
        (
            "name: expected 0 to 64 characters, got 65",
            "名称：长度应为 0 到 64 个字符，当前为 65 个",
        ),
        ("timeout: expected 1..300, got 0", "超时时间：应在 1 到 300 之间，当前为 0"),
        ("offset: expected >= 0, got -1", "偏移量：应不小于 0，当前为 -1"),
        ("secret: expected a string", "密码：应为字符串"),
        ("secret: must differ from the extension number", "密码：不能与分机号码相同"),
        ("strategy: expected one of ringall, linear", "振铃策略：应为 ringall, linear 之一"),
        (
            "welcome_prompt: no prompt 'hello' (upload it first)",
            "欢迎语：提示音 'hello' 不存在（请先上传）",
        ),
        (
            "number: cannot be changed; delete the queue and create it anew",
            "号码：创建后不可修改；如需修改，请删除该队列后重新创建",
        ),
        ("number: 600 is already the number of ring group 600", "号码：600 已被振铃组 600 使用"),
        (
            "extension 1001 is in use: member of queue 600, ivr main key 1",
            "分机 1001 正在使用中：队列 600 的成员、语音导航 main 的按键 1",
        ),
        (
            "queue 600 is in use: route * closed_destination",
            "队列 600 正在使用中：呼入路由 * 的非工作时间目的地",
        ),
        (
            "queue 600 overflow: no ring_group:700 exists",
            "队列 600 的溢出目的地：指向的 ring_group:700 不存在",
        ),
        (
            "overflow: a caller would go round for ever: queue 600 -> ring_group 700 -> queue 600",
            "溢出目的地：来电者会陷入无限循环：队列 600 → 振铃组 700 → 队列 600",
        ),
        (
            "keys: queue needs a target: 'queue:<number or name>'",
            "按键：队列需要指定目标：'queue:<号码或名称>'",
        ),
        ("keys: hangup takes no target", "按键：挂断不能指定目标"),
        (
            "time_condition.hours[0].from: must be a time \"HH:MM\" (00:00-23:59): '25:00'",
            "时间条件.营业时间[0].起始时间：应为 \"HH:MM\" 格式的时间（00:00-23:59）：'25:00'",
        ),
        ("time_condition.holidays[1].color: unknown field", "时间条件.节假日[1].color：未知字段"),
        ("role agent may not DELETE this resource", "坐席无权对此资源执行 DELETE 操作"),
        (
            "prompt welcome is in use: ivr main prompt, queue 600 welcome_prompt; with no system "
            "prompt to fall back to, it would be silent in zh, en",
            "提示音 welcome 正在使用中：语音导航 main 的提示音、队列 600 的欢迎语；"
            "删除后没有系统提示音可替代，中文、英文将没有声音",
        ),
        ("no prompt 'welcome' in en", "提示音 'welcome' 没有英文版本"),
        ("extension: expected a string or null", "分机：应为字符串或 null"),
        ("voicemail: expected a boolean", "语音信箱：应为布尔值"),
        ("too many failed logins; retry in 30 s", "登录失败次数过多，请 30 秒后重试"),
        ("wrong username or password", "用户名或密码错误"),
        ("foo bar: unknown field", "foo bar：未知字段"),
        (
            "unsupported WAV encoding: 24-bit float (use 32, 64-bit)",
            "不支持的 WAV 编码：24 位浮点（请使用 32, 64 位）",
        ),
        (
            "end: 100 days by day; at most 92 (use a longer period)",
            "结束时间：按天统计时跨度为 100 天，最多 92 天（请选用更长的统计周期）",
        ),
        ("Not Found", "未找到"),
        ("method PATCH not allowed; use GET, PUT", "不支持 PATCH 方法；请使用 GET, PUT"),
    ],
)
def test_translation(english: str, chinese: str) -> None:
    assert localize(english, "zh-CN") == chinese
    assert localize(english, "zh") == chinese
    assert localize(english, "en") == english


# --- (3) which language ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "user_language", "expected"),
    [
        (None, None, "zh-CN"),  # the product's default market
        ("", None, "zh-CN"),
        ("en-US,en;q=0.9", None, "en"),
        ("EN-gb", None, "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh-CN"),
        ("zh", None, "zh-CN"),
        ("zh-Hans", None, "zh-CN"),
        ("zh-Hans-CN;q=0.8, en;q=0.5", None, "zh-CN"),
        ("en;q=0.5, zh-Hans;q=0.8", None, "zh-CN"),  # q-values, not order
        ("zh;q=0.3, en;q=0.7", None, "en"),
        ("en, zh", None, "en"),  # a tie: the first listed
        ("fr-FR, de;q=0.9", None, "zh-CN"),  # nothing we speak
        ("fr, en;q=0.1", None, "en"),
        ("en;q=0", None, "zh-CN"),  # q=0: not acceptable
        ("en;q=abc", None, "zh-CN"),
        ("*", None, "zh-CN"),
        ("en", "zh-CN", "zh-CN"),  # the saved language wins
        ("zh-CN", "en", "en"),
        ("en", "fr", "en"),  # a saved language we do not speak is ignored
        (None, "zh", "zh-CN"),
    ],
)
def test_request_language(
    accept_language: str | None, user_language: str | None, expected: str
) -> None:
    assert request_language(accept_language, user_language) == expected


def test_saved_language_may_be_an_enum_member() -> None:
    class Language(StrEnum):  # as services.users.Language
        ZH_CN = "zh-CN"
        EN = "en"

    assert request_language("zh-CN", Language.EN) == "en"
    assert request_language("en", Language.ZH_CN) == "zh-CN"


# --- (4) what has no template stays English ----------------------------------------------------


def test_unknown_message_stays_english() -> None:
    for message in ("the moon is made of cheese", "", "x: y", "queue: the moon is made of cheese"):
        assert localize(message, "zh-CN") == message


def test_other_languages_stay_english() -> None:
    assert localize("number: expected 2 to 6 digits", "fr") == "number: expected 2 to 6 digits"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([": ", " ", "x", "1", "queue", "->", ", ", "'", "(", ")", "exists", "no"])
        | st.text(max_size=8),
        max_size=30,
    ).map("".join)
)
def test_localize_never_fails(message: str) -> None:
    assert isinstance(localize(message, "zh-CN"), str)


def test_long_message_is_not_matched() -> None:
    message = "x" * 5000 + ": unknown field"
    assert localize(message, "zh-CN") == message


# --- localize_error_body -----------------------------------------------------------------------


def test_error_body_keeps_code_and_field() -> None:
    body = {"code": "invalid", "message": "number: expected 2 to 6 digits", "field": "number"}
    localized = localize_error_body(body, "zh-CN")
    assert localized == {
        "code": "invalid",
        "message": "号码：应为 2 到 6 位数字",
        "field": "number",
    }
    assert body["message"] == "number: expected 2 to 6 digits"  # the input is not changed
    no_field = {"code": "not_found", "message": "queue 600 not found"}
    assert localize_error_body(no_field, "zh-CN") == {
        "code": "not_found",
        "message": "队列 600 不存在",
    }
    assert localize_error_body(body, "en") == body


def test_error_body_whole_response() -> None:
    body = {"error": {"code": "unauthorized", "message": "invalid or expired token"}}
    assert localize_error_body(body, "zh-CN") == {
        "error": {"code": "unauthorized", "message": "访问令牌无效或已过期，请重新登录"}
    }
