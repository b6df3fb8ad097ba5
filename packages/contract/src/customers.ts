import { z } from 'zod';
import {
  calendarDate,
  idSchema,
  isoDateTime,
  pageQuery,
  queryBoolean,
  safeString,
  syncPaginated,
  syncQuery,
} from './common.ts';
import { moneyTotalSchema, queryMoney } from './money.ts';
import { customerPromotionSchema } from './promotions.ts';

export const customerStatuses = ['LEAD', 'PROSPECT', 'CUSTOMER', 'INACTIVE'] as const;
export const customerStatusSchema = z.enum(customerStatuses);
export const genders = ['MALE', 'FEMALE', 'OTHER', 'UNSPECIFIED'] as const;
export const genderSchema = z.enum(genders);

export const customerSchema = z
  .object({
    id: idSchema,
    firstName: z.string(),
    lastName: z.string(),
    /** E.164. */
    phone: z.string(),
    email: z.string().nullable(),
    birthday: z.iso.date().nullable(),
    gender: genderSchema.nullable(),
    address: z.string().nullable(),
    notes: z.string().nullable(),
    status: customerStatusSchema,
    smsOptIn: z.boolean(),
    /** IANA time zone for quiet hours: as set, or derived from a single-zone country's phone; null: APP_TIMEZONE. */
    timeZone: z.string().nullable(),
    /** When the carrier said this phone cannot receive SMS (marketing skips it until the phone changes). */
    phoneUndeliverableAt: isoDateTime.nullable(),
    level: z.object({ id: idSchema, name: z.string(), rank: z.number().int() }).nullable(),
    /** A level set by hand: the RFM job never puts the customer below it until it is cleared. */
    manualLevelId: idSchema.nullable(),
    owner: z.object({ id: idSchema, fullName: z.string() }),
    referredById: idSchema.nullable(),
    orderCount: z.number().int(),
    totalSpent: moneyTotalSchema,
    lastOrderAt: isoDateTime.nullable(),
    /** Filled by the daily RFM job; null until the customer is first scored. */
    rfm: z.object({
      recency: z.number().int().nullable(),
      frequency: z.number().int().nullable(),
      monetary: z.number().int().nullable(),
      score: z.number().int().nullable(),
      segment: z.string().nullable(),
      scoredAt: isoDateTime.nullable(),
    }),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Customer' });
export type Customer = z.infer<typeof customerSchema>;

export const customerDetailSchema = customerSchema
  .extend({
    /** Assigned, unused, unexpired promotions of active promotions. */
    activePromotions: z.array(customerPromotionSchema),
  })
  .meta({ id: 'CustomerDetail' });
export type CustomerDetail = z.infer<typeof customerDetailSchema>;

const name = safeString.trim().min(1).max(100);
const phone = safeString.trim().min(3).max(32).meta({ example: '+1 202 555 0123' });
const email = z.email().max(320);
const birthday = calendarDate.meta({ example: '1990-04-21' });
const text = (max: number) => safeString.trim().max(max);
/**
 * An IANA time zone name the runtime knows. Not a UTC offset (`+06:30`): PostgreSQL reads those
 * with the POSIX sign, the opposite of Intl's. The server also requires a name its PostgreSQL knows.
 */
export const timeZoneSchema = z
  .string()
  .trim()
  .max(64)
  .refine(
    (zone) => {
      if (!/^[A-Za-z]/.test(zone)) return false;
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected an IANA time zone such as America/New_York' },
  )
  .meta({ example: 'America/New_York' });

export const createCustomerInput = z.object({
  firstName: name,
  lastName: name,
  /** Normalised to E.164 using DEFAULT_PHONE_REGION when no country code is given. */
  phone,
  email: email.optional(),
  birthday: birthday.optional(),
  gender: genderSchema.optional(),
  address: text(500).optional(),
  notes: text(5000).optional(),
  status: customerStatusSchema.default('LEAD'),
  /** Defaults to the caller; another owner needs `customers:create_all`. */
  ownerId: idSchema.optional(),
  referredById: idSchema.optional(),
  smsOptIn: z.boolean().default(true),
  /** For quiet hours; derived from the phone when its country has one zone, else APP_TIMEZONE applies. */
  timeZone: timeZoneSchema.optional(),
});
export type CreateCustomerInput = z.infer<typeof createCustomerInput>;

/** Only the given fields change; null clears an optional field. */
export const updateCustomerInput = z.object({
  id: idSchema,
  firstName: name.optional(),
  lastName: name.optional(),
  phone: phone.optional(),
  email: email.nullable().optional(),
  birthday: birthday.nullable().optional(),
  gender: genderSchema.nullable().optional(),
  address: text(500).nullable().optional(),
  notes: text(5000).nullable().optional(),
  status: customerStatusSchema.optional(),
  /**
   * Sets the level by hand (`customers:set_level`) and keeps it as a floor for the RFM job; null
   * clears the floor. A new level assigns that level's CUSTOMER_LEVEL promotions.
   */
  levelId: idSchema.nullable().optional(),
  /** Reassigning needs `customers:update_all`. */
  ownerId: idSchema.optional(),
  referredById: idSchema.nullable().optional(),
  smsOptIn: z.boolean().optional(),
  /** null: derive it from the phone again (or APP_TIMEZONE). */
  timeZone: timeZoneSchema.nullable().optional(),
});
export type UpdateCustomerInput = z.infer<typeof updateCustomerInput>;

export const listCustomersInput = z.object({
  ...pageQuery,
  ...syncQuery,
  status: customerStatusSchema.optional(),
  levelId: idSchema.optional(),
  ownerId: idSchema.optional(),
  /** Part of the name, phone or email, case-insensitive. */
  search: safeString.trim().min(1).max(200).optional(),
  createdFrom: isoDateTime.optional(),
  createdTo: isoDateTime.optional(),
  lastOrderBefore: isoDateTime.optional(),
  lastOrderAfter: isoDateTime.optional(),
  minTotalSpent: queryMoney.optional(),
  smsOptIn: queryBoolean.optional(),
  sort: z
    .enum([
      'createdAt',
      'lastOrderAt',
      'totalSpent',
      'lastName',
      '-createdAt',
      '-lastOrderAt',
      '-totalSpent',
      '-lastName',
    ])
    .default('-createdAt'),
});
export type ListCustomersInput = z.infer<typeof listCustomersInput>;
export const customerPage = syncPaginated(customerSchema);
