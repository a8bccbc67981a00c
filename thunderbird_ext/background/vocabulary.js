/* Mailwarden for Thunderbird — the words shared with the companion.
 *
 * CHOICE is companion.presend.Choice, the one vocabulary of the sender's choices (the extension,
 * the companion and the stored rows use the same words; tests/test_presend_paths.py checks this
 * copy against the Python enum and against the host's hello answer).
 */

export const HOST_NAME = "mailwarden";
export const HEADER = "X-Mailwarden";

export const CHOICE = Object.freeze({
  SENT: "sent",
  EDITED: "edited",
  ADDED_APPROVER: "added_approver",
  JUSTIFIED: "justified",
  BLOCKED: "blocked",
  UNCHECKED_SENT: "unchecked_sent",
  UNCHECKED_CANCELLED: "unchecked_cancelled",
});
