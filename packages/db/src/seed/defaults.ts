/** Loyalty levels and the lowest RFM score (3–15) that reaches each. */
export const DEFAULT_LEVELS = [
  { name: 'Bronze', rank: 1, minRfmScore: 0, description: 'Every scored customer starts here' },
  { name: 'Silver', rank: 2, minRfmScore: 7, description: 'Regular customers' },
  { name: 'Gold', rank: 3, minRfmScore: 10, description: 'Frequent, recent and valuable customers' },
  { name: 'Platinum', rank: 4, minRfmScore: 13, description: 'The best customers' },
] as const;

/** Default SMS bodies per message type; admins edit them later. */
export const DEFAULT_MESSAGE_TEMPLATES = {
  WELCOME: 'Welcome, {{firstName}}! Thank you for choosing us.',
  BIRTHDAY: 'Happy birthday, {{firstName}}! We have a little something waiting for you.',
  INACTIVITY: 'We miss you, {{firstName}}! Come back and see what is new.',
  CAMPAIGN: '{{firstName}}, we have news for you.',
  PROMOTION: '{{firstName}}, you have a new reward: {{promotionName}}. Use code {{promotionCode}}.',
  MANUAL: '{{firstName}}',
  MANUAL_MARKETING: '{{firstName}}',
  OPT_OUT_CONFIRMATION: 'You are unsubscribed and will receive no more marketing texts. Reply START to resubscribe.',
  OPT_IN_CONFIRMATION: 'You are subscribed again to our texts. Reply STOP to unsubscribe, HELP for help.',
  HELP: 'Touch CRM customer texts. Reply STOP to unsubscribe, START to resubscribe. Msg & data rates may apply.',
} as const;
