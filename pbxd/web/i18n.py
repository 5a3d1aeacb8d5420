"""API error messages in the user's language, translated at the edge.

The services write their messages in English, the field first ("number: expected 2 to 6
digits"). The web console speaks zh-CN and English, so just before an error body goes out
`localize` matches its message against an ordered catalog of English templates and rebuilds
it from the Chinese one. Values (numbers, ids, names the user typed) are kept verbatim; field
names, object kinds, roles and the like are translated through small tables. A message no
template matches stays in English: a missing translation is never an error
(tests/web/test_i18n.py scans the code so that none is missing).

A template is the English text with `{name}` placeholders. The name says what the part is:

    field     a request field or a dotted path ("time_condition.hours[0].from"): translated
    kind      an object kind ("queue", "ring_group"): translated
    node      an object ("queue 600", "ivr main"): its kind translated
    nodes     objects joined by " -> "
    usage     who uses an object ("ivr main key 1", "member of queue 600"); users: a list
    role, period, encoding, json_type: small closed vocabularies, translated
    lang, langs: prompt languages ("zh", "en"), translated
    anything else: a value, kept verbatim

A message "<field>: <rest>" that no template matches is translated as the field and the rest
when a template matches the rest: the time conditions name a path ("time_condition.hours[0]")
before their own message.

A trailing digit tells two placeholders of one type apart ("{field2}"); a name used twice must
match the same text twice. In a Chinese template `{name|raw}` is the text as captured,
untranslated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

ZH_CN: Final = "zh-CN"
EN: Final = "en"
DEFAULT_LANGUAGE: Final = ZH_CN  # the product's home market

# Longer messages (a value typed by the user may be long) are not matched: a regex with a few
# lazy groups costs more than a short English message is worth.
MAX_MESSAGE_LEN = 2000

# --- vocabularies ------------------------------------------------------------------------------

# Request fields and query parameters, as the API names them.
FIELD_NAMES: Final[Mapping[str, str]] = {
    "action": "操作",
    "active": "启用",
    "agent": "坐席",
    "agents": "坐席",
    "announce_agent_id": "播报坐席工号",
    "announce_position": "播报排队位置",
    "announce_wait": "播报等待时间",
    "answer": "应答时间",
    "backup": "备份",
    "billsec": "计费时长",
    "box": "信箱",
    "call_id": "通话 ID",
    "callee": "被叫",
    "caller": "主叫",
    "cdr": "话单",
    "channels": "声道数",
    "closed_destination": "非工作时间目的地",
    "code": "代码",
    "company": "公司",
    "content": "内容",
    "data": "数据",
    "days": "星期",
    "destination": "目的地",
    "direction": "方向",
    "dial_extension": "允许直拨分机",
    "did": "呼入号码",
    "duration": "时长",
    "end": "结束时间",
    "event": "事件",
    "events": "事件",
    "extension": "分机",
    "failover": "未接转移目的地",
    "file": "文件",
    "format": "格式",
    "from": "起始时间",
    "group": "分组方式",
    "holidays": "节假日",
    "host": "主机地址",
    "hours": "营业时间",
    "id": "ID",
    "invalid_destination": "无效按键目的地",
    "invalid_prompt": "无效按键提示音",
    "join_empty": "无坐席时允许进入",
    "keys": "按键",
    "label_en": "英文名称",
    "label_zh": "中文名称",
    "lang": "语言",
    "language": "语言",
    "leave_when_empty": "无坐席时离开队列",
    "leg": "通话段",
    "legs": "通话段",
    "limit": "每页条数",
    "masking": "号码隐藏",
    "max_length": "最大排队人数",
    "max_members": "最大成员数",
    "max_wait": "最长等待时间",
    "members": "成员",
    "mode": "模式",
    "moderator_pin": "主持人密码",
    "music": "等待音乐",
    "name": "名称",
    "new": "未读状态",
    "note": "备注",
    "number": "号码",
    "offset": "偏移量",
    "overflow": "溢出目的地",
    "party": "通话方",
    "password": "密码",
    "path": "路径",
    "peer": "对端",
    "period": "统计周期",
    "periodic_interval": "定时播报间隔",
    "periodic_prompt": "定时播报语音",
    "position": "排序",
    "pin": "入会密码",
    "port": "端口",
    "prompt": "提示音",
    "queue": "队列",
    "queues": "队列",
    "reason": "原因",
    "recording": "录音",
    "recordings": "录音",
    "request": "请求",
    "retries": "重试次数",
    "retry": "重试间隔",
    "role": "角色",
    "secret": "密码",
    "size": "大小",
    "start": "开始时间",
    "strategy": "振铃策略",
    "survey": "满意度调查",
    "survey_reason": "不满意原因",
    "text": "搜索文本",
    "time": "时间",
    "time_condition": "时间条件",
    "timeout": "超时时间",
    "timeout_destination": "超时目的地",
    "timezone": "时区",
    "to": "截止时间",
    "transport": "传输协议",
    "username": "用户名",
    "voicemail": "语音信箱",
    "voicemail_pin": "语音信箱密码",
    "wait": "等待时长",
    "welcome_prompt": "欢迎语",
    "wrapup": "话后处理时间",
}

# Kinds of objects, as messages and destinations name them ("ring group 700", "ring_group:700").
KIND_NAMES: Final[Mapping[str, str]] = {
    "agent": "坐席",
    "call": "通话",
    "conference": "会议室",
    "contact": "联系人",
    "disposition code": "话后小结代码",
    "extension": "分机",
    "hangup": "挂断",
    "inbound_route": "呼入路由",
    "ivr": "语音导航",
    "message": "留言",
    "prompt": "提示音",
    "queue": "队列",
    "recording": "录音",
    "ring group": "振铃组",
    "ring_group": "振铃组",
    "route": "呼入路由",
    "survey": "满意度调查",
    "total": "汇总",
    "trunk": "中继",
    "user": "用户",
    "voicemail": "语音信箱",
}

ROLE_NAMES: Final[Mapping[str, str]] = {
    "admin": "管理员",
    "supervisor": "班长",
    "agent": "坐席",
}

LANGUAGE_NAMES: Final[Mapping[str, str]] = {"zh": "中文", "zh-CN": "中文", "en": "英文"}

PERIOD_NAMES: Final[Mapping[str, str]] = {"day": "天", "week": "周", "month": "月"}

ENCODING_NAMES: Final[Mapping[str, str]] = {"float": "浮点", "PCM": "PCM", "G.711": "G.711"}

# What `BaseHandler.json_body` says a field should be.
JSON_TYPE_NAMES: Final[Mapping[str, str]] = {
    "a string": "字符串",
    "an integer": "整数",
    "a boolean": "布尔值",
    "an object": "对象",
    "an array": "数组",
}

# Reason phrases of the 4xx statuses Tornado answers by itself (http.HTTPStatus, Python 3.11
# and the newer names of RFC 9110).
HTTP_REASONS: Final[Mapping[str, str]] = {
    "Bad Request": "请求无效",
    "Unauthorized": "未登录或登录已失效",
    "Payment Required": "需要付费",
    "Forbidden": "没有权限",
    "Not Found": "未找到",
    "Method Not Allowed": "不支持该请求方法",
    "Not Acceptable": "无法提供可接受的格式",
    "Proxy Authentication Required": "需要代理认证",
    "Request Timeout": "请求超时",
    "Conflict": "冲突",
    "Gone": "资源已不存在",
    "Length Required": "缺少请求长度",
    "Precondition Failed": "前提条件不满足",
    "Request Entity Too Large": "请求正文过大",
    "Content Too Large": "请求正文过大",
    "Request-URI Too Long": "请求地址过长",
    "URI Too Long": "请求地址过长",
    "Unsupported Media Type": "不支持的内容类型",
    "Requested Range Not Satisfiable": "请求的范围无效",
    "Range Not Satisfiable": "请求的范围无效",
    "Expectation Failed": "无法满足预期",
    "I'm a Teapot": "我是茶壶",
    "Misdirected Request": "请求发错了服务器",
    "Unprocessable Entity": "无法处理请求内容",
    "Unprocessable Content": "无法处理请求内容",
    "Locked": "资源已锁定",
    "Failed Dependency": "依赖的操作失败",
    "Too Early": "请求过早",
    "Upgrade Required": "需要升级协议",
    "Precondition Required": "需要前提条件",
    "Too Many Requests": "请求过于频繁",
    "Request Header Fields Too Large": "请求头过大",
    "Unavailable For Legal Reasons": "因法律原因不可用",
    "Client Error": "客户端错误",
}

# --- the catalog -------------------------------------------------------------------------------

# (English template, Chinese template), tried in order: the first whose pattern matches the
# whole message and whose parts all translate wins. Specific templates come before the
# general ones that would also match them ("{kind} {key} not found" comes last).
_NAME_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit"
_USE_ENCODINGS = "PCM, float, A-law or mu-law"
_USE_ENCODINGS_ZH = "PCM、浮点、A-law 或 mu-law"

CATALOG: Final[tuple[tuple[str, str], ...]] = (
    # -- request format (pbxd/web/base.py and the handlers) --
    ("request body is not valid JSON", "请求正文不是有效的 JSON"),
    ("request body: expected a JSON object", "请求正文：应为 JSON 对象"),
    ("request body larger than {size} bytes", "请求正文超过 {size} 字节"),
    ("request body: {error}", "请求正文无效：{error}"),
    ("file larger than {size} bytes", "文件超过 {size} 字节"),
    ("{field}: unknown field", "{field}：未知字段"),
    ("{field}: unknown query parameter", "{field}：未知的查询参数"),
    ("{field}: required", "{field}：必填"),
    ("{field}: given more than once", "{field}：重复提供"),
    ("{field}: not UTF-8 text", "{field}：不是 UTF-8 文本"),
    ("{field}: expected {json_type}", "{field}：应为{json_type}"),
    ("{field}: expected {json_type} or null", "{field}：应为{json_type}或 null"),
    ("expected an object", "应为 JSON 对象"),
    ("no resource at {path}", "资源 {path} 不存在"),
    ("method {method} not allowed; use {allowed}", "不支持 {method} 方法；请使用 {allowed}"),
    ("internal error", "服务器内部错误"),
    (
        "send a form as multipart/form-data with the fields id, language (optional) and file",
        '请以 multipart/form-data 表单提交，字段为 "id"、"language"（可选）和 "file"',
    ),
    (
        "send the WAV file as the body with Content-Type {type}",
        "请将 WAV 文件作为请求正文发送，Content-Type 为 {type}",
    ),
    ("file: required (one WAV file)", "文件：必填（一个 WAV 文件）"),
    (
        "send the backup file as the body (application/zip)",
        "请将备份文件作为请求正文发送（application/zip）",
    ),
    ("range outside the file of {size} bytes", "请求的范围超出文件大小（{size} 字节）"),
    # -- login and access --
    ("wrong username or password", "用户名或密码错误"),
    ("the current password is wrong", "当前密码不正确"),
    ("missing bearer token or session cookie", "未登录：缺少访问令牌或登录会话"),
    ("session expired or unknown; log in again", "会话已过期或无效，请重新登录"),
    ("no bearer token to revoke", "没有可注销的访问令牌"),
    (
        "no browser session; log in with POST /api/v1/auth/session",
        "没有浏览器会话；请通过 POST /api/v1/auth/session 登录",
    ),
    ("missing or wrong {header} header", "请求头 {header} 缺失或不正确"),
    ("the request comes from another origin", "请求来自其他来源（跨站请求），已拒绝"),
    ("missing bearer token", "缺少访问令牌，请先登录"),
    ("invalid or expired token", "访问令牌无效或已过期，请重新登录"),
    # -- the live channel /api/v1/live (pbxd/web/live.py) --
    (
        "token: never in the URL (it would be logged); send it in the Authorization header or "
        "as the WebSocket subprotocol pbxd.bearer.<token>",
        '令牌：不能放在网址中（会被记入日志）；请通过 "Authorization" 请求头或 WebSocket 子协议 '
        '"pbxd.bearer.<令牌>" 发送',
    ),
    (
        "topics: unknown topic {value}; expected wallboard, agent or both",
        '订阅主题：未知的主题 {value}；应为 "wallboard"、"agent" 或两者',
    ),
    ("too many failed logins; retry in {seconds} s", "登录失败次数过多，请 {seconds} 秒后重试"),
    ("role {role} may not {method} this resource", "{role}无权对此资源执行 {method} 操作"),
    ("role {role} may only use its own voicemail box", "{role}只能使用自己的语音信箱"),
    ("user {username} is linked to no extension", "用户 {username} 未关联分机"),
    ("an agent may act on his own extension ({number}) only", "坐席只能操作自己的分机（{number}）"),
    (
        "this agent account is linked to no extension, so it has no recordings",
        "该坐席账号未关联分机，因此没有录音",
    ),
    (
        "this agent account is linked to no extension, so it has no report",
        "该坐席账号未关联分机，因此没有报表",
    ),
    (
        "agents see only their own row: use group=agent",
        "坐席只能查看自己的数据：请使用 group=agent",
    ),
    ("agents see only their own row (agent={number})", "坐席只能查看自己的数据（agent={number}）"),
    # -- a supervisor's scope: his queues and their agents (pbxd/services/scope.py) --
    ("{field}: queue {queue} is not one of your queues", "{field}：队列 {queue} 不是您负责的队列"),
    (
        "{field}: agent {number} is not a member of your queues",
        "{field}：坐席 {number} 不属于您负责的队列",
    ),
    ("agent {number} is not a member of your queues", "坐席 {number} 不属于您负责的队列"),
    (
        "voicemail box {box} belongs to none of your queues or agents",
        "语音信箱 {box} 不属于您负责的队列或坐席",
    ),
    # -- customers and the blacklist (m0007) --
    (
        "{field}: expected 3 to 32 digits, optionally after a +",
        "{field}：应为 3 到 32 位数字，前面可带 +",
    ),
    (
        "{field}: expected digits (a + before them allowed), or a prefix of digits ending in *, "
        "e.g. 400*",
        "{field}：应为号码（数字，前面可带 +），或以 * 结尾的号码前缀，如 400*",
    ),
    # before "{kind} {key} ...", whose lazy kind would stop at "blacklist"
    ("blacklist entry {key} exists", "黑名单条目 {key} 已存在"),
    ("blacklist entry {key} not found", "黑名单条目 {key} 不存在"),
    ("no blacklist entry {value}", "黑名单条目 {value} 不存在"),
    # -- screen pop, memos and wrap-up dispositions (issue 7, m0008) --
    (
        "{field}: expected {low} to {high} lower-case letters, digits or '_', "
        "starting with a letter",
        "{field}：应为 {low} 到 {high} 个小写字母、数字或 '_'，并以字母开头",
    ),
    # before "{kind} {key} ...", whose lazy kind would stop at "disposition"
    ("disposition code {key} exists", "话后小结代码 {key} 已存在"),
    ("disposition code {key} not found", "话后小结代码 {key} 不存在"),
    (
        "disposition code {key} is in use by {count} calls; deactivate it instead",
        "话后小结代码 {key} 已被 {count} 个通话使用；请改为停用",
    ),
    (
        "{field}: {value} is not an active disposition code",
        "{field}：{value} 不是启用中的话后小结代码",
    ),
    (
        "this agent account is linked to no extension, so it has no calls",
        "该坐席账号未关联分机，因此没有通话",
    ),
    ("call {call} is not one of your calls", "通话 {call} 不是您的通话"),
    (
        "{field}: an agent sets the disposition of his own calls only",
        "{field}：坐席只能填写自己通话的话后小结",
    ),
    (
        "{field}: extension {number} took no part in call {call}",
        "{field}：分机 {number} 没有参与通话 {call}",
    ),
    (
        "{field}: required (the extension whose disposition this is)",
        "{field}：必填（这条话后小结所属的分机）",
    ),
    # -- users --
    ("{field}: {value} is reserved", "{field}：{value} 为保留名称，不能使用"),
    ("extension {number} is linked to another user", "分机 {number} 已关联其他用户"),
    ("user {username} is the last administrator", "用户 {username} 是最后一位管理员"),
    ("{field}: expected a list of queue numbers", "{field}：应为队列号码列表"),
    (
        "{field}: only supervisors lead queues, not {role}s",
        "{field}：只有班长可以负责队列，{role}不可以",
    ),
    ("{field}: expected queue numbers as strings", "{field}：队列号码应为字符串"),
    ("{field}: a queue is listed twice", "{field}：有队列重复出现"),
    # -- values of every kind (validation.py, configbase.py) --
    ("{field}: expected a string", "{field}：应为字符串"),
    (
        "{field}: expected {low} to {high} characters, got {count}",
        "{field}：长度应为 {low} 到 {high} 个字符，当前为 {count} 个",
    ),
    ("{field}: control characters are not allowed", "{field}：不能包含控制字符"),
    ("{field}: expected an integer", "{field}：应为整数"),
    ("{field}: expected {low} to {high}", "{field}：应在 {low} 到 {high} 之间"),
    (
        "{field}: expected {low}..{high}, got {value}",
        "{field}：应在 {low} 到 {high} 之间，当前为 {value}",
    ),
    ("{field}: expected >= {low}, got {value}", "{field}：应不小于 {low}，当前为 {value}"),
    ("{field}: expected a datetime", "{field}：应为日期时间"),
    ("{field}: a UTC offset is required", "{field}：必须带 UTC 时区偏移"),
    ("{field}: expected true or false", "{field}：应为 true 或 false"),
    ("{field}: expected a boolean", "{field}：应为布尔值"),
    (
        "{field}: expected an extension or queue number of 2 to 6 digits",
        "{field}：应为 2 到 6 位的分机号码或队列号码",
    ),
    (
        "{field}: expected {low} to {high} digits, or null",
        "{field}：应为 {low} 到 {high} 位数字，或 null",
    ),
    ("{field}: expected {low} to {high} digits", "{field}：应为 {low} 到 {high} 位数字"),
    (
        "{field}: {low} to {high} " + _NAME_RULE,
        "{field}：应为 {low} 到 {high} 个字母、数字或 '.'、'_'、'-'，并以字母或数字开头",
    ),
    (
        "{field}: {low} to {high} lower-case letters, digits, '-' or '_', "
        "starting with a letter or digit",
        "{field}：应为 {low} 到 {high} 个小写字母、数字或 '-'、'_'，并以字母或数字开头",
    ),
    ("{field}: expected one of {choices}", "{field}：应为 {choices} 之一"),
    ("{field}: one of {choices}", "{field}：应为 {choices} 之一"),
    ("{field}: must not be blank (use null for none)", "{field}：不能为空白（不设置请用 null）"),
    ("{field}: must not be blank", "{field}：不能为空"),
    ("{field}: expected an array of extension numbers", "{field}：应为分机号码数组"),
    ("{field}: expected an array of queue numbers", "{field}：应为队列号码数组"),
    ("{field}: {value} is listed twice", "{field}：{value} 重复出现"),
    ("give at least one field to change", "请至少提供一个要修改的字段"),
    (
        "{field}: cannot be changed; delete the {kind} and create it anew",
        "{field}：创建后不可修改；如需修改，请删除该{kind}后重新创建",
    ),
    ("{kind}: conflicts with the stored configuration", "{kind}：与现有配置冲突"),
    # -- the dial plan and destinations (dialplan.py, callcenter/destinations.py) --
    ("{field}: {number} is already the number of {node}", "{field}：{number} 已被{node} 使用"),
    ("{field}: no extension {number} exists", "{field}：分机 {number} 不存在"),
    ("{field}: no queue {number} exists", "{field}：队列 {number} 不存在"),
    ("a caller would go round for ever: {nodes}", "来电者会陷入无限循环：{nodes}"),
    (
        "a destination is 'kind:target', e.g. 'queue:600' or 'hangup'",
        "目的地的格式为 'kind:target'，例如 'queue:600' 或 'hangup'",
    ),
    (
        "unknown destination kind {value}; one of {choices}",
        "未知的目的地类型 {value}，应为 {choices} 之一",
    ),
    (
        "{kind} needs a target: '{kind}:<number or name>'",
        "{kind}需要指定目标：'{kind|raw}:<号码或名称>'",
    ),
    ("{kind} takes no target", "{kind}不能指定目标"),
    (
        "target {value}: letters, digits, '-', '_', '.' only",
        "目标 {value}：只能包含字母、数字和 '-'、'_'、'.'",
    ),
    # -- time conditions (callcenter/timeconditions.py; the field path comes first) --
    (
        "must be an object with hours, holidays, timezone",
        '应为对象，可包含 "hours"、"holidays"、"timezone"',
    ),
    ("unknown field", "未知字段"),
    ("must be a zone name like Asia/Shanghai", "应为时区名称，例如 Asia/Shanghai"),
    ("unknown timezone {value}", "未知时区 {value}"),
    ("must be a list", "应为列表"),
    (
        'must be {"days": [1, ...], "from": "HH:MM", "to": ...}',
        '格式应为 {"days": [1, ...], "from": "HH:MM", "to": ...}',
    ),
    ("missing", "缺少此项"),
    (
        "must be a non-empty list of ISO weekdays 1-7 (1 = Monday): {value}",
        "应为非空的星期列表，取值 1-7（1 = 星期一）：{value}",
    ),
    ('must be a time "HH:MM" ({range}): {value}', '应为 "HH:MM" 格式的时间（{range}）：{value}'),
    (
        'must be "YYYY-MM-DD", "YYYY-MM-DD/YYYY-MM-DD" or {"from": ..., "to": ...}',
        '应为 "YYYY-MM-DD"、"YYYY-MM-DD/YYYY-MM-DD" 或 {"from": ..., "to": ...}',
    ),
    ("ends ({last}) before it starts ({first})", "结束日期（{last}）早于开始日期（{first}）"),
    (
        "holiday ends ({last}) before it starts ({first})",
        "节假日的结束日期（{last}）早于开始日期（{first}）",
    ),
    ('must be a date "YYYY-MM-DD": {value}', '应为 "YYYY-MM-DD" 格式的日期：{value}'),
    # -- extensions --
    ("{field}: must differ from the extension number", "{field}：不能与分机号码相同"),
    (
        "{field}: an all-digit secret needs at least {count} digits",
        "{field}：纯数字密码至少需要 {count} 位",
    ),
    (
        "give a new name, secret, recording, voicemail or voicemail_pin",
        "请提供要修改的名称、密码、录音、语音信箱或语音信箱密码",
    ),
    # -- queues, agents, ring groups, conferences, IVRs --
    (
        '{field}: expected an array of {"extension": "1001", "penalty": 0}',
        '{field}：应为形如 {"extension": "1001", "penalty": 0} 的数组',
    ),
    (
        '{field}: each member is {"extension": "1001", "penalty": 0}',
        '{field}：每个成员的格式应为 {"extension": "1001", "penalty": 0}',
    ),
    ("{field}: there is no queue to log in to", "{field}：没有可签入的队列"),
    ("{field}: name at least one queue", "{field}：请至少指定一个队列"),
    (
        "agent {number} is a static member of queue {queue}; "
        "remove him from the queue's members instead",
        "坐席 {number} 是队列 {queue} 的固定成员；请改为在该队列的成员中移除",
    ),
    ("agent {number} is not logged in to any queue", "坐席 {number} 未签入任何队列"),
    (
        "{field}: must differ from pin, or every member is a moderator",
        "{field}：必须与入会密码不同，否则每个成员都是主持人",
    ),
    (
        '{field}: expected an object like {"1": "queue:600", "*": "repeat"}',
        '{field}：应为形如 {"1": "queue:600", "*": "repeat"} 的对象',
    ),
    ("{field}: {key} is not a key; one of {keys}", "{field}：{key} 不是有效按键，应为 {keys} 之一"),
    ("{field}: required (the name of the menu's prompt)", "{field}：必填（菜单提示音的名称）"),
    # -- inbound routes, trunks --
    (
        "{field}: expected the called number (digits, optional leading +) or * for any",
        "{field}：应为被叫号码（数字，可带前导 +），或用 * 表示任意号码",
    ),
    ("{field}: a route for {did} exists", "{field}：号码 {did} 的呼入路由已存在"),
    ("{field}: expected an IP address", "{field}：应为 IP 地址"),
    (
        "{field}: {value} is not an IP address (a trunk is a static IP peer, no DNS names)",
        "{field}：{value} 不是 IP 地址（中继的对端是固定 IP，不支持域名）",
    ),
    ("{field}: {address} cannot be a peer", "{field}：{address} 不能作为对端地址"),
    (
        "{field}: {address} is already the peer of trunk {name}; "
        "calls are told apart by their source address",
        "{field}：{address} 已是中继 {name} 的对端；系统按来源地址区分各中继的呼叫",
    ),
    # -- prompts and uploaded audio (services/prompts.py, media/convert.py) --
    ("no prompt {id} in {lang}", "提示音 {id} 没有{lang}版本"),
    ("no prompt {id}", "提示音 {id} 不存在"),
    (
        "prompt {id} has no upload for {lang} (its other uploads stay; "
        "delete without a language to remove them all)",
        "提示音 {id} 没有{lang}的上传文件（其他语言的上传文件不受影响；不指定语言即可全部删除）",
    ),
    (
        "prompt {id} is a system prompt: system prompts are read-only",
        "提示音 {id} 是系统提示音：系统提示音不可删除",
    ),
    (
        "prompt {id} is in use: {users}; with no system prompt to fall back to, "
        "it would be silent in {langs}",
        "提示音 {id} 正在使用中：{users}；删除后没有系统提示音可替代，{langs}将没有声音",
    ),
    ("{field}: no prompt {name} (upload it first)", "{field}：提示音 {name} 不存在（请先上传）"),
    ("empty: the file has no bytes", "文件为空：没有任何内容"),
    ("empty: the WAV file has no audio", "文件为空：WAV 文件中没有音频"),
    (
        "not a WAV file (it does not start with a RIFF/WAVE header)",
        "不是 WAV 文件（开头没有 RIFF/WAVE 文件头）",
    ),
    ("not a WAV file (no fmt chunk describing the audio)", "不是有效的 WAV 文件（缺少音频格式块）"),
    ("not a WAV file (its fmt chunk is too short)", "不是有效的 WAV 文件（音频格式块过短）"),
    (
        "not a WAV file (its extensible fmt chunk is too short)",
        "不是有效的 WAV 文件（扩展音频格式块过短）",
    ),
    ("truncated WAV file: the file ends inside its header", "WAV 文件不完整：文件在文件头处截断"),
    (
        "truncated WAV file: the audio data is cut short ({present} bytes of {declared} present)",
        "WAV 文件不完整：音频数据被截断（应有 {declared} 字节，实有 {present} 字节）",
    ),
    (
        "truncated WAV file: no audio data (no data chunk)",
        "WAV 文件不完整：没有音频数据（缺少数据块）",
    ),
    ("too long: {seconds} s, at most {limit} s", "时长过长：{seconds} 秒，最长 {limit} 秒"),
    ("a greeting of at most {limit} s, please", "问候语最长 {limit} 秒"),
    ("voicemail {box} has no greeting of its own", "语音信箱 {box} 没有自己的问候语"),
    (
        "unsupported WAV encoding: extensible sub-format {guid} (use " + _USE_ENCODINGS + ")",
        "不支持的 WAV 编码：扩展子格式 {guid}（请使用 " + _USE_ENCODINGS_ZH + "）",
    ),
    (
        "unsupported WAV encoding: format {tag} ({name}); use " + _USE_ENCODINGS,
        "不支持的 WAV 编码：格式 {tag}（{name}）；请使用 " + _USE_ENCODINGS_ZH,
    ),
    (
        "unsupported WAV encoding: format {tag}; use " + _USE_ENCODINGS,
        "不支持的 WAV 编码：格式 {tag}；请使用 " + _USE_ENCODINGS_ZH,
    ),
    (
        "unsupported WAV encoding: {bits}-bit {encoding} (use {allowed}-bit)",
        "不支持的 WAV 编码：{bits} 位{encoding}（请使用 {allowed} 位）",
    ),
    (
        "unsupported: {count} channels (1 to {limit})",
        "不支持：{count} 个声道（应为 1 到 {limit} 个）",
    ),
    (
        "unsupported sample rate: {rate} Hz ({low} to {high} Hz)",
        "不支持的采样率：{rate} Hz（应为 {low} 到 {high} Hz）",
    ),
    # -- recordings, voicemail, history, CDR --
    ("{field}: expected a path relative to its directory", "{field}：应为相对于其所在目录的路径"),
    (
        "{node}: audio file outside its directory, not served",
        "{node}：音频文件不在其目录内，拒绝提供",
    ),
    ("{node}: audio file missing", "{node}：音频文件缺失"),
    ("audio file missing", "音频文件缺失"),
    ("{node}: file cannot be deleted ({error})", "{node}：无法删除文件（{error}）"),
    ("{field}: expected seconds >= 0", "{field}：应为不小于 0 的秒数"),
    ("voicemail message {box}/{id} not found", "语音留言 {box}/{id} 不存在"),
    ("{field}: at most {count} recordings", "{field}：最多 {count} 条录音"),
    (
        "{count} recordings match; narrow the search to at most {limit} for one archive",
        "共有 {count} 条录音符合条件，一个压缩包最多 {limit} 条，请缩小搜索范围",
    ),
    ("{field}: before start", "{field}：早于开始时间"),
    ("{field}: must lie between start and end", "{field}：必须在开始时间和结束时间之间"),
    (
        "{field}: set exactly when the disposition is ANSWERED",
        "{field}：当且仅当通话已接听时才应填写",
    ),
    ("{field}: must be 0 for a call not answered", "{field}：未接听的通话应为 0"),
    ("{field}: expected a mapping", "{field}：应为键值对象"),
    ("{field}: more than {size} bytes of JSON", "{field}：JSON 超过 {size} 字节"),
    ("{field}: not JSON ({error})", "{field}：无法转换为 JSON（{error}）"),
    ("{field}: expected a CdrEntry", "{field}：应为 CdrEntry 对象"),
    ("{field}: leg ids must be unique within the call", "{field}：同一通话中的通话段 ID 不能重复"),
    ("{field}: only for an unsatisfied survey", "{field}：仅用于不满意的评价"),
    (
        "{field}: call_id {value} is not the call's {call}",
        "{field}：call_id {value} 与本通话的 {call} 不一致",
    ),
    (
        "{field}: expected an ISO 8601 time such as 2024-05-01T08:00:00Z "
        "(write a '+' offset as %2B)",
        "{field}：应为 ISO 8601 时间，例如 2024-05-01T08:00:00Z（时区偏移中的 '+' 请写作 %2B）",
    ),
    ("{field}: add a UTC offset, e.g. 'Z'", "{field}：请加上 UTC 时区偏移，例如 'Z'"),
    (
        "{field}: expected a non-negative integer of at most {count} digits",
        "{field}：应为不超过 {count} 位的非负整数",
    ),
    # -- reports --
    ("{field}: {value} is not an IANA zone name", "{field}：{value} 不是 IANA 时区名称"),
    (
        "{field}: unknown zone {value} (e.g. Asia/Shanghai)",
        "{field}：未知时区 {value}（例如 Asia/Shanghai）",
    ),
    ("{field}: required, a date YYYY-MM-DD", "{field}：必填，格式为 YYYY-MM-DD 的日期"),
    ("{field}: expected a date YYYY-MM-DD", "{field}：应为 YYYY-MM-DD 格式的日期"),
    ("{field}: expected a date", "{field}：应为日期"),
    ("{field}: expected a year from {low} to {high}", "{field}：年份应在 {low} 到 {high} 之间"),
    ("{field}: expected a list of numbers", "{field}：应为号码列表"),
    ("{field}: expected at least one number", "{field}：至少需要一个号码"),
    ("{field}: at most {count} numbers", "{field}：最多 {count} 个号码"),
    (
        "{field}: {value} is not a number of {low} to {high} digits",
        "{field}：{value} 不是 {low} 到 {high} 位数字的号码",
    ),
    (
        "{field}: {days} days by {period}; at most {limit} (use a longer period)",
        "{field}：按{period}统计时跨度为 {days} 天，最多 {limit} 天（请选用更长的统计周期）",
    ),
    (
        "{field}: {buckets} buckets x {keys} keys is more than {limit} rows; "
        "use a longer period, a shorter range or the {kind} filter",
        "{field}：{buckets} 个时间段 × {keys} 个对象超过了 {limit} 行；"
        "请选用更长的统计周期、更短的时间范围，或按{kind}筛选",
    ),
    ("{field}: expected a ReportRequest", "{field}：应为 ReportRequest 对象"),
    (
        "{field}: {count} records; at most {limit} per export (narrow from and to)",
        "{field}：共 {count} 条记录，每次最多导出 {limit} 条（请缩小起止时间范围）",
    ),
    # -- backup and restore (services/backup.py) --
    (
        "backup: the database has no schema version ({error})",
        "备份：数据库没有结构版本号（{error}）",
    ),
    ("backup: the database has no schema version", "备份：数据库没有结构版本号"),
    ("backup: its configuration is inconsistent ({error})", "备份：其中的配置不一致（{error}）"),
    ("backup: larger than {size} MiB", "备份：文件超过 {size} MiB"),
    (
        "backup: not a zip file (choose a file made by Backup)",
        "备份：不是 ZIP 文件（请选择由“备份”功能生成的文件）",
    ),
    ("backup: too many files", "备份：文件数量过多"),
    ("backup: unpacks to more than the device keeps", "备份：解压后超出设备可保存的大小"),
    (
        "backup: no manifest.json (not a CooCenter backup)",
        "备份：缺少 manifest.json（不是 CooCenter 备份）",
    ),
    ("backup: unreadable manifest ({error})", "备份：无法读取清单文件（{error}）"),
    ("backup: not a CooCenter configuration backup", "备份：不是 CooCenter 配置备份"),
    ("backup: format {value} is not supported", "备份：不支持格式 {value}"),
    ("backup: the manifest lists no configuration database", "备份：清单中没有配置数据库"),
    ("backup: its files differ from the manifest's list", "备份：其中的文件与清单不符"),
    ("backup: {name} is damaged ({error})", "备份：{name} 已损坏（{error}）"),
    (
        "backup: {name} does not match its checksum (altered?)",
        "备份：{name} 与校验和不符（可能被改动过）",
    ),
    ("backup: unexpected file {name}", "备份：包含多余的文件 {name}"),
    ("backup: the configuration database is damaged", "备份：配置数据库已损坏"),
    ("backup: not a configuration database ({error})", "备份：不是配置数据库（{error}）"),
    (
        "backup: made by a newer firmware (schema {schema}, this one knows {known}); "
        "update this device first",
        "备份：由较新的固件生成（结构版本 {schema}，本机仅支持到 {known}）；请先升级本设备",
    ),
    ("backup: cannot be brought up to date ({error})", "备份：无法升级到当前版本（{error}）"),
    ("backup: tables missing: {tables}", "备份：缺少数据表：{tables}"),
    # -- the browser softphone (issue 7) --
    ("{field}: 1 to 32 characters", "{field}：应为 1 到 32 个字符"),
    ("{field}: {number} cannot be dialled from here", "{field}：无法从这里拨打 {number}"),
    (
        "extension {number} is in use in another browser",
        "分机 {number} 正在另一个浏览器中使用",
    ),
    (
        "the softphone needs a console session (log in in the browser)",
        "网页电话需要控制台会话（请在浏览器中登录）",
    ),
    (
        "you have no extension: ask the administrator for one",
        "您没有分机：请联系管理员分配",
    ),
    # -- live agent calls and supervisor monitoring (issue 7, services/calls.py) --
    ("call control not running", "呼叫控制未运行"),
    ("agent {number} has no call in progress", "坐席 {number} 当前没有通话"),
    (
        "agent {number} is on a call of queue {queue}, not one of your queues",
        "坐席 {number} 正在接听队列 {queue} 的来电，该队列不是您负责的队列",
    ),
    (
        "user {username} is linked to no extension: monitoring rings your own extension",
        "用户 {username} 未关联分机：监听时系统会呼叫您自己的分机",
    ),
    ("extension {number} cannot monitor its own call", "分机 {number} 不能监听自己的通话"),
    ("extension {number} is on a customer call itself", "分机 {number} 自己正在与客户通话"),
    (
        "extension {number} is not registered: no phone to ring",
        "分机 {number} 未注册：没有可呼叫的话机",
    ),
    ("extension {number} cannot be rung now", "分机 {number} 当前无法呼叫"),
    (
        "extension {number} is linked to no user who may monitor",
        "分机 {number} 未关联有监听权限的用户",
    ),
    ("role {role} may not monitor calls", "{role}无权监听通话"),
    # -- the agent's call controls (issue 7, services/calls.py) --
    (
        "agent {number} is not you: an agent controls his own calls",
        "坐席 {number} 不是您本人：坐席只能操作自己的通话",
    ),
    (
        "agent {number} is on an internal call: it cannot be held, transferred or muted",
        "坐席 {number} 正在进行内部呼叫：内部呼叫不能保持、转移或静音",
    ),
    (
        "to: expected the digits of an extension or a queue number",
        "目标号码：应为分机号或队列号（数字）",
    ),
    ("{number} is a party of the call already", "{number} 已在本通话中"),
    (
        "{number} is a {kind}: a call is transferred to an extension or a queue",
        "{number} 是{kind}：通话只能转移到分机或队列",
    ),
    ("{number} is a {kind}: one consults an extension", "{number} 是{kind}：咨询只能呼叫分机"),
    ("{number} is no extension or queue of this system", "{number} 不是本系统的分机或队列"),
    ("extension {number} is on a customer call", "分机 {number} 正在与客户通话"),
    ("agent {number} has no consultation in progress", "坐席 {number} 当前没有进行中的咨询"),
    (
        "the extension agent {number} consults has not answered yet",
        "坐席 {number} 咨询的分机尚未接听",
    ),
    (
        "agent {number} is in a consultation: complete or cancel it first",
        "坐席 {number} 正在咨询：请先完成转移或取消咨询",
    ),
    (
        "agent {number} is in a three-way call: leave it (complete) or drop the third party "
        "(cancel) first",
        "坐席 {number} 正在三方通话：请先退出（完成转移）或挂断第三方（取消）",
    ),
    ("the call of agent {number} is being transferred", "坐席 {number} 的通话正在转移中"),
    # -- general shapes, last: they also match messages the templates above translate --
    ("{field}: expected {first} or {second}", "{field}：应为 {first} 或 {second}"),
    ("{field}: at most {count}", "{field}：最多 {count} 个"),
    ("{node} is in use: {users}", "{node} 正在使用中：{users}"),
    ("{usage}: no {target} exists", "{usage}：指向的 {target} 不存在"),
    ("{kind} {key} exists", "{kind} {key} 已存在"),
    ("{kind} {key} not found", "{kind} {key} 不存在"),
    ("no {kind} {value}", "{kind} {value} 不存在"),
    *((reason, text) for reason, text in HTTP_REASONS.items()),
)

# --- matching ----------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([a-z_]+[0-9]*)\}")
_CHINESE_PLACEHOLDER = re.compile(r"\{([a-z_]+[0-9]*)(\|raw)?\}")
_FIELD_PREFIX = re.compile(r"([A-Za-z_][\w.\[\]]*): (.+)", re.DOTALL)


def _type_of(name: str) -> str:
    return name.rstrip("0123456789")


def _translate_field(path: str) -> str:
    """'time_condition.hours[0].from' -> '时间条件.营业时间[0].起始时间'; unknown parts stay."""
    return re.sub(r"[A-Za-z_]+", lambda m: FIELD_NAMES.get(m.group(), m.group()), path)


def _translate_node(label: str) -> str:
    """'queue 600' -> '队列 600', 'ring group 700' -> '振铃组 700', 'survey' -> '满意度调查'."""
    for kind in _KINDS_LONGEST_FIRST:
        if label == kind:
            return KIND_NAMES[kind]
        if label.startswith(kind + " "):
            return f"{KIND_NAMES[kind]} {label[len(kind) + 1 :]}"
    return label


def _translate_usage(usage: str) -> str:
    """'queue 600 overflow' -> '队列 600 的溢出目的地',
    'ivr main key 1' -> '语音导航 main 的按键 1',
    'member of ring group 700' -> '振铃组 700 的成员'."""
    if usage.startswith("member of "):
        return f"{_translate_node(usage[len('member of ') :])} 的成员"
    for kind in _KINDS_LONGEST_FIRST:
        if usage.startswith(kind + " "):
            target, _, why = usage[len(kind) + 1 :].partition(" ")
            node = f"{KIND_NAMES[kind]} {target}"
            if not why:
                return node
            if why.startswith("key "):
                return f"{node} 的按键 {why[len('key ') :]}"
            return f"{node} 的{FIELD_NAMES.get(why, why)}"
    return usage


def _lookup(table: Mapping[str, str]) -> Callable[[str], str]:
    return lambda value: table.get(value, value)


def _each(translate: Callable[[str], str], separator: str, joiner: str) -> Callable[[str], str]:
    return lambda value: joiner.join(translate(part) for part in value.split(separator))


_KINDS_LONGEST_FIRST = sorted(KIND_NAMES, key=len, reverse=True)

# type -> how a captured part is translated (the other types are values, kept as they are)
_CONVERTERS: dict[str, Callable[[str], str]] = {
    "field": _translate_field,
    "kind": _lookup(KIND_NAMES),
    "node": _translate_node,
    "nodes": _each(_translate_node, " -> ", " → "),
    "usage": _translate_usage,
    "users": _each(_translate_usage, ", ", "、"),
    "role": _lookup(ROLE_NAMES),
    "period": _lookup(PERIOD_NAMES),
    "encoding": _lookup(ENCODING_NAMES),
    "json_type": _lookup(JSON_TYPE_NAMES),
    "lang": _lookup(LANGUAGE_NAMES),
    "langs": _each(_lookup(LANGUAGE_NAMES), ", ", "、"),
}

# type -> the regex of its part (default: any text, as short as the rest of the template lets)
_PATTERNS: dict[str, str] = {
    "json_type": "|".join(re.escape(phrase) for phrase in JSON_TYPE_NAMES),
    # object kinds and labels never hold a colon: "keys: hangup" is a field and a kind
    **dict.fromkeys(
        ("kind", "node", "nodes", "usage", "users", "role", "period", "lang", "langs", "encoding"),
        "[^:]+?",
    ),
    # numbers and counts: one word, so that "{low} to {high} digits" does not swallow text
    **dict.fromkeys(
        "low high count size limit seconds days buckets rate bits number".split(), r"\S+"
    ),
}


@dataclass(frozen=True)
class _Template:
    english: str
    chinese: str
    pattern: re.Pattern[str]


def _compile(english: str, chinese: str) -> _Template:
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for match in _PLACEHOLDER.finditer(english):
        parts.append(re.escape(english[position : match.start()]))
        name = match.group(1)
        if name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>{_PATTERNS.get(_type_of(name), '.+?')})")
        position = match.end()
    parts.append(re.escape(english[position:]))
    return _Template(english, chinese, re.compile("".join(parts), re.DOTALL))


_TEMPLATES: tuple[_Template, ...] = tuple(_compile(en, zh) for en, zh in CATALOG)


def _fill(template: _Template, captured: dict[str, str]) -> str:
    translated = {
        name: _CONVERTERS[_type_of(name)](value) if _type_of(name) in _CONVERTERS else value
        for name, value in captured.items()
    }

    def substitute(match: re.Match[str]) -> str:
        name, raw = match.group(1), match.group(2)
        return captured[name] if raw else translated[name]

    return _CHINESE_PLACEHOLDER.sub(substitute, template.chinese)


def _to_chinese(message: str, *, field_prefix: bool = True) -> str | None:
    """The Chinese of `message`, or None when no template covers it."""
    for template in _TEMPLATES:
        match = template.pattern.fullmatch(message)
        if match is not None:
            return _fill(template, match.groupdict())
    # "<field>: <a message of its own>", e.g. a time condition's path before its problem.
    # One level only: "a: a: a: ..." must not cost a pass over the catalog per colon.
    prefixed = _FIELD_PREFIX.fullmatch(message) if field_prefix else None
    if prefixed is not None:
        detail = _to_chinese(prefixed.group(2), field_prefix=False)
        if detail is not None:
            return f"{_translate_field(prefixed.group(1))}：{detail}"
    return None


# --- public API --------------------------------------------------------------------------------


def normalize_language(tag: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh-Hans', 'zh-hans-cn' ... -> 'zh-CN'; 'en', 'en-US' -> 'en'; else None.

    Traditional-Chinese tags (zh-TW, zh-Hant) also get 'zh-CN': simplified Chinese reads better
    to them than English, and there is no third catalog."""
    if not isinstance(tag, str):
        return None
    primary = tag.strip().lower().replace("_", "-").partition("-")[0]
    if primary == "zh":
        return ZH_CN
    if primary == "en":
        return EN
    return None


