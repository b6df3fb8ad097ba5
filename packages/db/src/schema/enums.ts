import {
  campaignStatuses,
  customerPromotionStatuses,
  customerStatuses,
  discountTypes,
  genders,
  importStatuses,
  messageDirections,
  messageStatuses,
  messageTypes,
  orderStatuses,
  paymentMethods,
  projectStatuses,
  promotionConditions,
  recurrenceFrequencies,
  taskPriorities,
  taskStatuses,
  timelineEntryTypes,
  transactionKinds,
  webhookDeliveryStatuses,
} from '@touch-crm/contract';
import { pgEnum } from 'drizzle-orm/pg-core';

export const customerStatus = pgEnum('customer_status', customerStatuses);
export const gender = pgEnum('gender', genders);
export const orderStatus = pgEnum('order_status', orderStatuses);
export const paymentMethod = pgEnum('payment_method', paymentMethods);
export const transactionKind = pgEnum('transaction_kind', transactionKinds);
export const discountType = pgEnum('discount_type', discountTypes);
export const promotionCondition = pgEnum('promotion_condition', promotionConditions);
export const customerPromotionStatus = pgEnum('customer_promotion_status', customerPromotionStatuses);
export const projectStatus = pgEnum('project_status', projectStatuses);
export const taskStatus = pgEnum('task_status', taskStatuses);
export const taskPriority = pgEnum('task_priority', taskPriorities);
export const recurrenceFrequency = pgEnum('recurrence_frequency', recurrenceFrequencies);
/** User-logged kinds, plus SYSTEM for entries the platform writes from domain events (the timeline's types). */
export const workLogType = pgEnum('work_log_type', timelineEntryTypes);
export const campaignStatus = pgEnum('campaign_status', campaignStatuses);
export const messageType = pgEnum('message_type', messageTypes);
export const messageStatus = pgEnum('message_status', messageStatuses);
export const messageDirection = pgEnum('message_direction', messageDirections);
export const webhookDeliveryStatus = pgEnum('webhook_delivery_status', webhookDeliveryStatuses);
export const importStatus = pgEnum('import_status', importStatuses);
