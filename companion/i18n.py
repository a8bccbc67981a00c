"""Simplified Chinese and English for everything a person reads, following the system locale.

MAILWARDEN_LANG=zh|en overrides the locale. The catalogue is small and lives here so that the CLI,
the agent and the pre-send windows say the same words.
"""

from __future__ import annotations

import locale
import os
import sys

LANGS = ("en", "zh")

CATALOG: dict[str, dict[str, str]] = {
    "verdict.pass": {"en": "PASS", "zh": "通过"},
    "verdict.warn": {"en": "WARN — needs approval", "zh": "警告 — 需审批"},
    "verdict.block": {"en": "BLOCK — forbidden", "zh": "拦截 — 绝对禁止"},
    "verdict.unchecked": {"en": "NOT CHECKED", "zh": "未检查"},
    "choice.sent": {"en": "sent", "zh": "已发送"},
    "choice.edited": {"en": "went back to edit", "zh": "返回修改"},
    "choice.added_approver": {"en": "sent with the approver in Cc", "zh": "抄送审批人后发送"},
    "choice.justified": {"en": "sent with a justification", "zh": "填写理由后发送"},
    "choice.blocked": {"en": "blocked", "zh": "已拦截"},
    "choice.unchecked_sent": {"en": "sent without a check", "zh": "未经检查即发送"},
    "choice.unchecked_cancelled": {"en": "not sent (no check)", "zh": "未发送（未能检查）"},
    "justification": {"en": "justification", "zh": "理由"},
    "tier.allowed": {"en": "allowed", "zh": "可承诺"},
    "tier.info": {"en": "info", "zh": "记录"},
    "tier.approval": {"en": "needs approval", "zh": "需审批"},
    "tier.forbidden": {"en": "forbidden", "zh": "绝对禁止"},
    "quoted": {"en": "in quoted text, does not count", "zh": "位于引用内容中，不计入结论"},
    "error": {"en": "error", "zh": "错误"},
    "approver": {"en": "approver", "zh": "审批人"},
    "policy": {"en": "policy", "zh": "策略"},
    "no_findings": {"en": "nothing flagged", "zh": "未发现风险"},
    "scan.totals": {
        "en": "{messages} new messages read, {skipped} already seen, {flagged} flagged, {errors} errors",
        "zh": "新读取 {messages} 封邮件，已处理过 {skipped} 封，标记 {flagged} 封，错误 {errors} 个",
    },
    "stores.none": {
        "en": "No mail store found. Add paths to config.toml (stores = [...]).",
        "zh": "未找到邮箱存储。请在 config.toml 中添加路径（stores = [...]）。",
    },
    "stores.readable": {"en": "readable", "zh": "可读取"},
    "stores.unreadable": {"en": "UNREADABLE", "zh": "无法读取"},
    "agent.stopped": {"en": "The agent is not running", "zh": "后台代理未运行"},
    "agent.running": {
        "en": "Agent {version} running, policy {policy}",
        "zh": "后台代理 {version} 运行中，策略 {policy}",
    },
    "agent.totals": {
        "en": "{messages} messages, {flagged} flagged, {errors} errors, {queued} waiting to upload",
        "zh": "邮件 {messages} 封，标记 {flagged} 封，错误 {errors} 个，待上传 {queued} 项",
    },
    "agent.scan": {"en": "scan: {state}, last finished {last}", "zh": "扫描：{state}，上次完成于 {last}"},
    "flags.none": {"en": "No flagged mail.", "zh": "没有被标记的邮件。"},
    "direction.sent": {"en": "sent", "zh": "已发送"},
    "direction.received": {"en": "received", "zh": "已接收"},
    "demo.scan": {"en": "1. Scanning the demo mailbox", "zh": "1. 扫描演示邮箱"},
    "demo.flags": {"en": "2. What was flagged in the mailbox", "zh": "2. 邮箱中被标记的邮件"},
    "demo.check": {"en": "3. Checking the outgoing sample mails", "zh": "3. 检查待发送的示例邮件"},
    "demo.home": {
        "en": "Demo data directory (your own data is untouched): {home}",
        "zh": "演示数据目录（不会触碰您自己的数据）：{home}",
    },
    "error.empty": {"en": "{source} is empty", "zh": "{source} 是空的"},
    "error.not_mail": {
        "en": "{source} is not an e-mail message (it has no header block with From:, To: or Subject:). "
        "To judge plain text, use --text.",
        "zh": "{source} 不是电子邮件（没有 From:、To:、Subject: 等邮件头）。如要检查纯文本，请加 --text。",
    },
    "error.not_text": {
        "en": "{source} is not text (the data looks binary)",
        "zh": "{source} 不是文本（内容看起来是二进制数据）",
    },
    "error.outlook_contact": {
        "en": "{source} is an Outlook contact ({message_class}), not an e-mail message",
        "zh": "{source} 是 Outlook 联系人（{message_class}），不是电子邮件",
    },
    "error.outlook_distlist": {
        "en": "{source} is an Outlook distribution list ({message_class}), not an e-mail message",
        "zh": "{source} 是 Outlook 通讯组列表（{message_class}），不是电子邮件",
    },
    "error.outlook_note": {
        "en": "{source} is an Outlook sticky note ({message_class}), not an e-mail message",
        "zh": "{source} 是 Outlook 便笺（{message_class}），不是电子邮件",
    },
    "error.outlook_appointment": {
        "en": "{source} is an Outlook appointment ({message_class}), not an e-mail message",
        "zh": "{source} 是 Outlook 约会（{message_class}），不是电子邮件",
    },
    "error.outlook_post": {
        "en": "{source} is an Outlook post ({message_class}), not an e-mail message",
        "zh": "{source} 是 Outlook 帖子（{message_class}），不是电子邮件",
    },
    "error.outlook_task": {
        "en": "{source} is an Outlook task ({message_class}), not an e-mail message",
        "zh": "{source} 是 Outlook 任务（{message_class}），不是电子邮件",
    },
    "error.outlook_journal": {
        "en": "{source} is an Outlook journal entry ({message_class}), not an e-mail message",
        "zh": "{source} 是 Outlook 日记条目（{message_class}），不是电子邮件",
    },
    "error.outlook_item": {
        "en": "{source} is an Outlook item of another kind ({message_class}), not an e-mail message",
        "zh": "{source} 是其他类型的 Outlook 项目（{message_class}），不是电子邮件",
    },
    "policy.ok": {
        "en": "{file}: valid policy {version} ({rules} rules, {phrases} phrases)",
        "zh": "{file}：策略有效，版本 {version}（{rules} 条规则，{phrases} 个短语）",
    },
}


def system_language() -> str:
    forced = os.environ.get("MAILWARDEN_LANG", "").strip().lower()
    if forced[:2] in LANGS:
        return forced[:2]
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    if sys.platform == "win32":  # Windows has no LANG: ask for the user's UI language
        try:
            import ctypes

            langid = ctypes.windll.kernel32.GetUserDefaultUILanguage()
            return "zh" if (langid & 0x3FF) == 0x04 else "en"
        except (AttributeError, OSError):
            pass
    name = locale.getlocale()[0] or ""
    return "zh" if name.lower().startswith(("zh", "chinese")) else "en"


def t(key: str, lang: str | None = None, **values: object) -> str:
    text = CATALOG[key][lang or system_language()]
    return text.format(**values) if values else text
