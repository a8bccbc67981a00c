"""Simplified Chinese and English for every string the dashboard shows.

The language comes from `?lang=` (remembered in a cookie), else that cookie, else the browser's
Accept-Language (a zh* language preferred over the others → Chinese), else English.
"""

from __future__ import annotations

from companion.i18n import CATALOG as COMPANION_CATALOG

LANGS = ("en", "zh")
LANG_COOKIE = "mw_lang"

CATALOG: dict[str, dict[str, str]] = {
    "app.title": {"en": "Mailwarden compliance dashboard", "zh": "Mailwarden 合规看板"},
    "nav.trends": {"en": "Trends", "zh": "敏感词趋势报表"},
    "nav.events": {"en": "Flag events", "zh": "标记事件"},
    "nav.appeals": {"en": "Appeals", "zh": "申诉队列"},
    "nav.policy": {"en": "Policy", "zh": "策略编辑"},
    "nav.users": {"en": "Users", "zh": "用户"},
    "nav.tokens": {"en": "Enrolment tokens", "zh": "注册令牌"},
    "nav.devices": {"en": "Devices", "zh": "设备"},
    "nav.access_log": {"en": "Access log", "zh": "访问日志"},
    "nav.logout": {"en": "Log out", "zh": "退出登录"},
    "nav.signed_in": {"en": "Signed in as {user} ({role})", "zh": "当前用户 {user}（{role}）"},
    "nav.language": {"en": "Language", "zh": "语言"},
    "role.admin": {"en": "administrator", "zh": "管理员"},
    "role.compliance": {"en": "compliance", "zh": "合规专员"},
    "role.manager": {"en": "department manager", "zh": "部门经理"},
    "role.auditor": {"en": "auditor", "zh": "审计员"},
    "login.title": {"en": "Log in", "zh": "登录"},
    "login.username": {"en": "User name", "zh": "用户名"},
    "login.password": {"en": "Password", "zh": "密码"},
    "login.submit": {"en": "Log in", "zh": "登录"},
    "login.failed": {"en": "Wrong user name or password.", "zh": "用户名或密码错误。"},
    "login.throttled": {
        "en": "Too many failed logins. Try again in {minutes} minute(s).",
        "zh": "登录失败次数过多，请 {minutes} 分钟后再试。",
    },
    "login.logged_out": {"en": "You are logged out.", "zh": "您已退出登录。"},
    "error.forbidden": {"en": "Forbidden", "zh": "禁止访问"},
    "error.forbidden_text": {
        "en": "Your role or department does not allow this page.",
        "zh": "您的角色或部门无权访问此页面。",
    },
    "error.csrf": {
        "en": "The form expired or did not come from this dashboard; reload the page and try again.",
        "zh": "表单已失效或并非来自本看板，请刷新页面后重试。",
    },
    "error.not_found": {"en": "Not found", "zh": "未找到"},
    "error.bad_request_title": {"en": "Bad request", "zh": "请求无效"},
    "error.bad_request": {"en": "The request was not valid: {message}", "zh": "请求无效：{message}"},
    "error.not_found_text": {"en": "There is no such page or entry.", "zh": "没有这个页面或条目。"},
    "error.method_text": {
        "en": "This address does not take that kind of request.",
        "zh": "此地址不接受这种请求方式。",
    },
    "error.too_large": {
        "en": "The form is larger than {kib} KiB and was not read.",
        "zh": "表单超过 {kib} KiB，未被读取。",
    },
    "error.control_character": {
        "en": "The field “{field}” holds the control character {char}, which no text may hold.",
        "zh": "字段“{field}”含有控制字符 {char}，文本中不允许出现控制字符。",
    },
    "error.page": {
        "en": "The page number must be a whole number from 0 to {max}.",
        "zh": "页码必须是 0 到 {max} 之间的整数。",
    },
    "common.department": {"en": "Department", "zh": "部门"},
    "common.all_departments": {"en": "All departments", "zh": "全部部门"},
    "common.none": {"en": "(none)", "zh": "（无）"},
    "common.show": {"en": "Show", "zh": "显示"},
    "common.time": {"en": "Time (UTC)", "zh": "时间（UTC）"},
    "common.rule": {"en": "Rule", "zh": "规则"},
    "common.save": {"en": "Save", "zh": "保存"},
    "common.status": {"en": "Status", "zh": "状态"},
    "common.created": {"en": "Created", "zh": "创建时间"},
    "common.previous": {"en": "Previous page", "zh": "上一页"},
    "common.next": {"en": "Next page", "zh": "下一页"},
    "common.all": {"en": "All", "zh": "全部"},
    "common.revoke": {"en": "Revoke", "zh": "撤销"},
    "common.revoked": {"en": "revoked", "zh": "已撤销"},
    "common.active": {"en": "active", "zh": "有效"},
    "common.never": {"en": "never", "zh": "永不"},
    "trends.title": {"en": "Flag trends", "zh": "敏感词趋势报表"},
    "trends.by": {"en": "Grouped by", "zh": "分组维度"},
    "trends.period": {"en": "Period", "zh": "周期"},
    "trends.chart": {
        "en": "Flags per {period}, by {dimension}",
        "zh": "按{period}统计的标记数（按{dimension}）",
    },
    "trends.empty": {"en": "No flags in these periods.", "zh": "这些周期内没有标记。"},
    "trends.total": {"en": "Total", "zh": "合计"},
    "trends.other": {"en": "other", "zh": "其他"},
    "trends.week_of": {"en": "week of {day}", "zh": "{day} 当周"},
    "period.week": {"en": "week", "zh": "周"},
    "period.month": {"en": "month", "zh": "月"},
    "dimension.category": {"en": "category", "zh": "类别"},
    "dimension.rule": {"en": "rule", "zh": "规则"},
    "dimension.department": {"en": "department", "zh": "部门"},
    "rates.title": {
        "en": "False-flag rate by rule (learning from appeals)",
        "zh": "各规则误报率（来自申诉的反馈）",
    },
    "rates.flags": {"en": "Flags", "zh": "标记数"},
    "rates.appeals": {"en": "Appeals", "zh": "申诉数"},
    "rates.upheld": {"en": "Upheld", "zh": "申诉成立"},
    "rates.rate": {"en": "False-flag rate", "zh": "误报率"},
    "rates.none": {"en": "No flags yet.", "zh": "暂无标记。"},
    "events.title": {"en": "Flag events", "zh": "标记事件"},
    "events.none": {"en": "No flag events.", "zh": "没有标记事件。"},
    "events.tier": {"en": "Tier", "zh": "级别"},
    "events.category": {"en": "Category", "zh": "类别"},
    "events.direction": {"en": "Direction", "zh": "方向"},
    "events.counterpart": {"en": "Counterpart domain", "zh": "对方域名"},
    "events.snippet": {"en": "Snippet (masked)", "zh": "片段（已脱敏）"},
    "events.device": {"en": "Device", "zh": "设备"},
    "events.filter_rule": {"en": "Rule (empty = all)", "zh": "规则（留空表示全部）"},
    "events.manager_masked": {"en": "Snippets show only the matched phrase.", "zh": "片段仅显示命中的短语。"},
    "appeals.title": {"en": "Appeal queue", "zh": "申诉队列"},
    "appeals.none": {"en": "No appeals.", "zh": "没有申诉。"},
    "appeals.received": {"en": "Received", "zh": "收到时间"},
    "appeals.reason": {"en": "Reason", "zh": "申诉理由"},
    "appeals.comment": {"en": "Employee's comment", "zh": "员工备注"},
    "appeals.snippet": {"en": "Flagged snippet", "zh": "被标记的片段"},
    "appeals.decision": {"en": "Decision", "zh": "处理"},
    "appeals.reviewer_comment": {"en": "Reviewer's comment", "zh": "审核意见"},
    "appeals.uphold": {"en": "Uphold (flag was wrong)", "zh": "支持申诉（误报）"},
    "appeals.reject": {"en": "Reject (flag stands)", "zh": "驳回申诉（标记成立）"},
    "appeals.decided_by": {"en": "Decided by {reviewer} on {when}", "zh": "由 {reviewer} 于 {when} 处理"},
    "appeals.decided": {"en": "Appeal {id} decided: {status}.", "zh": "申诉 {id} 已处理：{status}。"},
    "appeals.learn": {"en": "Allow this phrase in the next policy version", "zh": "在下一版策略中允许此短语"},
    "appeals.phrase": {"en": "Allow-phrase", "zh": "允许短语"},
    "appeals.learned": {
        "en": "“{phrase}” will be an allow-phrase in the next policy version.",
        "zh": "“{phrase}”将作为允许短语加入下一版策略。",
    },
    "status.pending": {"en": "pending", "zh": "待处理"},
    "status.upheld": {"en": "upheld", "zh": "申诉成立"},
    "status.rejected": {"en": "rejected", "zh": "已驳回"},
    "policy.title": {"en": "Policy editor", "zh": "策略编辑"},
    "policy.in_force": {
        "en": "Version in force: {version} (published {when} UTC)",
        "zh": "当前生效版本：{version}（发布于 {when} UTC）",
    },
    "policy.none": {"en": "No policy has been published yet.", "zh": "尚未发布任何策略。"},
    "policy.file": {"en": "Policy file (TOML)", "zh": "策略文件（TOML）"},
    "policy.text": {"en": "…or edit the text", "zh": "……或直接编辑文本"},
    "policy.validate": {"en": "Validate and show changes", "zh": "校验并显示差异"},
    "policy.valid": {
        "en": "Valid policy {version}: {rules} rules, {allow} allow-phrase groups.",
        "zh": "策略有效，版本 {version}：{rules} 条规则，{allow} 组允许短语。",
    },
    "policy.invalid": {"en": "The policy is not valid:", "zh": "策略无效："},
    "policy.diff": {"en": "Changes against the version in force", "zh": "与当前生效版本的差异"},
    "policy.no_diff": {
        "en": "No changes against the version in force.",
        "zh": "与当前生效版本相比没有变化。",
    },
    "policy.publish": {"en": "Sign and publish", "zh": "签名并发布"},
    "policy.published": {
        "en": "Policy {version} was signed and published.",
        "zh": "策略 {version} 已签名并发布。",
    },
    "policy.pending": {
        "en": "Allow-phrases waiting for the next version (from upheld appeals)",
        "zh": "等待加入下一版本的允许短语（来自成立的申诉）",
    },
    "policy.prepare": {
        "en": "Put them into a draft of the next version",
        "zh": "生成包含这些短语的下一版本草稿",
    },
    "policy.not_utf8": {"en": "the file is not UTF-8 text", "zh": "文件不是 UTF-8 文本"},
    "users.title": {"en": "Users", "zh": "用户"},
    "users.username": {"en": "User name", "zh": "用户名"},
    "users.role": {"en": "Role", "zh": "角色"},
    "users.password": {"en": "Password (at least 8 characters)", "zh": "密码（至少 8 个字符）"},
    "users.create": {"en": "Create user", "zh": "新建用户"},
    "users.created": {"en": "User {name} created.", "zh": "已创建用户 {name}。"},
    "users.updated": {"en": "User {name} updated.", "zh": "已更新用户 {name}。"},
    "users.disabled": {"en": "disabled", "zh": "已停用"},
    "users.disable": {"en": "Disable", "zh": "停用"},
    "users.enable": {"en": "Enable", "zh": "启用"},
    "users.manager_needs_department": {
        "en": "A department manager needs a department.",
        "zh": "部门经理必须指定部门。",
    },
    "tokens.title": {"en": "Enrolment tokens", "zh": "注册令牌"},
    "tokens.expires": {"en": "Expires", "zh": "过期时间"},
    "tokens.expires_days": {
        "en": "Valid for (days, empty = never expires)",
        "zh": "有效期（天，留空表示永不过期）",
    },
    "tokens.create": {"en": "Create token", "zh": "新建令牌"},
    "tokens.new": {
        "en": "New token for {department}: copy it now, it is shown only once.",
        "zh": "{department} 的新令牌：请立即复制，它只显示这一次。",
    },
    "tokens.expired": {"en": "expired", "zh": "已过期"},
    "devices.title": {"en": "Devices", "zh": "设备"},
    "devices.host": {"en": "Host name", "zh": "主机名"},
    "devices.agent": {"en": "Agent version", "zh": "客户端版本"},
    "devices.enrolled": {"en": "Enrolled", "zh": "注册时间"},
    "devices.last_seen": {"en": "Last seen", "zh": "最后在线"},
    "devices.chain": {"en": "Summary chain", "zh": "摘要链状态"},
    "devices.last_seq": {"en": "Last seq", "zh": "最新序号"},
    "chain.ok": {"en": "intact", "zh": "完整"},
    "chain.gaps": {"en": "gaps", "zh": "有缺口"},
    "chain.tamper": {"en": "tamper alert", "zh": "篡改告警"},
    "log.title": {"en": "Access log", "zh": "访问日志"},
    "log.user": {"en": "User", "zh": "用户"},
    "log.action": {"en": "Action", "zh": "操作"},
    "log.target": {"en": "What", "zh": "对象"},
    "log.verify": {"en": "Verify the hash chain", "zh": "校验哈希链"},
    "log.ok": {
        "en": "Chain intact: {n} entries verified. Head hash: {head}",
        "zh": "哈希链完整：已校验 {n} 条记录。链头哈希：{head}",
    },
    "log.broken": {
        "en": "Chain BROKEN at entry {seq}: {reason}.",
        "zh": "哈希链在第 {seq} 条记录处断裂：{reason}。",
    },
    "log.reason.missing": {"en": "an entry is missing", "zh": "缺少记录"},
    "log.reason.prev_hash": {
        "en": "the link to the previous entry does not match",
        "zh": "与上一条记录的链接不符",
    },
    "log.reason.hash": {"en": "the entry was altered", "zh": "记录内容被修改"},
    "log.entries": {"en": "Entries", "zh": "日志记录"},
    "log.heads.title": {"en": "Signed day heads", "zh": "已签名的每日链头"},
    "log.heads.intro": {
        "en": "Each day's last entry, signed with the collector's audit key. Download them and keep them "
        "outside this server: a chain rewritten later no longer matches a head you kept "
        "(mailwarden-collector verify-access-log --heads FOLDER --audit-public-key KEY).",
        "zh": "每天最后一条记录，由汇总服务器的审计密钥签名。请下载并保存在本服务器之外："
        "日后被整体改写的哈希链将无法与您保存的链头相符"
        "（mailwarden-collector verify-access-log --heads 文件夹 --audit-public-key 公钥）。",
    },
    "log.heads.key": {"en": "Audit public key: {public_key}", "zh": "审计公钥：{public_key}"},
    "log.heads.day": {"en": "Day (UTC)", "zh": "日期（UTC）"},
    "log.heads.entry": {"en": "Last entry", "zh": "最后一条记录"},
    "log.heads.hash": {"en": "Hash", "zh": "哈希"},
    "log.heads.download": {"en": "Download", "zh": "下载"},
    "log.heads.download_all": {"en": "Download all signed heads", "zh": "下载全部已签名链头"},
    "log.heads.none": {
        "en": "No day is finished yet: a day's head is signed with the next day's first entry.",
        "zh": "还没有已结束的日期：每天的链头在次日第一条记录写入时签名。",
    },
    "log.heads.ok": {
        "en": "{n} signed day heads verify against the chain.",
        "zh": "{n} 个已签名的每日链头与哈希链相符。",
    },
    "log.heads.bad": {
        "en": "The signed head of {day} does not match: {reason}.",
        "zh": "{day} 的已签名链头不相符：{reason}。",
    },
    "log.heads.reason.bad_signature": {"en": "it is not signed by the audit key", "zh": "不是审计密钥的签名"},
    "log.heads.reason.other_collector": {
        "en": "it belongs to another collector",
        "zh": "属于另一台汇总服务器",
    },
    "log.heads.reason.rewritten": {
        "en": "the entry it signed was rewritten",
        "zh": "其签名的记录已被改写",
    },
    "log.heads.reason.missing": {"en": "the entry it signed is gone", "zh": "其签名的记录已不存在"},
    "action.login": {"en": "logged in", "zh": "登录"},
    "action.logout": {"en": "logged out", "zh": "退出登录"},
    "action.trends.view": {"en": "viewed trends", "zh": "查看趋势报表"},
    "action.events.view": {"en": "viewed flag events and snippets", "zh": "查看标记事件与片段"},
    "action.appeals.view": {"en": "viewed the appeal queue", "zh": "查看申诉队列"},
    "action.appeal.decide": {"en": "decided an appeal", "zh": "处理申诉"},
    "action.appeal.learn": {"en": "turned an appeal into an allow-phrase", "zh": "将申诉转为允许短语"},
    "action.policy.publish": {"en": "published a policy", "zh": "发布策略"},
    "action.user.create": {"en": "created a user", "zh": "新建用户"},
    "action.user.update": {"en": "changed a user", "zh": "修改用户"},
    "action.token.create": {"en": "created an enrolment token", "zh": "新建注册令牌"},
    "action.token.revoke": {"en": "revoked an enrolment token", "zh": "撤销注册令牌"},
    "action.device.revoke": {"en": "revoked a device", "zh": "撤销设备"},
    "action.access_log.view": {"en": "viewed the access log", "zh": "查看访问日志"},
    "action.access_log.verify": {"en": "verified the access log", "zh": "校验访问日志"},
    "action.access_log.heads": {"en": "downloaded signed day heads", "zh": "下载已签名的每日链头"},
    "action.denied": {"en": "was refused a page", "zh": "访问被拒绝"},
}

# Tier and direction names: the same words the workstation shows.
for _key in (
    "tier.allowed",
    "tier.info",
    "tier.approval",
    "tier.forbidden",
    "direction.sent",
    "direction.received",
):
    CATALOG[_key] = COMPANION_CATALOG[_key]


def translate(lang: str, key: str, **values: object) -> str:
    entry = CATALOG.get(key)
    if entry is None:
        # A value outside the catalogue (a tier or action a newer workstation sends) shows as itself.
        return key.partition(".")[2] or key
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def from_accept_language(header: str | None) -> str:
    """'zh-CN,zh;q=0.9,en;q=0.8' → zh; 'en-US,en;q=0.9,zh;q=0.5' → en (highest q wins)."""
    best, best_q = "en", -1.0
    for position, part in enumerate((header or "").split(",")):
        name, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if not name or q <= 0:
            continue
        score = q - position * 1e-6  # earlier wins among equals
        if score > best_q:
            best, best_q = ("zh" if name.lower().startswith("zh") else "en"), score
    return best


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for choice in (query, cookie):
        if choice in LANGS:
            return choice
    return from_accept_language(accept_language)
