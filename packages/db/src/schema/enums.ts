import { pgEnum } from 'drizzle-orm/pg-core';

export const customerStatus = pgEnum('customer_status', ['LEAD', 'PROSPECT', 'CUSTOMER', 'INACTIVE']);
export const gender = pgEnum('gender', ['MALE', 'FEMALE', 'OTHER', 'UNSPECIFIED']);
export const orderStatus = pgEnum('order_status', ['PENDING', 'PAID', 'CANCELLED']);
export const paymentMethod = pgEnum('payment_method', ['CASH', 'CARD', 'BANK_TRANSFER', 'OTHER']);
export const transactionKind = pgEnum('transaction_kind', ['PAYMENT', 'REFUND']);
export const discountType = pgEnum('discount_type', ['PERCENTAGE', 'FIXED_AMOUNT']);
export const promotionCondition = pgEnum('promotion_condition', [
  'FIRST_PURCHASE',
  'MIN_PURCHASE',
  'CUSTOMER_LEVEL',
  'REFERRAL',
  'MANUAL',
]);
export const customerPromotionStatus = pgEnum('customer_promotion_status', ['ACTIVE', 'REDEEMED', 'REVOKED']);
export const projectStatus = pgEnum('project_status', ['PLANNED', 'ACTIVE', 'ON_HOLD', 'COMPLETED', 'CANCELLED']);
export const taskStatus = pgEnum('task_status', ['TODO', 'IN_PROGRESS', 'DONE', 'CANCELLED']);
export const taskPriority = pgEnum('task_priority', ['LOW', 'MEDIUM', 'HIGH', 'URGENT']);
export const recurrenceFrequency = pgEnum('recurrence_frequency', ['DAILY', 'WEEKLY', 'MONTHLY']);
/** User-logged kinds, plus SYSTEM for entries the platform writes from domain events. */
export const workLogType = pgEnum('work_log_type', [
  'CALL',
  'MEETING',
  'EMAIL',
  'SMS',
  'NOTE',
  'VISIT',
  'TASK',
  'SYSTEM',
]);
export const campaignStatus = pgEnum('campaign_status', ['DRAFT', 'SCHEDULED', 'RUNNING', 'COMPLETED', 'CANCELLED']);
export const messageType = pgEnum('message_type', [
  'WELCOME',
  'BIRTHDAY',
  'INACTIVITY',
  'CAMPAIGN',
  'PROMOTION',
  'MANUAL',
]);
export const messageStatus = pgEnum('message_status', ['QUEUED', 'SENDING', 'SENT', 'FAILED', 'SKIPPED', 'CANCELLED']);
export const webhookDeliveryStatus = pgEnum('webhook_delivery_status', ['PENDING', 'SUCCEEDED', 'FAILED']);
export const importStatus = pgEnum('import_status', ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED']);
