/* Mailwarden for Thunderbird — the window shown at send time (warn, block, or "not checked").
 * It asks the background page what to show (by the token in its address), renders it with DOM
 * text nodes only (mail text is never parsed as HTML), and sends back the sender's answer. */

import { explanationOf, fieldLabel, sentenceParts, tierLabel } from "./render.js";

const $ = (id) => document.getElementById(id);
const msg = (key, subs) => messenger.i18n.getMessage(key, subs) || key;
const token = new URLSearchParams(location.search).get("token") || "";
let answered = false;

async function answer(choice, justification = "") {
  if (answered) {
    return;
  }
  answered = true;
  for (const button of document.querySelectorAll("button")) {
    button.disabled = true;
  }
  try {
    await messenger.runtime.sendMessage({ type: "mailwarden-prompt-answer", token, choice, justification });
  } finally {
    window.close();
  }
}

function renderFinding(view, finding, chinese) {
  const li = document.createElement("li");
  li.dataset.rule = finding.rule || "";
  li.dataset.tier = finding.tier || "";

  const where = document.createElement("div");
  where.className = "where";
  const tier = document.createElement("span");
  tier.className = `tier tier-${finding.tier}`;
  tier.textContent = tierLabel(view, finding.tier, chinese);
  where.append(tier, document.createTextNode(fieldLabel(finding.field, msg)));

  const sentence = document.createElement("div");
  sentence.className = "sentence";
  const { before, match, after } = sentenceParts(finding);
  const mark = document.createElement("mark");
  mark.textContent = match;
  sentence.append(document.createTextNode(before), mark, document.createTextNode(after));

  const explanation = document.createElement("p");
  explanation.className = "explanation";
  explanation.textContent = explanationOf(finding, chinese);

  li.append(where, sentence, explanation);
  if (finding.approver) {
    const approver = document.createElement("p");
    approver.className = "approver";
    const who = finding.approver === "finance" ? msg("approverFinance") : msg("approverSupervisor");
    approver.textContent = msg("approverNeeded", [who]);
    li.append(approver);
  }
  return li;
}

function render(view) {
  const chinese = Boolean(view.chinese);
  document.documentElement.lang = chinese ? "zh-CN" : "en";
  document.body.dataset.kind = view.kind;
  $("subject").textContent = view.subject ? msg("subjectLine", [view.subject]) : "";

  if (view.kind === "unchecked") {
    document.title = $("title").textContent = msg("titleUnchecked");
    $("intro").textContent = msg("introUnchecked");
    $("reason").hidden = false;
    // The cause in the sender's words; the technical detail (Thunderbird's, in English) is for IT:
    // it is recorded with the decision, not shown here.
    const cause = { missing: "reasonMissing", timeout: "reasonTimeout" }[view.reasonKind] || "reasonError";
    $("reason").textContent = msg(cause, [String(view.seconds || "")]);
    $("unchecked-actions").hidden = false;
    $("send-anyway").textContent = msg("buttonSendAnyway");
    $("dont-send").textContent = msg("buttonDontSend");
    $("send-anyway").addEventListener("click", () => answer("send"));
    $("dont-send").addEventListener("click", () => answer("edit"));
    $("edit").hidden = true;
    return;
  }

  const block = view.kind === "block";
  document.title = $("title").textContent = block ? msg("titleBlock") : msg("titleWarn");
  $("intro").textContent = block ? msg("introBlock") : msg("introWarn");
  const list = $("findings");
  for (const finding of view.findings || []) {
    list.append(renderFinding(view, finding, chinese));
  }
  if (view.truncated) {
    $("truncated").hidden = false;
    $("truncated").textContent = msg("truncated", [String((view.findings || []).length), String(view.findings_total)]);
  }
  $("policy").textContent = msg("policyLine", [view.policy_version || ""]);
  $("edit").textContent = msg("buttonEdit");
  $("edit").addEventListener("click", () => answer("edit"));
  if (block) {
    return;
  }

  $("warn-actions").hidden = false;
  const approvers = view.approvers || [];
  if (approvers.length) {
    $("approver-block").hidden = false;
    $("approver").textContent = msg("buttonApprover", [approvers.join(", ")]);
    $("approver").addEventListener("click", () => answer("approver"));
  }
  $("justification-label").textContent = msg("justificationLabel");
  $("justification").placeholder = msg("justificationPlaceholder");
  $("justify").textContent = msg("buttonJustify");
  $("justification").addEventListener("input", () => {
    $("justify").disabled = !$("justification").value.trim();
  });
  $("justify").addEventListener("click", () => {
    const text = $("justification").value.trim();
    if (text) {
      answer("justify", text);
    }
  });
}

async function start() {
  let view = null;
  try {
    view = await messenger.runtime.sendMessage({ type: "mailwarden-prompt-view", token });
  } catch (e) {
    console.error("Mailwarden: prompt data not received", e);
  }
  if (!view) {
    window.close(); // the send this window was for is already decided
    return;
  }
  render(view);
  document.body.dataset.ready = "1";
  document.dispatchEvent(new CustomEvent("mailwarden-ready"));
}

start();
