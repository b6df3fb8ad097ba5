/** Percent of an amount in minor units, rounded half up; BigInt keeps large amounts exact. */
export function percentOf(amount: number, percent: number): number {
  return Number((BigInt(amount) * BigInt(percent) + 50n) / 100n);
}

/** What a promotion takes off a subtotal: never more than the subtotal. */
export function discountFor(subtotal: number, discountType: 'PERCENTAGE' | 'FIXED_AMOUNT', value: number): number {
  const discount = discountType === 'PERCENTAGE' ? percentOf(subtotal, value) : value;
  return Math.min(discount, subtotal);
}

/** "12.50 USD" from 1250 minor units, for timeline lines people read. */
export function formatMoney(minorUnits: number, currency: string): string {
  const digits =
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return `${(minorUnits / 10 ** digits).toFixed(digits)} ${currency}`;
}
