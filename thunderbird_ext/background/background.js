/* Mailwarden for Thunderbird — the send hook.
 *
 * compose.onBeforeSend gathers the mail (recipients, subject, body, attachment names and the
 * content of the attachments the companion can read), asks the local companion for a verdict over
 * native messaging and:
 *   pass  -> the mail goes, with the header X-Mailwarden: policy <version>; pass
 *   warn  -> a window shows each finding; the sender goes back to edit, adds the approver in Cc
 *            and sends, or sends with a written justification
 *   block -> a window explains; the only way on is back to edit
 * Every outcome is reported to the companion, which records it (companion.presend.record_decision).
 * When the companion cannot answer in time, the fail mode decides (see settings.js) and the outcome
 * is kept in storage.local until the companion is reachable again.
 *
 * The listener never throws and never waits on the companion longer than the time limit: Thunderbird
 * has no time limit of its own, and a listener that throws leaves the send hanging.
 */
"use strict";

const MW_HOST_NAME = "mailwarden";
const MW_HEADER = "X-Mailwarden";
// Attachments the companion reads from their bytes (it detects the charset, and extracts Word,
// Excel, PDF, HTML and attached mail): sent as base64 up to MW_BYTES_ATTACHMENT_MAX.
const MW_BYTES_ATTACHMENT = /\.(txt|csv|tsv|log|md|html?|eml|docx|xlsx|pdf)$/i;
const MW_BYTES_ATTACHMENT_MAX = 10 * 1024 * 1024;
// ... and 40 MB in all per mail: as base64 that stays under the companion's 64 MiB message limit.
const MW_BYTES_TOTAL_MAX = 40 * 1024 * 1024;
// Other text files, read here as UTF-8 up to MW_TEXT_ATTACHMENT_MAX. Larger or other attachments
// (images, archives, ...) are checked by name only.
const MW_TEXT_ATTACHMENT = /\.(text|markdown|xml|json|ics|vcf|rtf|ini|cfg|yaml|yml)$/i;
const MW_TEXT_ATTACHMENT_MAX = 512 * 1024;
const MW_UNREPORTED_KEY = "unreportedDecisions";
const MW_UNREPORTED_MAX = 200;
const MW_LATE_TEXT_MAX = 200000; // characters of each body (and of attachment text) kept with a late decision
const MW_LATE_TRIES_MAX = 20; // a late decision the companion could not record is sent this many times
const MW_DECISION_TIMEOUT_MS = 15000;
const MW_PROMPT_MAX_MS = 60 * 60 * 1000; // a prompt left open for an hour counts as "edit"

const mwHost = new MwHostClient(MW_HOST_NAME);
const mwPrompts = new Map(); // token -> {view, windowId, finish}

// -- small helpers ---------------------------------------------------------------------------

