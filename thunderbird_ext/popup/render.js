/* Mailwarden for Thunderbird — what the prompt window says of a finding, free of the DOM (unit
 * tested under node). Every label the companion knows (tiers, categories, explanations) comes in
 * both languages in the view (companion.presend.view); only the window's own words are in _locales. */

/** Where the finding is, in the window's words (`msg`: messenger.i18n.getMessage). */
export function fieldLabel(field, msg) {
  const kind = field && typeof field === "object" ? String(field.kind || "") : "";
  const name = field && typeof field === "object" ? String(field.name || "") : "";
  switch (kind) {
    case "subject":
      return msg("fieldSubject");
    case "body":
      return msg("fieldBody");
    case "recipients":
      return msg("fieldRecipients");
    case "attachment":
      return msg("fieldAttachment", [name]);
    case "attachment_name":
      return msg("fieldAttachmentName", [name]);
    default:
      return kind;
  }
}

const lang = (chinese) => (chinese ? "zh" : "en");

/** The tier's label from the view (companion.policy.model.TIER_LABELS, the one set). */
export function tierLabel(view, tier, chinese) {
  const labels = (view.labels && view.labels.tiers && view.labels.tiers[tier]) || {};
  return labels[lang(chinese)] || labels.en || String(tier || "");
}

export function explanationOf(finding, chinese) {
  const text = finding.explanation || {};
  return text[lang(chinese)] || text.en || "";
}

/** The sentence around the match, split so that the match can be highlighted; offsets out of range
 *  (or missing) are clamped, never trusted. */
export function sentenceParts(finding) {
  const s = finding.sentence || {};
  const text = typeof s.text === "string" ? s.text : finding.text || "";
  const start = Math.max(0, Math.min(text.length, Number(s.start) || 0));
  const end = Math.max(start, Math.min(text.length, Number.isFinite(Number(s.end)) ? Number(s.end) : text.length));
  return { before: text.slice(0, start), match: text.slice(start, end), after: text.slice(end) };
}
