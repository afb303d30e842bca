/** An invoice's title. */
export function invoiceTitle(number, date) {
  const y = date.getUTCFullYear();
  const m = String(date.getUTCMonth() + 1).padStart(2, "0");
  const d = String(date.getUTCDate()).padStart(2, "0");
  return `Invoice #${number} of ${y}-${m}-${d}`;
}