function mwWithTimeout(promise, ms, message) {
  let timer;
  const limit = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new MwHostError(message)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function mwErrorText(e) {
  if (!e) {
    return "unknown error";
  }
  return String(e.message || e).slice(0, 500);
}

function mwHeaderValue(text) {
  // Header values stay printable ASCII on one line.
  return String(text).replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
}

function mwIsChinese() {
  try {
    return messenger.i18n.getUILanguage().toLowerCase().startsWith("zh");
  } catch (e) {
    return false;
  }
}

function mwRecipientList(value) {
  const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  // Strings are "Name <address>"; contacts and mailing lists picked from an address book come as
  // objects, which the companion cannot read: they are left out of the check.
  return list.filter((r) => typeof r === "string");
}

// -- the compose details the companion checks ------------------------------------------------

function mwBase64(file) {
  // A data: URL is the fast way to base64 in a page (no byte-by-byte string building).
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function mwAttachments(tab, budgetMs) {
  let listed = [];
  try {
    listed = await messenger.compose.listAttachments(tab.id);
  } catch (e) {
    console.warn("Mailwarden: attachments not listed", e);
    return [];
  }
  const out = listed.map((a) => ({ name: a.name || "", size: a.size || 0, content_type: "", text: null }));
  let bytesLeft = MW_BYTES_TOTAL_MAX;
  const reads = listed.map(async (a, i) => {
    const name = a.name || "";
    const bytes = MW_BYTES_ATTACHMENT.test(name) && a.size >= 0 && a.size <= Math.min(MW_BYTES_ATTACHMENT_MAX, bytesLeft);
    if (bytes) {
      bytesLeft -= a.size; // decided in order, before any await: the first attachments get the budget
    }
    const text = MW_TEXT_ATTACHMENT.test(name) && a.size >= 0 && a.size <= MW_TEXT_ATTACHMENT_MAX;
    if (!bytes && !text) {
      return;
    }
    try {
      const file = await messenger.compose.getAttachmentFile(a.id);
      const read = { content_type: file.type || "" };
      if (bytes && file.size <= MW_BYTES_ATTACHMENT_MAX) {
        read.data_base64 = await mwBase64(file);
      } else if (text && file.size <= MW_TEXT_ATTACHMENT_MAX) {
        read.text = await file.text();
      }
      out[i] = { ...out[i], ...read }; // whole, or not at all (see the snapshot below)
    } catch (e) {
      console.warn("Mailwarden: attachment not read", e);
    }
  });
  try {
    await mwWithTimeout(Promise.all(reads), budgetMs, "attachments too slow to read");
  } catch (e) {
    console.warn("Mailwarden: checking attachments by name only:", mwErrorText(e));
  }
  return out.map((a) => ({ ...a })); // a snapshot: late reads do not change what was sent
}

// Pasted images sit in the compose HTML as data: URLs, often megabytes of base64 the check has no
// use for (it reads text): they are cut before the HTML travels to the companion.
const MW_DATA_URL = /(\bsrc\s*=\s*)(["'])data:[^"']*\2/gi;

function mwWithoutDataUrls(html) {
  return html.replace(MW_DATA_URL, "$1$2data:,$2");
}

async function mwComposeDetails(tab, details, budgetMs) {
  const plain = Boolean(details.isPlainText);
  return {
    subject: details.subject || "",
    body: plain ? details.plainTextBody || "" : "",
    html: plain ? "" : mwWithoutDataUrls(details.body || ""),
    from: typeof details.from === "string" ? details.from : "",
    to: mwRecipientList(details.to),
    cc: mwRecipientList(details.cc),
    bcc: mwRecipientList(details.bcc),
    attachments: await mwAttachments(tab, budgetMs),
  };
}

// -- what goes back to Thunderbird -----------------------------------------------------------

function mwCustomHeaders(details, value) {
  const kept = (details.customHeaders || []).filter(
    (h) => h && typeof h.name === "string" && h.name.toLowerCase() !== MW_HEADER.toLowerCase()
  );
  return [...kept, { name: MW_HEADER, value: mwHeaderValue(value) }];
}

function mwSend(details, value, extra = {}) {
  return { details: { ...extra, customHeaders: mwCustomHeaders(details, value) } };
}

function mwWithApprovers(details, approvers) {
  const present = new Set();
  for (const field of ["to", "cc", "bcc"]) {
    for (const r of mwRecipientList(details[field])) {
      const match = /<([^>]+)>\s*$/.exec(r);
      present.add((match ? match[1] : r).trim().toLowerCase());
    }
  }
  const cc = Array.isArray(details.cc) ? [...details.cc] : details.cc ? [details.cc] : [];
  for (const address of approvers) {
    if (!present.has(address.toLowerCase())) {
      cc.push(address);
      present.add(address.toLowerCase());
    }
  }
  return cc;
}

// -- decisions -------------------------------------------------------------------------------

/** An id for a kept decision: it is removed from storage by this key once the companion recorded it. */
function mwNewKey() {
  try {
    return crypto.randomUUID();
  } catch (e) {
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  }
}

function mwCapText(text, max) {
  return typeof text === "string" && text.length > max ? text.slice(0, max) : text || "";
}

/** What is kept with a checked decision that could not be reported at once: the compose details
 *  that were checked, so that a new companion (which does not know the check) checks them again.
 *  Attachment bytes are left out (those attachments are judged by name), bodies and attachment
 *  text are capped: storage stays bounded. `cut` says whether anything was shortened. */
function mwLateDetails(payload) {
  let textLeft = MW_LATE_TEXT_MAX;
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
    body: mwCapText(payload.body, MW_LATE_TEXT_MAX),
    html: mwCapText(payload.html, MW_LATE_TEXT_MAX),
    attachments,
  };
  const cut = details.body.length < (payload.body || "").length || details.html.length < (payload.html || "").length;
  return { details, cut };
}

// Every change to the kept decisions goes through this one chain: each update reads what the one
// before it wrote (two failing windows, or a flush and a failing report, never overwrite each other).
let mwStorageChain = Promise.resolve();

/** Apply `update(list)` to the kept decisions; it returns the new list, or null to leave it as is.
 *  Resolves with the list as it was read. */
function mwUpdateUnreported(update) {
  const run = mwStorageChain.then(async () => {
    const stored = await messenger.storage.local.get(MW_UNREPORTED_KEY);
    const list = Array.isArray(stored[MW_UNREPORTED_KEY]) ? stored[MW_UNREPORTED_KEY] : [];
    const next = update(list);
    if (next) {
      await messenger.storage.local.set({ [MW_UNREPORTED_KEY]: next.slice(-MW_UNREPORTED_MAX) });
    }
    return list;
  });
  mwStorageChain = run.catch(() => {});
  return run;
}

async function mwQueueDecision(decision) {
  try {
    const item = { ...decision, key: decision.key || mwNewKey(), at: new Date().toISOString() };
    await mwUpdateUnreported((list) => [...list, item]);
  } catch (e) {
    console.error("Mailwarden: a decision could not be kept for later", e);
  }
}

/** An answer that says the decision may be recorded if sent again (the database was busy, ...);
 *  a refused choice or a missing justification never will be. */
function mwWorthRetrying(answer) {
  return answer.type === "error" && answer.title === "Decision not recorded";
}

/** Tell the companion what happened; keep it for later when the companion cannot take it now.
 *  `payload` is the compose details that were checked: kept with the decision (see mwLateDetails). */
function mwReport(decision, payload = null) {
  // One key per decision, sent every time it is sent: the companion records it once however often
  // it arrives (an answer lost on the way makes the extension send it again).
  decision = { ...decision, key: mwNewKey() };
  const keep = () => {
    if (!decision.check_id || !payload) {
      return mwQueueDecision(decision);
    }
    const { details, cut } = mwLateDetails(payload);
    const note = cut ? `body cut to ${MW_LATE_TEXT_MAX} characters for the late report` : "";
    const error = [decision.error, note].filter(Boolean).join("; ");
    return mwQueueDecision({ ...decision, ...(error ? { error } : {}), details });
  };
  mwHost
    .request({ type: "decision", ...decision }, MW_DECISION_TIMEOUT_MS)
    .then((answer) => {
      if (answer.type === "recorded") {
        return undefined;
      }
      console.error("Mailwarden: decision refused:", answer.title, answer.message);
      return mwWorthRetrying(answer) ? keep() : undefined;
    })
    .catch((e) => {
      console.warn("Mailwarden: decision kept for later:", mwErrorText(e));
      return keep();
    });
}

let mwFlushing = false;

/** Send the decisions kept while the companion was unreachable. Each stays in storage until the
 *  companion answered "recorded" for it (or refused it for good). */
async function mwFlushUnreported() {
  if (mwFlushing) {
    return;
  }
  mwFlushing = true;
  try {
    let list = [];
    await mwUpdateUnreported((stored) => {
      // Decisions kept by an older version have no key yet.
      list = stored.filter((d) => d && typeof d === "object").map((d) => (d.key ? d : { ...d, key: mwNewKey() }));
      return list.length !== stored.length || list.some((d, i) => d !== stored[i]) ? list : null;
    });
    for (const item of list) {
      const { key, at, tries, ...message } = item;
      const note = `reported late (decided ${at})`;
      const error = [message.error, note].filter(Boolean).join("; ");
      let answer;
      try {
        answer = await mwHost.request({ type: "decision", ...message, key, error }, MW_DECISION_TIMEOUT_MS);
      } catch (e) {
        console.warn("Mailwarden: late decisions kept for later:", mwErrorText(e));
        break; // the companion is gone again: the rest stays kept
      }
      if (answer.type !== "recorded") {
        console.error("Mailwarden: late decision refused:", answer.title, answer.message);
      }
      const again = mwWorthRetrying(answer) && (tries || 0) + 1 < MW_LATE_TRIES_MAX;
      await mwUpdateUnreported((stored) =>
        again
          ? stored.map((d) => (d && d.key === key ? { ...d, tries: (tries || 0) + 1 } : d))
          : stored.filter((d) => !d || d.key !== key)
      );
    }
  } catch (e) {
    console.error("Mailwarden: late decisions not sent", e);
  } finally {
    mwFlushing = false;
  }
}

// -- the prompt window -----------------------------------------------------------------------

/** Open the prompt window for `view` and resolve with the sender's answer ({choice, justification}).
 *  Closing the window answers {choice: "edit"}. Rejects only when the window cannot open. */
async function mwAsk(view) {
  const token = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  let finish;
  const answered = new Promise((resolve) => {
    finish = resolve;
  });
  const prompt = { view: { ...view, token }, windowId: null, done: false };
  prompt.finish = (answer) => {
    if (!prompt.done) {
      prompt.done = true;
      mwPrompts.delete(token);
      finish(answer);
    }
  };
  mwPrompts.set(token, prompt);
  try {
    const win = await messenger.windows.create({
      type: "popup",
      url: `popup/prompt.html?token=${encodeURIComponent(token)}`,
      width: 640,
      height: view.kind === "warn" ? 640 : 460,
      allowScriptsToClose: true,
    });
    prompt.windowId = win.id;
  } catch (e) {
    mwPrompts.delete(token);
    throw e;
  }
  const timer = setTimeout(() => prompt.finish({ choice: "edit", timedOut: true }), MW_PROMPT_MAX_MS);
  const answer = await answered;
  clearTimeout(timer);
  if (prompt.windowId !== null) {
    messenger.windows.remove(prompt.windowId).catch(() => {}); // already closed by the sender
  }
  return answer;
}

messenger.windows.onRemoved.addListener((windowId) => {
  for (const prompt of mwPrompts.values()) {
    if (prompt.windowId === windowId) {
      prompt.finish({ choice: "edit", closed: true });
    }
  }
});

messenger.runtime.onMessage.addListener((message) => {
  if (!message || typeof message !== "object") {
    return undefined;
  }
  if (message.type === "mailwarden-prompt-view") {
    const prompt = mwPrompts.get(message.token);
    return Promise.resolve(prompt ? prompt.view : null);
  }
  if (message.type === "mailwarden-prompt-answer") {
    const prompt = mwPrompts.get(message.token);
    if (prompt) {
      prompt.finish({ choice: String(message.choice || "edit"), justification: String(message.justification || "") });
    }
    return Promise.resolve(Boolean(prompt));
  }
  if (message.type === "mailwarden-status") {
    return mwStatus();
  }
  return undefined;
});

// -- the send hook ---------------------------------------------------------------------------

/** Why the check did not run, in words the window can translate: "missing" (no companion
 *  installed), "timeout" (it did not answer in time) or "error" (anything else). */
function mwReasonKind(reason) {
  if (/No such native application|not installed|cannot be started/i.test(reason)) {
    return "missing";
  }
  return /did not answer within/.test(reason) ? "timeout" : "error";
}

/** The check could not run: follow the fail mode, and have the outcome recorded. */
async function mwUnchecked(details, payload, settings, reason) {
  let choice;
  if (settings.failMode === "open") {
    choice = "unchecked_sent";
  } else if (settings.failMode === "closed") {
    choice = "unchecked_cancelled";
  } else {
    let answer;
    try {
      const subject = payload ? payload.subject : details.subject || "";
      const seconds = Math.round(settings.timeoutMs / 1000);
      answer = await mwAsk({ kind: "unchecked", reason, reasonKind: mwReasonKind(reason), seconds, subject });
    } catch (e) {
      reason = `${reason}; the question window could not open: ${mwErrorText(e)}`;
      answer = { choice: "edit" };
    }
    choice = answer.choice === "send" ? "unchecked_sent" : "unchecked_cancelled";
  }
  const summary = {
    subject: (payload ? payload.subject : details.subject) || "",
    to: payload ? payload.to : mwRecipientList(details.to),
    cc: payload ? payload.cc : mwRecipientList(details.cc),
    bcc: payload ? payload.bcc : mwRecipientList(details.bcc),
  };
  // Kept, and sent with the next answer from the companion (it is not reachable now).
  await mwQueueDecision({ check_id: null, choice, error: `check did not run: ${reason}`, details: summary });
  console.warn(`Mailwarden: check did not run (${reason}); fail mode ${settings.failMode}: ${choice}`);
  return choice === "unchecked_sent" ? mwSend(details, "unchecked") : { cancel: true };
}

async function mwCheck(tab, details, settings) {
  const deadline = Date.now() + settings.timeoutMs;
  let payload = null;
  let verdict;
  try {
    payload = await mwComposeDetails(tab, details, Math.max(200, settings.timeoutMs / 2));
    const left = Math.max(100, deadline - Date.now());
    verdict = await mwHost.request({ type: "check", details: payload }, left);
  } catch (e) {
    // The time left may be less than the limit (reading attachments used some): name the limit.
    const reason = e && e.timedOut
      ? `the Mailwarden companion did not answer within the ${settings.timeoutMs} ms time limit`
      : mwErrorText(e);
    return mwUnchecked(details, payload, settings, reason);
  }
  if (verdict.type !== "verdict") {
    return mwUnchecked(details, payload, settings, `${verdict.title || "error"}: ${verdict.message || ""}`);
  }
  mwFlushUnreported().catch(() => {});
  const policy = `policy ${verdict.policy_version}`;
  if (verdict.verdict === "pass") {
    mwReport({ check_id: verdict.id, choice: "sent" }, payload);
    return mwSend(details, `${policy}; pass`);
  }
  const view = {
    kind: verdict.verdict === "block" ? "block" : "warn",
    subject: payload.subject,
    policy_version: verdict.policy_version,
    findings: verdict.findings || [],
    findings_total: verdict.findings_total || (verdict.findings || []).length,
    truncated: Boolean(verdict.truncated),
    approvers: mwApprovers(verdict),
    chinese: mwIsChinese(),
  };
  let answer;
  try {
    answer = await mwAsk(view);
  } catch (e) {
    // No window, no way to show the findings: the mail is held (it stays in the compose window).
    const error = `the warning window could not open: ${mwErrorText(e)}`;
    mwReport({ check_id: verdict.id, choice: view.kind === "block" ? "blocked" : "edited", error }, payload);
    return { cancel: true };
  }
  if (view.kind === "block") {
    mwReport({ check_id: verdict.id, choice: "blocked" }, payload);
    return { cancel: true };
  }
  if (answer.choice === "approver" && view.approvers.length) {
    mwReport({ check_id: verdict.id, choice: "added_approver" }, payload);
    return mwSend(details, `${policy}; warn; approver in cc`, { cc: mwWithApprovers(details, view.approvers) });
  }
  const justification = (answer.justification || "").trim();
  if (answer.choice === "justify" && justification) {
    mwReport({ check_id: verdict.id, choice: "justified", justification: justification.slice(0, 4000) }, payload);
    return mwSend(details, `${policy}; warn; justified`);
  }
  mwReport({ check_id: verdict.id, choice: "edited" }, payload);
  return { cancel: true };
}

function mwApprovers(verdict) {
  return Array.isArray(verdict.approvers) ? verdict.approvers.filter((a) => typeof a === "string" && a) : [];
}

async function mwOnBeforeSend(tab, details) {
  let settings = MW_DEFAULTS;
  try {
    settings = (await mwLoadSettings()).settings;
    return await mwCheck(tab, details, settings);
  } catch (e) {
    // A bug in this extension: the send must neither hang nor vanish.
    console.error("Mailwarden: pre-send check failed", e);
    try {
      return await mwUnchecked(details, null, settings, `internal error: ${mwErrorText(e)}`);
    } catch (e2) {
      return settings.failMode === "open" ? {} : { cancel: true };
    }
  }
}

messenger.compose.onBeforeSend.addListener(mwOnBeforeSend);

// -- status (options page) and start-up ------------------------------------------------------

async function mwStatus() {
  const { settings, managedKeys } = await mwLoadSettings();
  try {
    const pong = await mwHost.request({ type: "ping" }, settings.timeoutMs);
    if (pong.type !== "pong") {
      return { ok: false, settings, managedKeys, reason: `${pong.title}: ${pong.message}` };
    }
    mwFlushUnreported().catch(() => {});
    return { ok: true, settings, managedKeys, version: pong.version, policy: pong.policy_version };
  } catch (e) {
    return { ok: false, settings, managedKeys, reason: mwErrorText(e) };
  }
}

// Start the companion now, so the first send does not wait for it, and report what was kept.
mwStatus().catch(() => {});
