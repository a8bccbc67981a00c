/* Test-only driver: sends the mails of plan.json one after another through Thunderbird's compose
 * window, answers the Mailwarden prompt as each step says, and reports through the control host. */
"use strict";

const PRODUCT = "mailwarden@mailwarden.example";
const CONTROL = "mailwarden_e2e";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let controlPort = null;
let controlSeq = 0;
const controlPending = new Map();

function control(type, data = {}) {
  if (!controlPort) {
    controlPort = messenger.runtime.connectNative(CONTROL);
    controlPort.onMessage.addListener((m) => {
      const resolve = controlPending.get(m.id);
      controlPending.delete(m.id);
      if (resolve) {
        resolve(m);
      }
    });
    controlPort.onDisconnect.addListener(() => {
      controlPort = null;
    });
  }
  const id = ++controlSeq;
  return new Promise((resolve) => {
    controlPending.set(id, resolve);
    controlPort.postMessage({ ...data, type, id });
  });
}

let current = null;

messenger.runtime.onMessageExternal.addListener((message, sender) => {
  if (sender.id !== PRODUCT || !message || message.type !== "prompt") {
    return undefined;
  }
  return answerPrompt(message.state);
});

async function answerPrompt(state) {
  const step = current;
  if (!step) {
    return { action: "none" };
  }
  step.prompts.push({ ...state, shownAt: Date.now() });
  const answers = step.answers || [];
  const answer = answers[Math.min(step.prompts.length - 1, answers.length - 1)] || { action: "none" };
  if (answer.delayMs) {
    await sleep(answer.delayMs);
  }
  step.answeredAt = Date.now();
  if (answer.action === "close") {
    // The sender closes the window instead of choosing.
    setTimeout(() => messenger.windows.remove(state.windowId).catch((e) => control("log", { error: String(e) })), 0);
  }
  return answer;
}

async function waitForProduct() {
  for (let i = 0; i < 300; i++) {
    try {
      if (await messenger.runtime.sendMessage(PRODUCT, { type: "ready" })) {
        return;
      }
    } catch (e) {
      // not loaded yet
    }
    await sleep(100);
  }
  throw new Error("the Mailwarden extension never became ready");
}

async function runStep(step) {
  if (step.host) {
    await control("setup", { host: step.host });
    if (step.host === "ok") {
      // As at Thunderbird's start: the companion is started (and warmed) before the first send.
      const ok = await messenger.runtime.sendMessage(PRODUCT, { type: "warm" });
      await control("log", { stage: "warm", ok });
    }
  }
  current = { ...step, prompts: [], answeredAt: null };
  const details = {
    to: step.to,
    cc: step.cc || [],
    subject: step.subject,
    // An HTML step composes an HTML mail (the product then sends the HTML to the companion).
    ...(step.html ? { body: step.html, isPlainText: false } : { plainTextBody: step.body, isPlainText: true }),
  };
  if (step.attachments) {
    // {name, text} or {name, base64, type}: a file as the sender would attach it.
    details.attachments = step.attachments.map((a) => {
      const data = a.base64 ? Uint8Array.from(atob(a.base64), (c) => c.charCodeAt(0)) : a.text;
      return { file: new File([data], a.name, { type: a.type || "text/plain" }), name: a.name };
    });
  }
  const tab = await messenger.compose.beginNew(details);
  await control("log", { stage: "composed", step: step.name, tab: tab.id });
  const started = Date.now();
  let sent = false;
  let error = "";
  try {
    await messenger.compose.sendMessage(tab.id, { mode: "sendNow" });
    sent = true;
  } catch (e) {
    error = String((e && e.message) || e);
  }
  const finished = Date.now();
  const result = {
    name: step.name, sent, error, started, finished, elapsedMs: finished - started,
    prompts: current.prompts, answeredAt: current.answeredAt,
  };
  current = null;
  await control("result", { result });
}

async function main() {
  const plan = await (await fetch(messenger.runtime.getURL("plan.json"))).json();
  await control("hello", { ua: navigator.userAgent });
  if (plan.product !== false) {
    await waitForProduct();
  }
  await sleep(plan.settleMs || 0);
  for (const step of plan.steps) {
    try {
      await runStep(step);
    } catch (e) {
      current = null;
      await control("result", { result: { name: step.name, crashed: String((e && e.message) || e) } });
    }
  }
  await control("done");
}

messenger.compose.onAfterSend.addListener((tab, info) => {
  control("log", { stage: "afterSend", info: JSON.stringify(info) });
});

main().catch((e) => control("fatal", { error: String((e && e.stack) || e) }));