def request_language(accept_language: str | None, user_language: str | None) -> str:
    """The language of a response: the user's saved language, else the best of the request's
    Accept-Language (q-values honoured, RFC 9110 section 12.5.4), else zh-CN."""
    saved = normalize_language(user_language)
    if saved is not None:
        return saved
    best, best_quality = None, 0.0
    for item in (accept_language or "").split(","):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:
                    quality = 0.0
        language = normalize_language(tag)
        # q=0 means "not acceptable"; on a tie the first listed wins.
        if language is not None and quality > best_quality:
            best, best_quality = language, quality
    return best or DEFAULT_LANGUAGE


def localize(message: str, language: str) -> str:
    """`message` (English, as the code writes it) in `language`; English when `language` is
    not Chinese or when no template covers the message."""
    if normalize_language(language) != ZH_CN or not isinstance(message, str):
        return message
    if len(message) > MAX_MESSAGE_LEN:
        return message
    translated = _to_chinese(message)
    return message if translated is None else translated


def localize_error_body(body: Mapping[str, Any], language: str) -> dict[str, Any]:
    """A copy of an error body (`{"code", "message", "field"?}`, or the whole
    `{"error": {...}}`) whose `message` is in `language`; nothing else changes."""
    inner = body.get("error")
    if isinstance(inner, Mapping):
        return {**body, "error": localize_error_body(inner, language)}
    localized = dict(body)
    message = localized.get("message")
    if isinstance(message, str):
        localized["message"] = localize(message, language)
    return localized
