/* Mailwarden for Thunderbird — reporting what the sender decided to the companion, which records it
 * (companion.presend.PresendSession.record).
 *
 * A decision the companion cannot take now (not reachable, or an answer that says `retryable`) is
 * kept in storage.local and sent again later, with the compose details that were checked so that a
 * new companion (which does not know the check) checks them again. Each decision carries the key of
 * its send: the companion records it once however often it arrives.
 */

import { HostError } from "./host.js";

export const UNREPORTED_KEY = "unreportedDecisions";
export const UNREPORTED_MAX = 200;
export const LATE_TEXT_MAX = 200000; // characters of each body (and of attachment text) kept with a late decision
export const LATE_TRIES_MAX = 20; // a late decision the companion could not record is sent this many times
export const DECISION_TIMEOUT_MS = 15000;

/** A key for one send: the X-Mailwarden header and the decision carry it. */
export function newKey() {
  return crypto.randomUUID();
}

export function errorText(e) {
  if (!e) {
    return "unknown error";
  }
  return String(e.message || e).slice(0, 500);
}

function capText(text, max) {
  return typeof text === "string" && text.length > max ? text.slice(0, max) : text || "";
}

/** What is kept with a checked decision that could not be reported at once: the compose details
 *  that were checked, without attachment bytes (those attachments are judged by name), bodies and
 *  attachment text capped: storage stays bounded. `cut` says whether anything was shortened. */
export function lateDetails(payload) {
  let textLeft = LATE_TEXT_MAX;
  const attachments = (payload.attachments || []).map((a) => {
    const kept = { name: a.name || "", content_type: a.content_type || "", size: a.size || 0, text: null };
    if (typeof a.text === "string" && a.text.length <= textLeft) {
      kept.text = a.text;
      textLeft -= a.text.length;
    }
    return kept;
  });
  const details = {
    ...payload,
    body: capText(payload.body, LATE_TEXT_MAX),
    html: capText(payload.html, LATE_TEXT_MAX),
    attachments,
  };
  const cut = details.body.length < (payload.body || "").length || details.html.length < (payload.html || "").length;
  return { details, cut };
}

/** The companion says the same decision may be recorded if sent again (its database was busy...);
 *  a refused choice or a missing justification never will be. */
export function worthRetrying(answer) {
  return Boolean(answer) && answer.type === "error" && answer.retryable === true;
}

export class DecisionReporter {
  /** `host`: a HostClient; `storage`: messenger.storage.local. */
  constructor(host, storage, { now = () => new Date(), timeoutMs = DECISION_TIMEOUT_MS } = {}) {
    this.host = host;
    this.storage = storage;
    this.now = now;
    this.timeoutMs = timeoutMs;
    // Every change to the kept decisions goes through this one chain: each update reads what the one
    // before it wrote (two failing windows, or a flush and a failing report, never overwrite each other).
    this.chain = Promise.resolve();
    this.flushing = false;
  }

  /** Apply `update(list)` to the kept decisions; it returns the new list, or null to leave it as is.
   *  Resolves with the list as it was read. */
  update(update) {
    const run = this.chain.then(async () => {
      const stored = await this.storage.get(UNREPORTED_KEY);
      const list = Array.isArray(stored[UNREPORTED_KEY]) ? stored[UNREPORTED_KEY] : [];
      const next = update(list);
      if (next) {
        await this.storage.set({ [UNREPORTED_KEY]: next.slice(-UNREPORTED_MAX) });
      }
      return list;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Keep a decision to send later (it needs a key: the one of its send). */
  async keep(decision) {
    try {
      const item = { ...decision, at: this.now().toISOString() };
      await this.update((list) => [...list, item]);
    } catch (e) {
      console.error("Mailwarden: a decision could not be kept for later", e);
    }
  }

  /** Tell the companion what happened; keep it for later when the companion cannot take it now.
   *  `payload` is the compose details that were checked: kept with the decision (see lateDetails).
   *  Resolves once the decision is recorded or kept. */
  report(decision, payload = null) {
    const keep = () => {
      if (!decision.check_id || !payload) {
        return this.keep(decision);
      }
      const { details, cut } = lateDetails(payload);
      const note = cut ? `body cut to ${LATE_TEXT_MAX} characters for the late report` : "";
      const error = [decision.error, note].filter(Boolean).join("; ");
      return this.keep({ ...decision, ...(error ? { error } : {}), details });
    };
    return this.host
      .request({ type: "decision", ...decision }, this.timeoutMs)
      .then((answer) => {
        if (answer.type === "recorded") {
          return undefined;
        }
        console.error("Mailwarden: decision refused:", answer.code, answer.message);
        return worthRetrying(answer) ? keep() : undefined;
      })
      .catch((e) => {
        console.warn("Mailwarden: decision kept for later:", errorText(e));
        return keep();
      });
  }

  /** Send the decisions kept while the companion was unreachable. Each stays in storage until the
   *  companion recorded it (or refused it for good). */
  async flush() {
    if (this.flushing) {
      return;
    }
    this.flushing = true;
    try {
      let list = [];
      await this.update((stored) => {
        // Decisions kept by an older version may have no key yet.
        list = stored.filter((d) => d && typeof d === "object").map((d) => (d.key ? d : { ...d, key: newKey() }));
        return list.length !== stored.length || list.some((d, i) => d !== stored[i]) ? list : null;
      });
      for (const item of list) {
        const { at, tries, ...message } = item;
        const note = `reported late (decided ${at})`;
        const error = [message.error, note].filter(Boolean).join("; ");
        let answer;
        try {
          answer = await this.host.request({ type: "decision", ...message, error }, this.timeoutMs);
        } catch (e) {
          if (e instanceof HostError) {
            console.warn("Mailwarden: late decisions kept for later:", errorText(e));
            break; // the companion is gone again: the rest stays kept
          }
          throw e;
        }
        if (answer.type !== "recorded") {
          console.error("Mailwarden: late decision refused:", answer.code, answer.message);
        }
        const again = worthRetrying(answer) && (tries || 0) + 1 < LATE_TRIES_MAX;
        await this.update((stored) =>
          again
            ? stored.map((d) => (d && d.key === item.key ? { ...d, tries: (tries || 0) + 1 } : d))
            : stored.filter((d) => !d || d.key !== item.key),
        );
      }
    } catch (e) {
      console.error("Mailwarden: late decisions not sent", e);
    } finally {
      this.flushing = false;
    }
  }
}
