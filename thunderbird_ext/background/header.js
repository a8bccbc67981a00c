/* Mailwarden for Thunderbird — the X-Mailwarden header a mail leaves with.
 *
 * For a checked mail the companion gives the value (its verdict's "stamps", one per way the mail may
 * go: companion.presend); only a mail that went without a check is stamped here, in the same format
 * as companion.presend.unchecked_stamp (tests/test_presend_paths.py runs both). The key in it ties
 * the copy in the Sent folder to the decision recorded for this send.
 */

import { HEADER } from "./vocabulary.js";

export function uncheckedStamp(key) {
  return `unchecked; key=${key}`;
}

/** The compose window's custom headers with X-Mailwarden set to `value` (replacing any earlier one). */
export function withHeader(customHeaders, value) {
  const kept = (customHeaders || []).filter(
    (h) => h && typeof h.name === "string" && h.name.toLowerCase() !== HEADER.toLowerCase(),
  );
  return [...kept, { name: HEADER, value: String(value) }];
}
