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
    # -- evidence (companion/evidence, docs/evidence.md) --
    "evidence.title": {"en": "Proof of a business mail", "zh": "业务邮件存证"},
    "evidence.verified": {"en": "VERIFIED", "zh": "核验通过"},
    "evidence.not_verified": {"en": "NOT VERIFIED", "zh": "核验未通过"},
    "evidence.proven": {"en": "What this proves", "zh": "可以证明"},
    "evidence.not_proven": {"en": "What this does not prove", "zh": "不能证明"},
    "evidence.checks": {"en": "Checks", "zh": "核验项目"},
    "evidence.fingerprint": {"en": "SHA-256 of the file", "zh": "文件 SHA-256 指纹"},
    "evidence.message_id": {"en": "Message-ID", "zh": "邮件 ID（Message-ID）"},
    "evidence.date": {"en": "Date (sender's claim)", "zh": "日期（发件方自称）"},
    "evidence.direction": {"en": "Direction", "zh": "方向"},
    "evidence.store": {"en": "Where it was", "zh": "存放位置"},
    "evidence.seen_at": {"en": "Recorded by the device at", "zh": "设备记录时间"},
    "evidence.device": {"en": "Device", "zh": "设备"},
    "evidence.written": {"en": "Proof bundle written: {path}", "zh": "存证包已写入：{path}"},
    "evidence.written_pdf": {"en": "Printable page: {path}", "zh": "可打印页面：{path}"},
    "evidence.written_eml": {
        "en": "Normalised copy of the Outlook item (verify against it): {path}",
        "zh": "Outlook 邮件的规范化副本（以此文件核验）：{path}",
    },
    "evidence.footer": {
        "en": "Made by Mailwarden {version} at {time} (UTC). Check it yourself, offline: "
        "mailwarden verify-proof {bundle} <the mail file>",
        "zh": "由 Mailwarden {version} 于 {time}（UTC）生成。可离线自行核验：mailwarden verify-proof {bundle} <邮件文件>",
    },
    "evidence.detail.stored": {"en": "byte for byte", "zh": "逐字节一致"},
    "evidence.detail.normalised": {"en": "the normalised content", "zh": "规范化内容一致"},
    "evidence.detail.differs": {"en": "the SHA-256 differs", "zh": "SHA-256 指纹不一致"},
    "evidence.detail.dkim.pass": {
        "en": "passed when recorded; not checked again on a file that differs",
        "zh": "记录时已通过；文件不一致，未再次核验",
    },
    "evidence.detail.dkim.unverified": {
        "en": "signing keys kept when recorded; not checked on a file that differs",
        "zh": "记录时已保存签名密钥；文件不一致，未核验",
    },
    "evidence.detail.dkim.none": {"en": "the mail is not DKIM-signed", "zh": "该邮件没有 DKIM 签名"},
    "evidence.detail.dkim.temperror": {
        "en": "the key could not be fetched when it was recorded (no network)",
        "zh": "记录时无法获取密钥（无网络）",
    },
    "evidence.detail.dkim.fail": {"en": "the signature did not verify", "zh": "签名未通过核验"},
    "evidence.detail.dkim.permerror": {
        "en": "the signature or its key is malformed or missing",
        "zh": "签名或其密钥格式错误或缺失",
    },
    "evidence.status.ok": {"en": "verified", "zh": "已验证"},
    "evidence.status.failed": {"en": "FAILED", "zh": "失败"},
    "evidence.status.absent": {"en": "not in this bundle", "zh": "存证包中没有"},
    "evidence.check.content": {"en": "The file is the recorded message", "zh": "文件即所记录的邮件"},
    "evidence.check.chain": {"en": "The record is in the device's chain", "zh": "记录位于设备证据链中"},
    "evidence.check.period": {
        "en": "The record is under its period's Merkle root",
        "zh": "记录包含在所属周期的默克尔根中",
    },
    "evidence.check.device": {"en": "The period is signed by the device", "zh": "该周期由设备签名"},
    "evidence.check.log": {
        "en": "The period is in the collector's log (signed checkpoint)",
        "zh": "该周期已写入收集端日志（已签名检查点）",
    },
    "evidence.check.timestamp": {"en": "RFC 3161 trusted time-stamp", "zh": "RFC 3161 可信时间戳"},
    "evidence.check.dkim": {
        "en": "DKIM signature, with the key snapshot",
        "zh": "DKIM 签名（按密钥快照核验）",
    },
    "evidence.p.stored": {
        "en": "This file is, byte for byte, the message the device recorded.",
        "zh": "此文件与设备所记录的邮件逐字节完全一致。",
    },
    "evidence.p.normalised": {
        "en": "This file has the content the device recorded, as Mailwarden reads an Outlook item "
        "(headers, body text, attachment names and sizes).",
        "zh": "此文件的内容与设备所记录的一致（按 Mailwarden 读取 Outlook 邮件的方式：邮件头、正文文字、附件名称和大小）。",
    },
    "evidence.p.time": {
        "en": "This exact content existed no later than {time} (UTC), by the trusted time-stamp of {tsa}.",
        "zh": "此内容最迟于 {time}（UTC）已经存在，由 {tsa} 签发的可信时间戳证明。",
    },
    "evidence.p.chain": {
        "en": "It is record #{seq} of this device's append-only evidence chain, recorded at {seen_at} "
        "(UTC, the device's clock).",
        "zh": "它是该设备只增不改的证据链中的第 {seq} 条记录，记录于 {seen_at}（UTC，设备时钟）。",
    },
    "evidence.p.device": {
        "en": "Device {device} signed the period of its chain that holds it; it has not changed since.",
        "zh": "设备 {device} 签署了包含该记录的证据链周期；此后未被更改。",
    },
    "evidence.p.log": {
        "en": "The collector's log holds that period in a signed checkpoint ({origin}): rewriting the log "
        "later would show against any checkpoint kept.",
        "zh": "收集端日志的已签名检查点（{origin}）包含该周期：日后若改写日志，与任何保存的检查点比对即会暴露。",
    },
    "evidence.p.dkim": {
        "en": "DKIM: the mail was signed by the domain {domains}, checked against that domain's key as "
        "published on {fetched_at}.",
        "zh": "DKIM：该邮件由域名 {domains} 签名，已按该域名于 {fetched_at} 公布的密钥核验。",
    },
    "evidence.n.differs": {
        "en": "This file is NOT the recorded message: its fingerprint differs. Nothing is proven about it.",
        "zh": "此文件不是所记录的邮件：指纹不一致。对此文件无法证明任何内容。",
    },
    "evidence.n.failed": {
        "en": "Part of the proof does not hold ({checks}): do not rely on it.",
        "zh": "部分证明不成立（{checks}）：请勿依赖此存证。",
    },
    "evidence.n.no_time": {
        "en": "No trusted time-stamp: the time it was recorded ({seen_at}) is only the device's own clock.",
        "zh": "没有可信时间戳：记录时间（{seen_at}）仅来自设备自身的时钟。",
    },
    "evidence.n.no_chain": {
        "en": "The message is not in the device's evidence chain: the bundle fixes its fingerprint only.",
        "zh": "该邮件不在设备的证据链中：此存证包仅固定了它的指纹。",
    },
    "evidence.n.no_period": {
        "en": "Its record is not yet in a closed period: no summary has committed to it yet.",
        "zh": "其记录尚未进入已结束的周期：还没有任何摘要对它作出承诺。",
    },
    "evidence.n.no_device": {
        "en": "No device signature: the bundle does not show which device recorded it.",
        "zh": "没有设备签名：存证包无法表明是哪台设备记录的。",
    },
    "evidence.n.no_log": {
        "en": "Not anchored in the collector's log: whoever controls the device could have rebuilt its chain.",
        "zh": "未锚定到收集端日志：控制该设备的人可能重建其证据链。",
    },
    "evidence.n.author": {
        "en": "Who wrote the words: a mailbox can be used by someone other than its owner.",
        "zh": "邮件内容由谁撰写：邮箱可能被其所有者以外的人使用。",
    },
    "evidence.n.delivery": {
        "en": "That the mail was delivered or read, or when it was written or sent: the Date header is "
        "the sender's own claim.",
        "zh": "邮件是否已送达或被阅读，以及撰写或发送的时间：Date 邮件头只是发件方的自称。",
    },
    "evidence.n.before": {
        "en": "Anything before the device first recorded it ({seen_at}): an earlier change would not show.",
        "zh": "设备首次记录（{seen_at}）之前的任何情况：在此之前的改动无法被发现。",
    },
    "evidence.n.outlook": {
        "en": "For an Outlook item: its formatting and the contents of its attachments (Outlook keeps no "
        "original bytes).",
        "zh": "对于 Outlook 邮件：其格式以及附件的具体内容（Outlook 不保留原始字节）。",
    },
    "evidence.n.tsa_root": {
        "en": "The time-stamp's root certificate ({root}) came with the bundle: compare its SHA-256 "
        "fingerprint {sha256} with the one the authority publishes, or verify with --tsa-root.",
        "zh": "时间戳的根证书（{root}）随存证包提供：请将其 SHA-256 指纹 {sha256} 与该机构公布的指纹比对，"
        "或使用 --tsa-root 核验。",
    },
    "evidence.n.collector_key": {
        "en": "The collector's signing key came with the bundle: compare it with the company's published "
        "key, or verify with --collector-key.",
        "zh": "收集端的签名密钥随存证包提供：请与公司公布的密钥比对，或使用 --collector-key 核验。",
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
