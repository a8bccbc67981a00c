/* Test-only, added to the prompt page by the e2e test build (never shipped): hands what the
 * window shows to the e2e driver extension and clicks the button the driver names. */
"use strict";

(async () => {
  const DRIVER = "mailwarden-e2e@tests.mailwarden.example";
  const started = Date.now();
  while (document.body.dataset.ready !== "1") {
    if (Date.now() - started > 10000) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const el = (id) => document.getElementById(id);
  const visible = (id) => Boolean(el(id)) && !el(id).closest("[hidden]");
  const state = {
    kind: document.body.dataset.kind,
    lang: document.documentElement.lang,
    title: el("title").textContent,
    intro: el("intro").textContent,
    reason: visible("reason") ? el("reason").textContent : "",
    findings: [...document.querySelectorAll("#findings li")].map((li) => ({
      rule: li.dataset.rule,
      tier: li.dataset.tier,
      where: li.querySelector(".where").textContent,
      highlighted: li.querySelector("mark").textContent,
      sentence: li.querySelector(".sentence").textContent,
      explanation: li.querySelector(".explanation").textContent,
      approver: li.querySelector(".approver") ? li.querySelector(".approver").textContent : "",
    })),
    buttons: ["edit", "approver", "justify", "send-anyway", "dont-send"].filter(visible),
    approverButton: visible("approver") ? el("approver").textContent : "",
    policy: el("policy").textContent,
    windowId: (await messenger.windows.getCurrent()).id,
  };
  const answer = await messenger.runtime.sendMessage(DRIVER, { type: "prompt", state });
  const click = (id) => el(id).click();
  switch (answer && answer.action) {
    case "justify": {
      el("justification").value = answer.justification;
      el("justification").dispatchEvent(new Event("input"));
      click("justify");
      break;
    }
    case "approver":
      click("approver");
      break;
    case "edit":
      click("edit");
      break;
    case "send":
      click("send-anyway");
      break;
    case "dontsend":
      click("dont-send");
      break;
    default:
      break; // "close": the driver closes the window itself
  }
})();
