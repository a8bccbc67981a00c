/* Mailwarden for Thunderbird — options: the fail mode and the time limit (storage.local), shown
 * read-only when an administrator set them (managed storage), and whether the companion answers.
 * The fail modes offered are the companion's (its hello), each with its words from _locales. */

import { TIMEOUT_MAX, TIMEOUT_MIN } from "../background/settings.js";

const $ = (id) => document.getElementById(id);
const msg = (key, subs) => messenger.i18n.getMessage(key, subs) || key;
const modeLabel = (mode) => msg(`failMode${mode.charAt(0).toUpperCase()}${mode.slice(1)}`);

function failModeInputs(modes, current, managed) {
  const box = $("fail-modes");
  box.replaceChildren();
  for (const mode of modes) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    Object.assign(input, { type: "radio", name: "failMode", value: mode, checked: mode === current, disabled: managed });
    const text = document.createElement("span");
    text.textContent = modeLabel(mode);
    label.append(input, document.createTextNode(" "), text);
    box.append(label);
  }
}

async function load() {
  $("title").textContent = msg("optionsTitle");
  $("fail-mode-label").textContent = msg("optionsFailMode");
  $("timeout-label").textContent = msg("optionsTimeout");
  $("save").textContent = msg("optionsSave");
  $("status").textContent = msg("statusChecking");

  const status = await messenger.runtime.sendMessage({ type: "mailwarden-status" });
  const { settings, managedKeys, failModes } = status;
  failModeInputs(failModes, settings.failMode, managedKeys.includes("failMode"));
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
  const ms = Math.round(Number($("timeout").value) * 1000);
  if (!$("timeout").disabled && Number.isFinite(ms) && ms >= TIMEOUT_MIN && ms <= TIMEOUT_MAX) {
    values.timeoutMs = ms;
  }
  await messenger.storage.local.set(values);
  $("saved").textContent = msg("optionsSaved");
}

$("save").addEventListener("click", () => save().catch((e) => ($("saved").textContent = String(e))));
load().catch((e) => ($("status").textContent = String(e)));
