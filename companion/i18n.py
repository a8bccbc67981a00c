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
    "demo.collector": {
        "en": "4. Enrolling with the collector and uploading (signed, PII-masked)",
        "zh": "4. 向汇总服务器注册并上传（已签名、已脱敏）",
    },
    "demo.enrolled": {"en": "enrolled as {device} with {url}", "zh": "已注册为 {device}，汇总服务器 {url}"},
    "demo.appeal": {"en": "one appeal filed: «{subject}»", "zh": "已提交一条申诉：«{subject}»"},
    "demo.uploaded": {
        "en": "uploaded, signed: summaries {summaries}, appeals {appeals} (accepted {accepted}, failed {failed})",
        "zh": "已签名上传：摘要 {summaries} 份，申诉 {appeals} 条（接收 {accepted}，失败 {failed}）",
    },
    "demo.no_collector": {
        "en": "4. The collector's part: `mailwarden-collector demo` (as `make demo` does) starts a demo\n"
        "   collector and runs this demo against it; `mailwarden demo --collector URL --token TOKEN`\n"
        "   enrols with one you run.",
        "zh": "4. 汇总服务器部分：`mailwarden-collector demo`（即 `make demo`）会启动演示汇总服务器，\n"
        "   并让本演示向其注册；`mailwarden demo --collector 地址 --token 令牌` 向您运行的汇总服务器注册。",
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
