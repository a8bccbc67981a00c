/* Mailwarden for Thunderbird — settings.
 *
 * failMode: what happens when the companion cannot answer (not installed, crashed, too slow):
 *   "ask"    (default) a window asks the sender whether to send without a check,
 *   "open"   the mail is sent (and recorded as sent without a check),
 *   "closed" the mail is not sent (the compose window stays open).
 * timeoutMs: how long a send waits for the companion's verdict (default 5000).
 *
 * An administrator's value (managed storage: enterprise policies.json "3rdparty", or a managed
 * storage manifest) wins over the user's own (storage.local, set on the options page).
 */
"use strict";

const MW_DEFAULTS = Object.freeze({ failMode: "ask", timeoutMs: 5000 });
const MW_FAIL_MODES = Object.freeze(["ask", "open", "closed"]);
const MW_SETTING_KEYS = Object.freeze(["failMode", "timeoutMs"]);
const MW_TIMEOUT_MIN = 500;
const MW_TIMEOUT_MAX = 60000;

function mwValidSetting(key, value) {
  if (key === "failMode") {
    return MW_FAIL_MODES.includes(value);
  }
  if (key === "timeoutMs") {
    return Number.isFinite(value) && value >= MW_TIMEOUT_MIN && value <= MW_TIMEOUT_MAX;
  }
  return false;
}

async function mwReadArea(area) {
  try {
    return (await area.get(MW_SETTING_KEYS)) || {};
  } catch (e) {
    return {}; // managed storage throws when no administrator set anything
  }
}

/** The settings in force, and which of them the administrator fixed. Never throws. */
async function mwLoadSettings() {
  const settings = { ...MW_DEFAULTS };
  const managedKeys = [];
  try {
    const local = await mwReadArea(messenger.storage.local);
    const managed = await mwReadArea(messenger.storage.managed);
    for (const key of MW_SETTING_KEYS) {
      if (mwValidSetting(key, local[key])) {
        settings[key] = local[key];
      }
      if (mwValidSetting(key, managed[key])) {
        settings[key] = managed[key];
        managedKeys.push(key);
      }
    }
  } catch (e) {
    console.error("Mailwarden: settings not read, defaults apply", e);
  }
  return { settings, managedKeys };
}
