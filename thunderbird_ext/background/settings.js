/* Mailwarden for Thunderbird — settings.
 *
 * failMode: what happens when the companion cannot answer (not installed, crashed, too slow):
 *   "ask"    (default) a window asks the sender whether to send without a check,
 *   "open"   the mail is sent (and recorded as sent without a check),
 *   "closed" the mail is not sent (the compose window stays open).
 * The fail modes there are come from the companion (its hello: companion.machine_config.FAIL_MODES);
 * before any companion ever answered, a value is taken as it is, and one this extension does not
 * know means "ask".
 * timeoutMs: how long a send waits for the companion's verdict (default 5000).
 *
 * An administrator's value (managed storage: enterprise policies.json "3rdparty", or a managed
 * storage manifest) wins over the user's own (storage.local, set on the options page).
 */

export const DEFAULTS = Object.freeze({ failMode: "ask", timeoutMs: 5000 });
const KEYS = Object.freeze(Object.keys(DEFAULTS));
export const TIMEOUT_MIN = 500;
export const TIMEOUT_MAX = 60000;

/** `failModes`: the companion's list, or null when no companion answered yet. */
export function validSetting(key, value, failModes = null) {
  if (key === "failMode") {
    return failModes ? failModes.includes(value) : typeof value === "string" && value !== "";
  }
  if (key === "timeoutMs") {
    return Number.isFinite(value) && value >= TIMEOUT_MIN && value <= TIMEOUT_MAX;
  }
  return false;
}

async function readArea(area) {
  try {
    return (await area.get(KEYS)) || {};
  } catch {
    return {}; // managed storage throws when no administrator set anything
  }
}

/** The settings in force, and which of them the administrator fixed. Never throws.
 *  `storage` is messenger.storage ({local, managed}). */
export async function loadSettings(storage, failModes = null) {
  const settings = { ...DEFAULTS };
  const managedKeys = [];
  try {
    const local = await readArea(storage.local);
    const managed = await readArea(storage.managed);
    for (const key of KEYS) {
      if (validSetting(key, local[key], failModes)) {
        settings[key] = local[key];
      }
      if (validSetting(key, managed[key], failModes)) {
        settings[key] = managed[key];
        managedKeys.push(key);
      }
    }
  } catch (e) {
    console.error("Mailwarden: settings not read, defaults apply", e);
  }
  return { settings, managedKeys };
}
