"""Every string the tray shows, in English and Simplified Chinese, switchable at runtime.

One Python catalogue, like companion/i18n.py's: `tr(key, **values)` is the only way a window gets
text, and `translator.changed` tells every open window to set its texts again. Mnemonics follow
each language's habit: "&Appeal…" in English, "申诉(&A)…" in Chinese.
tests/test_ui_i18n.py proves every key has both languages and every visible string goes through it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from companion.policy.model import TIER_LABELS
from ui.qtcompat import emit

LANGS = ("en", "zh")

CATALOG: dict[str, tuple[str, str]] = {
    # the tray
    "state.ok": ("Mailwarden: protected and in sync", "Mailwarden：已保护，已同步"),
    "state.attention": ("Mailwarden: {n} new flag(s) to look at", "Mailwarden：有 {n} 条新标记待查看"),
    "state.offline": (
        "Mailwarden: collector unreachable, {n} summary(ies) queued",
        "Mailwarden：无法连接汇总服务器，{n} 份汇总排队中",
    ),
    "state.stopped": ("Mailwarden: the agent is stopped", "Mailwarden：后台代理已停止"),
    "menu.flags": ("My &flags", "我的标记(&F)"),
    "menu.appeals": ("&Appeals", "申诉(&A)"),
    "menu.transparency": ("&What leaves this computer", "哪些数据会离开本机(&W)"),
    "menu.settings": ("&Settings", "设置(&S)"),
    "menu.about": ("A&bout", "关于(&B)"),
    "menu.start": ("Start the &agent", "启动后台代理(&G)"),
    "menu.quit": ("&Quit tray (the agent keeps running)", "退出托盘（后台代理继续运行）(&Q)"),
    "notify.high_risk.title": ("High-risk mail received", "收到高风险邮件"),
    "notify.high_risk.text": (
        "{subject} — from {counterpart}: {explanation}",
        "{subject} — 来自 {counterpart}：{explanation}",
    ),
    "notify.appeal.title": ("Appeal decided", "申诉已有结果"),
    "notify.appeal.text": (
        'Your appeal on "{subject}" was {status}. {comment}',
        "您对“{subject}”的申诉结果：{status}。{comment}",
    ),
    "notices.title": ("Mailwarden notifications", "Mailwarden 通知"),
    "notices.close": ("&Close", "关闭(&C)"),
    # common
    "close": ("&Close", "关闭(&C)"),
    "refresh": ("&Refresh", "刷新(&R)"),
    "loading": ("Loading…", "正在加载…"),
    "agent.not_running": (
        "The agent is not running. It starts with the tray, or from the tray menu (Start the agent).",
        "后台代理未运行。它会随托盘启动，也可在托盘菜单中选择“启动后台代理”。",
    ),
    "agent.error": ("The agent did not answer: {message}", "后台代理没有响应：{message}"),
    "none": ("—", "—"),
    # flags
    "flags.title": ("My flags — Mailwarden", "我的标记 — Mailwarden"),
    "flags.intro": (
        "What was flagged on your own mail. Select a line to see why.",
        "您自己的邮件中被标记的内容。选择一行查看原因。",
    ),
    "flags.filter": ("F&ilter:", "筛选(&I)："),
    "flags.filter.placeholder": ("subject, counterpart, rule…", "主题、往来方、规则…"),
    "flags.col.date": ("Date", "日期"),
    "flags.col.direction": ("Sent/received", "发送/接收"),
    "flags.col.counterpart": ("Counterpart", "往来方"),
    "flags.col.subject": ("Subject", "主题"),
    "flags.col.tier": ("Tier", "级别"),
    "flags.col.rule": ("Rule", "规则"),
    "flags.count": ("{n} flagged message(s)", "共 {n} 封被标记的邮件"),
    "flags.appeal": ("&Appeal this flag…", "对此标记申诉(&A)…"),
    "flags.excerpt": ("Message e&xcerpt:", "邮件摘录(&X)："),
    "flags.field": ("Fi&eld:", "字段(&E)："),
    "flags.why": ("Why it was flagged:", "标记原因："),
    "flags.none_selected": (
        "Select a flag to see the matches and the rule's explanation.",
        "请选择一条标记，查看匹配内容和规则说明。",
    ),
    "flags.quoted": ("in quoted text (did not count towards the verdict)", "位于引用内容中（不计入结论）"),
    "flags.not_quoted": ("in your own text", "位于正文中"),
    "flags.at_send": ("What you did at send time:", "发送时您的选择："),
    "flags.no_decision": ("no pre-send decision was recorded for this mail", "没有记录此邮件的发送前决定"),
    "flags.received_no_decision": (
        "received mail: nothing to decide at send time",
        "收到的邮件：发送时无需决定",
    ),
    "flags.appeals": ("Appeals on this mail:", "对此邮件的申诉："),
    "field.body": ("body", "正文"),
    "field.subject": ("subject", "主题"),
    "field.attachment": ("attachment {name}", "附件 {name}"),
    "direction.sent": ("sent", "已发送"),
    "direction.received": ("received", "已接收"),
    **{f"tier.{tier}": (labels["en"], labels["zh"]) for tier, labels in TIER_LABELS.items()},  # the policy's
    "choice.sent": ("sent", "已发送"),
    "choice.edited": ("went back to edit", "返回修改"),
    "choice.added_approver": ("sent with the approver in Cc", "抄送审批人后发送"),
    "choice.justified": ("sent with a justification", "填写理由后发送"),
    "choice.blocked": ("blocked", "已拦截"),
    "choice.unchecked_sent": ("sent without a check", "未经检查即发送"),
    "choice.unchecked_cancelled": ("not sent (no check)", "未发送（未能检查）"),
    "decision.line": ("{at}: {choice}", "{at}：{choice}"),
    "decision.justification": ("justification: {text}", "理由：{text}"),
    # appeal dialog
    "appeal.title": ("Appeal a flag — Mailwarden", "对标记申诉 — Mailwarden"),
    "appeal.intro": (
        "You think this flag is wrong? Say why. Your appeal is stored at once on this computer "
        "and sent to the reviewer when the collector can be reached.",
        "您认为这条标记有误？请说明原因。申诉会立即保存在本机，并在能连接汇总服务器时发送给审核人。",
    ),
    "appeal.message": ("Mail: {subject}", "邮件：{subject}"),
    "appeal.rule": ("R&ule:", "规则(&U)："),
    "appeal.all_rules": ("the whole flag", "整条标记"),
    "appeal.reason": ("&Reason (required):", "原因（必填）(&R)："),
    "appeal.reason.placeholder": ("e.g. the price was approved by my manager", "例如：价格已获经理批准"),
    "appeal.comment": ("&Comment (optional):", "备注（选填）(&C)："),
    "appeal.submit": ("&File the appeal", "提交申诉(&F)"),
    "appeal.cancel": ("Cancel", "取消"),
    "appeal.required": ("A reason is required.", "必须填写原因。"),
    "appeal.saving": ("Saving…", "正在保存…"),
    # appeals list
    "appeals.title": ("Appeals — Mailwarden", "申诉 — Mailwarden"),
    "appeals.intro": ("Your appeals and what the reviewer decided.", "您的申诉及审核结果。"),
    "appeals.col.filed": ("Filed", "提交时间"),
    "appeals.col.subject": ("Subject", "主题"),
    "appeals.col.rule": ("Rule", "规则"),
    "appeals.col.reason": ("Reason", "原因"),
    "appeals.col.status": ("Status", "状态"),
    "appeals.col.reviewer": ("Reviewer's comment", "审核意见"),
    "appeals.count": ("{n} appeal(s)", "共 {n} 条申诉"),
    "appeal.status.pending": ("pending", "待发送"),
    "appeal.status.queued": ("pending", "待发送"),
    "appeal.status.sent": ("sent to the collector", "已提交至汇总服务器"),
    "appeal.status.upheld": ("upheld", "申诉成立"),
    "appeal.status.rejected": ("rejected", "申诉驳回"),
    # transparency
    "tx.title": ("What leaves this computer — Mailwarden", "哪些数据会离开本机 — Mailwarden"),
    "tx.intro": (
        "Only what is listed here is sent to your company's collector: signed summaries and your "
        "appeals. For each flag a summary keeps only the matched phrase and a few words around it; "
        "names, addresses, account, ID and phone numbers are masked, and the rest of the mail, its "
        "subject and its addresses stay on this computer. The raw view shows the exact bytes that are "
        "(or were) sent.",
        "只有这里列出的内容会发送到公司的汇总服务器：带签名的汇总和您的申诉。"
        "每条标记只上传命中短语及其前后几个词，人名、地址、账号、证件号和电话等均已遮盖；"
        "邮件的其余内容、主题和邮箱地址都留在本机。“原始数据”显示实际发送（或已发送）的字节。",
    ),
    "tx.col.id": ("#", "#"),
    "tx.col.kind": ("Kind", "类型"),
    "tx.col.status": ("Status", "状态"),
    "tx.col.seq": ("Chain position", "链序号"),
    "tx.col.created": ("Queued", "排队时间"),
    "tx.col.acked": ("Acknowledged", "确认时间"),
    "tx.kind.summary": ("summary", "汇总"),
    "tx.kind.appeal": ("appeal", "申诉"),
    "tx.status.queued": ("queued", "排队中"),
    "tx.status.acked": ("uploaded and acknowledged", "已上传并确认"),
    "tx.status.failed": ("refused by the collector", "被汇总服务器拒绝"),
    "tx.tab.pretty": ("&Payload", "内容(&P)"),
    "tx.tab.raw": ("&Raw bytes", "原始数据(&R)"),
    "tx.signature": ("Signature: {value}", "签名：{value}"),
    "tx.chain": ("Chain position: {seq}; previous hash: {prev}", "链序号：{seq}；前一项哈希：{prev}"),
    "tx.digest": ("{bytes} bytes, SHA-256 {sha}", "{bytes} 字节，SHA-256 {sha}"),
    "tx.error": ("Last delivery error: {error}", "上次发送错误：{error}"),
    "tx.count": ("{n} item(s)", "共 {n} 项"),
    "tx.none_selected": ("Select an item to see exactly what it contains.", "请选择一项，查看其确切内容。"),
    # settings
    "settings.title": ("Settings — Mailwarden", "设置 — Mailwarden"),
    "settings.collector": ("Collector address:", "汇总服务器地址："),
    "settings.enrolment": ("Enrolment:", "注册状态："),
    "settings.enrolled": (
        "enrolled on {at} (device {device}, {department})",
        "已于 {at} 注册（设备 {device}，{department}）",
    ),
    "settings.not_enrolled": (
        "not enrolled (ask IT to run: mailwarden enroll)",
        "未注册（请 IT 运行 mailwarden enroll）",
    ),
    "settings.policy": ("Policy in force:", "当前策略："),
    "settings.policy.default": ("{version} (built-in default)", "{version}（内置默认策略）"),
    "settings.policy.installed": ("{version} (from your company)", "{version}（公司下发）"),
    "settings.sync": ("Last upload:", "上次上传："),
    "settings.queued": ("{n} item(s) waiting to upload", "{n} 项等待上传"),
    "settings.language": ("&Language:", "语言(&L)："),
    "settings.lang.system": ("Follow the system", "跟随系统"),
    "settings.lang.en": ("English", "English（英语）"),
    "settings.lang.zh": ("简体中文 (Simplified Chinese)", "简体中文"),
    "settings.monitoring": (
        "Mail checking is always on and cannot be switched off here.",
        "邮件检查始终开启，无法在此关闭。",
    ),
    # about
    "about.title": ("About Mailwarden", "关于 Mailwarden"),
    "about.text": (
        "Mailwarden {version}: checks your mail against your company's policy and shows you "
        "what was flagged. Your mail stays on this computer; only signed summaries leave it, with "
        "each flagged phrase and a few masked words around it.",
        "Mailwarden {version}：按公司策略检查您的邮件，并向您展示被标记的内容。"
        "您的邮件留在本机；离开本机的只有签名的汇总，其中每条标记仅含命中短语及其前后几个已遮盖的词。",
    ),
}


class Translator(QObject):
    """The language in force; `changed` is emitted when it is switched."""

    changed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        from companion.i18n import system_language

        self.lang = system_language()

    def set_language(self, lang: str) -> None:
        """`lang` is "en", "zh", or "" (follow the system locale)."""
        if not lang:
            from companion.i18n import system_language

            lang = system_language()
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}")
        if lang != self.lang:
            self.lang = lang
            emit(self.changed, lang)


_translator: Translator | None = None


def translator() -> Translator:
    global _translator
    if _translator is None:
        _translator = Translator()
    return _translator


def tr(key: str, **values: object) -> str:
    text = CATALOG[key][LANGS.index(translator().lang)]
    return text.format(**values) if values else text


def tr_or(prefix: str, value: str) -> str:
    """The translation of a value from the agent (a tier, a status, a choice), or the value itself."""
    key = f"{prefix}.{value}"
    return tr(key) if key in CATALOG else value


def explanation(expl: dict[str, str] | None) -> str:
    """A rule's explanation in the language in force (the policy carries both)."""
    expl = expl or {}
    return expl.get(translator().lang) or expl.get("en") or ""
