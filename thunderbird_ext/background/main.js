/* Mailwarden for Thunderbird — the background page: wires the send hook, the prompt window and the
 * options page to the companion (see send.js for what happens at send time). */

import { DecisionReporter, errorText, newKey } from "./decisions.js";
import { HostClient } from "./host.js";
import { PromptWindows } from "./prompts.js";
import { SendGuard } from "./send.js";
import { loadSettings } from "./settings.js";
import { HOST_NAME } from "./vocabulary.js";

const COMPANION_KEY = "companion"; // the last hello: the fail modes are known when it is not reachable

const host = new HostClient(HOST_NAME, messenger.runtime);
const reporter = new DecisionReporter(host, messenger.storage.local);
const prompts = new PromptWindows(messenger.windows);

function isChinese() {
  try {
    return messenger.i18n.getUILanguage().toLowerCase().startsWith("zh");
  } catch {
    return false;
  }
}

async function knownFailModes() {
  try {
    const stored = (await messenger.storage.local.get(COMPANION_KEY))[COMPANION_KEY];
    return stored && Array.isArray(stored.fail_modes) ? stored.fail_modes : null;
  } catch {
    return null;
  }
}

async function settingsInForce() {
  return loadSettings(messenger.storage, await knownFailModes());
}

const guard = new SendGuard({
  host,
  reporter,
  prompts,
  compose: messenger.compose,
  loadSettings: settingsInForce,
  chinese: isChinese,
  newKey,
});

messenger.compose.onBeforeSend.addListener((tab, details) => guard.onBeforeSend(tab, details));

/** Whether the companion answers, and the settings (for the options page); says hello, which also
 *  starts the companion and has the decisions kept while it was away sent. */
export async function status() {
  let { settings, managedKeys } = await settingsInForce();
  try {
    const hello = await host.hello(settings.timeoutMs);
    await messenger.storage.local.set({ [COMPANION_KEY]: { fail_modes: hello.fail_modes, version: hello.version } });
    ({ settings, managedKeys } = await settingsInForce());
    reporter.flush().catch(() => {});
    return { ok: true, settings, managedKeys, failModes: hello.fail_modes, version: hello.version, policy: hello.policy_version };
  } catch (e) {
    const failModes = (await knownFailModes()) || [settings.failMode];
    return { ok: false, settings, managedKeys, failModes, reason: errorText(e) };
  }
}

messenger.runtime.onMessage.addListener((message) => {
  if (!message || typeof message !== "object") {
    return undefined;
  }
  if (message.type === "mailwarden-prompt-view") {
    return Promise.resolve(prompts.view(message.token));
  }
  if (message.type === "mailwarden-prompt-answer") {
    return Promise.resolve(prompts.answer(message.token, message.choice, message.justification));
  }
  if (message.type === "mailwarden-status") {
    return status();
  }
  return undefined;
});

// Start the companion now, so the first send does not wait for it, and report what was kept.
status().catch(() => {});
