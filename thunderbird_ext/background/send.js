/* Mailwarden for Thunderbird — the send hook.
 *
 * compose.onBeforeSend gathers the mail (recipients, subject, body, attachment names and the content
 * of the attachments the companion reads), asks the local companion for a verdict over native
 * messaging and:
 *   pass  -> the mail goes
 *   warn  -> a window shows each finding; the sender goes back to edit, adds the approver in Cc
 *            and sends, or sends with a written justification
 *   block -> a window explains; the only way on is back to edit
 * A mail that goes carries the X-Mailwarden header the companion gave for that choice, with the key
 * of this send; every outcome is reported to the companion under that key. When the companion
 * cannot answer in time, the fail mode decides (settings.js) and the outcome is kept until the
 * companion is reachable again.
 *
 * The hook never throws and never waits on the companion longer than the time limit: Thunderbird
 * has no time limit of its own, and a listener that throws leaves the send hanging.
 */

import { ccWithApprovers, composeDetails, recipientList } from "./compose.js";
import { errorText } from "./decisions.js";
import { uncheckedStamp, withHeader } from "./header.js";
import { DEFAULTS } from "./settings.js";
import { CHOICE } from "./vocabulary.js";

/** Why the check did not run, in words the window can translate: "missing" (no companion
 *  installed), "timeout" (it did not answer in time) or "error" (anything else). */
export function reasonKind(reason) {
  if (/No such native application|not installed|cannot be started/i.test(reason)) {
    return "missing";
  }
  return /did not answer within/.test(reason) ? "timeout" : "error";
}

function send(details, stamp, extra = {}) {
  return { details: { ...extra, customHeaders: withHeader(details.customHeaders, stamp) } };
}

const CANCEL = Object.freeze({ cancel: true });

export class SendGuard {
  /**
   * host: HostClient; reporter: DecisionReporter; prompts: {ask(view)}; compose: messenger.compose;
   * loadSettings: () => Promise<{settings}>; chinese: () => bool; newKey: () => string.
   */
  constructor({ host, reporter, prompts, compose, loadSettings, chinese, newKey }) {
    Object.assign(this, { host, reporter, prompts, compose, loadSettings, chinese, newKey });
  }

  /** The listener of compose.onBeforeSend. */
  async onBeforeSend(tab, details) {
    let settings = DEFAULTS;
    const key = this.newKey();
    try {
      settings = (await this.loadSettings()).settings;
      return await this.check(tab, details, settings, key);
    } catch (e) {
      // A bug in this extension: the send must neither hang nor vanish.
      console.error("Mailwarden: pre-send check failed", e);
      try {
        return await this.unchecked(details, null, settings, `internal error: ${errorText(e)}`, key);
      } catch {
        return settings.failMode === "open" ? {} : CANCEL;
      }
    }
  }

  async check(tab, details, settings, key) {
    const deadline = Date.now() + settings.timeoutMs;
    const left = () => Math.max(100, deadline - Date.now());
    let payload = null;
    let verdict;
    try {
      const hello = await this.host.hello(left());
      payload = await composeDetails(this.compose, tab, details, hello.attachments || {}, Math.max(200, settings.timeoutMs / 2));
      verdict = await this.host.request({ type: "check", key, details: payload }, left());
    } catch (e) {
      // The time left may be less than the limit (reading attachments used some): name the limit.
      const reason = e && e.timedOut
        ? `the Mailwarden companion did not answer within the ${settings.timeoutMs} ms time limit`
        : errorText(e);
      return this.unchecked(details, payload, settings, reason, key);
    }
    if (verdict.type !== "verdict") {
      return this.unchecked(details, payload, settings, `${verdict.title || "error"}: ${verdict.message || ""}`, key);
    }
    this.reporter.flush().catch(() => {});
    const decided = (choice, extra = {}) => this.reporter.report({ check_id: verdict.id, key, choice, ...extra }, payload);
    if (verdict.verdict === "pass") {
      decided(CHOICE.SENT);
      return send(details, verdict.stamps[CHOICE.SENT]);
    }
    const view = {
      kind: verdict.verdict === "block" ? "block" : "warn",
      subject: payload.subject,
      policy_version: verdict.policy_version,
      findings: verdict.findings || [],
      findings_total: verdict.findings_total || (verdict.findings || []).length,
      truncated: Boolean(verdict.truncated),
      approvers: (verdict.approvers || []).filter((a) => typeof a === "string" && a),
      labels: verdict.labels || {},
      chinese: this.chinese(),
    };
    let answer;
    try {
      answer = await this.prompts.ask(view);
    } catch (e) {
      // No window, no way to show the findings: the mail is held (it stays in the compose window).
      const error = `the warning window could not open: ${errorText(e)}`;
      decided(view.kind === "block" ? CHOICE.BLOCKED : CHOICE.EDITED, { error });
      return CANCEL;
    }
    if (view.kind === "block") {
      decided(CHOICE.BLOCKED);
      return CANCEL;
    }
    if (answer.choice === "approver" && view.approvers.length) {
      decided(CHOICE.ADDED_APPROVER);
      return send(details, verdict.stamps[CHOICE.ADDED_APPROVER], { cc: ccWithApprovers(details, view.approvers) });
    }
    const justification = (answer.justification || "").trim();
    if (answer.choice === "justify" && justification) {
      decided(CHOICE.JUSTIFIED, { justification: justification.slice(0, 4000) });
      return send(details, verdict.stamps[CHOICE.JUSTIFIED]);
    }
    decided(CHOICE.EDITED);
    return CANCEL;
  }

  /** The check could not run: follow the fail mode, and keep the outcome for the companion. */
  async unchecked(details, payload, settings, reason, key) {
    let choice;
    if (settings.failMode === "open") {
      choice = CHOICE.UNCHECKED_SENT;
    } else if (settings.failMode === "closed") {
      choice = CHOICE.UNCHECKED_CANCELLED;
    } else {
      let answer;
      try {
        const subject = payload ? payload.subject : details.subject || "";
        const seconds = Math.round(settings.timeoutMs / 1000);
        answer = await this.prompts.ask({
          kind: "unchecked",
          reason,
          reasonKind: reasonKind(reason),
          seconds,
          subject,
          chinese: this.chinese(),
        });
      } catch (e) {
        reason = `${reason}; the question window could not open: ${errorText(e)}`;
        answer = { choice: "edit" };
      }
      choice = answer.choice === "send" ? CHOICE.UNCHECKED_SENT : CHOICE.UNCHECKED_CANCELLED;
    }
    const summary = {
      subject: (payload ? payload.subject : details.subject) || "",
      to: payload ? payload.to : recipientList(details.to),
      cc: payload ? payload.cc : recipientList(details.cc),
      bcc: payload ? payload.bcc : recipientList(details.bcc),
    };
    // Kept, and sent with the next answer from the companion (it is not reachable now).
    await this.reporter.keep({ check_id: null, key, choice, error: `check did not run: ${reason}`, details: summary });
    console.warn(`Mailwarden: check did not run (${reason}); fail mode ${settings.failMode}: ${choice}`);
    return choice === CHOICE.UNCHECKED_SENT ? send(details, uncheckedStamp(key)) : CANCEL;
  }
}
