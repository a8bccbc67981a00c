/* Mailwarden for Thunderbird — options: the fail mode and the time limit (storage.local), shown
 * read-only when an administrator set them (managed storage), and whether the companion answers. */
"use strict";

const $ = (id) => document.getElementById(id);
const msg = (key, subs) => messenger.i18n.getMessage(key, subs) || key;

async function load() {
  $("title").textContent = msg("optionsTitle");
  $("fail-mode-label").textContent = msg("optionsFailMode");
  $("mode-ask").textContent = msg("failModeAsk");
  $("mode-open").textContent = msg("failModeOpen");
  $("mode-closed").textContent = msg("failModeClosed");
  $("timeout-label").textContent = msg("optionsTimeout");
  $("save").textContent = msg("optionsSave");
  $("status").textContent = msg("statusChecking");

  const status = await messenger.runtime.sendMessage({ type: "mailwarden-status" });
  const { settings, managedKeys } = status;
  for (const input of document.querySelectorAll("input[name=failMode]")) {
    input.checked = input.value === settings.failMode;
    input.disabled = managedKeys.includes("failMode");
  }
  $("timeout").value = String(settings.timeoutMs / 1000);
  $("timeout").disabled = managedKeys.includes("timeoutMs");
  for (const [key, id] of [["failMode", "fail-mode-managed"], ["timeoutMs", "timeout-managed"]]) {
    $(id).hidden = !managedKeys.includes(key);
    $(id).textContent = msg("optionsManaged");
  }
  $("status").textContent = status.ok ? msg("statusOk", [status.version, status.policy]) : msg("statusMissing");
  if (!status.ok) {
    console.warn(`Mailwarden: not reachable: ${status.reason}`); // technical, for IT: not shown
  }
}

async function save() {
  const checked = document.querySelector("input[name=failMode]:checked");
  const values = {};
  if (checked && !checked.disabled) {
    values.failMode = checked.value;
  }
  const seconds = Number($("timeout").value);
  if (!$("timeout").disabled && Number.isFinite(seconds) && seconds >= 0.5 && seconds <= 60) {
    values.timeoutMs = Math.round(seconds * 1000);
  }
  await messenger.storage.local.set(values);
  $("saved").textContent = msg("optionsSaved");
}

$("save").addEventListener("click", () => save().catch((e) => ($("saved").textContent = String(e))));
load().catch((e) => ($("status").textContent = String(e)));
